// Data protection against real services: two redis-servers as the "eu" and "us" storage
// regions, the keyring file, anvil and the Kafka mock cluster. Residency, tamper detection,
// KEK rotation and erasure are checked through what the servers hold and what a reader gets;
// residency as the shipped policy bundle decides it, through the same servers and the chain.
#include "fl/adapters/evm/evm_pointer_ledger.h"
#include "fl/adapters/kafka/kafka_event_source.h"
#include "fl/adapters/kafka/kafka_producers.h"
#include "fl/adapters/kafka/tools.h"
#include "fl/adapters/keys/keyring_key_provider.h"
#include "fl/adapters/redis/redis_blob_store.h"
#include "fl/gateway/keys/master_keys.h"
#include "fl/gateway/mapping_files.h"
#include "fl/gateway/pipeline.h"
#include "fl/gateway/policy/policy_compiler.h"
#include "fl/gateway/pseudonyms.h"
#include "fl/gateway/reader.h"
#include "fl/ledger/json_rpc.h"
#include "fl/ledger/pointer_registry.h"

#include "support/corpus.h"
#include "support/sealed_topics.h"
#include "support/services.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <fstream>
#include <set>
#include <sys/stat.h>

namespace fl::gateway {
namespace {

using namespace std::chrono_literals;

// Residency by the event's jurisdiction header: the issue-6 policy engine decides this from
// rules; here the test needs only a deterministic region per patient.
class ResidencyByHeader final : public IngestPolicy {
 public:
  Result<Decision> decide_ingest(const IngestRequest& request) override {
    const std::string region = request.jurisdiction_header == "US" ? "us" : "eu";
    return Decision{.permit = true, .region = region, .rule_ids = {"test-residency"}};
  }
};

constexpr const char* kKeyring = R"({
  "comment": "test keyring",
  "pepper": {"id": "pepper-1", "material": "1111111111111111111111111111111111111111111111111111111111111111"},
  "keys": [
    {"id": "eu-kek-1", "region": "eu", "created": "2026-11-01T00:00:00Z", "active": true,
     "material": "2222222222222222222222222222222222222222222222222222222222222222"},
    {"id": "us-kek-1", "region": "us", "created": "2026-11-01T00:00:00Z", "active": true,
     "material": "3333333333333333333333333333333333333333333333333333333333333333"}
  ]
})";

struct Event {
  std::string key;
  std::string jurisdiction;
  std::string value;
};

class DataProtection : public ::testing::Test {
 protected:
  void SetUp() override {
    keyring_ = dir_.path() + "/keyring.json";
    std::ofstream(keyring_) << kKeyring;
    ::chmod(keyring_.c_str(), 0600);
    auto contract = evm::deploy_pointer_registry(
        anvil_.rpc_url(), SecretBytes(parse_hex(testing::AnvilNode::kDevKey0).value()));
    ASSERT_TRUE(contract) << contract.error().message;
    contract_ = *contract;
    auto stores =
        redis::make_region_stores({.regions = {{"eu", {.host = "127.0.0.1", .port = eu_.port()}},
                                               {"us", {.host = "127.0.0.1", .port = us_.port()}}}});
    ASSERT_TRUE(stores) << stores.error().message;
    stores_ = std::move(*stores);
    auto ledger = evm::make_pointer_ledger(
        {.rpc_url = anvil_.rpc_url(),
         .contract_address = contract_,
         .private_key = SecretBytes(parse_hex(testing::AnvilNode::kDevKey0).value())});
    ASSERT_TRUE(ledger) << ledger.error().message;
    ledger_ = std::move(*ledger);
    reload_keys();
  }

  void reload_keys() {
    auto keys = fl::keys::make_keyring_key_provider(keyring_);
    ASSERT_TRUE(keys) << keys.error().message;
    keys_ = std::move(*keys);
  }

