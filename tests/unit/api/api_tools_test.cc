// The API's tools as JSON: POST /policy/$evaluate over the shipped bundle decides as `policy
// eval` does (the cross-border rule without and with consent) and says which member of a bad
// request is wrong; POST /mappings/$preview maps a sample lab result with the shipped acme-lab
// set, reports each rule's changes, maps a Bundle entry by entry, and refuses an unknown source.
#include "cli/api_tools.h"

#include "fl/gateway/mapping_files.h"

#include "support/shipped_policy.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <string>

namespace fl::cli {
namespace {

rapidjson::Document parse(const std::string& json) {
  rapidjson::Document doc;
  doc.Parse(json.c_str());
  EXPECT_FALSE(doc.HasParseError()) << json;
  return doc;
}

class EvaluatePolicyTest : public ::testing::Test {
 protected:
  gateway::policy::PolicyEngine engine_{testing::shipped_policy_bundle()};
};

TEST_F(EvaluatePolicyTest, AGermanPatientsDataToTheUsIsDeniedWithoutConsentAndTraced) {
  auto answer =
      evaluate_policy(engine_, R"({"stage":"read","resourceType":"Observation","source":"DE",)"
                               R"("destination":"US","purpose":"TREAT"})");
  ASSERT_TRUE(answer) << answer.error().message;
  auto doc = parse(*answer);
  EXPECT_STREQ(doc["effect"].GetString(), "deny");
  EXPECT_STREQ(doc["stage"].GetString(), "read");
  EXPECT_STREQ(doc["patientCountry"].GetString(), "DE");
  EXPECT_EQ(std::string(doc["policyHash"].GetString()), to_0x_hex(engine_.bundle().hash));
  EXPECT_FALSE(doc["trace"].Empty());
  EXPECT_NE(std::string(doc["explanation"].GetString()).find("deny"), std::string::npos);
}

TEST_F(EvaluatePolicyTest, WithConsentTheSameReadIsPermitted) {
  auto answer =
      evaluate_policy(engine_, R"({"stage":"read","resourceType":"Observation","source":"DE",)"
                               R"("destination":"US","purpose":"TREAT","consent":true})");
  ASSERT_TRUE(answer) << answer.error().message;
  EXPECT_STREQ(parse(*answer)["effect"].GetString(), "permit");
}

TEST_F(EvaluatePolicyTest, ThePatientsCountryIsResolvedFromTheFactsAsTheGatewayDoes) {
  auto answer =
      evaluate_policy(engine_, R"({"stage":"ingest","resource":{"resourceType":"Patient",)"
                               R"("address":[{"country":"FR"}]},"header":"DE"})");
  ASSERT_TRUE(answer) << answer.error().message;
  auto doc = parse(*answer);
  EXPECT_STREQ(doc["patientCountry"].GetString(), "FR");
  EXPECT_STREQ(doc["patientCountryFrom"].GetString(), "patient-address");
}

TEST_F(EvaluatePolicyTest, ABadRequestNamesTheMember) {
  struct Case {
    const char* body;
    const char* where;
  };
  for (const Case& c : {Case{R"({"stage":"later"})", "/stage"},
                        Case{R"({"stage":"read","resource":[]})", "/resource"},
                        Case{R"({"stage":"read","destination":1})", "/destination"},
                        Case{R"({"stage":"read","consent":"yes"})", "/consent"}, Case{R"([])", ""},
                        Case{R"({"stage":)", ""}}) {
    auto answer = evaluate_policy(engine_, c.body);
    ASSERT_FALSE(answer) << c.body;
    EXPECT_EQ(answer.error().code, ErrorCode::kInvalidInput) << c.body;
    EXPECT_EQ(answer.error().where, c.where) << c.body;
  }
}

class PreviewMappingTest : public ::testing::Test {
 protected:
  PreviewMappingTest()
      : catalog_(gateway::load_mapping_catalog(std::string(FL_SOURCE_DIR) + "/config/mappings")
                     .catalog) {}
  std::string sample() const {
    auto text = gateway::file_reader()(std::string(FL_SOURCE_DIR) +
                                       "/config/samples/events/067-lab-acme-us-0003-1.json");
    EXPECT_TRUE(text);
    return text ? *text : "";
  }
  std::shared_ptr<const mappings::MappingCatalog> catalog_;
};

TEST_F(PreviewMappingTest, ALabResultIsMappedAndEachRulesChangesReported) {
  ASSERT_TRUE(catalog_);
  auto answer = preview_mapping(*catalog_, "acme-lab", sample());
  ASSERT_TRUE(answer) << answer.error().message;
  auto doc = parse(*answer);
  EXPECT_STREQ(doc["mappingSet"]["source"].GetString(), "acme-lab");
  EXPECT_TRUE(doc["ok"].GetBool());
  ASSERT_EQ(doc["resources"].Size(), 1u);
  const auto& rules = doc["resources"][0]["rules"];
  ASSERT_FALSE(rules.Empty());
  EXPECT_FALSE(rules[0]["changes"].Empty());
  EXPECT_TRUE(doc["result"].IsObject());
  EXPECT_NE(parse(sample()), doc["result"]);  // the mapping changed it
}

TEST_F(PreviewMappingTest, ABundleIsMappedEntryByEntry) {
  ASSERT_TRUE(catalog_);
  const std::string bundle = R"({"resourceType":"Bundle","type":"collection","entry":[)"
                             R"({"resource":)" +
                             sample() + R"(},{"resource":)" + sample() + "}]}";
  auto answer = preview_mapping(*catalog_, "acme-lab", bundle);
  ASSERT_TRUE(answer) << answer.error().message;
  auto doc = parse(*answer);
  ASSERT_EQ(doc["resources"].Size(), 2u);
  EXPECT_STREQ(doc["resources"][1]["path"].GetString(), "/entry/1/resource");
}

TEST_F(PreviewMappingTest, AnUnknownSourceAndANonObjectAreRefused) {
  ASSERT_TRUE(catalog_);
  auto unknown = preview_mapping(*catalog_, "no-such-system", sample());
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
  auto array = preview_mapping(*catalog_, "acme-lab", "[1]");
  ASSERT_FALSE(array);
  EXPECT_EQ(array.error().code, ErrorCode::kInvalidInput);
}

// A body of nested brackets as large as the API takes (1 MiB) is refused with a reason; it
// must not exhaust the request thread's stack (parsing, mapping or freeing it).
TEST_F(PreviewMappingTest, NestingAsDeepAsTheBodyLimitAllowsIsRefused) {
  ASSERT_TRUE(catalog_);
  const std::string deep = R"({"resourceType":"Observation","valueString":)" +
                           std::string(1 << 20, '[') + std::string(1 << 20, ']') + "}";
  auto answer = preview_mapping(*catalog_, "acme-lab", deep);
  ASSERT_FALSE(answer);
  EXPECT_EQ(answer.error().code, ErrorCode::kInvalidInput);
}

TEST_F(EvaluatePolicyTest, NestingAsDeepAsTheBodyLimitAllowsIsRefused) {
  const std::string deep = R"({"stage":"read","resource":{"resourceType":"Patient","x":)" +
                           std::string(1 << 20, '[') + std::string(1 << 20, ']') + "}}";
  auto answer = evaluate_policy(engine_, deep);
  ASSERT_FALSE(answer);
  EXPECT_EQ(answer.error().code, ErrorCode::kInvalidInput);
}

}  // namespace
}  // namespace fl::cli
