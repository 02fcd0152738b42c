// Issue 14's poison events, each published between good events to a real Kafka-protocol broker
// (the mock cluster over TCP), with redis-server and anvil: no event may stop its partition.
// The poison is dead-lettered with a reason (cut to the topic's message size, saying so), the
// good events around it are anchored and committed, and nothing is retried forever.
#include "fl/adapters/evm/evm_pointer_ledger.h"
#include "fl/adapters/kafka/kafka_event_source.h"
#include "fl/adapters/kafka/kafka_producers.h"
#include "fl/adapters/kafka/tools.h"
#include "fl/adapters/keys/keyring_key_provider.h"
#include "fl/adapters/redis/redis_blob_store.h"
#include "fl/gateway/crypto/hash.h"
#include "fl/gateway/pipeline.h"

#include "support/corpus.h"
#include "support/sealed_topics.h"
#include "support/services.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <map>
#include <thread>

namespace fl::gateway {
namespace {

using namespace std::chrono_literals;

// Stores everything in the default region unless the sender says the data is Brazilian, which
// this test's jurisdiction forbids storing (the shipped bundle's default-deny, in one line).
class DenyBrazil final : public IngestPolicy {
 public:
  Result<Decision> decide_ingest(const IngestRequest& request) override {
    if (request.jurisdiction_header == "BR") {
      return Decision{.permit = false, .rule_ids = {"test-deny-br"}};
    }
    return Decision{.permit = true, .region = "default", .rule_ids = {"test-permit"}};
  }
};

std::string patient(const std::string& id, std::size_t padding = 0) {
  return R"({"resourceType":"Patient","id":")" + id + R"(","text":{"status":"generated","div":")" +
         std::string(padding, 'p') + R"("}})";
}

// A transaction Bundle of one Patient and `conditions` Conditions about it.
std::string conditions_bundle(int conditions) {
  std::string b =
      R"({"resourceType":"Bundle","type":"transaction","entry":[)"
      R"({"fullUrl":"urn:uuid:p-cond","resource":{"resourceType":"Patient","id":"cond"},)"
      R"("request":{"method":"PUT","url":"Patient/cond"}})";
  for (int i = 0; i < conditions; ++i) {
    b +=
        R"(,{"resource":{"resourceType":"Condition","id":"c)" + std::to_string(i) +
        R"(","subject":{"reference":"urn:uuid:p-cond"}},"request":{"method":"POST","url":"Condition"}})";
  }
  return b + "]}";
}

std::string many_entries_bundle(int entries, std::size_t padding) {
  std::string b = R"({"resourceType":"Bundle","type":"batch","entry":[)";
  for (int i = 0; i < entries; ++i) {
    if (i > 0) b += ",";
    b += R"({"resource":{"resourceType":"Basic","id":"b)" + std::to_string(i) +
         R"(","code":{"text":")" + std::string(padding, 'b') + R"("}}})";
  }
  return b + "]}";
}

class PoisonEvents : public ::testing::Test {
 protected:
  void SetUp() override {
    auto contract = evm::deploy_pointer_registry(
        anvil_.rpc_url(), SecretBytes(parse_hex(testing::AnvilNode::kDevKey0).value()));
    ASSERT_TRUE(contract) << contract.error().message;
    contract_ = *contract;
  }