  // Publishes the events and runs a gateway until it has caught up.
  void ingest(const std::vector<Event>& events) {
    std::vector<kafka::OutgoingMessage> messages;
    for (const auto& e : events) {
      kafka::OutgoingMessage m{.key = e.key, .value = e.value, .headers = {}};
      if (!e.jurisdiction.empty()) m.headers.emplace_back("fhir-jurisdiction", e.jurisdiction);
      messages.push_back(std::move(m));
    }
    ASSERT_TRUE(kafka::publish(kafka_.bootstrap(), "fhir.events", messages));
    const kafka::KafkaConfig config{.bootstrap_servers = kafka_.bootstrap(),
                                    .group_id = "gateway",
                                    .input_topics = {"fhir.events"},
                                    .dead_letter_topic = "fhir.dead-letters",
                                    .results_topic = "fhir.receipts"};
    auto source = kafka::make_event_source(config);
    std::shared_ptr<ports::TopicSealer> sealer = crypto::make_topic_sealer(*keys_, "eu").value();
    auto dead = kafka::make_dead_letters(config, sealer);
    auto receipts = kafka::make_receipts(config, sealer);
    auto audit = kafka::make_audit_log(config);
    ASSERT_TRUE(source && dead && receipts && audit);
    ports::SteadyClock clock;
    PassThroughNormalizer normalizer;
    ResidencyByHeader by_header;
    IngestPolicy& policy = policy_ != nullptr ? *policy_ : by_header;
    Pipeline pipeline({.source = **source,
                       .dead_letters = **dead,
                       .receipts = **receipts,
                       .blobs = *stores_,
                       .master_keys = *stores_,
                       .directory = *stores_,
                       .ledger = *ledger_,
                       .keys = *keys_,
                       .clock = clock,
                       .audit = audit->get()},
                      normalizer, policy, {.until_caught_up = true, .idle_before_exit = 300ms});
    std::atomic<bool> stop{false};
    auto ran = pipeline.run(stop);
    ASSERT_TRUE(ran) << ran.error().message;
    ASSERT_TRUE((*source)->close());
  }

  // The contract as the gateway's admin account sees it, for what the pipeline does not do
  // (erasure marks) and to read what it anchored.
  ledger::PointerRegistry& chain() {
    if (!registry_) {
      auto transport = ledger::make_http_transport(anvil_.rpc_url(), 5s);
      rpc_ = std::make_unique<ledger::JsonRpcClient>(std::move(*transport), anvil_.rpc_url());
      signer_ = std::move(
          ledger::Signer::create(SecretBytes(parse_hex(testing::AnvilNode::kDevKey0).value()))
              .value());
      registry_ = std::make_unique<ledger::PointerRegistry>(
          *rpc_, *signer_, rpc_->chain_id().value(), ledger::parse_address(contract_).value());
    }
    return *registry_;
  }

  Result<ReadResource> read(const std::string& reference) {
    ResourceReader reader(*keys_, *stores_, *stores_, *ledger_, {"eu", "us"});
    return reader.read("default", reference, std::nullopt);
  }

  static std::vector<std::string> redis_keys(int port, const std::string& pattern) {
    std::vector<std::string> out;
    std::istringstream lines(testing::shell_output("redis-cli -p " + std::to_string(port) +
                                                   " --scan --pattern '" + pattern + "'"));
    for (std::string line; std::getline(lines, line);) {
      if (!line.empty()) out.push_back(line);
    }
    return out;
  }

  std::string receipt_hash(const std::string& reference) {
    auto messages = kafka::read_topic(kafka_.bootstrap(), "fhir.receipts", 10s);
    std::string hash;
    for (const auto& m : messages.value()) {
      rapidjson::Document r;
      r.Parse(m.value.c_str());
      if (testing::open_receipt(*keys_, r).value().second == reference) {
        hash = r["contentHash"].GetString();
      }
    }
    return hash;
  }

  static const std::vector<Event>& two_patients() {
    static const std::vector<Event> events = {
        {"Patient/eu1", "DE",
         R"({"resourceType":"Patient","id":"eu1","name":[{"family":"Weber"}]})"},
        {"Patient/eu1", "DE",
         R"({"resourceType":"Observation","id":"eu1-obs","subject":{"reference":"Patient/eu1"}})"},
        {"Patient/us1", "US",
         R"({"resourceType":"Patient","id":"us1","name":[{"family":"Smith"}]})"},
        {"Patient/us1", "US",
         R"({"resourceType":"Observation","id":"us1-obs","subject":{"reference":"Patient/us1"}})"},
        {"Patient/eu2", "FR", R"({"resourceType":"Patient","id":"eu2"})"}};
    return events;
  }

  IngestPolicy* policy_ = nullptr;  // the header's residency when null
  testing::TempDir dir_;
  std::string keyring_;
  testing::KafkaCluster kafka_{{"fhir.events", "fhir.dead-letters", "fhir.receipts", "fhir.audit"}};
  testing::RedisServer eu_;
  testing::RedisServer us_;
  testing::AnvilNode anvil_;
  std::string contract_;
  std::unique_ptr<redis::RegionStores> stores_;
  std::unique_ptr<ports::PointerLedger> ledger_;
  std::unique_ptr<ports::KeyProvider> keys_;
  std::unique_ptr<ledger::JsonRpcClient> rpc_;
  std::unique_ptr<ledger::Signer> signer_;
  std::unique_ptr<ledger::PointerRegistry> registry_;
};

