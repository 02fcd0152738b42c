#include "fl/gateway/policy/obligations.h"

#include "unit/gateway/policy/policy_test_support.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace fl::gateway::policy {
namespace {

using test::parse;
using test::to_json;

Obligations redacting(std::initializer_list<std::string_view> expressions) {
  Obligations o;
  for (std::string_view text : expressions) {
    o.redact.push_back(test::fhirpath(text));
    o.redact_text.emplace_back(text);
  }
  return o;
}

std::string pseudonym(std::string_view system, std::string_view value) {
  return "pseudo(" + std::string(system) + "," + std::string(value) + ")";
}

// Redacts with `expressions` and returns the released resource as compact JSON.
std::string redacted(std::string_view json, std::initializer_list<std::string_view> expressions) {
  rapidjson::Document resource = parse(json);
  const Status status = apply_obligations(redacting(expressions), resource, pseudonym);
  EXPECT_TRUE(status) << status.error().message;
  return to_json(resource);
}

TEST(ApplyObligations, RedactsANestedElement) {
  EXPECT_EQ(
      redacted(R"({"resourceType":"Patient","address":[{"line":["1 Main St"],"city":"Boston",)"
               R"("postalCode":"02110"},{"city":"Paris"}]})",
               {"Patient.address.postalCode"}),
      R"({"resourceType":"Patient","address":[{"line":["1 Main St"],"city":"Boston"},)"
      R"({"city":"Paris"}]})");
}

TEST(ApplyObligations, RedactsArrayItemsAndDropsAnArrayLeftEmpty) {
  constexpr std::string_view kPatient =
      R"({"resourceType":"Patient","telecom":[{"system":"phone","value":"555-1"},)"
      R"({"system":"email","value":"a@b.c"},{"system":"phone","value":"555-2"}],"gender":"female"})";

  EXPECT_EQ(redacted(kPatient, {"Patient.telecom.where(system='phone')"}),
            R"({"resourceType":"Patient","telecom":[{"system":"email","value":"a@b.c"}],)"
            R"("gender":"female"})");
  EXPECT_EQ(redacted(kPatient, {"Patient.telecom"}),
            R"({"resourceType":"Patient","gender":"female"})");
}

TEST(ApplyObligations, RedactsAPrimitiveWithItsUnderscoreTwin) {
  EXPECT_EQ(
      redacted(R"({"resourceType":"Patient","birthDate":"1970-01-01","_birthDate":{"extension":[)"
               R"({"url":"http://example.org/x","valueString":"y"}]},"gender":"male"})",
               {"Patient.birthDate"}),
      R"({"resourceType":"Patient","gender":"male"})");
}

TEST(ApplyObligations, RedactsOneItemOfAPrimitiveListAndItsTwinAtTheSameIndex) {
  EXPECT_EQ(redacted(R"({"resourceType":"Patient","name":[{"family":"Doe","given":["Ann","Bo"],)"
                     R"("_given":[{"id":"g0"},null]}]})",
                     {"Patient.name.given.first()"}),
            // The twin is left holding only null: it goes too.
            R"({"resourceType":"Patient","name":[{"family":"Doe","given":["Bo"]}]})");
}

TEST(ApplyObligations, AnElementLeftEmptyIsRemovedWithWhatWasRedacted) {
  EXPECT_EQ(redacted(R"({"resourceType":"Patient","address":[{"city":"Boston"}],"active":true})",
                     {"Patient.address.city"}),
            R"({"resourceType":"Patient","active":true})");
}

TEST(ApplyObligations, SeveralRedactionsIncludingOverlappingOnes) {
  EXPECT_EQ(
      redacted(R"({"resourceType":"Observation","status":"final","note":[{"text":"a"}],)"
               R"("subject":{"reference":"Patient/1","display":"Ann Doe"}})",
               {"Observation.note", "Observation.note.text", "Observation.subject.display"}),
      R"({"resourceType":"Observation","status":"final","subject":{"reference":"Patient/1"}})");
}

TEST(ApplyObligations, ARedactionThatGivesValuesIsRefusedAndNothingChanges) {
  constexpr std::string_view kJson = R"({"resourceType":"Patient","gender":"male"})";
  rapidjson::Document resource = parse(kJson);

  const Status status = apply_obligations(redacting({"'gender'"}), resource, pseudonym);

  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(status.error().message, "redact `'gender'` gives values, not elements");
  EXPECT_EQ(to_json(resource), kJson);
}

TEST(ApplyObligations, ARedactionOfTheWholeResourceIsRefused) {
  rapidjson::Document resource = parse(R"({"resourceType":"Patient","gender":"male"})");

  const Status status = apply_obligations(redacting({"Patient"}), resource, pseudonym);

  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().message, "redact `Patient` selects the whole resource");
}

TEST(ApplyObligations, RedactsBeforePseudonymizingSoARedactedIdentifierIsNeverSeen) {
  rapidjson::Document resource =
      parse(R"({"resourceType":"Patient","identifier":[{"system":"urn:ssn","value":"123"},)"
            R"({"system":"urn:mrn","value":"M1"}]})");
  Obligations o = redacting({"Patient.identifier.where(system='urn:ssn')"});
  o.pseudonymize_identifiers = true;
  std::vector<std::string> seen;

  ASSERT_TRUE(apply_obligations(o, resource, [&](std::string_view system, std::string_view value) {
    seen.push_back(std::string(system) + "|" + std::string(value));
    return std::string("x");
  }));

  EXPECT_EQ(seen, (std::vector<std::string>{"urn:mrn|M1"}));
  EXPECT_EQ(to_json(resource),
            R"({"resourceType":"Patient","identifier":[{"system":"urn:mrn","value":"x"}]})");
}

