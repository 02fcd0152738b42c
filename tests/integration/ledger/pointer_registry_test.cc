// The PointerRegistry contract and the C++ client against a real anvil node.
#include "fl/ledger/pointer_registry.h"

#include "fl/adapters/evm/evm_pointer_ledger.h"
#include "fl/ledger/abi.h"
#include "fl/ledger/transaction.h"

#include "support/services.h"

#include <gtest/gtest.h>

#include <cstdio>

namespace fl::ledger {
namespace {

using namespace std::chrono_literals;

Hash32 h(std::uint8_t seed) {
  Hash32 out{};
  out.fill(seed);
  return out;
}

class PointerRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto transport = make_http_transport(anvil.rpc_url(), 5s);
    ASSERT_TRUE(transport);
    rpc = std::make_unique<JsonRpcClient>(std::move(*transport), anvil.rpc_url());
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

  testing::AnvilNode anvil;
  std::unique_ptr<JsonRpcClient> rpc;
  std::unique_ptr<Signer> signer;
  std::uint64_t chain_id = 0;
  std::unique_ptr<PointerRegistry> registry;
};

TEST_F(PointerRegistryTest, AnchorsABatchInOneTransactionWithOneEventPerPointer) {
  const std::vector<PointerRecord> batch = {
      {h(1), 1, h(11), h(99)}, {h(2), 1, h(12), h(99)}, {h(3), 4, h(13), h(99)}};

  const TxReceipt receipt = anchor(batch);

  ASSERT_EQ(count(receipt, kAnchoredEvent), 3);
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const LogEntry& log = receipt.logs[i];
    EXPECT_EQ(log.topics.at(1), batch[i].resource_key);  // indexed
    EXPECT_EQ(*abi::uint64_at(log.data, 0), batch[i].version);
    EXPECT_EQ(*abi::word_at(log.data, 1), batch[i].content_hash);
    EXPECT_EQ(*abi::word_at(log.data, 2), batch[i].policy_hash);
  }
  auto latest = registry->latest(h(3));
  ASSERT_TRUE(latest);
  ASSERT_TRUE(latest->has_value());
  EXPECT_EQ((*latest)->first, 4u);
  EXPECT_EQ((*latest)->second, h(13));
}

TEST_F(PointerRegistryTest, ReAnchoringTheSameBatchEmitsNothing) {
  const std::vector<PointerRecord> batch = {{h(1), 1, h(11), h(99)}, {h(2), 1, h(12), h(99)}};
  anchor(batch);

  const TxReceipt again = anchor(batch);

  EXPECT_EQ(count(again, kAnchoredEvent), 0);
  EXPECT_EQ(count(again, kAnchorConflictEvent), 0);
}

TEST_F(PointerRegistryTest, AConflictingHashIsReportedAndNeverOverwrites) {
  anchor({{h(1), 1, h(11), h(99)}});

  const TxReceipt receipt = anchor({{h(1), 1, h(66), h(99)}, {h(2), 1, h(12), h(99)}});

  EXPECT_EQ(count(receipt, kAnchorConflictEvent), 1);
  EXPECT_EQ(count(receipt, kAnchoredEvent), 1);  // the rest of the batch still lands
  EXPECT_EQ((*registry->latest(h(1)))->second, h(11));
}

TEST_F(PointerRegistryTest, ALaterVersionBecomesTheLatest) {
  anchor({{h(1), 1, h(11), h(99)}});
  anchor({{h(1), 2, h(21), h(99)}});

  EXPECT_EQ((*registry->latest(h(1)))->first, 2u);
  EXPECT_FALSE(registry->latest(h(7))->has_value());
}