TEST_F(DataProtection, EuBlobsAndKeysAreOnlyInTheEuServer) {
  ingest(two_patients());

  const auto eu_blobs = redis_keys(eu_.port(), "blob:*");
  const auto us_blobs = redis_keys(us_.port(), "blob:*");
  EXPECT_EQ(eu_blobs.size(), 3u);  // eu1, eu1-obs, eu2
  EXPECT_EQ(us_blobs.size(), 2u);  // us1, us1-obs
  for (const char* ref : {"Patient/eu1", "Observation/eu1-obs", "Patient/eu2"}) {
    const std::string hash = receipt_hash(ref).substr(2);
    EXPECT_NE(std::find(eu_blobs.begin(), eu_blobs.end(), "blob:" + hash), eu_blobs.end()) << ref;
    EXPECT_EQ(std::find(us_blobs.begin(), us_blobs.end(), "blob:" + hash), us_blobs.end()) << ref;
  }
  EXPECT_EQ(redis_keys(eu_.port(), "mk:*").size(), 2u);  // eu1, eu2
  EXPECT_EQ(redis_keys(us_.port(), "mk:*").size(), 1u);  // us1
  // Reads go to the region that holds the resource, and give back what was sent.
  auto eu1 = read("Patient/eu1");
  ASSERT_TRUE(eu1) << eu1.error().message;
  EXPECT_EQ(eu1->record.pointer.region, "eu");
  EXPECT_NE(eu1->json.find("\"Weber\""), std::string::npos);
  auto us1 = read("Observation/us1-obs");
  ASSERT_TRUE(us1) << us1.error().message;
  EXPECT_EQ(us1->record.pointer.region, "us");
}

TEST_F(DataProtection, AFlippedBitInAStoredBlobIsDetectedOnRead) {
  ingest(two_patients());
  const std::string key = "blob:" + receipt_hash("Patient/eu1").substr(2);
  // Flip one bit of byte 40 in place, inside Redis.
  testing::shell_output("redis-cli -p " + std::to_string(eu_.port()) +
                        " EVAL \"local v = redis.call('GET', KEYS[1]); "
                        "redis.call('SETRANGE', KEYS[1], 40, "
                        "string.char(bit.bxor(string.byte(v, 41), 1))); return 1\" 1 " +
                        key);

  auto tampered = read("Patient/eu1");
  auto untouched = read("Patient/eu2");

  ASSERT_FALSE(tampered);
  EXPECT_EQ(tampered.error().code, ErrorCode::kIntegrity);
  EXPECT_NE(tampered.error().message.find("content hash"), std::string::npos);
  EXPECT_TRUE(untouched) << untouched.error().message;
}

TEST_F(DataProtection, RotationRewrapsMasterKeysAndOldDataStaysReadable) {
  ingest(two_patients());
  // Read before eu-kek-1 is retired: the receipts are sealed under it, and a retired KEK opens
  // nothing any more (README, "What the topics hold").
  const std::string eu1_hash = receipt_hash("Patient/eu1");
  const auto before = testing::shell_output("redis-cli -p " + std::to_string(eu_.port()) +
                                            " GET blob:" + eu1_hash.substr(2));

  auto added = fl::keys::add_keyring_kek(keyring_, "eu", "eu-kek-2", "2026-11-25T00:00:00Z");
  ASSERT_TRUE(added) << added.error().message;
  reload_keys();
  MasterKeys master_keys(*keys_, *stores_);
  auto report = master_keys.rotate("eu");
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->rewrapped, 2u);
  EXPECT_EQ(report->current, 0u);
  ASSERT_TRUE(fl::keys::retire_keyring_kek(keyring_, "eu-kek-1"));
  reload_keys();

  for (const char* ref : {"Patient/eu1", "Observation/eu1-obs", "Patient/eu2", "Patient/us1"}) {
    auto got = read(ref);
    EXPECT_TRUE(got) << ref << ": " << got.error().message;
  }
  // The data was not re-encrypted; the wrapped keys now name the new KEK.
  EXPECT_EQ(testing::shell_output("redis-cli -p " + std::to_string(eu_.port()) +
                                  " GET blob:" + eu1_hash.substr(2)),
            before);
  for (const auto& key : redis_keys(eu_.port(), "mk:*")) {
    EXPECT_NE(testing::shell_output("redis-cli -p " + std::to_string(eu_.port()) + " GET " + key)
                  .find("\"kek\":\"eu-kek-2\""),
              std::string::npos);
  }
  // New patients get keys under the new KEK, and old ones keep working for new versions.
  ingest(
      {{"Patient/eu3", "DE", R"({"resourceType":"Patient","id":"eu3"})"},
       {"Patient/eu1", "DE", R"({"resourceType":"Patient","id":"eu1","meta":{"versionId":"2"}})"}});
  EXPECT_TRUE(read("Patient/eu3"));
  auto eu1 = read("Patient/eu1");
  ASSERT_TRUE(eu1) << eu1.error().message;
  EXPECT_EQ(eu1->record.pointer.version, 2u);
}