  // Runs a gateway until every published event is committed, or fails after `limit`.
  PipelineStats run_gateway(std::chrono::seconds limit = 150s) {
    auto keys = fl::keys::make_keyring_key_provider(
        (testing::source_root() / "config/keys/dev-keyring.json").string());
    if (!keys) return {};
    std::shared_ptr<ports::TopicSealer> sealer =
        crypto::make_topic_sealer(**keys, "default").value();
    auto source = kafka::make_event_source(kafka_config_);
    auto dead = kafka::make_dead_letters(kafka_config_, sealer);
    auto receipts = kafka::make_receipts(kafka_config_, sealer);
    auto blobs = redis::make_region_stores(
        {.regions = {{"default", {.host = "127.0.0.1", .port = redis_.port()}}}});
    auto ledger = evm::make_pointer_ledger(
        {.rpc_url = anvil_.rpc_url(),
         .contract_address = contract_,
         .private_key = SecretBytes(parse_hex(testing::AnvilNode::kDevKey0).value())});
    EXPECT_TRUE(source && dead && receipts && blobs && keys && ledger);
    if (!(source && dead && receipts && blobs && keys && ledger)) return {};
    ports::SteadyClock clock;
    PassThroughNormalizer normalizer;
    DenyBrazil policy;
    PipelineOptions options{.until_caught_up = true, .idle_before_exit = 500ms};
    options.limits.max_event_bytes = 2500 * 1024;
    Pipeline pipeline({.source = **source,
                       .dead_letters = **dead,
                       .receipts = **receipts,
                       .blobs = **blobs,
                       .master_keys = **blobs,
                       .directory = **blobs,
                       .ledger = **ledger,
                       .keys = **keys,
                       .clock = clock},
                      normalizer, policy, options);
    std::atomic<bool> stop{false};
    std::atomic<bool> done{false};
    // A poison event retried forever would keep run() from returning: the watchdog stops it,
    // and the test fails on the time it took.
    std::thread watchdog([&] {
      const auto deadline = std::chrono::steady_clock::now() + limit;
      while (!done.load() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(100ms);
      }
      stop.store(true);
    });
    const auto started = std::chrono::steady_clock::now();
    auto ran = pipeline.run(stop);
    done.store(true);
    watchdog.join();
    EXPECT_TRUE(ran) << ran.error().message;
    EXPECT_LT(std::chrono::steady_clock::now() - started, limit) << "a batch never finished";
    EXPECT_TRUE((*source)->close());
    return pipeline.stats();
  }

  testing::KafkaCluster kafka_{{"fhir.events", "fhir.dead-letters", "fhir.receipts", "fhir.audit"},
                               8};
  testing::RedisServer redis_;
  testing::AnvilNode anvil_;
  std::string contract_;
  kafka::KafkaConfig kafka_config_{.bootstrap_servers = kafka_.bootstrap(),
                                   .group_id = "gateway",
                                   .input_topics = {"fhir.events"},
                                   .dead_letter_topic = "fhir.dead-letters",
                                   .results_topic = "fhir.receipts"};
};

