// Issue 14 against the real services (redis-server, anvil, the Kafka mock cluster over TCP): a
// refused event leaves no claim or blob behind, and a merkle-mode version that is re-published,
// re-delivered, or left unrecorded by a gateway that died is under exactly one root on chain.
#include "fl/adapters/evm/evm_ledger_reader.h"
#include "fl/adapters/evm/evm_pointer_ledger.h"
#include "fl/adapters/kafka/kafka_event_source.h"
#include "fl/adapters/kafka/kafka_producers.h"
#include "fl/adapters/kafka/tools.h"
#include "fl/adapters/keys/keyring_key_provider.h"
#include "fl/adapters/redis/redis_blob_store.h"
#include "fl/gateway/pipeline.h"
#include "fl/gateway/pseudonyms.h"
#include "fl/gateway/verify.h"
#include "fl/ledger/json_rpc.h"
#include "fl/ledger/pointer_registry.h"

#include "support/corpus.h"
#include "support/fakes.h"
#include "support/sealed_topics.h"
#include "support/services.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <map>
#include <set>
#include <string>
#include <vector>

namespace fl::gateway {
namespace {

using namespace std::chrono_literals;

constexpr const char* kRegion = "eu";

// The region stores, except that writing pointer records fails for good: the gateway dies
// after its transaction was confirmed and before it recorded it.
class DyingBeforeRecords final : public ports::BlobStore {
 public:
  explicit DyingBeforeRecords(ports::BlobStore& inner) : inner_(inner) {}

  Result<std::vector<std::string>> put_if_absent_streamed(const std::string& region,
                                                          std::size_t count,
                                                          const MakeWrite& make_write) override {
    return inner_.put_if_absent_streamed(region, count, make_write);
  }
  Status remove_unclaimed(const std::string& region, std::span<const std::string> keys) override {
    return inner_.remove_unclaimed(region, keys);
  }
  Status release_claims(const std::string& region,
                        std::span<const ports::ClaimedBlob> claims) override {
    return inner_.release_claims(region, claims);
  }
  Result<std::vector<std::optional<std::string>>> claimed_versions(
      const std::string& region, std::span<const ports::VersionRef> versions) override {
    return inner_.claimed_versions(region, versions);
  }
  Result<ports::Bytes> get(const std::string& region, const std::string& key) override {
    return inner_.get(region, key);
  }
  Status put_pointer_records(const std::string& region,
                             std::span<const ports::PointerRecordWrite>) override {
    return Error{ErrorCode::kIntegrity, "injected: the gateway dies here", region};
  }
  Result<std::map<std::uint64_t, std::string>> pointer_records(
      const std::string& region, const std::string& resource_key) override {
    return inner_.pointer_records(region, resource_key);
  }
  Result<std::vector<std::string>> patient_resources(const std::string& region,
                                                     const std::string& patient_key) override {
    return inner_.patient_resources(region, patient_key);
  }
  Status put_pending_anchors(const std::string& region,
                             std::span<const ports::PointerRecordWrite> records) override {
    return inner_.put_pending_anchors(region, records);
  }
  Result<std::vector<ports::AnchorRecords>> anchor_records(
      const std::string& region, std::span<const ports::VersionRef> versions) override {
    return inner_.anchor_records(region, versions);
  }
  std::string storage_key(const std::string& key) const override { return inner_.storage_key(key); }

 private:
  ports::BlobStore& inner_;
};

class RefusedAndRedelivered : public ::testing::Test {
 protected:
  void SetUp() override {
    auto contract = evm::deploy_pointer_registry(
        anvil_.rpc_url(), SecretBytes(parse_hex(testing::AnvilNode::kDevKey0).value()));
    ASSERT_TRUE(contract) << contract.error().message;
    contract_ = *contract;
    auto b = redis::make_region_stores(
        {.regions = {{kRegion, {.host = "127.0.0.1", .port = redis_.port()}}}});
    auto k = fl::keys::make_keyring_key_provider(
        (testing::source_root() / "config/keys/dev-keyring.json").string());
    ASSERT_TRUE(b && k);
    blobs_ = std::move(*b);
    keys_ = std::move(*k);
    auto transport = ledger::make_http_transport(anvil_.rpc_url(), 5s);
    ASSERT_TRUE(transport);
    rpc_ = std::make_unique<ledger::JsonRpcClient>(std::move(*transport), anvil_.rpc_url());
    auto s = ledger::Signer::create(SecretBytes(parse_hex(testing::AnvilNode::kDevKey0).value()));
    ASSERT_TRUE(s);
    signer_ = std::move(*s);
    registry_ = std::make_unique<ledger::PointerRegistry>(*rpc_, *signer_, rpc_->chain_id().value(),
                                                          ledger::parse_address(contract_).value());
  }

