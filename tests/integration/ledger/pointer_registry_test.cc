// The PointerRegistry contract and the C++ client against a real node: anvil, or geth --dev
// when FL_TEST_NODE=geth (issue 16: a moving base fee, a real pool, a block every second).
// Tests of what only anvil can do (state files, dropping a transaction, setting code, moving the
// clock) skip on geth; tests of what only a real pool shows (replacement) skip on anvil.
#include "fl/ledger/pointer_registry.h"

#include "fl/adapters/evm/evm_pointer_ledger.h"
#include "fl/ledger/abi.h"
#include "fl/ledger/merkle.h"
#include "fl/ledger/transaction.h"

#include "support/geth.h"
#include "support/services.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <cstdio>
#include <thread>

namespace fl::ledger {
namespace {

using testing::shell_output;

using namespace std::chrono_literals;

Hash32 h(std::uint8_t seed) {
  Hash32 out{};
  out.fill(seed);
  return out;
}

// A pointer of one patient, with every field set.
PointerRecord P(const Hash32& key, std::uint64_t version, const Hash32& content,
                const Hash32& policy, const Hash32& patient = h(0x50)) {
  return {.resource_key = key,
          .patient_key = patient,
          .version = version,
          .content_hash = content,
          .policy_hash = policy,
          .mapping_hash = h(0x60),
          .region = "eu-west",
          .key_id = "kek-2026-11"};
}

class PointerRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto transport = make_http_transport(node.rpc_url(), 5s);
    ASSERT_TRUE(transport);
    rpc = std::make_unique<JsonRpcClient>(std::move(*transport), node.rpc_url());
    auto s = Signer::create(SecretBytes(parse_hex(testing::AnvilNode::kDevKey0).value()));
    ASSERT_TRUE(s);
    signer = std::move(*s);
    chain_id = rpc->chain_id().value();
    auto address = PointerRegistry::deploy(*rpc, *signer, chain_id, 30s);
    ASSERT_TRUE(address) << address.error().message;
    registry = std::make_unique<PointerRegistry>(*rpc, *signer, chain_id, *address);
  }

  TxReceipt anchor(const std::vector<PointerRecord>& batch) {
    auto tx = registry->anchor_batch(batch);
    EXPECT_TRUE(tx) << tx.error().message;
    auto receipt = registry->wait_for_receipt(*tx, 1, 30s);
    EXPECT_TRUE(receipt) << receipt.error().message;
    return *receipt;
  }

  static int count(const TxReceipt& receipt, std::string_view event) {
    const Hash32 topic = abi::event_topic(event);
    return static_cast<int>(
        std::count_if(receipt.logs.begin(), receipt.logs.end(),
                      [&](const LogEntry& l) { return l.topics.at(0) == topic; }));
  }

  TxReceipt confirmed(const Result<Hash32>& tx) {
    EXPECT_TRUE(tx) << tx.error().message;
    auto receipt = registry->wait_for_receipt(*tx, 1, 30s);
    EXPECT_TRUE(receipt) << receipt.error().message;
    return *receipt;
  }

  testing::LedgerNode node;
  std::unique_ptr<JsonRpcClient> rpc;
  std::unique_ptr<Signer> signer;
  std::uint64_t chain_id = 0;
  std::unique_ptr<PointerRegistry> registry;
};

TEST_F(PointerRegistryTest, AnchorsABatchInOneTransactionWithOneEventPerPointer) {
  const std::vector<PointerRecord> batch = {P(h(1), 1, h(11), h(99)), P(h(2), 1, h(12), h(99)),
                                            P(h(3), 4, h(13), h(99))};

  const TxReceipt receipt = anchor(batch);

  ASSERT_EQ(count(receipt, kAnchoredEvent), 3);
  ASSERT_EQ(count(receipt, kBatchAnchoredEvent), 1);
  auto decoded = decode_anchored(receipt.logs);
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(*decoded, batch);  // every field of every pointer
  auto latest = registry->latest(h(3));
  ASSERT_TRUE(latest);
  ASSERT_TRUE(latest->has_value());
  EXPECT_EQ((*latest)->first, 4u);
  EXPECT_EQ((*latest)->second, h(13));
}

TEST_F(PointerRegistryTest, ReAnchoringTheSameBatchEmitsNothing) {
  const std::vector<PointerRecord> batch = {P(h(1), 1, h(11), h(99)), P(h(2), 1, h(12), h(99))};
  anchor(batch);

  const TxReceipt again = anchor(batch);

  EXPECT_EQ(count(again, kAnchoredEvent), 0);
  EXPECT_EQ(count(again, kAnchorConflictEvent), 0);
}

TEST_F(PointerRegistryTest, AConflictingHashIsReportedAndNeverOverwrites) {
  anchor({P(h(1), 1, h(11), h(99))});

  const TxReceipt receipt = anchor({P(h(1), 1, h(66), h(99)), P(h(2), 1, h(12), h(99))});

  EXPECT_EQ(count(receipt, kAnchorConflictEvent), 1);
  EXPECT_EQ(count(receipt, kAnchoredEvent), 1);  // the rest of the batch still lands
  EXPECT_EQ((*registry->latest(h(1)))->second, h(11));
  auto conflicts = decode_conflicts(receipt.logs);
  ASSERT_TRUE(conflicts) << conflicts.error().message;
  EXPECT_EQ(*conflicts,
            (std::vector<AnchorConflict>{
                {.resource_key = h(1), .version = 1, .existing = h(11), .offered = h(66)}}));
}

TEST_F(PointerRegistryTest, ALaterVersionBecomesTheLatest) {
  anchor({P(h(1), 1, h(11), h(99))});
  anchor({P(h(1), 2, h(21), h(99))});

  EXPECT_EQ((*registry->latest(h(1)))->first, 2u);
  EXPECT_FALSE(registry->latest(h(7))->has_value());
}

TEST_F(PointerRegistryTest, AnAccountThatIsNotAWriterIsRefused) {
  auto other = Signer::create(SecretBytes(parse_hex(testing::AnvilNode::kDevKey1).value()));
  ASSERT_TRUE(other);
  PointerRegistry as_other(*rpc, **other, chain_id, registry->contract());

  auto tx = as_other.anchor_batch(std::vector<PointerRecord>{P(h(1), 1, h(11), h(99))});

  ASSERT_FALSE(tx);
  EXPECT_EQ(tx.error().code, ErrorCode::kPermissionDenied) << tx.error().message;
  EXPECT_NE(tx.error().message.find("NotWriter()"), std::string::npos) << tx.error().message;
}