TEST_F(DataProtection, ErasureMakesOnePatientUnreadableAndLeavesOthersAlone) {
  ingest(two_patients());
  const auto blobs_before = redis_keys(eu_.port(), "blob:*").size();
  auto patient = Pseudonyms(*keys_).patient_key("default", "Patient/eu1");
  ASSERT_TRUE(patient);

  // What `fhir-ledger erase` does: the key in every region, then the ledger mark.
  MasterKeys master_keys(*keys_, *stores_);
  auto eu = master_keys.erase("eu", *patient, "2026-11-25T12:00:00Z");
  auto us = master_keys.erase("us", *patient, "2026-11-25T12:00:00Z");
  ASSERT_TRUE(eu && us);
  EXPECT_TRUE(*eu);
  EXPECT_FALSE(*us);  // never had data there
  ledger::PointerRegistry& registry = chain();
  auto tx = registry.mark_erased(*patient);
  ASSERT_TRUE(tx);
  ASSERT_TRUE(registry.wait_for_receipt(*tx, 1, 30s));

  for (const char* ref : {"Patient/eu1", "Observation/eu1-obs"}) {
    auto got = read(ref);
    ASSERT_FALSE(got) << ref;
    EXPECT_EQ(got.error().code, ErrorCode::kErased) << ref;
  }
  // Even with the ledger's answer set aside, the key itself is gone.
  EXPECT_EQ(master_keys.for_reading("eu", *patient).error().code, ErrorCode::kErased);
  for (const char* ref : {"Patient/eu2", "Patient/us1", "Observation/us1-obs"}) {
    auto got = read(ref);
    EXPECT_TRUE(got) << ref << ": " << got.error().message;
  }
  EXPECT_EQ(redis_keys(eu_.port(), "blob:*").size(), blobs_before);  // ciphertext may remain

  // New events for the erased patient are dead-lettered; nothing new is stored for them.
  ingest(
      {{"Patient/eu1", "DE",
        R"({"resourceType":"Observation","id":"eu1-obs2","subject":{"reference":"Patient/eu1"}})"}});
  auto letters = kafka::read_topic(kafka_.bootstrap(), "fhir.dead-letters", 10s);
  ASSERT_TRUE(letters);
  ASSERT_EQ(letters->size(), 1u);
  EXPECT_EQ(letters->front().header("error-code"), "erased");
  EXPECT_EQ(redis_keys(eu_.port(), "blob:*").size(), blobs_before);
}