TEST_F(PoisonEvents, EachPoisonIsDeadLetteredAndTheGoodEventsAroundItAreAnchoredAndCommitted) {
  const std::string invalid_2mb = R"({"resourceType":"Patient","id":"x","name":[{"text":")" +
                                  std::string(2 * 1024 * 1024, 'n');  // never closed
  const std::string entries_20000 = many_entries_bundle(20000, 48);
  const std::string denied_1500k = patient("br1", 1500 * 1024);
  const std::string over_limit = patient("big", 2600 * 1024);
  ASSERT_GT(entries_20000.size(), 2u * 1024 * 1024);
  ASSERT_TRUE(kafka::publish(
      kafka_.bootstrap(), "fhir.events",
      {{.key = "k1", .value = patient("good1")},
       {.key = "k2", .value = invalid_2mb},
       {.key = "k3", .value = entries_20000},
       {.key = "k4", .value = denied_1500k, .headers = {{"fhir-jurisdiction", "BR"}}},
       {.key = "k5", .value = over_limit},
       {.key = "k6",
        .value = patient("good2"),
        .headers = {{"x-junk", std::string(3 * 1024 * 1024, 'j')}}},
       {.key = "k7", .value = conditions_bundle(1000)},
       {.key = "k8", .value = patient("good3")}}));

  const PipelineStats stats = run_gateway();

  EXPECT_EQ(stats.consumed, 8u);
  EXPECT_EQ(stats.dead_lettered, 4u);
  EXPECT_EQ(stats.resources, 3u + 1001u);  // good1..3, and the Bundle's Patient and Conditions
  EXPECT_GE(stats.transactions, 4u);       // 1,001 pointers need several under the gas limit

  auto letters = kafka::read_topic(kafka_.bootstrap(), "fhir.dead-letters", 10s);
  ASSERT_TRUE(letters) << letters.error().message;
  ASSERT_EQ(letters->size(), 4u);
  // The sender's key travels sealed with the original; the dev keyring opens it.
  auto keys = fl::keys::make_keyring_key_provider(
      (testing::source_root() / "config/keys/dev-keyring.json").string());
  ASSERT_TRUE(keys);
  std::map<std::string, const ports::SourceEvent*> by_key;
  for (const auto& l : *letters) {
    auto original = testing::open_dead_letter(**keys, l);
    ASSERT_TRUE(original) << original.error().message;
    by_key[original->key] = &l;
  }
  for (const auto& [key, expected_detail] :
       std::map<std::string, std::string>{{"k2", "invalid JSON"},
                                          {"k3", "more than 10000 entries"},
                                          {"k4", ""},
                                          {"k5", "exceeds the limit"}}) {
    ASSERT_TRUE(by_key.contains(key)) << key;
    const auto& l = *by_key.at(key);
    EXPECT_NE(l.header("error-detail").find(expected_detail), std::string::npos)
        << key << ": " << l.header("error-detail");
    EXPECT_LE(l.value.size(), 1000000u) << key;
    EXPECT_EQ(l.header("original-sha256").size(), 64u) << key;
    EXPECT_FALSE(l.header("origin-offset").empty()) << key;
  }
  EXPECT_EQ(by_key.at("k4")->header("error-code"), "policy-denied");
  EXPECT_NE(by_key.at("k4")->header("error-detail").find("test-deny-br"), std::string::npos);
  // Letters over the topic's limit are cut and say so, with the original's size and hash.
  EXPECT_EQ(by_key.at("k2")->header("original-truncated"), "value");
  EXPECT_EQ(by_key.at("k2")->header("original-bytes"), std::to_string(invalid_2mb.size()));
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(invalid_2mb.data());
  EXPECT_EQ(by_key.at("k2")->header("original-sha256"),
            to_hex(crypto::sha256({bytes, invalid_2mb.size()})));
  EXPECT_EQ(by_key.at("k5")->header("original-truncated"), "value");
  EXPECT_EQ(by_key.at("k3")->header("original-truncated"), "value");

  auto receipts = kafka::read_topic(kafka_.bootstrap(), "fhir.receipts", 10s);
  ASSERT_TRUE(receipts) << receipts.error().message;
  EXPECT_EQ(receipts->size(), 1004u);
}

TEST_F(PoisonEvents, ARedeliveredEventIsCountedAsAlreadyAnchoredNotAsANewPointer) {
  ASSERT_TRUE(kafka::publish(
      kafka_.bootstrap(), "fhir.events",
      {{.key = "k1", .value = patient("p1")}, {.key = "k2", .value = patient("p2")}}));
  const PipelineStats first = run_gateway();
  ASSERT_TRUE(kafka::publish(kafka_.bootstrap(), "fhir.events",
                             {{.key = "k1", .value = patient("p1")}}));  // published again

  const PipelineStats second = run_gateway();

  EXPECT_EQ(first.pointers, 2u);
  EXPECT_EQ(first.already_anchored, 0u);
  EXPECT_EQ(first.transactions, 1u);
  EXPECT_EQ(second.consumed, 1u);
  EXPECT_EQ(second.pointers, 0u);
  EXPECT_EQ(second.already_anchored, 1u);
  EXPECT_LE(second.transactions, 1u);  // the re-anchor, which the contract ignores
}

}  // namespace
}  // namespace fl::gateway