  // One gateway's life, from start until caught up (or its first fatal error), as after a
  // restart: its own ledger client. Observations are anchored in merkle mode, the rest as
  // pointers.
  Status run_gateway(ports::EventSource& source, ports::DeadLetters& dead,
                     ports::Receipts& receipts, ports::BlobStore* store = nullptr) {
    auto ledger = evm::make_pointer_ledger(
        {.rpc_url = anvil_.rpc_url(),
         .contract_address = contract_,
         .private_key = SecretBytes(parse_hex(testing::AnvilNode::kDevKey0).value())});
    if (!ledger) return ledger.error();
    ports::SteadyClock clock;
    PassThroughNormalizer normalizer;
    PermitAllPolicy policy(kRegion);
    PipelineOptions options{.until_caught_up = true, .idle_before_exit = 300ms};
    options.anchoring.by_resource_type.emplace("Observation", ports::AnchorMode::kMerkle);
    Pipeline pipeline({.source = source,
                       .dead_letters = dead,
                       .receipts = receipts,
                       .blobs = store ? *store : *blobs_,
                       .master_keys = *blobs_,
                       .directory = *blobs_,
                       .ledger = **ledger,
                       .keys = *keys_,
                       .clock = clock},
                      normalizer, policy, options);
    std::atomic<bool> stop{false};
    return pipeline.run(stop);
  }

  // Over Kafka: a gateway in consumer group `group`.
  Status run_kafka_gateway(const testing::KafkaCluster& kafka, const std::string& group) {
    const kafka::KafkaConfig config{.bootstrap_servers = kafka.bootstrap(),
                                    .group_id = group,
                                    .input_topics = {"fhir.events"},
                                    .dead_letter_topic = "fhir.dead-letters",
                                    .results_topic = "fhir.receipts"};
    auto source = kafka::make_event_source(config);
    std::shared_ptr<ports::TopicSealer> sealer =
        crypto::make_topic_sealer(*keys_, "default").value();
    auto dead = kafka::make_dead_letters(config, sealer);
    auto receipts = kafka::make_receipts(config, sealer);
    if (!source) return source.error();
    if (!dead) return dead.error();
    if (!receipts) return receipts.error();
    auto ran = run_gateway(**source, **dead, **receipts);
    if (auto closed = (*source)->close(); !closed) return closed;
    return ran;
  }

  ledger::Hash32 key_of(const std::string& reference) {
    return Pseudonyms(*keys_).resource_key("default", reference).value();
  }

  std::string redis_cli(const std::string& args) {
    return testing::shell_output("redis-cli -p " + std::to_string(redis_.port()) + " " + args);
  }
  // The version's claim as Redis holds it (content hash hex), empty when there is none.
  std::string claim_of(const std::string& reference, std::uint64_t version) {
    return redis_cli("HGET " + redis::claims_key(to_hex(key_of(reference))) + " " +
                     std::to_string(version));
  }
  std::size_t blob_count() { return std::stoul(redis_cli("--scan --pattern 'blob:*' | wc -l")); }

  // Every Merkle root the contract took (its RootAnchored events), in order.
  std::vector<ledger::Hash32> anchored_roots() {
    const std::string_view event = ledger::kRootAnchoredEvent;
    const ledger::Hash32 topic = ledger::keccak256(
        ByteView(reinterpret_cast<const std::uint8_t*>(event.data()), event.size()));
    auto logs = rpc_->logs(ledger::parse_address(contract_).value(), {topic});
    EXPECT_TRUE(logs) << logs.error().message;
    std::vector<ledger::Hash32> roots;
    if (!logs) return roots;
    for (const auto& log : *logs) {
      if (log.topics.size() >= 2) roots.push_back(log.topics[1]);
    }
    return roots;
  }

