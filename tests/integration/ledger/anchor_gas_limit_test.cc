// Anchoring sized to the chain's gas limit (issue 14), against a real anvil with a small block
// gas limit: a large batch goes out in as many transactions as the limit needs, a limit lowered
// meanwhile is followed, and a pointer no transaction can carry is refused, not retried.
#include "fl/adapters/evm/evm_pointer_ledger.h"
#include "fl/ledger/json_rpc.h"
#include "fl/ledger/pointer_registry.h"

#include "support/services.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>
#include <thread>

namespace fl::ledger {
namespace {

using namespace std::chrono_literals;

constexpr std::uint64_t kSmallBlockGasLimit = 3'000'000;

Hash32 key_of(std::uint32_t n, std::uint8_t tag) {
  Hash32 out{};
  out[0] = tag;
  out[28] = static_cast<std::uint8_t>(n >> 24);
  out[29] = static_cast<std::uint8_t>(n >> 16);
  out[30] = static_cast<std::uint8_t>(n >> 8);
  out[31] = static_cast<std::uint8_t>(n);
  return out;
}

// `count` storage-mode pointers from `first` on, of two (policy, mapping) groups taking turns.
std::vector<ports::Pointer> pointers(std::uint32_t first, std::uint32_t count) {
  std::vector<ports::Pointer> out;
  for (std::uint32_t n = first; n < first + count; ++n) {
    ports::Pointer p{.resource_key = key_of(n, 0x0a),
                     .patient_key = key_of(n % 7, 0x0b),
                     .version = 1,
                     .content_hash = key_of(n, 0x0c),
                     .region = "eu-west",
                     .key_id = "kek-1"};
    p.policy_hash.fill(n % 2 == 0 ? 0x21 : 0x22);
    p.mapping_hash.fill(0x31);
    out.push_back(p);
  }
  return out;
}

class AnchorGasLimitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto address = evm::deploy_pointer_registry(anvil.rpc_url(), key());
    ASSERT_TRUE(address) << address.error().message;
    auto ledger_or = evm::make_pointer_ledger(
        {.rpc_url = anvil.rpc_url(), .contract_address = *address, .private_key = key()});
    ASSERT_TRUE(ledger_or) << ledger_or.error().message;
    ledger = std::move(*ledger_or);
    auto transport = make_http_transport(anvil.rpc_url(), 5s);
    ASSERT_TRUE(transport);
    rpc = std::make_unique<JsonRpcClient>(std::move(*transport), anvil.rpc_url());
    signer = std::move(Signer::create(key()).value());
    registry = std::make_unique<PointerRegistry>(*rpc, *signer, rpc->chain_id().value(),
                                                 parse_address(*address).value());
  }

  static SecretBytes key() { return SecretBytes(parse_hex(testing::AnvilNode::kDevKey0).value()); }

  // The next block and those after it get `limit` (anvil mines one to make it the latest).
  void set_block_gas_limit(std::uint64_t limit) {
    const std::string rpc_url = " --rpc-url " + anvil.rpc_url();
    std::ostringstream quantity;
    quantity << "0x" << std::hex << limit;
    testing::shell_output(testing::cast_binary() + " rpc evm_setBlockGasLimit " + quantity.str() +
                          rpc_url + " >/dev/null 2>&1");
    testing::shell_output(testing::cast_binary() + " rpc anvil_mine" + rpc_url +
                          " >/dev/null 2>&1");
    ASSERT_EQ(rpc->block_gas_limit().value(), limit);
  }

