#include "fl/gateway/stages/validate_stage.h"

#include <gtest/gtest.h>

#include <cmath>

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
  // R4 allows a delete without If-Match: the pipeline makes it follow the anchored version.
  ASSERT_TRUE(no_version) << no_version.error().message;
  EXPECT_TRUE(no_version->resources.at(0).deleted);
  EXPECT_EQ(no_version->resources.at(0).version, 0u);
  ASSERT_FALSE(conditional);
  EXPECT_EQ(conditional.error().where, "/entry/0/request/url");
}

TEST(ValidateStage, ABundleWithoutAnIdIsAcceptedSinceR4MakesItOptional) {
  const auto v = ValidateStage({}).run(event(R"({"resourceType":"Bundle","type":"transaction",
      "entry":[{"fullUrl":"urn:uuid:1111","resource":{"resourceType":"Patient","id":"p9"}}]})"));

  ASSERT_TRUE(v) << v.error().message;
  ASSERT_EQ(v->resources.size(), 1u);
  EXPECT_EQ(v->resources[0].reference(), "Patient/p9");
}

TEST(ValidateStage, ADocumentBundleIsStoredWholeAboutItsCompositionsSubject) {
  const auto v = ValidateStage({}).run(event(R"({"resourceType":"Bundle","id":"doc1",
      "type":"document","entry":[
      {"fullUrl":"urn:uuid:c1","resource":{"resourceType":"Composition","id":"c1",
        "subject":{"reference":"urn:uuid:p1"}}},
      {"fullUrl":"urn:uuid:p1","resource":{"resourceType":"Patient","id":"pat-7"}}]})"));
  const auto no_id = ValidateStage({}).run(event(R"({"resourceType":"Bundle","type":"document"})"));

  ASSERT_TRUE(v) << v.error().message;
  ASSERT_EQ(v->resources.size(), 1u);
  EXPECT_EQ(v->resources[0].reference(), "Bundle/doc1");
  EXPECT_EQ(v->resources[0].patient_reference, "Patient/pat-7");
  ASSERT_FALSE(no_id);
  EXPECT_EQ(no_id.error().where, "/id");
}

TEST(ValidateStage, ASearchsetInABatchResponseIsOpenedAndANestedDocumentKeptWhole) {
  const auto v = ValidateStage({}).run(event(R"({"resourceType":"Bundle","type":"batch-response",
      "entry":[{"resource":{"resourceType":"Bundle","type":"searchset","entry":[
                 {"fullUrl":"http://x/Patient/a","resource":{"resourceType":"Patient","id":"a"}},
                 {"resource":{"resourceType":"Observation","id":"o",
                   "subject":{"reference":"Patient/a"}}}]},
                "response":{"status":"200 OK"}},
               {"fullUrl":"urn:uuid:d","resource":{"resourceType":"Bundle","type":"document",
                 "entry":[{"resource":{"resourceType":"Composition","id":"c",
                   "subject":{"reference":"Patient/a"}}}]},
                "response":{"status":"201 Created"}}]})"));

  ASSERT_TRUE(v) << v.error().message;
  ASSERT_EQ(v->resources.size(), 3u);
  EXPECT_EQ(v->resources[0].reference(), "Patient/a");
  EXPECT_EQ(v->resources[1].patient_reference, "Patient/a");
  EXPECT_EQ(v->resources[2].reference(), "Bundle/d");  // its id from the fullUrl
  EXPECT_EQ(v->resources[2].patient_reference, "Patient/a");
}

TEST(ValidateStage, BundlesNestedTooDeepAreRefusedAtTheirPointer) {
  const auto v = ValidateStage({}).run(event(R"({"resourceType":"Bundle","type":"batch-response",
      "entry":[{"resource":{"resourceType":"Bundle","type":"searchset","entry":[
        {"resource":{"resourceType":"Bundle","type":"collection","entry":[
          {"resource":{"resourceType":"Bundle","type":"collection"}}]}}]}}]})"));

  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().where, "/entry/0/resource/entry/0/resource/entry/0/resource");
}

TEST(ValidateStage, AnAbsurdVersionIsRefusedAndTheLargestAnchoredOneAccepted) {
  ValidateStage stage({});
  const auto max = stage.run(event(R"({"resourceType":"Patient","id":"p",
      "meta":{"versionId":"18446744073709551615"}})"));
  const auto largest = stage.run(event(R"({"resourceType":"Patient","id":"p",
      "meta":{"versionId":"9007199254740990"}})"));
  const auto tombstone = stage.run(event(R"({"resourceType":"Bundle","type":"transaction",
      "entry":[{"request":{"method":"DELETE","url":"Patient/p",
        "ifMatch":"W/\"18446744073709551615\""}}]})"));

  ASSERT_FALSE(max);
  EXPECT_EQ(max.error().where, "/meta/versionId");
  ASSERT_TRUE(largest) << largest.error().message;
  EXPECT_EQ(largest->resources[0].version, 9007199254740990u);
  ASSERT_FALSE(tombstone);
  EXPECT_EQ(tombstone.error().where, "/entry/0/request/ifMatch");
}

