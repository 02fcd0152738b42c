#include "fl/gateway/stages/validate_stage.h"

#include <gtest/gtest.h>

namespace fl::gateway {
namespace {

ports::SourceEvent event(std::string value) {
  ports::SourceEvent e;
  e.origin = {.topic = "fhir.events", .partition = 2, .offset = 41};
  e.value = std::move(value);
  e.headers = {{"fhir-source", "demo-ehr"}};
  return e;
}

const ValidateStage kStage({.max_event_bytes = 4096, .max_json_depth = 8, .max_bundle_entries = 3});

TEST(ValidateStage, AcceptsAResourceAndReadsItsIdentity) {
  auto v = kStage.run(event(R"({"resourceType":"Patient","id":"p-1","meta":{"versionId":"3"}})"));

  ASSERT_TRUE(v) << v.error().message;
  ASSERT_EQ(v->resources.size(), 1u);
  EXPECT_EQ(v->resources[0].reference(), "Patient/p-1");
  EXPECT_EQ(v->resources[0].version, 3u);
  EXPECT_EQ(v->source_system, "demo-ehr");
  EXPECT_EQ(v->origin.offset, 41);
}

TEST(ValidateStage, AResourceWithoutVersionIsVersionOne) {
  auto v = kStage.run(event(R"({"resourceType":"Observation","id":"o.1"})"));

  ASSERT_TRUE(v);
  EXPECT_EQ(v->resources[0].version, 1u);
}

TEST(ValidateStage, RejectsInvalidJsonWithTheParserReason) {
  auto v = kStage.run(event(R"({"resourceType":"Patient","id":)"));

  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code, ErrorCode::kInvalidInput);
  EXPECT_TRUE(v.error().message.starts_with("invalid JSON: ")) << v.error().message;
}

TEST(ValidateStage, RejectsAnUnknownResourceTypeAtItsPointer) {
  auto v = kStage.run(event(R"({"resourceType":"Patinet","id":"x"})"));

  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().where, "/resourceType");
  EXPECT_NE(v.error().message.find("'Patinet'"), std::string::npos);
}

TEST(ValidateStage, RejectsABadIdWithoutQuotingIt) {
  auto v = kStage.run(event(R"({"resourceType":"Patient","id":"Müller_Hans"})"));

  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().where, "/id");
  EXPECT_EQ(v.error().message.find("Hans"), std::string::npos);  // ids may carry PHI
}

TEST(ValidateStage, RejectsAMissingId) {
  auto v = kStage.run(event(R"({"resourceType":"Patient"})"));

  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().where, "/id");
}

TEST(ValidateStage, RejectsANonNumericVersion) {
  auto v = kStage.run(event(R"({"resourceType":"Patient","id":"a","meta":{"versionId":"W/1"}})"));

  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().where, "/meta/versionId");
}

TEST(ValidateStage, RejectsTooLargeAndTooDeepEvents) {
  EXPECT_FALSE(kStage.run(event(std::string(5000, ' '))));
  EXPECT_FALSE(kStage.run(event(R"({"resourceType":"Basic","id":"b","x":[[[[[[[[[1]]]]]]]]]})")));
}

TEST(ValidateStage, RejectsSomethingThatIsNotAnObject) {
  auto v = kStage.run(event("[1,2,3]"));

  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().where, "");
}

TEST(ValidateStage, ABundleBecomesOneResourcePerEntry) {
  auto v = kStage.run(event(R"({"resourceType":"Bundle","id":"b1","type":"transaction","entry":[
      {"fullUrl":"urn:uuid:4f8e2a8c-1d3b-4c7e-9a6f-2b5d8c1e7f30",
       "resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}},
      {"resource":{"resourceType":"Observation","id":"o1","meta":{"versionId":"2"}}}]})"));

  ASSERT_TRUE(v) << v.error().message;
  ASSERT_EQ(v->resources.size(), 2u);
  EXPECT_EQ(v->resources[0].reference(), "Patient/4f8e2a8c-1d3b-4c7e-9a6f-2b5d8c1e7f30");
  EXPECT_TRUE(v->resources[0].json->HasMember("id"));  // written in from fullUrl
  EXPECT_EQ(v->resources[1].reference(), "Observation/o1");
  EXPECT_EQ(v->resources[1].version, 2u);
}