TEST_F(DataProtection, TheShippedPolicyKeepsEuPatientsInTheEuAnchorsItsHashAndNamesDenials) {
  const std::string shipped =
      (testing::source_root() / "config" / "policies" / "example-cross-border.json").string();
  auto compiled = policy::compile_policy_bundle(shipped, file_reader());
  ASSERT_TRUE(compiled.bundle) << mappings::to_string(compiled.diagnostics.front());
  BundlePolicy bundle_policy(compiled.bundle);
  policy_ = &bundle_policy;

  // The header says US, but the patient's own address (then, for its resources, what was
  // recorded for it) comes first in the bundle's order.
  ingest(
      {{"Patient/de1", "US",
        R"({"resourceType":"Patient","id":"de1","address":[{"country":"DE"}]})"},
       {"Patient/de1", "US",
        R"({"resourceType":"Observation","id":"de1-obs","subject":{"reference":"Patient/de1"}})"},
       {"Patient/us1", "", R"({"resourceType":"Patient","id":"us1","address":[{"country":"US"}]})"},
       {"Patient/de1", "DE",
        R"({"resourceType":"Observation","id":"de1-secret","subject":{"reference":"Patient/de1"},)"
        R"("meta":{"security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObligationPolicy","code":"NOPERSIST"}]}})"},
       {"Patient/br1", "",
        R"({"resourceType":"Patient","id":"br1","address":[{"country":"BR"}]})"}});
  // A later batch: the Observation finds its patient's country in the directory.
  ingest(
      {{"Patient/de1", "US",
        R"({"resourceType":"Observation","id":"de1-obs2","subject":{"reference":"Patient/de1"}})"}});

  const auto eu_blobs = redis_keys(eu_.port(), "blob:*");
  const auto us_blobs = redis_keys(us_.port(), "blob:*");
  EXPECT_EQ(eu_blobs.size(), 3u);  // de1, de1-obs, de1-obs2
  EXPECT_EQ(us_blobs.size(), 1u);  // us1
  for (const char* ref : {"Patient/de1", "Observation/de1-obs", "Observation/de1-obs2"}) {
    const std::string hash = receipt_hash(ref).substr(2);
    EXPECT_NE(std::find(eu_blobs.begin(), eu_blobs.end(), "blob:" + hash), eu_blobs.end()) << ref;
  }
  EXPECT_EQ(redis_keys(eu_.port(), "cty:*").size(), 1u);  // de1's country, in its region
  EXPECT_EQ(redis_keys(us_.port(), "cty:*").size(), 1u);  // us1's

  // The pointer on chain carries the bundle's hash.
  ledger::PointerRegistry& registry = chain();
  for (const char* ref : {"Patient/de1", "Observation/de1-obs2", "Patient/us1"}) {
    auto key = Pseudonyms(*keys_).resource_key("default", ref);
    ASSERT_TRUE(key);
    auto anchored = registry.anchored_versions(*key);
    ASSERT_TRUE(anchored) << anchored.error().message;
    ASSERT_EQ(anchored->size(), 1u) << ref;
    EXPECT_EQ(anchored->front().policy_hash, compiled.bundle->hash) << ref;
    EXPECT_EQ(anchored->front().region, std::string(ref) == "Patient/us1" ? "us" : "eu") << ref;
  }

  // Denied events are dead-lettered whole, with the rule that denied them; nothing is stored.
  auto letters = kafka::read_topic(kafka_.bootstrap(), "fhir.dead-letters", 10s);
  ASSERT_TRUE(letters);
  ASSERT_EQ(letters->size(), 2u);
  std::vector<std::string> details;
  for (const auto& l : *letters) {
    EXPECT_EQ(l.header("error-code"), "policy-denied");
    details.push_back(l.header("error-detail"));
  }
  std::sort(details.begin(), details.end());
  // "storage of Observation ..." sorts before "storage of Patient ...".
  EXPECT_NE(details[0].find("(rules: nopersist-deny)"), std::string::npos) << details[0];
  EXPECT_NE(details[0].find(to_0x_hex(compiled.bundle->hash)), std::string::npos) << details[0];
  EXPECT_NE(details[1].find("(no rule applies: the bundle's default effect is deny) (at "
                            "default-effect)"),
            std::string::npos)
      << details[1];

  // The auditor sees the same denials on the audit topic: one AuditEvent per refused resource,
  // keyed by the patient's pseudonym, naming the rules and the policy hash, no FHIR id.
  auto audited = kafka::read_topic(kafka_.bootstrap(), "fhir.audit", 10s);
  ASSERT_TRUE(audited);
  ASSERT_EQ(audited->size(), 2u);
  std::multiset<std::string> rules;
  for (const auto& m : *audited) {
    EXPECT_EQ(m.value.find("de1-secret"), std::string::npos) << m.value;
    EXPECT_EQ(m.value.find("br1"), std::string::npos) << m.value;
    rapidjson::Document event;
    event.Parse(m.value.c_str(), m.value.size());
    ASSERT_FALSE(event.HasParseError());
    EXPECT_EQ(std::string(event["outcome"].GetString()), "4");
    EXPECT_EQ(std::string(event["subtype"][1]["code"].GetString()), "ingest");
    for (const auto& d : event["entity"][0]["detail"].GetArray()) {
      const std::string type = d["type"].GetString();
      if (type == "rule-ids") rules.insert(d["valueString"].GetString());
      if (type == "policy-hash") {
        EXPECT_EQ(d["valueString"].GetString(), to_0x_hex(compiled.bundle->hash));
      }
    }
  }
  EXPECT_EQ(rules, (std::multiset<std::string>{"nopersist-deny", "none"}));
  const auto de1 = Pseudonyms(*keys_).patient_key("default", "Patient/de1");
  ASSERT_TRUE(de1);
  EXPECT_TRUE(audited->front().key == to_0x_hex(*de1) || audited->back().key == to_0x_hex(*de1));
}

}  // namespace
}  // namespace fl::gateway
