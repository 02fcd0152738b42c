// What the console's data routes answer (console_data.h): a dead letter's original event only
// once its opening is audited; the newest dead letters by their clear headers alone; a policy
// bundle file with its problems at the rule they point into and its test cases; the cast
// commands an auditor runs. Dead letters are sealed by the gateway's own code
// (kafka::dead_letter_message) with a fake key provider; the bundle is the shipped one.
#include "cli/console_data.h"

#include "fl/adapters/kafka/dead_letter_message.h"
#include "fl/gateway/crypto/topic_sealer.h"

#include "support/corpus.h"
#include "support/fakes.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>
#include <vector>

namespace fl::cli {
namespace {

constexpr std::string_view kEvent =
    R"({"resourceType":"Observation","id":"o-1","subject":{"reference":"Patient/p-9"}})";

rapidjson::Document parse(const std::string& json) {
  rapidjson::Document doc;
  doc.Parse(json.c_str(), json.size());
  EXPECT_FALSE(doc.HasParseError()) << json;
  return doc;
}

// A dead letter as the gateway writes it to the topic, at partition 1, offset 7.
ports::SourceEvent sealed_letter(ports::KeyProvider& keys) {
  auto sealer = gateway::crypto::make_topic_sealer(keys, "default").value();
  ports::DeadLetter letter;
  letter.event.origin = {.topic = "fhir.events", .partition = 3, .offset = 41};
  letter.event.key = "Patient/p-9";
  letter.event.value = std::string(kEvent);
  letter.event.headers = {{"fhir-source", "acme-lab"}};
  letter.error_code = "invalid-input";
  letter.error_detail = "mapping rule 'code-to-loinc': no translation (at /code/coding/0)";
  letter.original_sha256 = std::string(64, 'c');
  const kafka::KafkaMessage message = kafka::dead_letter_message(letter, 1 << 20, *sealer);
  ports::SourceEvent out;
  out.origin = {.topic = "fhir.dead-letters", .partition = 1, .offset = 7};
  out.key = message.key;
  out.value = message.value;
  out.headers = message.headers;
  return out;
}

struct DeadLetterConsole {
  std::shared_ptr<testing::FakeKeyProvider> keys = std::make_shared<testing::FakeKeyProvider>();
  std::vector<ports::AuditRecord> audited;
  Status audit_answer = Ok{};
  ports::SourceEvent letter = sealed_letter(*keys);