  // Checks that every pointer is anchored on chain, and that the transaction its placement names
  // is one whose Anchored events include it.
  void expect_anchored_where_placed(const std::vector<ports::Pointer>& batch,
                                    const ports::AnchorConfirmation& confirmation) {
    std::map<std::string, std::set<Hash32>> anchored_by;  // tx hash -> resource keys
    for (const auto& tx : confirmation.transactions) {
      Hash32 hash{};
      const Bytes bytes = parse_hex(tx.tx_hash).value();
      std::copy(bytes.begin(), bytes.end(), hash.begin());
      auto receipt = rpc->transaction_receipt(hash);
      ASSERT_TRUE(receipt && receipt->has_value()) << tx.tx_hash;
      auto records = decode_anchored((*receipt)->logs);
      ASSERT_TRUE(records) << records.error().message;
      for (const auto& r : *records) anchored_by[tx.tx_hash].insert(r.resource_key);
    }
    ASSERT_EQ(confirmation.placements.size(), batch.size());
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const auto& placement = confirmation.placements[i];
      EXPECT_FALSE(placement.refused) << i << ": " << *placement.refused;
      EXPECT_FALSE(placement.conflict) << i;
      ASSERT_LT(placement.tx, confirmation.transactions.size()) << i;
      const auto& tx_hash = confirmation.transactions[placement.tx].tx_hash;
      EXPECT_TRUE(anchored_by[tx_hash].contains(batch[i].resource_key)) << i << " in " << tx_hash;
      // Asked again for up to a second when the loaded node does not answer, or answers from a
      // state without the block its receipt names (seen once under ASan with CI's other tests
      // beside it; the read after it was not logged then): the test is about where the
      // pointers went, not about how soon anvil's state reads catch up.
      auto latest = registry->latest(batch[i].resource_key);
      for (int attempt = 0; attempt < 5 && !(latest && latest->has_value()); ++attempt) {
        std::this_thread::sleep_for(200ms);
        latest = registry->latest(batch[i].resource_key);
      }
      ASSERT_TRUE(latest) << i << ": " << latest.error().message;
      ASSERT_TRUE(latest->has_value()) << i << " is not anchored";
      EXPECT_EQ((*latest)->second, batch[i].content_hash) << i;
    }
  }

  // A zero base fee, as permissioned networks run: these tests are about the gas limit. With
  // anvil's default fee market, a dozen transactions sent faster than a loaded anvil mines them
  // fill one block each (90% of the limit), the base fee rises about 10% per block, and the
  // later ones, priced at twice the base fee they were built with, wait forever (what issue 16's
  // fee bumping is for).
  // Mixed mining, a block a second besides one per transaction received: when a loaded machine
  // delivers two sends before anvil mines, it mines one block for both, and with blocks that
  // hold one transaction the second would wait in the pool for a send that never comes (this
  // test failed twice in a row so under CI, 2026-12-07). A real chain never stops making blocks.
  testing::AnvilNode anvil{
      false,
      {"--gas-limit", std::to_string(kSmallBlockGasLimit), "--block-base-fee-per-gas", "0",
       "--block-time", "1", "--mixed-mining"}};
  std::unique_ptr<ports::PointerLedger> ledger;
  std::unique_ptr<JsonRpcClient> rpc;
  std::unique_ptr<Signer> signer;
  std::unique_ptr<PointerRegistry> registry;
};

TEST_F(AnchorGasLimitTest, AThousandPointersGoInAsManyTransactionsAsTheBlockGasLimitNeeds) {
  const auto batch = pointers(0, 1000);
  // 90% of 3,000,000 gas takes 43 pointers: 12 transactions for each group of 500.
  const std::size_t per_tx = anchor_batch_capacity(transaction_gas_cap(kSmallBlockGasLimit));
  ASSERT_EQ(per_tx, 43u);
  const std::size_t expected = 2 * ((500 + per_tx - 1) / per_tx);

  auto ticket = ledger->submit(batch, {});

  ASSERT_TRUE(ticket) << ticket.error().message;
  EXPECT_EQ(ticket->tx_hashes.size(), expected);
  auto confirmed = ledger->await(*ticket);
  ASSERT_TRUE(confirmed) << confirmed.error().message;
  ASSERT_EQ(confirmed->transactions.size(), expected);  // no earlier anchors to name
  for (const auto& tx : confirmed->transactions) {
    EXPECT_LE(tx.gas_used, transaction_gas_cap(kSmallBlockGasLimit)) << tx.tx_hash;
  }
  expect_anchored_where_placed(batch, *confirmed);
}

