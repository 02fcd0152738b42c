// The whole pipeline with real adapters: the Kafka mock cluster over TCP, redis-server, anvil,
// the keyring file. What the pipeline reports is checked against what the services hold.
#include "fl/adapters/evm/evm_pointer_ledger.h"
#include "fl/adapters/kafka/kafka_event_source.h"
#include "fl/adapters/kafka/kafka_producers.h"
#include "fl/adapters/kafka/tools.h"
#include "fl/adapters/keys/keyring_key_provider.h"
#include "fl/adapters/redis/redis_blob_store.h"
#include "fl/gateway/crypto/hash.h"
#include "fl/gateway/pipeline.h"
#include "fl/ledger/json_rpc.h"
#include "fl/ledger/pointer_registry.h"

#include "support/corpus.h"
#include "support/sealed_topics.h"
#include "support/services.h"

#include <gtest/gtest.h>

#include <set>

namespace fl::gateway {
namespace {

using namespace std::chrono_literals;

TEST(PipelineIntegration, StoresAnchorsReportsAndDeadLettersAgainstRealServices) {
  testing::KafkaCluster kafka_cluster({"fhir.events", "fhir.dead-letters", "fhir.receipts"}, 2);
  testing::RedisServer redis_server;
  testing::AnvilNode anvil;
  auto contract = evm::deploy_pointer_registry(
      anvil.rpc_url(), SecretBytes(parse_hex(testing::AnvilNode::kDevKey0).value()));
  ASSERT_TRUE(contract) << contract.error().message;

  const kafka::KafkaConfig kafka_config{.bootstrap_servers = kafka_cluster.bootstrap(),
                                        .group_id = "gateway",
                                        .input_topics = {"fhir.events"},
                                        .dead_letter_topic = "fhir.dead-letters",
                                        .results_topic = "fhir.receipts"};
  ASSERT_TRUE(kafka::publish(
      kafka_cluster.bootstrap(), "fhir.events",
      {{.key = "Patient/pat-a17", .value = R"({"resourceType":"Patient","id":"pat-a17"})"},
       {.key = "Patient/pat-a17", .value = R"({"resourceType":"Observation","id":"obs-o17",
                          "subject":{"reference":"Patient/pat-a17"},"meta":{"versionId":"3"}})"},
       {.key = "Patient/pat-bad17",
        .value = "{\"resourceType\":\"Patient\",\"id\":\"pat-bad17\",",
        .headers = {{"fhir-source", "https://ehr-q17.example/fhir"}}},
       {.key = "Patient/pat-b17", .value = R"({"resourceType":"Bundle","id":"b","type":"collection",
                                  "entry":[{"resource":{"resourceType":"Patient","id":"pat-b17"}},
                                           {"resource":{"resourceType":"Condition","id":"cond-c17"}}]})"}}));

  auto keys = fl::keys::make_keyring_key_provider(
      (testing::source_root() / "config/keys/dev-keyring.json").string());
  ASSERT_TRUE(keys);
  std::shared_ptr<ports::TopicSealer> sealer = crypto::make_topic_sealer(**keys, "default").value();
  auto source = kafka::make_event_source(kafka_config);
  auto dead = kafka::make_dead_letters(kafka_config, sealer);
  auto receipts = kafka::make_receipts(kafka_config, sealer);
  auto blobs = redis::make_region_stores(
      {.regions = {{"default", {.host = "127.0.0.1", .port = redis_server.port()}}}});
  auto ledger = evm::make_pointer_ledger(
      {.rpc_url = anvil.rpc_url(),
       .contract_address = *contract,
       .private_key = SecretBytes(parse_hex(testing::AnvilNode::kDevKey0).value())});
  ASSERT_TRUE(source && dead && receipts && blobs && keys && ledger);
  ports::SteadyClock clock;
  PassThroughNormalizer normalizer;
  PermitAllPolicy policy("default");
  Pipeline pipeline({.source = **source,
                     .dead_letters = **dead,
                     .receipts = **receipts,
                     .blobs = **blobs,
                     .master_keys = **blobs,
                     .directory = **blobs,
                     .ledger = **ledger,
                     .keys = **keys,
                     .clock = clock},
                    normalizer, policy, {.until_caught_up = true, .idle_before_exit = 500ms});
  std::atomic<bool> stop{false};

  ASSERT_TRUE(pipeline.run(stop));
  ASSERT_TRUE((*source)->close());

  EXPECT_EQ(pipeline.stats().consumed, 4u);
  EXPECT_EQ(pipeline.stats().resources, 4u);
  EXPECT_EQ(pipeline.stats().dead_lettered, 1u);

  auto letters = kafka::read_topic(kafka_cluster.bootstrap(), "fhir.dead-letters", 10s);
  ASSERT_TRUE(letters);
  ASSERT_EQ(letters->size(), 1u);
  EXPECT_EQ(letters->front().header("origin-topic"), "fhir.events");
  auto original = testing::open_dead_letter(**keys, letters->front());
  ASSERT_TRUE(original) << original.error().message;
  EXPECT_EQ(original->value, "{\"resourceType\":\"Patient\",\"id\":\"pat-bad17\",");
  EXPECT_EQ(original->key, "Patient/pat-bad17");
  EXPECT_EQ(original->headers, (kafka::Headers{{"fhir-source", "https://ehr-q17.example/fhir"}}));

  auto receipt_messages = kafka::read_topic(kafka_cluster.bootstrap(), "fhir.receipts", 10s);
  ASSERT_TRUE(receipt_messages);
  ASSERT_EQ(receipt_messages->size(), 4u);

  // No topic the gateway writes names a record or a source in clear (issue 14).
  for (const auto* topic : {&*letters, &*receipt_messages}) {
    testing::expect_nothing_in_clear(
        *topic, {"pat-a17", "obs-o17", "pat-bad17", "pat-b17", "cond-c17", "ehr-q17"});
  }
  std::set<std::string> references;
  for (const auto& m : *receipt_messages) {
    rapidjson::Document r;
    r.Parse(m.value.c_str());
    auto opened = testing::open_receipt(**keys, r);
    ASSERT_TRUE(opened) << opened.error().message;
    references.insert(opened->second);
  }
  EXPECT_EQ(references, (std::set<std::string>{"Patient/pat-a17", "Observation/obs-o17",
                                               "Patient/pat-b17", "Condition/cond-c17"}));

  // Every receipt holds: the blob in Redis hashes to the content hash, and the chain's latest
  // pointer for the resource key is that content hash.
  auto transport = ledger::make_http_transport(anvil.rpc_url(), 5s);
  ledger::JsonRpcClient rpc(std::move(*transport), anvil.rpc_url());
  auto signer =
      ledger::Signer::create(SecretBytes(parse_hex(testing::AnvilNode::kDevKey0).value()));
  ledger::PointerRegistry registry(rpc, **signer, rpc.chain_id().value(),
                                   ledger::parse_address(*contract).value());
  for (const auto& m : *receipt_messages) {
    rapidjson::Document r;
    r.Parse(m.value.c_str());
    const std::string content_hash = r["contentHash"].GetString();
    auto blob = (*blobs)->get("default", content_hash.substr(2));
    ASSERT_TRUE(blob);
    EXPECT_EQ(to_0x_hex(crypto::sha256(*blob)), content_hash);
    EXPECT_EQ(std::string(as_chars(*blob)).find("\"id\""), std::string::npos);  // encrypted
    ledger::Hash32 resource_key{};
    const Bytes rk = parse_hex(r["resourceKey"].GetString()).value();
    std::copy(rk.begin(), rk.end(), resource_key.begin());
    auto latest = registry.latest(resource_key);
    ASSERT_TRUE(latest && latest->has_value());
    EXPECT_EQ(to_0x_hex((*latest)->second), content_hash);
    EXPECT_EQ((*latest)->first, r["version"].GetUint64());
  }
}

}  // namespace
}  // namespace fl::gateway