TEST_F(PointerRegistryTest, TheAdminAddsAndRemovesWriters) {
  auto other = Signer::create(SecretBytes(parse_hex(testing::AnvilNode::kDevKey1).value()));
  ASSERT_TRUE(other);
  PointerRegistry as_other(*rpc, **other, chain_id, registry->contract());
  EXPECT_FALSE(*registry->is_writer((*other)->address()));

  auto added = registry->set_writer((*other)->address(), true);
  ASSERT_TRUE(added) << added.error().message;
  ASSERT_TRUE(registry->wait_for_receipt(*added, 1, 30s));
  auto anchored = as_other.anchor_batch(std::vector<PointerRecord>{P(h(1), 1, h(11), h(99))});
  ASSERT_TRUE(anchored) << anchored.error().message;
  ASSERT_TRUE(as_other.wait_for_receipt(*anchored, 1, 30s));
  EXPECT_TRUE(*registry->is_writer((*other)->address()));

  auto removed = registry->set_writer((*other)->address(), false);
  ASSERT_TRUE(removed) << removed.error().message;
  ASSERT_TRUE(registry->wait_for_receipt(*removed, 1, 30s));
  auto refused = as_other.anchor_batch(std::vector<PointerRecord>{P(h(2), 1, h(12), h(99))});
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("NotWriter()"), std::string::npos);
}

TEST_F(PointerRegistryTest, OnlyTheAdminAddsWriters) {
  auto other = Signer::create(SecretBytes(parse_hex(testing::AnvilNode::kDevKey1).value()));
  ASSERT_TRUE(other);
  PointerRegistry as_other(*rpc, **other, chain_id, registry->contract());

  auto tx = as_other.set_writer((*other)->address(), true);

  ASSERT_FALSE(tx);
  EXPECT_EQ(tx.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(tx.error().message.find("NotAdmin()"), std::string::npos) << tx.error().message;
}

TEST_F(PointerRegistryTest, ABatchOf200NewPointersCostsAtMost30kGasEach) {
  std::vector<PointerRecord> batch;
  for (int i = 0; i < 200; ++i) {
    Hash32 key = h(0x40);
    key[0] = static_cast<std::uint8_t>(i);
    key[1] = static_cast<std::uint8_t>(i >> 8);
    Hash32 patient = key;  // every pointer its own patient: the dearest case
    patient[31] = 0x01;
    Hash32 content = h(0x30);
    content[0] = static_cast<std::uint8_t>(i + 1);
    batch.push_back(P(key, 1, content, h(99), patient));
  }

  const TxReceipt receipt = anchor(batch);

  const double per_pointer = static_cast<double>(receipt.gas_used) / 200.0;
  std::printf("anchorBatch of 200 new pointers: %llu gas, %.0f per pointer\n",
              static_cast<unsigned long long>(receipt.gas_used), per_pointer);
  EXPECT_EQ(count(receipt, kAnchoredEvent), 200);
  EXPECT_LE(per_pointer, 30000.0);
}

TEST_F(PointerRegistryTest, SixtyTransactionsInFlightKeepTheirNonces) {
  registry->use_gas_bound_for_anchors(true);  // as the gateway sends them
  std::vector<Hash32> sent;
  for (std::uint8_t i = 0; i < 60; ++i) {
    auto tx = registry->anchor_batch(
        std::vector<PointerRecord>{P(h(i), 1, h(static_cast<std::uint8_t>(100 + i)), h(99))});
    ASSERT_TRUE(tx) << tx.error().message;
    sent.push_back(*tx);
  }
  for (const auto& tx : sent) ASSERT_TRUE(registry->wait_for_receipt(tx, 1, 30s));
  for (std::uint8_t i = 0; i < 60; ++i) {
    EXPECT_EQ((*registry->latest(h(i)))->second, h(static_cast<std::uint8_t>(100 + i)));
  }
}

// A registry over an anvil that keeps its chain in a state file.
class RestartTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // geth's --dev chain lives in its data dir; what these tests restart is anvil's state file.
    if (testing::test_node_kind() == testing::TestNodeKind::kGeth) {
      GTEST_SKIP() << "anvil only: --state files, anvil_dropTransaction";
    }
    auto transport = make_http_transport(anvil.rpc_url(), 5s);
    rpc = std::make_unique<JsonRpcClient>(std::move(*transport), anvil.rpc_url());
    auto s = Signer::create(SecretBytes(parse_hex(testing::AnvilNode::kDevKey0).value()));
    ASSERT_TRUE(s);
    signer = std::move(*s);
    const auto chain_id = rpc->chain_id().value();
    auto address = PointerRegistry::deploy(*rpc, *signer, chain_id, 30s);
    ASSERT_TRUE(address) << address.error().message;
    registry = std::make_unique<PointerRegistry>(*rpc, *signer, chain_id, *address);
    registry->use_gas_bound_for_anchors(true);
    for (std::uint8_t i = 0; i < 3; ++i) {
      auto tx = registry->anchor_batch(std::vector<PointerRecord>{P(h(i), 1, h(11), h(99))});
      ASSERT_TRUE(tx && registry->wait_for_receipt(*tx, 1, 30s));
    }
  }

  testing::AnvilNode anvil{/*persist_state=*/true};
  std::unique_ptr<JsonRpcClient> rpc;
  std::unique_ptr<Signer> signer;
  std::unique_ptr<PointerRegistry> registry;
};

TEST_F(RestartTest, AfterARestartWithTheSameStateAnchoringGoesOn) {
  anvil.restart(/*keep_state=*/true);

  auto tx = registry->anchor_batch(std::vector<PointerRecord>{P(h(7), 1, h(17), h(99))});
  ASSERT_TRUE(tx) << tx.error().message;
  auto receipt = registry->wait_for_receipt(*tx, 1, 30s);

  ASSERT_TRUE(receipt) << receipt.error().message;
  EXPECT_EQ((*registry->latest(h(0)))->second, h(11));  // what was anchored before is still there
  EXPECT_EQ((*registry->latest(h(7)))->second, h(17));
}

TEST_F(RestartTest, AFreshChainIsAClearErrorNotASilentSuccess) {
  anvil.restart(/*keep_state=*/false);

  auto tx = registry->anchor_batch(std::vector<PointerRecord>{P(h(7), 1, h(17), h(99))});
  auto receipt = tx ? registry->wait_for_receipt(*tx, 1, 3s) : Result<TxReceipt>(tx.error());

  ASSERT_FALSE(receipt);
  EXPECT_EQ(receipt.error().code, ErrorCode::kNotFound) << receipt.error().message;
  EXPECT_NE(receipt.error().message.find("chain was reset"), std::string::npos)
      << receipt.error().message;
}