TEST_F(PointerRegistryTest, AnAccountThatIsNotAWriterIsRefused) {
  auto other = Signer::create(SecretBytes(parse_hex(testing::AnvilNode::kDevKey1).value()));
  ASSERT_TRUE(other);
  PointerRegistry as_other(*rpc, **other, chain_id, registry->contract());

  auto tx = as_other.anchor_batch(std::vector<PointerRecord>{{h(1), 1, h(11), h(99)}});

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
  auto anchored = as_other.anchor_batch(std::vector<PointerRecord>{{h(1), 1, h(11), h(99)}});
  ASSERT_TRUE(anchored) << anchored.error().message;
  ASSERT_TRUE(as_other.wait_for_receipt(*anchored, 1, 30s));
  EXPECT_TRUE(*registry->is_writer((*other)->address()));

  auto removed = registry->set_writer((*other)->address(), false);
  ASSERT_TRUE(removed) << removed.error().message;
  ASSERT_TRUE(registry->wait_for_receipt(*removed, 1, 30s));
  auto refused = as_other.anchor_batch(std::vector<PointerRecord>{{h(2), 1, h(12), h(99)}});
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
    batch.push_back({key, 1, h(static_cast<std::uint8_t>(i + 1)), h(99)});
  }

  const TxReceipt receipt = anchor(batch);

  const double per_pointer = static_cast<double>(receipt.gas_used) / 200.0;
  std::printf("anchorBatch of 200 new pointers: %llu gas, %.0f per pointer\n",
              static_cast<unsigned long long>(receipt.gas_used), per_pointer);
  EXPECT_EQ(count(receipt, kAnchoredEvent), 200);
  EXPECT_LE(per_pointer, 30000.0);
}

TEST_F(PointerRegistryTest, ManyTransactionsInFlightKeepTheirNonces) {
  std::vector<Hash32> sent;
  for (std::uint8_t i = 0; i < 5; ++i) {
    auto tx = registry->anchor_batch(
        std::vector<PointerRecord>{{h(i), 1, h(static_cast<std::uint8_t>(100 + i)), h(99)}});
    ASSERT_TRUE(tx) << tx.error().message;
    sent.push_back(*tx);
  }
  for (const auto& tx : sent) EXPECT_TRUE(registry->wait_for_receipt(tx, 1, 30s));
}

TEST_F(PointerRegistryTest, ANodeThatIsDownIsUnavailable) {
  anvil.stop();

  auto tx = registry->anchor_batch(std::vector<PointerRecord>{{h(1), 1, h(11), h(99)}});

  ASSERT_FALSE(tx);
  EXPECT_EQ(tx.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(tx.error().where.find("127.0.0.1"), std::string::npos);
}

// stdout of a shell command (cast), without the trailing newline.
std::string run(const std::string& command) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, pipe) != nullptr) out += buf;
  pclose(pipe);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
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
      run(testing::cast_binary() + " mktx --private-key " + testing::AnvilNode::kDevKey0 +
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

TEST_F(PointerRegistryTest, AnchorsWithEip1559TransactionsToo) {
  PointerRegistry eip1559(*rpc, *signer, chain_id, registry->contract(), TxType::kEip1559);

  auto tx = eip1559.anchor_batch(std::vector<PointerRecord>{{h(8), 1, h(18), h(99)}});
  ASSERT_TRUE(tx) << tx.error().message;
  auto receipt = eip1559.wait_for_receipt(*tx, 1, 30s);

  ASSERT_TRUE(receipt) << receipt.error().message;
  EXPECT_EQ(count(*receipt, kAnchoredEvent), 1);
  const std::string tx_json = run(testing::cast_binary() + " rpc --rpc-url " + anvil.rpc_url() +
                                  " eth_getTransactionByHash " + to_0x_hex(*tx) + " 2>/dev/null");
  EXPECT_NE(tx_json.find(R"("type":"0x2")"), std::string::npos) << tx_json;
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
        run(testing::cast_binary() + " block latest --field timestamp --rpc-url " +
            anvil.rpc_url() + " 2>/dev/null");
    return std::stoull(block);
  }

  void advance_clock(std::uint64_t seconds) {
    run(testing::cast_binary() + " rpc evm_increaseTime " + std::to_string(seconds) +
        " --rpc-url " + anvil.rpc_url() + " >/dev/null 2>&1");
    run(testing::cast_binary() + " rpc evm_mine --rpc-url " + anvil.rpc_url() + " >/dev/null 2>&1");
  }

  Address participant{};
  const Hash32 patient = h(0x77);
};

