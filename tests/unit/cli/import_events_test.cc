#include "cli/import_events.h"

#include <gtest/gtest.h>

#include <string>

namespace fl::cli {
namespace {

const ImportOptions kOptions{.source = "ehr-a", .jurisdiction = "US"};

std::string header(const ImportEvent& e, const std::string& name) {
  for (const auto& [n, v] : e.headers) {
    if (n == name) return v;
  }
  return "<absent>";
}

TEST(ImportEvents, EachLineIsAnEventNamedByItsLineAndABrokenLineDoesNotStopTheRest) {
  ImportInput input;
  add_ndjson("obs.ndjson",
             "{\"resourceType\":\"Patient\",\"id\":\"p1\"}\r\n"
             "\n"
             "{\"resourceType\":\"Observation\",\"id\":\"o1\",\n"
             "[1,2]\n"
             "   \n"
             "{\"resourceType\":\"Observation\",\"id\":\"o2\"}",
             kOptions, input);

  ASSERT_EQ(input.events.size(), 2u);
  EXPECT_EQ(input.events[0].at, "obs.ndjson:1");
  EXPECT_EQ(input.events[0].value, R"({"resourceType":"Patient","id":"p1"})");  // no \r
  EXPECT_EQ(input.events[1].at, "obs.ndjson:6");
  ASSERT_EQ(input.failures.size(), 2u);
  EXPECT_EQ(input.failures[0].at, "obs.ndjson:3");
  EXPECT_EQ(input.failures[0].code, "not-json");
  EXPECT_EQ(input.failures[1].at, "obs.ndjson:4");
  EXPECT_EQ(input.failures[1].reason, "not a JSON object");
}

TEST(ImportEvents, HeadersNameTheSourceTheJurisdictionAndTheLine) {
  ImportInput input;
  add_ndjson("p.ndjson", R"({"resourceType":"Patient","id":"p1"})", kOptions, input);
  ASSERT_EQ(input.events.size(), 1u);
  EXPECT_EQ(header(input.events[0], "fhir-source"), "ehr-a");
  EXPECT_EQ(header(input.events[0], "fhir-jurisdiction"), "US");
  EXPECT_EQ(header(input.events[0], "content-type"), "application/fhir+json");
  EXPECT_EQ(header(input.events[0], "fhir-import-origin"), "p.ndjson:1");

  ImportInput without;
  add_ndjson("p.ndjson", R"({"resourceType":"Patient","id":"p1"})", {.source = "ehr-a"}, without);
  EXPECT_EQ(header(without.events[0], "fhir-jurisdiction"), "<absent>");
}

// One patient's events share a key, hence a partition, hence their order.
TEST(ImportEvents, ThePatientKeysTheEventsThatNameIt) {
  EXPECT_EQ(event_key(R"({"resourceType":"Patient","id":"p1"})", "f"), "Patient/p1");
  EXPECT_EQ(event_key(R"({"resourceType":"Observation","id":"o1",
                          "subject":{"reference":"Patient/p1"}})",
                      "f"),
            "Patient/p1");
  EXPECT_EQ(event_key(R"({"resourceType":"Encounter","id":"e1",
                          "subject":{"reference":"Patient/p1/_history/3"}})",
                      "f"),
            "Patient/p1");
  EXPECT_EQ(event_key(R"({"resourceType":"AllergyIntolerance","id":"a1",
                          "patient":{"reference":"Patient/p2"}})",
                      "f"),
            "Patient/p2");
  EXPECT_EQ(event_key(R"({"resourceType":"Coverage","id":"c1",
                          "beneficiary":{"reference":"Patient/p3"}})",
                      "f"),
            "Patient/p3");
  // Not a patient's: its own reference; an absolute or urn reference names no patient here.
  EXPECT_EQ(event_key(R"({"resourceType":"Organization","id":"org1"})", "f"), "Organization/org1");
  EXPECT_EQ(event_key(R"({"resourceType":"Observation","id":"o1",
                          "subject":{"reference":"urn:uuid:1234"}})",
                      "f"),
            "Observation/o1");
  EXPECT_EQ(event_key(R"({"resourceType":"Observation"})", "file.json"), "file.json");
  EXPECT_EQ(event_key("not json", "file.json"), "file.json");
}

TEST(ImportEvents, ABundleIsOneEventKeyedByItsFirstPatientAndCountsItsEntries) {
  ImportInput input;
  add_json_file("b.json", R"({"resourceType":"Bundle","type":"transaction","entry":[
      {"resource":{"resourceType":"Organization","id":"org"}},
      {"resource":{"resourceType":"Patient","id":"p9"}},
      {"resource":{"resourceType":"Observation","id":"o9"}}]})",
                kOptions, input);
  ASSERT_EQ(input.events.size(), 1u);
  EXPECT_EQ(input.events[0].at, "b.json");
  EXPECT_EQ(input.events[0].key, "Patient/p9");
  EXPECT_EQ(input.events[0].resources, 3u);
}

TEST(ImportEvents, ALineNestedAMillionDeepIsAFailureNotACrash) {
  ImportInput input;
  add_ndjson("deep.ndjson", std::string(1'000'000, '[') + "\n" + R"({"resourceType":"Patient"})",
             kOptions, input);
  ASSERT_EQ(input.failures.size(), 1u);
  EXPECT_EQ(input.failures[0].at, "deep.ndjson:1");
  EXPECT_EQ(input.events.size(), 1u);
}

}  // namespace
}  // namespace fl::cli