TEST_F(RestartTest, ADroppedTransactionIsNoticedAndTheNonceResynchronised) {
  // A transaction the node accepts and then loses: dropped from anvil's pool before mining.
  shell_output(testing::cast_binary() + " rpc evm_setAutomine false --rpc-url " + anvil.rpc_url() +
               " >/dev/null 2>&1");
  auto lost = registry->anchor_batch(std::vector<PointerRecord>{P(h(8), 1, h(18), h(99))});
  ASSERT_TRUE(lost) << lost.error().message;
  shell_output(testing::cast_binary() + " rpc anvil_dropTransaction " + to_0x_hex(*lost) +
               " --rpc-url " + anvil.rpc_url() + " >/dev/null 2>&1");
  shell_output(testing::cast_binary() + " rpc evm_setAutomine true --rpc-url " + anvil.rpc_url() +
               " >/dev/null 2>&1");

  auto waited = registry->wait_for_receipt(*lost, 1, 3s);
  ASSERT_FALSE(waited);
  EXPECT_EQ(waited.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(waited.error().message.find("no longer knows"), std::string::npos)
      << waited.error().message;
  // Sent again, as the pipeline does after kUnavailable: with the node's nonce, so it lands.
  auto again = registry->anchor_batch(std::vector<PointerRecord>{P(h(8), 1, h(18), h(99))});
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_TRUE(registry->wait_for_receipt(*again, 1, 30s));
  EXPECT_EQ((*registry->latest(h(8)))->second, h(18));
}

TEST_F(PointerRegistryTest, ANodeThatIsDownIsUnavailable) {
  node.stop();

  auto tx = registry->anchor_batch(std::vector<PointerRecord>{P(h(1), 1, h(11), h(99))});

  ASSERT_FALSE(tx);
  EXPECT_EQ(tx.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(tx.error().where.find("127.0.0.1"), std::string::npos);
}

TEST_F(PointerRegistryTest, VersionZeroAndAZeroHashAreRefused) {
  auto zero_version = registry->anchor_batch(std::vector<PointerRecord>{P(h(1), 0, h(11), h(99))});
  auto zero_hash = registry->anchor_batch(std::vector<PointerRecord>{P(h(1), 1, Hash32{}, h(99))});

  ASSERT_FALSE(zero_version);
  EXPECT_NE(zero_version.error().message.find("ZeroVersion()"), std::string::npos);
  ASSERT_FALSE(zero_hash);
  EXPECT_NE(zero_hash.error().message.find("ZeroContentHash()"), std::string::npos);
}

TEST_F(PointerRegistryTest, ADeleteAnchorsATombstoneAsTheLatestVersion) {
  anchor({P(h(1), 1, h(11), h(99))});

  const TxReceipt receipt = anchor({P(h(1), 2, kTombstone, h(99))});

  EXPECT_EQ(count(receipt, kAnchoredEvent), 1);
  EXPECT_EQ((*registry->latest(h(1)))->first, 2u);
  EXPECT_EQ((*registry->latest(h(1)))->second, kTombstone);
}

TEST_F(PointerRegistryTest, RegionAndKeyIdMustBeShortAscii) {
  auto long_region = P(h(1), 1, h(11), h(99));
  long_region.region = std::string(17, 'r');
  auto no_key = P(h(1), 1, h(11), h(99));
  no_key.key_id.clear();

  EXPECT_EQ(registry->anchor_batch(std::vector{long_region}).error().code,
            ErrorCode::kInvalidInput);
  EXPECT_EQ(registry->anchor_batch(std::vector{no_key}).error().code, ErrorCode::kInvalidInput);
}

// A tree over `n` pointers, anchored; every proof is checked by the contract and by merkle::.
class MerkleTest : public PointerRegistryTest {
 protected:
  void anchor_tree(std::size_t n) {
    pointers.clear();
    leaves.clear();
    for (std::size_t i = 0; i < n; ++i) {
      Hash32 key = h(0x21);
      key[0] = static_cast<std::uint8_t>(i);
      pointers.push_back(P(key, 1 + i % 3, h(static_cast<std::uint8_t>(i + 1)), h(99)));
      leaves.push_back(*pointer_leaf(pointers.back()));
    }
    tree = *merkle::build(leaves);
    const TxReceipt receipt =
        confirmed(registry->anchor_root(tree.root, static_cast<std::uint32_t>(n)));
    root_events = count(receipt, kRootAnchoredEvent);
    gas = receipt.gas_used;
  }

  std::vector<PointerRecord> pointers;
  std::vector<Hash32> leaves;
  merkle::Tree tree;
  int root_events = 0;
  std::uint64_t gas = 0;
};

TEST_F(MerkleTest, EveryProofOfOddAndEvenTreesVerifiesOnChainAndOffChain) {
  for (std::size_t n : {1u, 2u, 5u, 8u, 13u}) {
    anchor_tree(n);
    EXPECT_EQ(root_events, 1);
    auto info = registry->root_info(tree.root);
    ASSERT_TRUE(info && info->has_value());
    EXPECT_EQ((*info)->leaf_count, n);
    for (std::size_t i = 0; i < n; ++i) {
      const auto& proof = tree.proofs[i];
      EXPECT_EQ(*merkle::root_of(leaves[i], proof), tree.root) << n << "/" << i;
      EXPECT_TRUE(*registry->verify_inclusion(pointers[i], proof.index, proof.siblings, tree.root))
          << n << "/" << i;
    }
  }
}

TEST_F(MerkleTest, AnAlteredPointerProofOrIndexFails) {
  anchor_tree(6);
  auto altered = pointers[2];
  altered.region = "us-east";  // any field is in the leaf
  auto wrong_sibling = tree.proofs[2].siblings;
  wrong_sibling[0][0] ^= 1;
  auto short_proof = tree.proofs[2].siblings;
  short_proof.pop_back();

  EXPECT_FALSE(*registry->verify_inclusion(altered, 2, tree.proofs[2].siblings, tree.root));
  EXPECT_FALSE(*registry->verify_inclusion(pointers[2], 2, wrong_sibling, tree.root));
  EXPECT_FALSE(*registry->verify_inclusion(pointers[2], 3, tree.proofs[2].siblings, tree.root));
  EXPECT_FALSE(*registry->verify_inclusion(pointers[2], 2, short_proof, tree.root));
  EXPECT_FALSE(merkle::root_of(leaves[2], {2, 6, short_proof}));
  EXPECT_FALSE(*registry->verify_inclusion(pointers[2], 2, tree.proofs[2].siblings, h(0x42)));
}

TEST_F(MerkleTest, ReAnchoringARootIsANoOpAndOnlyWritersAnchorRoots) {
  anchor_tree(4);
  const TxReceipt again = confirmed(registry->anchor_root(tree.root, 4));
  auto other = Signer::create(SecretBytes(parse_hex(testing::AnvilNode::kDevKey1).value()));
  PointerRegistry as_other(*rpc, **other, chain_id, registry->contract());

  auto refused = as_other.anchor_root(h(0x43), 1);

  EXPECT_EQ(count(again, kRootAnchoredEvent), 0);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("NotWriter()"), std::string::npos);
  EXPECT_FALSE(registry->root_info(h(0x43))->has_value());
}

TEST_F(MerkleTest, ARootOfAThousandPointersCostsUnder500GasEach) {
  anchor_tree(1000);

  const double per_pointer = static_cast<double>(gas) / 1000.0;
  std::printf("anchorRoot over 1000 pointers: %llu gas, %.1f per pointer\n",
              static_cast<unsigned long long>(gas), per_pointer);
  EXPECT_LE(per_pointer, 500.0);
}

TEST(Eip1559, SignsByteForByteLikeCast) {
  auto signer = Signer::create(SecretBytes(parse_hex(testing::AnvilNode::kDevKey0).value()));
  ASSERT_TRUE(signer);
  const Eip1559Transaction tx{
      .chain_id = 31337,
      .nonce = 7,
      .max_priority_fee_per_gas = big_endian(1'000'000'000),
      .max_fee_per_gas = big_endian(3'000'000'000),
      .gas_limit = 100000,
      .to = parse_address("0x3535353535353535353535353535353535353535").value(),
      .value = big_endian(12345),
      .data = {0xca, 0xfe}};

  auto ours = sign(tx, **signer);
  const std::string theirs =
      shell_output(testing::cast_binary() + " mktx --private-key " + testing::AnvilNode::kDevKey0 +
                   " --chain 31337 --nonce 7 --gas-limit 100000 --gas-price 3000000000"
                   " --priority-gas-price 1000000000 --value 12345"
                   " 0x3535353535353535353535353535353535353535 0xcafe 2>/dev/null");

  ASSERT_TRUE(ours);
  ASSERT_FALSE(theirs.empty()) << "cast mktx produced nothing";
  EXPECT_EQ(to_0x_hex(ours->raw), theirs);
  auto decoded = decode_eip1559(ours->raw);
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(decoded->sender, (*signer)->address());
}

// Lines of a shell command's stdout.
std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto end = text.find('\n', start);
    out.push_back(text.substr(start, end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

// What our decoder reads from the events and views is what foundry's cast reads.
TEST_F(PointerRegistryTest, EventsAndViewsDecodeAsCastReadsThem) {
  std::vector<PointerRecord> batch = {P(h(1), 1, h(11), h(99), h(0x51)),
                                      P(h(2), 3, h(12), h(99), h(0x52))};
  batch[1].region = "us-east-1";
  batch[1].key_id = "kek-us-2026";
  batch[0].mapping_hash = batch[1].mapping_hash = h(0x61);
  anchor(batch);
  std::vector<PointerRecord> ours;
  for (const auto& p : batch) {
    auto versions = registry->anchored_versions(p.resource_key);
    ASSERT_TRUE(versions) << versions.error().message;
    ASSERT_EQ(versions->size(), 1u);
    ours.push_back(versions->front());
  }
  EXPECT_EQ(ours, batch);

  const std::string cast = testing::cast_binary();
  const std::string contract = to_0x_hex(registry->contract());
  const std::string url = " --rpc-url " + node.rpc_url();
  const std::string logs_json =
      shell_output(cast + " logs --json --from-block 0 --address " + contract + url +
                   " 'Anchored(bytes32 indexed,bytes32 indexed,uint64,bytes32,bytes16,bytes32)'" +
                   " 2>/dev/null");
  rapidjson::Document logs;
  logs.Parse(logs_json.c_str());
  ASSERT_TRUE(logs.IsArray()) << logs_json;
  ASSERT_EQ(logs.Size(), 2u);
  for (rapidjson::SizeType i = 0; i < logs.Size(); ++i) {
    const auto& log = logs[i];
    EXPECT_EQ(log["topics"][1].GetString(), to_0x_hex(ours[i].resource_key));
    EXPECT_EQ(log["topics"][2].GetString(), to_0x_hex(ours[i].patient_key));
    const auto fields =
        lines(shell_output(cast + " abi-decode 'x()(uint64,bytes32,bytes16,bytes32)' " +
                           log["data"].GetString() + " 2>/dev/null"));
    ASSERT_EQ(fields.size(), 4u);
    EXPECT_EQ(fields[0], std::to_string(ours[i].version));
    EXPECT_EQ(fields[1], to_0x_hex(ours[i].content_hash));
    const std::string region = shell_output(cast + " --to-ascii " + fields[2]);
    EXPECT_EQ(region.substr(0, region.find('\0')), ours[i].region);
    const std::string key_id = shell_output(cast + " --to-ascii " + fields[3]);
    EXPECT_EQ(key_id.substr(0, key_id.find('\0')), ours[i].key_id);
  }
  const std::string batch_json =
      shell_output(cast + " logs --json --from-block 0 --address " + contract + url +
                   " 'BatchAnchored(bytes32 indexed,bytes32 indexed,uint32)' 2>/dev/null");
  rapidjson::Document batches;
  batches.Parse(batch_json.c_str());
  ASSERT_TRUE(batches.IsArray() && batches.Size() == 1u) << batch_json;
  EXPECT_EQ(batches[0]["topics"][1].GetString(), to_0x_hex(ours[0].policy_hash));
  EXPECT_EQ(batches[0]["topics"][2].GetString(), to_0x_hex(ours[0].mapping_hash));

  const auto latest = lines(shell_output(cast + " call " + contract + url +
                                         " 'latest(bytes32)(uint64,bytes32)' " + to_0x_hex(h(2))));
  ASSERT_EQ(latest.size(), 2u);
  EXPECT_EQ(latest[0], std::to_string((*registry->latest(h(2)))->first));
  EXPECT_EQ(latest[1], to_0x_hex((*registry->latest(h(2)))->second));

  // The contract's pointerLeaf, fed by cast, hashes a pointer as the client's pointer_leaf does.
  const auto words = pointer_words(batch[1]).value();
  std::string tuple = "(";
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (i > 0) tuple += ",";
    if (i == 2) {
      tuple += std::to_string(batch[1].version);
    } else if (i == 6) {  // bytes16: the left half of its word
      tuple += to_0x_hex(ByteView(words[i].data(), 16));
    } else {
      tuple += to_0x_hex(words[i]);
    }
  }
  tuple += ")";
  const std::string leaf = shell_output(cast + " call " + contract + url + " 'pointerLeaf(" +
                                        std::string(kPointerTuple) + ")(bytes32)' '" + tuple + "'");
  EXPECT_EQ(leaf, to_0x_hex(pointer_leaf(batch[1]).value()));

  ASSERT_TRUE(registry->wait_for_receipt(*registry->mark_erased(h(0x52)), 1, 30s));
  const std::string erased =
      shell_output(cast + " call " + contract + url + " 'erasedAmong(bytes32[])(bool[])' '[" +
                   to_0x_hex(h(0x51)) + "," + to_0x_hex(h(0x52)) + "]'");
  const std::vector<Hash32> asked = {h(0x51), h(0x52)};
  EXPECT_EQ(erased, "[false, true]");
  EXPECT_EQ(*registry->erased_among(asked), (std::vector<bool>{false, true}));
}

TEST_F(PointerRegistryTest, AnchorsWithEip1559TransactionsToo) {
  PointerRegistry eip1559(*rpc, *signer, chain_id, registry->contract(), TxType::kEip1559);

  auto tx = eip1559.anchor_batch(std::vector<PointerRecord>{P(h(8), 1, h(18), h(99))});
  ASSERT_TRUE(tx) << tx.error().message;
  auto receipt = eip1559.wait_for_receipt(*tx, 1, 30s);

  ASSERT_TRUE(receipt) << receipt.error().message;
  EXPECT_EQ(count(*receipt, kAnchoredEvent), 1);
  const std::string tx_json =
      shell_output(testing::cast_binary() + " rpc --rpc-url " + node.rpc_url() +
                   " eth_getTransactionByHash " + to_0x_hex(*tx) + " 2>/dev/null");
  EXPECT_NE(tx_json.find(R"("type":"0x2")"), std::string::npos) << tx_json;
}

// Issue 16: fees on a chain whose base fee moves, replacement of a stuck transaction and
// confirmations counted against the head. These need a real pool and a block every second.
class GethFeeTest : public PointerRegistryTest {
 protected:
  void SetUp() override {
    if (!node.is_geth()) {
      GTEST_SKIP() << "geth only (FL_TEST_NODE=geth): anvil's automine never leaves a "
                      "transaction pending";
    }
    PointerRegistryTest::SetUp();
  }

  std::uint64_t next_base_fee() {
    const Bytes fee = rpc->next_base_fee().value();
    std::uint64_t value = 0;
    for (const std::uint8_t b : fee) value = value << 8 | b;
    return value;
  }
};

TEST_F(GethFeeTest, TheBaseFeeIsRealAndMoves) {
  const std::uint64_t first = next_base_fee();
  std::this_thread::sleep_for(2500ms);  // two empty blocks: each lowers the base fee by 1/8

  EXPECT_GT(first, 0u);
  EXPECT_NE(next_base_fee(), first);
}

TEST_F(GethFeeTest, ATransactionPricedBelowTheBaseFeeIsReplacedAndMined) {
  for (const TxType type : {TxType::kLegacy, TxType::kEip1559}) {
    PointerRegistry sender(*rpc, *signer, chain_id, registry->contract(), type);
    sender.set_fee_policy({.max_fee_per_gas_wei = std::nullopt, .replace_after_blocks = 2});
    ASSERT_GT(next_base_fee(), 1u);
    sender.offer_next_max_fee_for_testing(
        1);  // 1 wei per gas: the pool keeps it, no block takes it
    const std::uint8_t key = type == TxType::kLegacy ? 0x31 : 0x32;

    auto tx = sender.anchor_batch(std::vector<PointerRecord>{P(h(key), 1, h(18), h(99))});
    ASSERT_TRUE(tx) << tx.error().message;
    auto receipt = sender.wait_for_receipt(*tx, 1, 60s);

    ASSERT_TRUE(receipt) << receipt.error().message;
    EXPECT_NE(receipt->tx_hash, *tx);  // the replacement was mined, not the original
    EXPECT_EQ((*sender.latest(h(key)))->second, h(18));
    auto original = rpc->transaction_known(*tx);
    ASSERT_TRUE(original);
    EXPECT_FALSE(*original);  // geth dropped it when the replacement came in
  }
}

TEST_F(GethFeeTest, ATransactionStuckAtTheFeeCeilingIsReportedAsSuch) {
  PointerRegistry capped(*rpc, *signer, chain_id, registry->contract(), TxType::kEip1559);
  capped.set_fee_policy({.max_fee_per_gas_wei = 1, .replace_after_blocks = 2});

  auto tx = capped.anchor_batch(std::vector<PointerRecord>{P(h(0x33), 1, h(18), h(99))});
  ASSERT_TRUE(tx) << tx.error().message;
  auto receipt = capped.wait_for_receipt(*tx, 1, 8s);

  ASSERT_FALSE(receipt);
  EXPECT_EQ(receipt.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(receipt.error().message.find("fee ceiling (1 wei per gas)"), std::string::npos)
      << receipt.error().message;
}

TEST_F(GethFeeTest, TheCeilingBoundsWhatATransactionOffers) {
  // Room to be mined (empty blocks only lower the base fee), below 2 * base + tip.
  const std::uint64_t ceiling = next_base_fee() * 3 / 2;
  PointerRegistry capped(*rpc, *signer, chain_id, registry->contract(), TxType::kEip1559);
  capped.set_fee_policy({.max_fee_per_gas_wei = ceiling, .replace_after_blocks = 3});

  auto tx = capped.anchor_batch(std::vector<PointerRecord>{P(h(0x34), 1, h(18), h(99))});
  ASSERT_TRUE(tx) << tx.error().message;
  ASSERT_TRUE(capped.wait_for_receipt(*tx, 1, 30s));

  const std::string tx_json =
      shell_output(testing::cast_binary() + " rpc --rpc-url " + node.rpc_url() +
                   " eth_getTransactionByHash " + to_0x_hex(*tx) + " 2>/dev/null");
  rapidjson::Document doc;
  doc.Parse(tx_json.c_str());
  ASSERT_TRUE(doc.IsObject() && doc.HasMember("maxFeePerGas")) << tx_json;
  EXPECT_EQ(std::stoull(doc["maxFeePerGas"].GetString(), nullptr, 16), ceiling);
}

TEST_F(GethFeeTest, ConfirmationsAreCountedAgainstTheChainHead) {
  auto tx = registry->anchor_batch(std::vector<PointerRecord>{P(h(0x35), 1, h(18), h(99))});
  ASSERT_TRUE(tx) << tx.error().message;

  auto receipt = registry->wait_for_receipt(*tx, 3, 30s);

  ASSERT_TRUE(receipt) << receipt.error().message;
  const std::uint64_t head = rpc->block_number().value();
  EXPECT_GE(head + 1, receipt->block_number + 3);  // head - block + 1 >= 3
  EXPECT_LE(head, receipt->block_number + 4);      // and not much later: one block a second
}

TEST(FeeBump, AReplacementRaisesBothFeesByMoreThanTenPercentUpToTheCeiling) {
  EXPECT_EQ(bumped_fees({.tip = 100, .max_fee = 1000}, {.tip = 0, .max_fee = 0}, std::nullopt),
            (Fees{.tip = 111, .max_fee = 1101}));
  // A fresh estimate above the bump wins: the base fee rose more than 10%.
  EXPECT_EQ(bumped_fees({.tip = 1, .max_fee = 1}, {.tip = 5, .max_fee = 900}, std::nullopt),
            (Fees{.tip = 5, .max_fee = 900}));
  // The ceiling caps the fee cap, and the tip never exceeds the fee cap.
  EXPECT_EQ(bumped_fees({.tip = 100, .max_fee = 1000}, {.tip = 2000, .max_fee = 5000}, 1050),
            (Fees{.tip = 1050, .max_fee = 1050}));
  EXPECT_EQ(bumped_fees({.tip = 0, .max_fee = 0}, {.tip = 0, .max_fee = 0}, std::nullopt),
            (Fees{.tip = 1, .max_fee = 1}));
}

// A writer other than the admin, on a node started with `anvil_args`: a key no dev account
// has, so its balance is zero.
class UnfundedWriterTest : public ::testing::Test {
 protected:
  static constexpr const char* kUnfundedKey =
      "1111111111111111111111111111111111111111111111111111111111111111";

  void start(std::vector<std::string> anvil_args) {
    node.emplace(std::move(anvil_args));
    rpc = std::make_unique<JsonRpcClient>(make_http_transport(node->rpc_url(), 5s).value(),
                                          node->rpc_url());
    admin = Signer::create(SecretBytes(parse_hex(testing::AnvilNode::kDevKey0).value())).value();
    writer = Signer::create(SecretBytes(parse_hex(kUnfundedKey).value())).value();
    chain_id = rpc->chain_id().value();
    auto address = PointerRegistry::deploy(*rpc, *admin, chain_id, 30s);
    ASSERT_TRUE(address) << address.error().message;
    contract = *address;
    PointerRegistry as_admin(*rpc, *admin, chain_id, contract);
    auto added = as_admin.set_writer(writer->address(), true);
    ASSERT_TRUE(added) << added.error().message;
    ASSERT_TRUE(as_admin.wait_for_receipt(*added, 1, 30s));
  }

  std::optional<testing::LedgerNode> node;
  std::unique_ptr<JsonRpcClient> rpc;
  std::unique_ptr<Signer> admin, writer;
  std::uint64_t chain_id = 0;
  Address contract{};
};

TEST_F(UnfundedWriterTest, AWriterWithoutFundsGetsAClearPermissionError) {
  start({});
  PointerRegistry registry(*rpc, *writer, chain_id, contract);
  registry.use_gas_bound_for_anchors(true);  // straight to the node's balance check

  auto tx = registry.anchor_batch(std::vector<PointerRecord>{P(h(1), 1, h(11), h(99))});

  ASSERT_FALSE(tx);
  EXPECT_EQ(tx.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(tx.error().message.find("cannot pay for gas"), std::string::npos) << tx.error().message;
  EXPECT_NE(tx.error().message.find(to_checksum_hex(writer->address())), std::string::npos)
      << tx.error().message;
}

TEST_F(UnfundedWriterTest, OnAZeroGasPriceNetworkAnUnfundedWriterAnchorsWithEitherType) {
  if (testing::test_node_kind() == testing::TestNodeKind::kGeth) {
    GTEST_SKIP() << "anvil only: a zero base fee and gas price (anvil --base-fee 0)";
  }
  // How permissioned networks (Besu with min-gas-price 0) run: no fees, no balances.
  start({"--gas-price", "0", "--base-fee", "0", "--disable-min-priority-fee"});

  for (const TxType type : {TxType::kLegacy, TxType::kEip1559}) {
    PointerRegistry registry(*rpc, *writer, chain_id, contract, type);
    const std::uint8_t key = type == TxType::kLegacy ? 1 : 2;
    auto tx = registry.anchor_batch(std::vector<PointerRecord>{P(h(key), 1, h(11), h(99))});
    ASSERT_TRUE(tx) << tx.error().message;
    auto receipt = registry.wait_for_receipt(*tx, 1, 30s);
    ASSERT_TRUE(receipt) << receipt.error().message;
    EXPECT_EQ((*registry.latest(h(key)))->second, h(11));
  }
  EXPECT_EQ(shell_output(testing::cast_binary() + " balance --rpc-url " + node->rpc_url() + " " +
                         to_checksum_hex(writer->address())),
            "0");
}

class AccessTest : public PointerRegistryTest {
 protected:
  void SetUp() override {
    PointerRegistryTest::SetUp();
    auto p = Signer::create(SecretBytes(parse_hex(testing::AnvilNode::kDevKey1).value()));
    ASSERT_TRUE(p);
    participant = (*p)->address();
    confirm(registry->set_participant(participant, "FR", true));
  }

  void confirm(const Result<Hash32>& tx) {
    ASSERT_TRUE(tx) << tx.error().message;
    auto receipt = registry->wait_for_receipt(*tx, 1, 30s);
    ASSERT_TRUE(receipt) << receipt.error().message;
  }

  std::uint64_t now() {
    const std::string block =
        shell_output(testing::cast_binary() + " block latest --field timestamp --rpc-url " +
                     node.rpc_url() + " 2>/dev/null");
    return std::stoull(block);
  }

  // anvil moves its clock on demand; geth's blocks come every second, so there the test waits
  // for a block that late (and asks for short grants, see grant_lifetime).
  void advance_clock(std::uint64_t seconds) {
    if (node.is_geth()) {
      const std::uint64_t until = now() + seconds;
      while (now() < until) std::this_thread::sleep_for(200ms);
      return;
    }
    shell_output(testing::cast_binary() + " rpc evm_increaseTime " + std::to_string(seconds) +
                 " --rpc-url " + node.rpc_url() + " >/dev/null 2>&1");
    shell_output(testing::cast_binary() + " rpc evm_mine --rpc-url " + node.rpc_url() +
                 " >/dev/null 2>&1");
  }

  Address participant{};
  const Hash32 patient = h(0x77);
};

TEST_F(AccessTest, AGrantAllowsItsPurposeOnlyUntilItExpires) {
  // An hour on anvil (its clock jumps); on geth long enough to be mined and read before expiry.
  const std::uint64_t lifetime = node.is_geth() ? 6 : 3600;
  confirm(registry->grant(patient, participant, "TREAT", now() + lifetime));

  EXPECT_TRUE(*registry->can_read(patient, participant, "TREAT"));
  EXPECT_FALSE(*registry->can_read(patient, participant, "HPAYMT"));
  EXPECT_FALSE(*registry->can_read(h(0x78), participant, "TREAT"));

  advance_clock(lifetime + 1);
  EXPECT_FALSE(*registry->can_read(patient, participant, "TREAT"));
}

TEST_F(AccessTest, ARevokedGrantAnswersNo) {
  confirm(registry->grant(patient, participant, "TREAT", now() + 3600));

  confirm(registry->revoke(patient, participant, "TREAT"));

  EXPECT_FALSE(*registry->can_read(patient, participant, "TREAT"));
}

TEST_F(AccessTest, AnInactiveParticipantReadsNothing) {
  confirm(registry->grant(patient, participant, "TREAT", now() + 3600));

  confirm(registry->set_participant(participant, "FR", false));

  EXPECT_FALSE(*registry->can_read(patient, participant, "TREAT"));
}

TEST_F(AccessTest, ErasureEndsEveryGrantAndRefusesNewOnes) {
  confirm(registry->grant(patient, participant, "TREAT", now() + 3600));

  confirm(registry->mark_erased(patient));

  EXPECT_FALSE(*registry->can_read(patient, participant, "TREAT"));
  auto again = registry->grant(patient, participant, "TREAT", now() + 3600);
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message.find("PatientIsErased(" + to_0x_hex(patient) + ")"),
            std::string::npos)
      << again.error().message;
}

TEST_F(AccessTest, ErasureRefusesNewAnchorsForThePatientOnly) {
  confirm(registry->mark_erased(patient));

  auto refused =
      registry->anchor_batch(std::vector<PointerRecord>{P(h(1), 1, h(11), h(99), patient)});
  const TxReceipt other = anchor({P(h(2), 1, h(12), h(99), h(0x78))});

  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("PatientIsErased(" + to_0x_hex(patient) + ")"),
            std::string::npos)
      << refused.error().message;
  EXPECT_EQ(count(other, kAnchoredEvent), 1);
  const std::vector<Hash32> asked = {h(0x78), patient, h(0x79)};
  EXPECT_EQ(*registry->erased_among(asked), (std::vector<bool>{false, true, false}));
}

TEST_F(AccessTest, ARevertFoundOnlyInTheReceiptIsExplainedByItsReplay) {
  confirm(registry->mark_erased(patient));
  registry->use_gas_bound_for_anchors(true);  // no estimate, so the node mines the revert

  auto tx = registry->anchor_batch(std::vector<PointerRecord>{P(h(1), 1, h(11), h(99), patient)});
  ASSERT_TRUE(tx) << tx.error().message;
  auto receipt = registry->wait_for_receipt(*tx, 1, 30s);

  ASSERT_FALSE(receipt);
  EXPECT_EQ(receipt.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(receipt.error().where, to_0x_hex(*tx));
  EXPECT_NE(receipt.error().message.find("transaction reverted"), std::string::npos);
  EXPECT_NE(receipt.error().message.find("PatientIsErased(" + to_0x_hex(patient) + ")"),
            std::string::npos)
      << receipt.error().message;
}

TEST_F(AccessTest, BadGrantsAreRefusedWithTheReason) {
  auto expired = registry->grant(patient, participant, "TREAT", 1);
  auto stranger = registry->grant(patient, Address{}, "TREAT", now() + 3600);
  auto bad_code = registry->grant(patient, participant, "", now() + 3600);

  ASSERT_FALSE(expired);
  EXPECT_NE(expired.error().message.find("ExpiryInThePast()"), std::string::npos);
  ASSERT_FALSE(stranger);
  EXPECT_NE(stranger.error().message.find("UnknownParticipant()"), std::string::npos);
  ASSERT_FALSE(bad_code);
  EXPECT_EQ(bad_code.error().code, ErrorCode::kInvalidInput);
}

TEST_F(AccessTest, OnlyTheAdminRegistersParticipants) {
  auto other = Signer::create(SecretBytes(parse_hex(testing::AnvilNode::kDevKey1).value()));
  ASSERT_TRUE(other);
  PointerRegistry as_other(*rpc, **other, chain_id, registry->contract());

  auto tx = as_other.set_participant((*other)->address(), "US", true);

  ASSERT_FALSE(tx);
  EXPECT_NE(tx.error().message.find("NotAdmin()"), std::string::npos) << tx.error().message;
}

// A freshly deployed registry and the port adapter over it, signing with the admin's key.
struct DeployedLedger {
  std::string address;
  std::unique_ptr<ports::PointerLedger> ledger;
};
DeployedLedger deploy_and_connect(const testing::LedgerNode& node) {
  auto address = evm::deploy_pointer_registry(
      node.rpc_url(), SecretBytes(parse_hex(testing::AnvilNode::kDevKey0).value()));
  EXPECT_TRUE(address) << address.error().message;
  if (!address) return {};
  auto ledger = evm::make_pointer_ledger(
      {.rpc_url = node.rpc_url(),
       .contract_address = *address,
       .private_key = SecretBytes(parse_hex(testing::AnvilNode::kDevKey0).value())});
  EXPECT_TRUE(ledger) << ledger.error().message;
  if (!ledger) return {};
  return {*address, std::move(*ledger)};
}

TEST(EvmPointerLedger, RefusesAnAddressWithoutContractCode) {
  testing::LedgerNode node;

  auto ledger = evm::make_pointer_ledger(
      {.rpc_url = node.rpc_url(),
       .contract_address = "0x00000000000000000000000000000000000000aa",
       .private_key = SecretBytes(parse_hex(testing::AnvilNode::kDevKey0).value())});

  ASSERT_FALSE(ledger);
  EXPECT_EQ(ledger.error().code, ErrorCode::kNotFound);
}

TEST(EvmPointerLedger, RefusesAnAccountThatIsNotAWriter) {
  testing::LedgerNode node;
  auto address = evm::deploy_pointer_registry(
      node.rpc_url(), SecretBytes(parse_hex(testing::AnvilNode::kDevKey0).value()));
  ASSERT_TRUE(address) << address.error().message;

  auto ledger = evm::make_pointer_ledger(
      {.rpc_url = node.rpc_url(),
       .contract_address = *address,
       .private_key = SecretBytes(parse_hex(testing::AnvilNode::kDevKey1).value())});

  ASSERT_FALSE(ledger);
  EXPECT_EQ(ledger.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(ledger.error().message.find("setWriter"), std::string::npos) << ledger.error().message;
}

TEST(EvmPointerLedger, RefusesAContractThatIsNotAPointerRegistry) {
  if (testing::test_node_kind() == testing::TestNodeKind::kGeth) {
    GTEST_SKIP() << "anvil only: anvil_setCode";
  }
  testing::LedgerNode node;
  const std::string address = "0x00000000000000000000000000000000000000bb";
  shell_output(testing::cast_binary() + " rpc anvil_setCode " + address + " 0x00 --rpc-url " +
               node.rpc_url() + " >/dev/null 2>&1");  // code that stops at once and answers nothing

  auto ledger = evm::make_pointer_ledger(
      {.rpc_url = node.rpc_url(),
       .contract_address = address,
       .private_key = SecretBytes(parse_hex(testing::AnvilNode::kDevKey0).value())});

  ASSERT_FALSE(ledger);
  EXPECT_EQ(ledger.error().code, ErrorCode::kNotFound);
  EXPECT_NE(ledger.error().message.find("PointerRegistry"), std::string::npos)
      << ledger.error().message;
}

TEST(EvmPointerLedger, AReSentBatchNamesTheTransactionThatAnchoredItFirst) {
  testing::LedgerNode node;
  auto deployed = deploy_and_connect(node);
  ASSERT_TRUE(deployed.ledger);
  auto& ledger = deployed.ledger;
  const std::vector<ports::Pointer> first = {
      {.resource_key = h(5), .version = 1, .content_hash = h(6), .region = "eu", .key_id = "k"}};
  std::vector<ports::Pointer> replay = first;  // as after a crash, with one new pointer
  replay.push_back(
      {.resource_key = h(7), .version = 1, .content_hash = h(8), .region = "eu", .key_id = "k"});

  auto original = ledger->await(*ledger->submit(first, {}));
  auto again = ledger->await(*ledger->submit(replay, {}));

  ASSERT_TRUE(original && again);
  const auto& tx_of = [&](std::size_t i) {
    return again->transactions.at(again->placements.at(i).tx).tx_hash;
  };
  EXPECT_EQ(tx_of(0), original->transactions.at(0).tx_hash);  // where its event is
  EXPECT_EQ(tx_of(1), again->transactions.at(0).tx_hash);
  EXPECT_EQ(again->gas_used(), again->transactions.at(0).gas_used);
}

TEST(EvmPointerLedger, APointerThatConflictsIsMarkedWithWhatTheChainKeeps) {
  testing::LedgerNode node;
  auto deployed = deploy_and_connect(node);
  ASSERT_TRUE(deployed.ledger);
  auto& ledger = deployed.ledger;
  const ports::Pointer original{
      .resource_key = h(5), .version = 1, .content_hash = h(6), .region = "eu", .key_id = "k"};
  ports::Pointer changed = original;
  changed.content_hash = h(9);
  const ports::Pointer other{
      .resource_key = h(7), .version = 1, .content_hash = h(8), .region = "eu", .key_id = "k"};
  ASSERT_TRUE(ledger->await(*ledger->submit(std::vector<ports::Pointer>{original}, {})));

  auto confirmed = ledger->await(*ledger->submit(std::vector<ports::Pointer>{changed, other}, {}));

  ASSERT_TRUE(confirmed) << confirmed.error().message;
  ASSERT_EQ(confirmed->placements.size(), 2u);
  EXPECT_EQ(confirmed->placements[0].conflict, h(6));
  EXPECT_FALSE(confirmed->placements[1].conflict);
}

TEST(EvmPointerLedger, SubmitsAndAwaitsThroughThePort) {
  testing::LedgerNode node;
  auto deployed = deploy_and_connect(node);
  ASSERT_TRUE(deployed.ledger);
  auto& ledger = deployed.ledger;
  const std::string& address = deployed.address;
  std::vector<ports::Pointer> batch;
  for (std::uint8_t i = 0; i < 5; ++i) {
    batch.push_back(
        {.resource_key = h(static_cast<std::uint8_t>(5 + i)),
         .version = 1,
         .content_hash = h(static_cast<std::uint8_t>(50 + i)),
         .region = "eu-west",
         .key_id = "kek-1",
         .mode = i % 2 == 0 ? ports::AnchorMode::kMerkle : ports::AnchorMode::kPointer});
  }

  auto ticket = ledger->submit(batch, {});
  ASSERT_TRUE(ticket) << ticket.error().message;
  auto confirmed = ledger->await(*ticket);

  ASSERT_TRUE(confirmed) << confirmed.error().message;
  ASSERT_EQ(confirmed->transactions.size(), 2u);  // one per mode
  EXPECT_GE(confirmed->transactions[0].block, 1u);
  EXPECT_EQ(confirmed->transactions[0].tx_hash, ticket->tx_hashes[0]);
  ASSERT_EQ(confirmed->placements.size(), 5u);
  // The merkle-mode pointers (0, 2, 4) share one root; each proof verifies on chain.
  auto transport = make_http_transport(node.rpc_url(), 5s);
  JsonRpcClient rpc(std::move(*transport), node.rpc_url());
  auto signer = Signer::create(SecretBytes(parse_hex(testing::AnvilNode::kDevKey0).value()));
  PointerRegistry registry(rpc, **signer, rpc.chain_id().value(), parse_address(address).value());
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const auto& placement = confirmed->placements[i];
    if (batch[i].mode == ports::AnchorMode::kPointer) {
      EXPECT_FALSE(placement.proof);
      EXPECT_EQ((*registry.latest(batch[i].resource_key))->second, batch[i].content_hash);
      continue;
    }
    ASSERT_TRUE(placement.proof);
    EXPECT_EQ(placement.proof->leaf_count, 3u);
    const auto& b = batch[i];
    const PointerRecord record{.resource_key = b.resource_key,
                               .version = b.version,
                               .content_hash = b.content_hash,
                               .region = b.region,
                               .key_id = b.key_id};
    EXPECT_TRUE(*registry.verify_inclusion(record, placement.proof->index,
                                           placement.proof->siblings, placement.proof->root));
    EXPECT_FALSE(registry.latest(b.resource_key)->has_value());  // not in storage
  }
}

// Issue 14 (a crash between the send and the record): the caller sees every Merkle proof before
// anything is sent, and finds the root's transaction on chain afterwards by the root alone.
TEST(EvmPointerLedger, ARootIsNotedBeforeItIsSentAndFoundByItselfAfterwards) {
  testing::LedgerNode node;
  auto deployed = deploy_and_connect(node);
  ASSERT_TRUE(deployed.ledger);
  auto& ledger = deployed.ledger;
  std::vector<ports::Pointer> batch;
  for (std::uint8_t i = 0; i < 3; ++i) {
    batch.push_back({.resource_key = h(static_cast<std::uint8_t>(70 + i)),
                     .version = 1,
                     .content_hash = h(static_cast<std::uint8_t>(80 + i)),
                     .region = "eu-west",
                     .key_id = "kek-1",
                     .mode = ports::AnchorMode::kMerkle});
  }
  std::optional<ports::Hash32> noted_root;
  bool on_chain_when_noted = true;
  const ports::BeforeSend note = [&](const ports::AnchorTicket& planned) -> Status {
    EXPECT_TRUE(planned.tx_hashes.empty());
    for (const auto& placement : planned.placements) {
      EXPECT_TRUE(placement.proof);
      if (placement.proof) noted_root = placement.proof->root;
    }
    auto found = ledger->root_anchor(*noted_root);
    EXPECT_TRUE(found) << found.error().message;
    on_chain_when_noted = found && found->has_value();
    return Ok{};
  };

  auto ticket = ledger->submit(batch, note);

  ASSERT_TRUE(ticket) << ticket.error().message;
  ASSERT_TRUE(noted_root);
  EXPECT_FALSE(on_chain_when_noted);
  ASSERT_EQ(ticket->tx_hashes.size(), 1u);
  EXPECT_EQ(ticket->placements[0].proof->root, *noted_root);
  auto confirmed = ledger->await(*ticket);
  ASSERT_TRUE(confirmed) << confirmed.error().message;
  EXPECT_TRUE(ledger->settle(ledger->sender()));  // nothing of ours waits to be mined
  auto found = ledger->root_anchor(*noted_root);
  ASSERT_TRUE(found) << found.error().message;
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->tx_hash, ticket->tx_hashes[0]);
  EXPECT_EQ((*found)->block, confirmed->transactions[0].block);
  // The same pointers make the same root: sending them again anchors nothing new.
  auto again = ledger->submit(batch, {});
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->placements[0].proof->root, *noted_root);
}

// A hook that fails stops the submit before anything is sent.
TEST(EvmPointerLedger, AFailingBeforeSendSendsNothing) {
  testing::LedgerNode node;
  auto deployed = deploy_and_connect(node);
  ASSERT_TRUE(deployed.ledger);
  auto& ledger = deployed.ledger;
  const std::vector<ports::Pointer> batch{{.resource_key = h(90),
                                           .version = 1,
                                           .content_hash = h(91),
                                           .region = "eu-west",
                                           .key_id = "kek-1",
                                           .mode = ports::AnchorMode::kPointer}};
  auto ticket = ledger->submit(batch, [](const ports::AnchorTicket&) -> Status {
    return Error{ErrorCode::kUnavailable, "the store is down", "test"};
  });

  ASSERT_FALSE(ticket);
  EXPECT_EQ(ticket.error().message, "the store is down");
  auto latest = ledger->latest_versions(std::vector<ports::Hash32>{h(90)});
  ASSERT_TRUE(latest) << latest.error().message;
  EXPECT_EQ(latest->at(0), 0u);
}

}  // namespace
}  // namespace fl::ledger