TEST(ValidateStage, ABadEntryRejectsTheBundleAtTheEntryPointer) {
  auto v = kStage.run(event(R"({"resourceType":"Bundle","id":"b1","type":"collection","entry":[
      {"resource":{"resourceType":"Patient","id":"ok"}},
      {"resource":{"resourceType":"Nonsense","id":"x"}}]})"));

  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().where, "/entry/1/resource/resourceType");
}

TEST(ValidateStage, RejectsABundleWithTooManyEntriesOrAnUnknownType) {
  EXPECT_FALSE(kStage.run(event(R"({"resourceType":"Bundle","id":"b","type":"collection","entry":[
      {"resource":{"resourceType":"Patient","id":"1"}},{"resource":{"resourceType":"Patient","id":"2"}},
      {"resource":{"resourceType":"Patient","id":"3"}},{"resource":{"resourceType":"Patient","id":"4"}}]})")));
  EXPECT_FALSE(kStage.run(event(R"({"resourceType":"Bundle","id":"b","type":"pile"})")));
}

TEST(ResourceTypes, KnowsR4TypesAndNothingElse) {
  EXPECT_TRUE(is_r4_resource_type("Patient"));
  EXPECT_TRUE(is_r4_resource_type("VisionPrescription"));
  EXPECT_TRUE(is_r4_resource_type("Account"));
  EXPECT_FALSE(is_r4_resource_type("patient"));
  EXPECT_FALSE(is_r4_resource_type("DomainResource"));         // abstract
  EXPECT_FALSE(is_r4_resource_type("ClinicalUseDefinition"));  // R5 only
}

TEST(ValidateStage, FindsThePatientAResourceIsAbout) {
  ValidateStage stage({});
  const auto patient = stage.run(event(R"({"resourceType":"Patient","id":"a"})"));
  const auto obs = stage.run(event(
      R"({"resourceType":"Observation","id":"o","subject":{"reference":"Patient/a/_history/2"}})"));
  const auto claim = stage.run(event(
      R"({"resourceType":"Claim","id":"c","patient":{"reference":"https://x/fhir/Patient/b"}})"));
  const auto group = stage.run(
      event(R"({"resourceType":"Observation","id":"g","subject":{"reference":"Group/1"}})"));

  EXPECT_EQ(patient->resources.at(0).patient_reference, "Patient/a");
  EXPECT_EQ(obs->resources.at(0).patient_reference, "Patient/a");
  EXPECT_EQ(claim->resources.at(0).patient_reference, "Patient/b");
  EXPECT_EQ(group->resources.at(0).patient_reference, "");
}

TEST(ValidateStage, ResolvesATransactionBundlesUrnPatientReferences) {
  const auto bundle =
      ValidateStage({}).run(event(R"({"resourceType":"Bundle","id":"b","type":"transaction",
      "entry":[{"fullUrl":"urn:uuid:1111","resource":{"resourceType":"Patient","id":"p9"}},
               {"fullUrl":"urn:uuid:2222","resource":{"resourceType":"Encounter","id":"e1",
                 "subject":{"reference":"urn:uuid:1111"}}}]})"));

  ASSERT_TRUE(bundle) << bundle.error().message;
  EXPECT_EQ(bundle->resources.at(1).patient_reference, "Patient/p9");
}

TEST(ValidateStage, ADeleteEntryBecomesATombstoneVersion) {
  ValidateStage stage({});
  const auto ok =
      stage.run(event(R"({"resourceType":"Bundle","id":"b","type":"transaction","entry":[
      {"request":{"method":"DELETE","url":"Observation/o1","ifMatch":"W/\"4\""}}]})"));
  const auto no_version = stage.run(event(R"({"resourceType":"Bundle","id":"b","type":"transaction",
      "entry":[{"request":{"method":"DELETE","url":"Observation/o1"}}]})"));
  const auto conditional =
      stage.run(event(R"({"resourceType":"Bundle","id":"b","type":"transaction",
      "entry":[{"request":{"method":"DELETE","url":"Observation?code=1","ifMatch":"W/\"1\""}}]})"));

  ASSERT_TRUE(ok) << ok.error().message;
  const auto& r = ok->resources.at(0);
  EXPECT_TRUE(r.deleted);
  EXPECT_EQ(r.reference(), "Observation/o1");
  EXPECT_EQ(r.version, 5u);
  EXPECT_EQ(r.json, nullptr);
  ASSERT_FALSE(no_version);
  EXPECT_EQ(no_version.error().where, "/entry/0/request/ifMatch");
  ASSERT_FALSE(conditional);
  EXPECT_EQ(conditional.error().where, "/entry/0/request/url");
}

}  // namespace
}  // namespace fl::gateway