TEST(ApplyObligations, PseudonymizesEveryIdentifierValue) {
  rapidjson::Document resource =
      parse(R"({"resourceType":"Patient","identifier":[{"system":"urn:ssn","value":"123"},)"
            R"({"value":"MRN-9","assigner":{"identifier":{"system":"urn:org","value":"H1"}}},)"
            R"({"system":"urn:none"}],"managingOrganization":{"display":"value"}})");
  Obligations o;
  o.pseudonymize_identifiers = true;

  ASSERT_TRUE(apply_obligations(o, resource, pseudonym));

  EXPECT_EQ(to_json(resource),
            R"j({"resourceType":"Patient","identifier":[{"system":"urn:ssn",)j"
            R"j("value":"pseudo(urn:ssn,123)"},{"value":"pseudo(,MRN-9)","assigner":)j"
            R"j({"identifier":{"system":"urn:org","value":"pseudo(urn:org,H1)"}}},)j"
            R"j({"system":"urn:none"}],"managingOrganization":{"display":"value"}})j");
}

TEST(ApplyObligations, PseudonymizesIdentifiersUnderEveryIdentifierElement) {
  rapidjson::Document resource =
      parse(R"({"resourceType":"Encounter","hospitalization":{"preAdmissionIdentifier":)"
            R"({"system":"urn:adm","value":"PRE-123"}},"extension":[{"url":"urn:x",)"
            R"("valueIdentifier":{"value":"X-1"}}],"subject":{"reference":"Patient/1"}})");
  Obligations o;
  o.pseudonymize_identifiers = true;

  ASSERT_TRUE(apply_obligations(o, resource, pseudonym));

  EXPECT_EQ(to_json(resource),
            R"j({"resourceType":"Encounter","hospitalization":{"preAdmissionIdentifier":)j"
            R"j({"system":"urn:adm","value":"pseudo(urn:adm,PRE-123)"}},"extension":)j"
            R"j([{"url":"urn:x","valueIdentifier":{"value":"pseudo(,X-1)"}}],)j"
            R"j("subject":{"reference":"Patient/1"}})j");
}

TEST(ApplyObligations, NoObligationsLeaveTheResourceAsItIs) {
  constexpr std::string_view kJson =
      R"({"resourceType":"Patient","identifier":[{"system":"urn:ssn","value":"123"}]})";
  rapidjson::Document resource = parse(kJson);

  ASSERT_TRUE(apply_obligations(Obligations{}, resource, pseudonym));

  EXPECT_EQ(to_json(resource), kJson);
}

TEST(CheckPurpose, RequiresOneOfTheListedPurposes) {
  Obligations o;
  EXPECT_TRUE(check_purpose(o, ""));
  EXPECT_TRUE(check_purpose(o, "HMARKT"));

  o.require_purpose = {"TREAT", "ETREAT"};
  EXPECT_TRUE(check_purpose(o, "ETREAT"));
  const Status marketing = check_purpose(o, "HMARKT");
  ASSERT_FALSE(marketing);
  EXPECT_EQ(marketing.error().code, ErrorCode::kPolicyDenied);
  EXPECT_EQ(marketing.error().message,
            "the request states purpose HMARKT; the policy requires one of TREAT, ETREAT");
  const Status none = check_purpose(o, "");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, ErrorCode::kPolicyDenied);
}

TEST(ObligationsMerge, PurposeRequirementsIntersectAndDisjointOnesAdmitNoPurpose) {
  Obligations any;
  Obligations treat;
  treat.require_purpose = {"TREAT", "ETREAT"};
  Obligations emergency;
  emergency.require_purpose = {"ETREAT", "BTG"};
  Obligations research;
  research.require_purpose = {"HRESCH"};

  Obligations a = any;
  a.merge(treat);
  EXPECT_EQ(a.require_purpose, (std::vector<std::string>{"TREAT", "ETREAT"}));
  a.merge(emergency);
  EXPECT_EQ(a.require_purpose, (std::vector<std::string>{"ETREAT"}));
  EXPECT_TRUE(check_purpose(a, "ETREAT"));
  EXPECT_FALSE(check_purpose(a, "TREAT"));

  Obligations b = treat;
  b.merge(research);
  EXPECT_TRUE(b.purpose_unsatisfiable);
  EXPECT_FALSE(b.empty());
  for (const char* purpose : {"TREAT", "HRESCH", ""}) {
    const Status s = check_purpose(b, purpose);
    ASSERT_FALSE(s) << purpose;
    EXPECT_EQ(s.error().code, ErrorCode::kPolicyDenied);
  }
  b.merge(any);
  EXPECT_TRUE(b.purpose_unsatisfiable);  // nothing merged later makes it satisfiable again
}

TEST(ObligationsMerge, TheSmallerMaxDaysWins) {
  Obligations month;
  month.max_days = 30;
  Obligations week;
  week.max_days = 7;
  Obligations none;

  Obligations a = month;
  a.merge(week);
  EXPECT_EQ(a.max_days, 7u);
  Obligations b = week;
  b.merge(month);
  EXPECT_EQ(b.max_days, 7u);
  Obligations c = none;
  c.merge(month);
  EXPECT_EQ(c.max_days, 30u);
}

}  // namespace
}  // namespace fl::gateway::policy
