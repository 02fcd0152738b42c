// `ledger verify` end to end: the pipeline stores and anchors resources in both modes on a real
// redis-server and anvil, and every resource verifies; then each link is altered in turn (the
// blob, the pointer record, the proof, the root) and verification names the broken link.
#include "fl/adapters/evm/evm_ledger_reader.h"
#include "fl/adapters/evm/evm_pointer_ledger.h"
#include "fl/adapters/keys/keyring_key_provider.h"
#include "fl/adapters/redis/redis_blob_store.h"
#include "fl/gateway/pipeline.h"
#include "fl/gateway/pointer_record.h"
#include "fl/gateway/pseudonyms.h"
#include "fl/gateway/verify.h"
#include "fl/ledger/json_rpc.h"
#include "fl/ledger/pointer_registry.h"

#include "support/corpus.h"
#include "support/fakes.h"
#include "support/services.h"

#include <gtest/gtest.h>

#include <cstdio>

namespace fl::gateway {
namespace {

using namespace std::chrono_literals;
using testing::shell_output;

class LedgerVerifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto contract = evm::deploy_pointer_registry(
        anvil.rpc_url(), SecretBytes(parse_hex(testing::AnvilNode::kDevKey0).value()));
    ASSERT_TRUE(contract) << contract.error().message;
    auto b = redis::make_region_stores(
        {.regions = {{"eu", {.host = "127.0.0.1", .port = redis_server.port()}}}});
    auto k = fl::keys::make_keyring_key_provider(
        (testing::source_root() / "config/keys/dev-keyring.json").string());
    auto l = evm::make_pointer_ledger(
        {.rpc_url = anvil.rpc_url(),
         .contract_address = *contract,
         .private_key = SecretBytes(parse_hex(testing::AnvilNode::kDevKey0).value())});
    ASSERT_TRUE(b && k && l);
    blobs = std::move(*b);
    keys = std::move(*k);
    ledger = std::move(*l);
    auto transport = ledger::make_http_transport(anvil.rpc_url(), 5s);
    rpc = std::make_unique<ledger::JsonRpcClient>(std::move(*transport), anvil.rpc_url());
    auto s = ledger::Signer::create(SecretBytes(parse_hex(testing::AnvilNode::kDevKey0).value()));
    ASSERT_TRUE(s);
    signer = std::move(*s);
    registry = std::make_unique<ledger::PointerRegistry>(*rpc, *signer, rpc->chain_id().value(),
                                                         ledger::parse_address(*contract).value());

    source.push(R"({"resourceType":"Patient","id":"a","name":[{"family":"Doe"}]})");
    source.push(R"({"resourceType":"Observation","id":"o1","subject":{"reference":"Patient/a"},
                    "status":"final","meta":{"versionId":"3"}})");
    source.push(R"({"resourceType":"Observation","id":"o2","subject":{"reference":"Patient/a"}})");
    source.push(R"({"resourceType":"Observation","id":"o3","subject":{"reference":"Patient/a"}})");
    source.push(R"({"resourceType":"Condition","id":"c1","subject":{"reference":"Patient/a"}})");
    run_pipeline();
    source.push(R"({"resourceType":"Bundle","id":"d","type":"transaction","entry":[
                    {"request":{"method":"DELETE","url":"Condition/c1","ifMatch":"W/\"1\""}}]})");
    run_pipeline();
  }

  void run_pipeline() {
    ports::SteadyClock clock;
    PassThroughNormalizer normalizer;
    PermitAllPolicy policy("eu");
    PipelineOptions options{.until_caught_up = true, .idle_before_exit = 10ms};
    options.anchoring.by_resource_type.emplace("Observation", ports::AnchorMode::kMerkle);
    Pipeline pipeline({.source = source,
                       .dead_letters = dead,
                       .receipts = receipts,
                       .blobs = *blobs,
                       .master_keys = *blobs,
                       .directory = *blobs,
                       .ledger = *ledger,
                       .keys = *keys,
                       .clock = clock},
                      normalizer, policy, options);
    std::atomic<bool> stop{false};
    ASSERT_TRUE(pipeline.run(stop));
  }

  ledger::Hash32 key_of(const std::string& reference) {
    return *Pseudonyms(*keys).resource_key("default", reference);
  }

  Result<Verification> verify(const std::string& reference,
                              std::optional<std::uint64_t> version = std::nullopt) {
    return verify_resource(*evm::make_ledger_reader(*registry), *blobs, {"eu"}, key_of(reference),
                           version);
  }

  // Rewrites the stored pointer record of a resource version.
  void edit_record(const std::string& reference, std::uint64_t version,
                   const std::function<void(PointerRecord&)>& edit) {
    const std::string key = to_hex(key_of(reference));
    auto records = blobs->pointer_records("eu", key);
    auto record = parse_pointer_record(records->at(version));
    ASSERT_TRUE(record) << record.error().message;
    edit(*record);
    const ports::PointerRecordWrite write{
        .resource_key = key, .version = version, .json = to_json(*record)};
    ASSERT_TRUE(blobs->put_pointer_records("eu", std::span(&write, 1)));
  }

  void flip_a_byte_of_the_blob(const std::string& reference) {
    auto result = verify(reference);
    ASSERT_TRUE(result) << result.error().message;
    const std::string key = "blob:" + result->content_hash.substr(2);
    const std::string cli = "redis-cli -p " + std::to_string(redis_server.port()) + " ";
    const std::string before = shell_output(cli + "--raw GETRANGE " + key + " 40 40");
    shell_output(cli + "SETRANGE " + key + " 40 " + (before == "A" ? "B" : "A") + " >/dev/null");
  }

  testing::RedisServer redis_server;
  testing::AnvilNode anvil;
  std::unique_ptr<redis::RegionStores> blobs;
  std::unique_ptr<ports::KeyProvider> keys;
  std::unique_ptr<ports::PointerLedger> ledger;
  std::unique_ptr<ledger::JsonRpcClient> rpc;
  std::unique_ptr<ledger::Signer> signer;
  std::unique_ptr<ledger::PointerRegistry> registry;
  testing::FakeEventSource source;
  testing::FakeDeadLetters dead;
  testing::FakeReceipts receipts;
};