TEST(ValidateStage, BytesAfterARawNulAreNotIgnored) {
  std::string value = R"({"resourceType":"Patient","id":"p"})";
  value.push_back('\0');
  value += R"({"resourceType":"Patient","id":"q"})";

  const auto v = kStage.run(event(value));

  ASSERT_FALSE(v);
  EXPECT_NE(v.error().message.find("NUL byte at offset 35"), std::string::npos)
      << v.error().message;
}

TEST(ValidateStage, AnEmbeddedU0000IsRefusedAndCannotPassForABundleType) {
  const auto type = ValidateStage({}).run(
      event(R"({"resourceType":"Bundle","type":"transaction\u0000x","entry":[]})"));
  const auto name = ValidateStage({}).run(
      event(R"({"resourceType":"Patient","id":"p","name":[{"family":"a\u0000b"}]})"));

  ASSERT_FALSE(type);
  EXPECT_EQ(type.error().where, "/type");
  ASSERT_FALSE(name);
  EXPECT_EQ(name.error().where, "/name/0/family");
}

TEST(ValidateStage, AU0000InAMemberNameIsRefusedAtThatMemberWithItsPathEscaped) {
  const auto v = ValidateStage({}).run(event(
      R"({"resourceType":"Patient","id":"p","contained":[{},{"a/b~c":{"ok":1,"k\u0000":[1]}}]})"));

  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().where, std::string("/contained/1/a~1b~0c/k\0", 23));
}

TEST(ValidateStage, ANumberThatUnderflowsToZeroIsRefusedAtItsPointer) {
  ValidateStage stage({});
  const auto tiny = stage.run(event(R"({"resourceType":"Observation","id":"o",
      "component":[{"valueQuantity":{"value":0.0}},{"valueQuantity":{"value":1e-400}}]})"));
  const auto zeros = stage.run(event(R"({"resourceType":"Observation","id":"o",
      "valueQuantity":{"value":0.000},"component":[{"valueQuantity":{"value":0e10}},
      {"valueQuantity":{"value":1e-300}}]})"));

  ASSERT_FALSE(tiny);
  EXPECT_EQ(tiny.error().where, "/component/1/valueQuantity/value");
  ASSERT_TRUE(zeros) << zeros.error().message;
}

// Found by tests/fuzz/validate_event_fuzz (RapidJSON 1.1 calls __builtin_clzll(0) for these and
// returned 5.9e225 for the last one on x86-64).
TEST(ValidateStage, AZeroWrittenWithAnExponentIsZero) {
  const auto v = kStage.run(event(R"({"resourceType":"Observation","id":"o",
      "valueQuantity":{"value":0E+100},"component":[{"valueQuantity":{"value":-0.00e-30}},
      {"valueQuantity":{"value":0.000000000000000000E+245}},{"code":{"text":"10e5 0e5"}}],
      "referenceRange":[{"low":{"value":100.0e-3}}]})"));

  ASSERT_TRUE(v) << v.error().message;
  const rapidjson::Value& json = *v->resources[0].json;
  EXPECT_EQ(json["valueQuantity"]["value"].GetDouble(), 0.0);
  EXPECT_EQ(json["component"][0]["valueQuantity"]["value"].GetDouble(), 0.0);
  EXPECT_TRUE(std::signbit(json["component"][0]["valueQuantity"]["value"].GetDouble()));
  EXPECT_EQ(json["component"][1]["valueQuantity"]["value"].GetDouble(), 0.0);
  EXPECT_EQ(json["referenceRange"][0]["low"]["value"].GetDouble(), 0.1);
}

// Found by the validate_event fuzzer: rewriting the "0e0" of "0e0e70" gave "0.0e70", another
// zero with an exponent, which RapidJSON then read with undefined behaviour.
TEST(ValidateStage, TextThatIsNotJsonAroundAZeroWithAnExponentIsRefusedAsNotJson) {
  for (const char* text :
       {"0e0e70", R"({"resourceType":"Patient","id":"p","x":0e0e70})", R"([0E1E-5])"}) {
    const auto v = kStage.run(event(text));
    ASSERT_FALSE(v) << text;
    EXPECT_TRUE(v.error().message.starts_with("invalid JSON: ")) << v.error().message;
  }
}