  testing::RedisServer redis_;
  testing::AnvilNode anvil_;
  std::string contract_;
  std::unique_ptr<redis::RegionStores> blobs_;
  std::unique_ptr<ports::KeyProvider> keys_;
  std::unique_ptr<ledger::JsonRpcClient> rpc_;
  std::unique_ptr<ledger::Signer> signer_;
  std::unique_ptr<ledger::PointerRegistry> registry_;
};

TEST_F(RefusedAndRedelivered, ARefusedBundleLeavesNoClaimOrBlobAndACorrectedEntryIsAnchoredLater) {
  testing::FakeEventSource source;
  testing::FakeDeadLetters dead;
  testing::FakeReceipts receipts;
  source.push(R"({"resourceType":"Condition","id":"c3","meta":{"versionId":"1"},)"
              R"("clinicalStatus":{"text":"active"}})");
  ASSERT_TRUE(run_gateway(source, dead, receipts));
  ASSERT_EQ(blob_count(), 1u);

  // Entry 3 is version 1 of c3 again, with other content.
  source.push(R"({"resourceType":"Bundle","type":"transaction","entry":[
      {"resource":{"resourceType":"Patient","id":"p1","meta":{"versionId":"1"}}},
      {"resource":{"resourceType":"Observation","id":"o2","meta":{"versionId":"1"}}},
      {"resource":{"resourceType":"Condition","id":"c3","meta":{"versionId":"1"},
                   "clinicalStatus":{"text":"resolved"}}}]})");
  ASSERT_TRUE(run_gateway(source, dead, receipts));

  ASSERT_EQ(dead.letters.size(), 1u);
  EXPECT_EQ(dead.letters[0].error_code, "conflict");
  EXPECT_TRUE(dead.letters[0].error_detail.starts_with(
      "Version 1 of this resource is already stored with other content; publish the change as "
      "a new version."))
      << dead.letters[0].error_detail;
  EXPECT_EQ(claim_of("Patient/p1", 1), "");
  EXPECT_EQ(claim_of("Observation/o2", 1), "");
  EXPECT_EQ(blob_count(), 1u);  // c3's first version only
  EXPECT_EQ(source.committed(), 2);

  // Entry 1 corrected: the same version with other content.
  source.push(R"({"resourceType":"Patient","id":"p1","meta":{"versionId":"1"},"gender":"female"})");
  ASSERT_TRUE(run_gateway(source, dead, receipts));

  EXPECT_EQ(dead.letters.size(), 1u);
  ASSERT_EQ(receipts.receipts.size(), 2u);
  const ports::Receipt& corrected = receipts.receipts[1];
  EXPECT_EQ(corrected.reference, "Patient/p1");
  EXPECT_EQ(claim_of("Patient/p1", 1), corrected.content_hash.substr(2));
  auto latest = registry_->latest(key_of("Patient/p1"));
  ASSERT_TRUE(latest && latest->has_value());
  EXPECT_EQ(to_0x_hex((*latest)->second), corrected.content_hash);
  EXPECT_TRUE(verify_resource(*evm::make_ledger_reader(*registry_), *blobs_, {kRegion},
                              key_of("Patient/p1"), 1));
}

TEST_F(RefusedAndRedelivered, AVersionTheLedgerRefusesAsAConflictLeavesNoClaimOrBlob) {
  // Version 1 of c9 is on chain with other content, and not in this region's Redis (as when
  // another gateway or region anchored it): only the ledger can see the conflict.
  ledger::PointerRecord other{
      .resource_key = key_of("Condition/c9"), .version = 1, .region = "elsewhere", .key_id = "k"};
  other.content_hash.fill(0x5a);
  auto tx = registry_->anchor_batch(std::span(&other, 1));
  ASSERT_TRUE(tx) << tx.error().message;
  ASSERT_TRUE(registry_->wait_for_receipt(*tx, 1, 30s));
  testing::FakeEventSource source;
  testing::FakeDeadLetters dead;
  testing::FakeReceipts receipts;
  source.push(R"({"resourceType":"Bundle","type":"transaction","entry":[
      {"resource":{"resourceType":"Condition","id":"c9","meta":{"versionId":"1"}}},
      {"resource":{"resourceType":"Patient","id":"p9","meta":{"versionId":"1"}}}]})");
  ASSERT_TRUE(run_gateway(source, dead, receipts));

  ASSERT_EQ(dead.letters.size(), 1u);
  EXPECT_EQ(dead.letters[0].error_code, "conflict");
  EXPECT_EQ(claim_of("Condition/c9", 1), "") << "the refused version's claim is released";
  ASSERT_EQ(receipts.receipts.size(), 1u);  // the event's other resource was anchored
  EXPECT_EQ(receipts.receipts[0].reference, "Patient/p9");
  EXPECT_EQ(blob_count(), 1u) << "only p9's blob stays";
  EXPECT_EQ(source.committed(), 1);
}