TEST_F(AccessTest, AGrantAllowsItsPurposeOnlyUntilItExpires) {
  confirm(registry->grant(patient, participant, "TREAT", now() + 3600));

  EXPECT_TRUE(*registry->can_read(patient, participant, "TREAT"));
  EXPECT_FALSE(*registry->can_read(patient, participant, "HPAYMT"));
  EXPECT_FALSE(*registry->can_read(h(0x78), participant, "TREAT"));

  advance_clock(3601);
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
  EXPECT_NE(again.error().message.find("PatientIsErased()"), std::string::npos)
      << again.error().message;
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

TEST(EvmPointerLedger, RefusesAnAddressWithoutContractCode) {
  testing::AnvilNode anvil;

  auto ledger = evm::make_pointer_ledger(
      {.rpc_url = anvil.rpc_url(),
       .contract_address = "0x00000000000000000000000000000000000000aa",
       .private_key = SecretBytes(parse_hex(testing::AnvilNode::kDevKey0).value())});

  ASSERT_FALSE(ledger);
  EXPECT_EQ(ledger.error().code, ErrorCode::kNotFound);
}

TEST(EvmPointerLedger, RefusesAnAccountThatIsNotAWriter) {
  testing::AnvilNode anvil;
  auto address = evm::deploy_pointer_registry(
      anvil.rpc_url(), SecretBytes(parse_hex(testing::AnvilNode::kDevKey0).value()));
  ASSERT_TRUE(address) << address.error().message;

  auto ledger = evm::make_pointer_ledger(
      {.rpc_url = anvil.rpc_url(),
       .contract_address = *address,
       .private_key = SecretBytes(parse_hex(testing::AnvilNode::kDevKey1).value())});

  ASSERT_FALSE(ledger);
  EXPECT_EQ(ledger.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(ledger.error().message.find("setWriter"), std::string::npos) << ledger.error().message;
}

TEST(EvmPointerLedger, RefusesAContractThatIsNotAPointerRegistry) {
  testing::AnvilNode anvil;
  const std::string address = "0x00000000000000000000000000000000000000bb";
  run(testing::cast_binary() + " rpc anvil_setCode " + address + " 0x00 --rpc-url " +
      anvil.rpc_url() + " >/dev/null 2>&1");  // code that stops at once and answers nothing

  auto ledger = evm::make_pointer_ledger(
      {.rpc_url = anvil.rpc_url(),
       .contract_address = address,
       .private_key = SecretBytes(parse_hex(testing::AnvilNode::kDevKey0).value())});

  ASSERT_FALSE(ledger);
  EXPECT_EQ(ledger.error().code, ErrorCode::kNotFound);
  EXPECT_NE(ledger.error().message.find("PointerRegistry"), std::string::npos)
      << ledger.error().message;
}

TEST(EvmPointerLedger, SubmitsAndAwaitsThroughThePort) {
  testing::AnvilNode anvil;
  auto address = evm::deploy_pointer_registry(
      anvil.rpc_url(), SecretBytes(parse_hex(testing::AnvilNode::kDevKey0).value()));
  ASSERT_TRUE(address) << address.error().message;
  auto ledger = evm::make_pointer_ledger(
      {.rpc_url = anvil.rpc_url(),
       .contract_address = *address,
       .private_key = SecretBytes(parse_hex(testing::AnvilNode::kDevKey0).value())});
  ASSERT_TRUE(ledger) << ledger.error().message;
  const std::vector<ports::Pointer> batch = {
      {.resource_key = h(5), .version = 1, .content_hash = h(6)}};

  auto ticket = (*ledger)->submit(batch);
  ASSERT_TRUE(ticket) << ticket.error().message;
  auto confirmed = (*ledger)->await(*ticket);

  ASSERT_TRUE(confirmed) << confirmed.error().message;
  EXPECT_GE(confirmed->block, 1u);
  EXPECT_EQ(confirmed->tx_hash, ticket->tx_hash);
}

}  // namespace
}  // namespace fl::ledger