TEST(ValidateStage, ASourceHeaderThatIsNotAShortPrintableNameIsRefused) {
  auto long_source = event(R"({"resourceType":"Patient","id":"p"})");
  long_source.headers = {{"fhir-source", std::string(3 * 1024 * 1024, 's')}};
  auto bad_utf8 = event(R"({"resourceType":"Patient","id":"p"})");
  bad_utf8.headers = {{"fhir-source", "lab\xff\xfe"}};

  const auto too_long = ValidateStage({}).run(long_source);
  const auto invalid = ValidateStage({}).run(bad_utf8);

  ASSERT_FALSE(too_long);
  EXPECT_EQ(too_long.error().where, "header fhir-source");
  ASSERT_FALSE(invalid);
  EXPECT_EQ(invalid.error().where, "header fhir-source");
}

TEST(ValidateStage, AnIfMatchUpdateIsTheNextVersionAndAnOperationCallStoresNothing) {
  const auto v = ValidateStage({}).run(event(R"({"resourceType":"Bundle","type":"transaction",
      "entry":[{"fullUrl":"http://x/Patient/a","resource":{"resourceType":"Patient","id":"a"},
                "request":{"method":"PUT","url":"Patient/a","ifMatch":"W/\"2\""}},
               {"resource":{"resourceType":"Parameters"},
                "request":{"method":"POST","url":"ValueSet/$lookup"}}]})"));

  ASSERT_TRUE(v) << v.error().message;
  ASSERT_EQ(v->resources.size(), 1u);
  EXPECT_EQ(v->resources[0].version, 3u);
}

}  // namespace
}  // namespace fl::gateway

namespace fl::gateway {
namespace {

TEST(ValidateStageIdentity, AnAbsoluteFullUrlNamesTheServerBaseAndAnotherServersPatient) {
  auto v = kStage.run(event(R"({"resourceType":"Bundle","type":"transaction","entry":[
      {"fullUrl":"https://ehr-a.example.org/fhir/Observation/o1",
       "resource":{"resourceType":"Observation","id":"o1",
                   "subject":{"reference":"https://ehr-b.example.org/r4/Patient/23/_history/2"}}},
      {"fullUrl":"urn:uuid:0f2c","resource":{"resourceType":"Patient","id":"p1"}},
      {"fullUrl":"https://ehr-a.example.org/fhir/Patient/p2/_history/1",
       "resource":{"resourceType":"Patient","id":"p2"}}]})"));
  ASSERT_TRUE(v) << v.error().message;
  ASSERT_EQ(v->resources.size(), 3u);
  EXPECT_EQ(v->resources[0].base, "https://ehr-a.example.org/fhir");
  EXPECT_EQ(v->resources[0].patient_reference, "Patient/23");
  EXPECT_EQ(v->resources[0].patient_base, "https://ehr-b.example.org/r4");
  EXPECT_EQ(v->resources[1].base, "") << "a urn:uuid names no server";
  EXPECT_EQ(v->resources[2].base, "https://ehr-a.example.org/fhir");
}

TEST(ValidateStageIdentity, APatientsIdentifiersAndAReferencesIdentifierAreRead) {
  auto patient = kStage.run(event(R"({"resourceType":"Patient","id":"p1","identifier":[
      {"system":"urn:oid:1.2","value":"A1"},{"system":"urn:oid:9.9"},{"value":"x"},
      {"system":"urn:oid:3.4","value":"B2"}]})"));
  ASSERT_TRUE(patient) << patient.error().message;
  using Ids = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(patient->resources[0].patient_identifiers,
            (Ids{{"urn:oid:1.2", "A1"}, {"urn:oid:3.4", "B2"}}));

  auto logical = kStage.run(event(R"({"resourceType":"Observation","id":"o1",
      "subject":{"identifier":{"system":"urn:oid:1.2","value":"A1"}}})"));
  ASSERT_TRUE(logical) << logical.error().message;
  EXPECT_EQ(logical->resources[0].patient_reference, "");
  EXPECT_EQ(logical->resources[0].patient_identifiers, (Ids{{"urn:oid:1.2", "A1"}}));

  // A subject that says it is not a Patient (a Group, a Device) names no patient.
  auto group = kStage.run(event(R"({"resourceType":"Observation","id":"o2",
      "subject":{"type":"Group","identifier":{"system":"urn:oid:1.2","value":"A1"}}})"));
  ASSERT_TRUE(group) << group.error().message;
  EXPECT_TRUE(group->resources[0].patient_identifiers.empty());
}

}  // namespace
}  // namespace fl::gateway