TEST_F(RefusedAndRedelivered, AMerkleVersionRepublishedAndRedeliveredIsUnderExactlyOneRoot) {
  testing::KafkaCluster kafka({"fhir.events", "fhir.dead-letters", "fhir.receipts"});
  const std::string o1 = R"({"resourceType":"Observation","id":"o1","meta":{"versionId":"2"}})";
  ASSERT_TRUE(
      kafka::publish(kafka.bootstrap(), "fhir.events",
                     {{.key = "o1", .value = o1},
                      {.key = "o2", .value = R"({"resourceType":"Observation","id":"o2"})"}}));
  ASSERT_TRUE(run_kafka_gateway(kafka, "gateway"));
  ASSERT_EQ(anchored_roots().size(), 1u);

  // Published again, and then every message delivered again (a new consumer group).
  ASSERT_TRUE(kafka::publish(kafka.bootstrap(), "fhir.events", {{.key = "o1", .value = o1}}));
  ASSERT_TRUE(run_kafka_gateway(kafka, "gateway"));
  ASSERT_TRUE(run_kafka_gateway(kafka, "gateway-replay"));

  const auto roots = anchored_roots();
  ASSERT_EQ(roots.size(), 1u);
  auto receipts = kafka::read_topic(kafka.bootstrap(), "fhir.receipts", 10s);
  ASSERT_TRUE(receipts) << receipts.error().message;
  EXPECT_EQ(receipts->size(), 2u + 1u + 3u);
  const std::string o1_key = to_0x_hex(key_of("Observation/o1"));
  std::set<std::string> o1_roots, o1_transactions;
  std::size_t o1_receipts = 0;
  for (const auto& m : *receipts) {
    rapidjson::Document r;
    r.Parse(m.value.c_str());
    ASSERT_FALSE(r.HasParseError());
    ASSERT_TRUE(r.HasMember("merkle")) << m.value;
    const std::string root = r["merkle"]["root"].GetString();
    EXPECT_EQ(root, to_0x_hex(roots[0]));
    if (std::string(r["resourceKey"].GetString()) != o1_key) continue;
    ++o1_receipts;
    o1_roots.insert(root);
    o1_transactions.insert(r["txHash"].GetString());
  }
  EXPECT_EQ(o1_receipts, 4u);  // once per delivery
  EXPECT_EQ(o1_roots.size(), 1u);
  EXPECT_EQ(o1_transactions.size(), 1u);
  auto dead = kafka::read_topic(kafka.bootstrap(), "fhir.dead-letters", 10s);
  ASSERT_TRUE(dead);
  EXPECT_TRUE(dead->empty());
  auto verified = verify_resource(*evm::make_ledger_reader(*registry_), *blobs_, {kRegion},
                                  key_of("Observation/o1"), 2);
  ASSERT_TRUE(verified) << verified.error().message;
  EXPECT_EQ(verified->mode, "merkle");
}

// The gateway dies after its root was mined and before it wrote the pointer records: the
// pending anchor it wrote when it sent the transaction leads the re-delivery to that root.
TEST_F(RefusedAndRedelivered, AGatewayThatDiedBeforeRecordingItsRootLeavesItForTheReDelivery) {
  testing::FakeEventSource source;
  testing::FakeDeadLetters dead;
  testing::FakeReceipts receipts;
  const std::string o1 = R"({"resourceType":"Observation","id":"o1","meta":{"versionId":"7"}})";
  source.push(o1);
  DyingBeforeRecords dying(*blobs_);
  ASSERT_FALSE(run_gateway(source, dead, receipts, &dying));
  ASSERT_EQ(source.committed(), 0);
  ASSERT_EQ(anchored_roots().size(), 1u);

  testing::FakeEventSource replay;
  replay.push(o1);
  ASSERT_TRUE(run_gateway(replay, dead, receipts));

  const auto roots = anchored_roots();
  ASSERT_EQ(roots.size(), 1u);
  ASSERT_EQ(receipts.receipts.size(), 1u);
  EXPECT_EQ(receipts.receipts[0].merkle_root, to_0x_hex(roots[0]));
  EXPECT_GT(receipts.receipts[0].block, 0u);
  EXPECT_EQ(replay.committed(), 1);
  auto verified = verify_resource(*evm::make_ledger_reader(*registry_), *blobs_, {kRegion},
                                  key_of("Observation/o1"), 7);
  ASSERT_TRUE(verified) << verified.error().message;
  EXPECT_EQ(verified->block, receipts.receipts[0].block);
}

}  // namespace
}  // namespace fl::gateway