  ConsoleData make() {
    ConsoleParts parts;
    parts.dead_letter_topic = "fhir.dead-letters";
    parts.keys = keys;
    parts.read_dead_letter = [this](std::int32_t partition,
                                    std::int64_t offset) -> Result<ports::SourceEvent> {
      if (partition != 1 || offset != 7) return Error{ErrorCode::kNotFound, "no message", ""};
      return letter;
    };
    parts.read_recent_dead_letters = [this](std::int64_t) {
      return Result<std::vector<ports::SourceEvent>>(std::vector<ports::SourceEvent>{letter});
    };
    parts.record_audit = [this](const ports::AuditRecord& record) -> Status {
      if (!audit_answer) return audit_answer;
      audited.push_back(record);
      return Ok{};
    };
    return ConsoleData(std::move(parts));
  }
};

TEST(ConsoleDeadLetter, TheOriginalEventIsShownOnceItsOpeningIsAudited) {
  DeadLetterConsole c;
  auto answer = c.make().dead_letter(1, 7, "console:ops");

  ASSERT_TRUE(answer) << answer.error().message;
  auto doc = parse(*answer);
  EXPECT_EQ(std::string(doc["value"].GetString()), kEvent);
  EXPECT_STREQ(doc["errorCode"].GetString(), "invalid-input");
  EXPECT_STREQ(doc["source"].GetString(), "acme-lab");
  EXPECT_STREQ(doc["originTopic"].GetString(), "fhir.events");
  EXPECT_STREQ(doc["originOffset"].GetString(), "41");
  ASSERT_EQ(c.audited.size(), 1u);
  auto event = parse(c.audited[0].json);
  EXPECT_STREQ(event["subtype"][1]["code"].GetString(), "dead-letter-read");
  EXPECT_STREQ(event["agent"][0]["who"]["display"].GetString(), "console:ops");
  EXPECT_STREQ(event["entity"][0]["what"]["identifier"]["value"].GetString(),
               "fhir.dead-letters[1]@7");
  // The AuditEvent names the letter, never what it holds.
  EXPECT_EQ(c.audited[0].json.find("Patient/p-9"), std::string::npos);
  EXPECT_EQ(c.audited[0].json.find("o-1"), std::string::npos);
}

TEST(ConsoleDeadLetter, WhenTheAuditCannotBeWrittenNothingIsShown) {
  DeadLetterConsole c;
  c.audit_answer = Error{ErrorCode::kUnavailable, "the audit topic is down", ""};
  auto answer = c.make().dead_letter(1, 7, "console:ops");

  ASSERT_FALSE(answer);
  EXPECT_EQ(answer.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(answer.error().message.find("Observation"), std::string::npos);
}

TEST(ConsoleDeadLetter, NoLetterThereIsNotFoundAndNotAudited) {
  DeadLetterConsole c;
  auto answer = c.make().dead_letter(1, 8, "console:ops");

  ASSERT_FALSE(answer);
  EXPECT_EQ(answer.error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(c.audited.empty());
}

TEST(ConsoleDeadLetter, TheListGivesTheClearHeadersOnly) {
  DeadLetterConsole c;
  auto answer = c.make().recent_dead_letters();

  ASSERT_TRUE(answer);
  auto doc = parse(*answer);
  ASSERT_EQ(doc["letters"].Size(), 1u);
  const auto& l = doc["letters"][0];
  EXPECT_EQ(l["partition"].GetInt(), 1);
  EXPECT_EQ(l["offset"].GetInt64(), 7);
  EXPECT_STREQ(l["errorCode"].GetString(), "invalid-input");
  EXPECT_STREQ(l["originPartition"].GetString(), "3");
  EXPECT_FALSE(l.HasMember("value"));
  EXPECT_EQ(answer->find("Patient/p-9"), std::string::npos);
  EXPECT_TRUE(c.audited.empty());
}

// The shipped bundle as the policies view shows it: its rules as written, no problems, its 58
// cases passing, the hash it compiles to beside the one being enforced.
TEST(ConsolePolicies, TheShippedBundleWithItsRulesAndCases) {
  const auto file = (testing::source_root() / "config/policies/example-cross-border.json").string();
  auto doc = parse(describe_policy_bundle("active", file, "0xenforced"));

  EXPECT_TRUE(doc["compiles"].GetBool());
  EXPECT_EQ(std::string(doc["policyHash"].GetString()).size(), 66u);
  EXPECT_STREQ(doc["enforcedHash"].GetString(), "0xenforced");
  EXPECT_EQ(doc["rules"].Size(), 20u);
  EXPECT_STREQ(doc["rules"][0]["id"].GetString(), "nopersist-deny");
  EXPECT_EQ(doc["problems"].Size(), 0u);
  EXPECT_EQ(doc["tests"]["passed"].GetUint64(), 58u);
  EXPECT_EQ(doc["tests"]["failed"].GetUint64(), 0u);
  EXPECT_EQ(doc["tests"]["cases"].Size(), 58u);
}

// A draft that does not compile: each problem carries the index of the rule its pointer is in.
TEST(ConsolePolicies, AProblemPointsAtItsRule) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("console-policies-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto shipped = testing::source_root() / "config/policies/example-cross-border.json";
  std::ifstream in(shipped);
  rapidjson::Document bundle;
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  bundle.Parse(text.c_str());
  auto& a = bundle.GetAllocator();
  rapidjson::Value rule(rapidjson::kObjectType);
  rule.AddMember("id", "draft", a);
  rapidjson::Value stages(rapidjson::kArrayType);
  stages.PushBack("read", a);
  rule.AddMember("stages", stages, a);
  rapidjson::Value match(rapidjson::kObjectType);
  rapidjson::Value purposes(rapidjson::kArrayType);
  purposes.PushBack("NOT-A-CODE", a);
  match.AddMember("purposes", purposes, a);
  rule.AddMember("match", match, a);
  rule.AddMember("effect", "permit", a);
  bundle["rules"].PushBack(rule, a);
  const auto file = (dir / "draft.json").string();
  {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
    bundle.Accept(w);
    std::ofstream(file) << buffer.GetString();
  }

  auto doc = parse(describe_policy_bundle("shadow", file, ""));
  std::filesystem::remove_all(dir);

  EXPECT_FALSE(doc["compiles"].GetBool());
  EXPECT_STREQ(doc["policyHash"].GetString(), "");
  ASSERT_EQ(doc["rules"].Size(), 21u);
  ASSERT_EQ(doc["problems"].Size(), 1u);
  EXPECT_EQ(doc["problems"][0]["rule"].GetInt(), 20);
  EXPECT_STREQ(doc["problems"][0]["pointer"].GetString(), "/rules/20/match/purposes/0");
  // No tests file beside the draft: that is a problem of the tests, and no case runs.
  EXPECT_EQ(doc["tests"]["cases"].Size(), 0u);
  EXPECT_GE(doc["tests"]["problems"].Size(), 1u);
}

ConsoleData auditor_console() {
  ConsoleParts parts;
  parts.contract = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
  parts.rpc_url = "http://127.0.0.1:8545";
  return ConsoleData(std::move(parts));
}

TEST(ConsoleAuditorCommands, PointerModeAsksForTheContentHashOfTheVersion) {
  gateway::Verification v;
  v.version = 3;
  v.mode = "pointer";
  v.content_hash = "0x" + std::string(64, 'a');
  v.resource_key = "0x" + std::string(64, 'b');
  v.tx_hash = "0x" + std::string(64, 'c');
  auto doc = parse(auditor_console().auditor_commands(v));

  ASSERT_EQ(doc.Size(), 2u);
  EXPECT_EQ(std::string(doc[0]["command"].GetString()),
            "cast receipt --rpc-url 'http://127.0.0.1:8545' " + v.tx_hash + " status");
  EXPECT_STREQ(doc[0]["expect"].GetString(), "true");
  EXPECT_EQ(std::string(doc[1]["command"].GetString()),
            "cast call --rpc-url 'http://127.0.0.1:8545' "
            "0x5FbDB2315678afecb367f032d93F642f64180aa3 "
            "'contentHashOf(bytes32,uint64)(bytes32)' " +
                v.resource_key + " 3");
  EXPECT_EQ(std::string(doc[1]["expect"].GetString()), v.content_hash);
}

TEST(ConsoleAuditorCommands, MerkleModeAsksForTheRootsBlockAndLeaves) {
  gateway::Verification v;
  v.version = 1;
  v.mode = "merkle";
  v.merkle_root = "0x" + std::string(64, 'd');
  v.merkle_leaves = 23;
  v.block = 9;
  v.tx_hash = "0x" + std::string(64, 'c');
  auto doc = parse(auditor_console().auditor_commands(v));

  ASSERT_EQ(doc.Size(), 2u);
  EXPECT_NE(std::string(doc[1]["command"].GetString())
                .find("'roots(bytes32)(uint64,uint32)' " + v.merkle_root),
            std::string::npos);
  EXPECT_STREQ(doc[1]["expect"].GetString(), "9 23");
}

}  // namespace
}  // namespace fl::cli