TEST_F(LedgerVerifyTest, EveryResourceVerifiesInBothModes) {
  for (const char* reference :
       {"Patient/a", "Observation/o1", "Observation/o2", "Observation/o3", "Condition/c1"}) {
    auto result = verify(reference);
    ASSERT_TRUE(result) << reference << ": " << result.error().message;
    const bool merkle = std::string_view(reference).starts_with("Observation");
    EXPECT_EQ(result->mode, merkle ? "merkle" : "pointer") << reference;
    EXPECT_GE(result->checks.size(), merkle ? 4u : 3u) << reference;
  }
  EXPECT_EQ(verify("Observation/o1")->version, 3u);
  auto deleted = verify("Condition/c1");
  EXPECT_TRUE(deleted->deleted);
  EXPECT_EQ(deleted->version, 2u);  // the tombstone after version 1
  EXPECT_TRUE(verify("Condition/c1", 1)) << "the deleted version still verifies";
  EXPECT_EQ(verify("Patient/nobody").error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(dead.letters.empty());
}

TEST_F(LedgerVerifyTest, AnAlteredBlobIsFoundInEitherMode) {
  flip_a_byte_of_the_blob("Patient/a");
  flip_a_byte_of_the_blob("Observation/o2");

  for (const char* reference : {"Patient/a", "Observation/o2"}) {
    auto result = verify(reference);
    ASSERT_FALSE(result) << reference;
    EXPECT_EQ(result.error().code, ErrorCode::kIntegrity);
    EXPECT_NE(result.error().message.find("the blob was altered"), std::string::npos)
        << result.error().message;
  }
  EXPECT_TRUE(verify("Observation/o1"));
}

TEST_F(LedgerVerifyTest, AnAlteredProofIsFound) {
  edit_record("Observation/o2", 1, [](PointerRecord& r) { r.proof->siblings.at(0)[5] ^= 0x01; });

  auto result = verify("Observation/o2");

  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::kIntegrity);
  EXPECT_NE(result.error().message.find("does not lead to the recorded root"), std::string::npos)
      << result.error().message;
}

TEST_F(LedgerVerifyTest, AnAlteredRootIsFound) {
  // A forged but self-consistent record: the leaf as its own one-leaf tree. Only the chain
  // can tell that this root was never anchored.
  edit_record("Observation/o3", 1, [](PointerRecord& r) {
    r.proof = ports::InclusionProof{.root = *ledger::pointer_leaf(evm::to_ledger_record(r.pointer)),
                                    .index = 0,
                                    .leaf_count = 1};
  });
  edit_record("Observation/o2", 1, [](PointerRecord& r) { r.proof->root[0] ^= 0x80; });

  auto forged = verify("Observation/o3");
  auto altered = verify("Observation/o2");

  ASSERT_FALSE(forged);
  EXPECT_NE(forged.error().message.find("is not anchored on chain"), std::string::npos)
      << forged.error().message;
  ASSERT_FALSE(altered);
  EXPECT_NE(altered.error().message.find("does not lead to the recorded root"), std::string::npos)
      << altered.error().message;
}

TEST_F(LedgerVerifyTest, APointerRecordThatDisagreesWithTheChainIsFound) {
  edit_record("Patient/a", 1, [](PointerRecord& r) { r.pointer.key_id = "forged-kek"; });
  edit_record("Condition/c1", 1, [](PointerRecord& r) { r.pointer.content_hash[0] ^= 1; });

  auto fields = verify("Patient/a");
  auto hash = verify("Condition/c1", 1);

  ASSERT_FALSE(fields);
  EXPECT_NE(fields.error().message.find("no Anchored event carries"), std::string::npos)
      << fields.error().message;
  ASSERT_FALSE(hash);
  EXPECT_EQ(hash.error().code, ErrorCode::kIntegrity);
}

}  // namespace
}  // namespace fl::gateway
