// AuditEvents are valid JSON text whatever a sender put in the text they carry (issue 14): the
// source system comes from the fhir-source header, and ill-formed UTF-8 in it is written as
// U+FFFD, so a strict consumer (RapidJSON with kParseValidateEncodingFlag) accepts the event.
#include "fl/gateway/audit_event.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <string>

namespace fl::gateway::audit {
namespace {

constexpr std::string_view kReplacement = "\xef\xbf\xbd";  // U+FFFD

Common with_source_system(std::string source) {
  Common c;
  c.id = std::string(64, 'a');
  c.recorded = rfc3339_utc(1700000000);
  c.gateway = "fhir-ledger";
  c.patient_key = "0x" + std::string(64, '1');
  c.resource_key = "0x" + std::string(64, '2');
  c.agents.push_back(
      Agent{.address = "", .jurisdiction = "", .display = source, .requestor = true});
  c.details = {{"country", "NL"}, {"message", "fhir.in[0]@7"}, {"source", source}};
  return c;
}

PolicyFacts denial() {
  return PolicyFacts{
      .policy_hash = {}, .effect = policy::Effect::kDeny, .rule_ids = {"r"}, .obligations = "none"};
}

// The event parsed strictly; fails the test when it is not valid UTF-8 JSON.
rapidjson::Document strict_parse(const std::string& json) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseValidateEncodingFlag>(json.data(), json.size());
  EXPECT_FALSE(doc.HasParseError())
      << rapidjson::GetParseError_En(doc.GetParseError()) << " at " << doc.GetErrorOffset();
  return doc;
}

std::string display_of(const rapidjson::Document& doc) {
  return doc["agent"][0]["who"]["display"].GetString();
}

TEST(AuditEventText, ASourceSystemWithAnInvalidByteStillGivesValidJson) {
  const std::string event = ingest_denial_event(
      with_source_system("ehr-\xff"), "0x" + std::string(64, '2'), "Observation", false, denial());

  const rapidjson::Document doc = strict_parse(event);

  ASSERT_TRUE(doc.IsObject());
  EXPECT_EQ(display_of(doc), "ehr-" + std::string(kReplacement));
  EXPECT_EQ(event.find('\xff'), std::string::npos);
}

TEST(AuditEventText, EveryKindReplacesIllFormedSequencesInEveryField) {
  // A truncated sequence, a surrogate and an overlong slash, in the agent, a detail, the
  // participant's country, the purpose and a transaction's error text.
  const std::string bad = "a\xe2\x82z\xed\xa0\x80\xc0\xaf";
  Common c = with_source_system(bad);
  c.agents.push_back(
      Agent{.address = "0xabc", .jurisdiction = bad, .display = "", .requestor = false});
  c.purpose = bad;
  const Transaction failed{
      .state = Transaction::State::kFailed, .hash = "", .block = 0, .error = bad};

  for (const std::string& event :
       {grant_event(c, true, denial()), read_event(c, "0x2", "Observation", false, denial()),
        revocation_event(c, failed), erasure_event(c, bad), dead_letter_read_event(c, bad, bad),
        shadow_difference_event(c, "ingest", "0x2", bad, denial(), denial())}) {
    const rapidjson::Document doc = strict_parse(event);
    ASSERT_TRUE(doc.IsObject()) << event;
    EXPECT_EQ(display_of(doc), "a" + std::string(kReplacement) + "z" + std::string(kReplacement) +
                                   std::string(kReplacement) + std::string(kReplacement) +
                                   std::string(kReplacement) + std::string(kReplacement));
  }
}

TEST(AuditEventText, WellFormedTextIsWrittenUnchanged) {
  const std::string source = "Z\xc3\xbcrich-EHR \xf0\x9f\x98\x80 \xe2\x82\xac";  // ü, 😀, €

  const rapidjson::Document doc = strict_parse(ingest_denial_event(
      with_source_system(source), "0x" + std::string(64, '2'), "Observation", true, denial()));

  ASSERT_TRUE(doc.IsObject());
  EXPECT_EQ(display_of(doc), source);
}

// A dead letter opened in the console names the letter, not a patient or a resource: its place
// and the original's SHA-256, under a system of its own, read by the operator who asked.
TEST(DeadLetterReadEvent, NamesTheLetterAndWhoOpenedIt) {
  Common c = with_source_system("console:ops");
  const std::string sha = std::string(64, 'e');

  const rapidjson::Document doc =
      strict_parse(dead_letter_read_event(c, "fhir.dead-letters[2]@11", sha));

  EXPECT_STREQ(doc["action"].GetString(), "R");
  EXPECT_STREQ(doc["outcome"].GetString(), "0");
  EXPECT_STREQ(doc["subtype"][1]["system"].GetString(), "urn:fhir-ledger:audit-kind");
  EXPECT_STREQ(doc["subtype"][1]["code"].GetString(), "dead-letter-read");
  const auto& what = doc["entity"][0]["what"]["identifier"];
  EXPECT_STREQ(what["system"].GetString(), "urn:fhir-ledger:dead-letter");
  EXPECT_STREQ(what["value"].GetString(), "fhir.dead-letters[2]@11");
  EXPECT_FALSE(doc["entity"][0].HasMember("role"));  // not a patient
  EXPECT_STREQ(doc["entity"][0]["detail"][0]["type"].GetString(), "original-sha256");
  EXPECT_EQ(doc["entity"][0]["detail"][0]["valueString"].GetString(), sha);
  EXPECT_EQ(display_of(doc), "console:ops");
  EXPECT_NE(std::string(doc["outcomeDesc"].GetString()).find("fhir.dead-letters[2]@11"),
            std::string::npos);
}

}  // namespace
}  // namespace fl::gateway::audit