TEST_F(AnchorGasLimitTest, ALimitLoweredSinceItWasReadIsFollowedAtTheFirstRefusedSend) {
  const auto first = pointers(0, 10);
  auto ticket = ledger->submit(first, {});  // reads the limit of 3,000,000
  ASSERT_TRUE(ticket) << ticket.error().message;
  ASSERT_TRUE(ledger->await(*ticket));
  set_block_gas_limit(1'000'000);
  const auto second = pointers(10, 200);

  ticket = ledger->submit(second, {});

  ASSERT_TRUE(ticket) << ticket.error().message;
  // 90% of 1,000,000 takes 13 pointers: 8 transactions for each group of 100.
  ASSERT_EQ(anchor_batch_capacity(transaction_gas_cap(1'000'000)), 13u);
  EXPECT_EQ(ticket->tx_hashes.size(), 16u);
  auto confirmed = ledger->await(*ticket);
  ASSERT_TRUE(confirmed) << confirmed.error().message;
  expect_anchored_where_placed(second, *confirmed);
}

TEST_F(AnchorGasLimitTest, APointerNoTransactionCanCarryIsRefusedWithTheReasonAndNotSent) {
  // 90% of 150,000 is 135,000: a Merkle root (90,000) fits, one pointer (140,000) does not.
  set_block_gas_limit(150'000);
  auto batch = pointers(0, 3);
  ports::Pointer merkle = pointers(3, 1).front();
  merkle.mode = ports::AnchorMode::kMerkle;
  batch.push_back(merkle);
  const auto nonce_before = rpc->pending_nonce(signer->address()).value();

  auto ticket = ledger->submit(batch, {});

  ASSERT_TRUE(ticket) << ticket.error().message;
  EXPECT_EQ(ticket->tx_hashes.size(), 1u);  // the root only
  EXPECT_EQ(rpc->pending_nonce(signer->address()).value(), nonce_before + 1);
  auto confirmed = ledger->await(*ticket);
  ASSERT_TRUE(confirmed) << confirmed.error().message;
  for (std::size_t i = 0; i < 3; ++i) {
    const auto& refused = confirmed->placements.at(i).refused;
    ASSERT_TRUE(refused) << i;
    EXPECT_EQ(*refused,
              "the chain's block gas limit of 150000 is too small for one pointer (needs 140000 "
              "gas, and one transaction uses at most 90% of a block); the chain's operators must "
              "raise it");
    EXPECT_FALSE(registry->latest(batch[i].resource_key)->has_value());
  }
  EXPECT_FALSE(confirmed->placements.at(3).refused);
  EXPECT_TRUE(confirmed->placements.at(3).proof);

  // Sent again (as the pipeline never does for a refusal), still nothing goes out for them.
  ticket = ledger->submit(std::span(batch).first(3), {});
  ASSERT_TRUE(ticket) << ticket.error().message;
  EXPECT_TRUE(ticket->tx_hashes.empty());
  EXPECT_EQ(rpc->pending_nonce(signer->address()).value(), nonce_before + 1);
}

TEST_F(AnchorGasLimitTest, ASendAboveTheBlockGasLimitIsAPermanentErrorNotAnOutage) {
  registry->use_gas_bound_for_anchors(true);
  std::vector<PointerRecord> records;
  for (const auto& p : pointers(0, 100)) {
    if (p.policy_hash != pointers(0, 1).front().policy_hash) continue;
    records.push_back({.resource_key = p.resource_key,
                       .version = p.version,
                       .content_hash = p.content_hash,
                       .policy_hash = p.policy_hash,
                       .mapping_hash = p.mapping_hash,
                       .region = p.region,
                       .key_id = p.key_id});
  }
  ASSERT_GT(anchor_batch_gas(records.size()), kSmallBlockGasLimit);

  auto tx = registry->anchor_batch(records);

  ASSERT_FALSE(tx);
  EXPECT_EQ(tx.error().code, ErrorCode::kInvalidInput) << tx.error().message;
  EXPECT_TRUE(is_gas_limit_error(tx.error())) << tx.error().message;
}

}  // namespace
}  // namespace fl::ledger
