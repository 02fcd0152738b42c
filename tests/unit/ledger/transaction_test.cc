// Transaction signing and decoding against the EIP-155 example, ethereum/tests BasicTests
// (key -> address) and TransactionTests (raw legacy transactions: sender and hash, or refusal).
#include "fl/ledger/transaction.h"

#include "fl/ledger/rlp.h"

#include "support/corpus.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>

namespace fl::ledger {
namespace {

rapidjson::Document load(const std::filesystem::path& path) {
  rapidjson::Document doc;
  doc.Parse(testing::read_file(path).c_str());
  return doc;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

TEST(Eip155, SignsTheSpecExampleByteForByte) {
  const auto doc = load(testing::corpus_path("ethereum/eip155/eip155-example.json"));
  const auto& t = doc["tx"];
  LegacyTransaction tx{.nonce = t["nonce"].GetUint64(),
                       .gas_price = testing::decimal_to_big_endian(t["gasPrice"].GetString()),
                       .gas_limit = t["gasLimit"].GetUint64(),
                       .to = parse_address(t["to"].GetString()).value(),
                       .value = testing::decimal_to_big_endian(t["value"].GetString()),
                       .data = {}};
  auto signer = Signer::create(SecretBytes(parse_hex(doc["privateKey"].GetString()).value()));
  ASSERT_TRUE(signer);

  EXPECT_EQ(to_0x_hex(signing_payload(tx, 1)), doc["signingData"].GetString());
  EXPECT_EQ(to_0x_hex(keccak256(signing_payload(tx, 1))), doc["signingHash"].GetString());
  auto signed_tx = sign(tx, 1, **signer);
  ASSERT_TRUE(signed_tx);
  EXPECT_EQ(to_0x_hex(signed_tx->raw), doc["signedTx"].GetString());
  EXPECT_EQ(to_checksum_hex((*signer)->address()), doc["sender"].GetString());
}

TEST(Eip155, DecodingRecoversTheSenderAndChain) {
  const auto doc = load(testing::corpus_path("ethereum/eip155/eip155-example.json"));

  auto decoded = decode_legacy(parse_hex(doc["signedTx"].GetString()).value());

  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(decoded->chain_id, 1u);
  EXPECT_EQ(decoded->tx.nonce, 9u);
  EXPECT_EQ(to_checksum_hex(decoded->sender), doc["sender"].GetString());
}

TEST(Signer, DerivesTheAddressesOfBasicTests) {
  const auto doc = load(testing::corpus_path("ethereum/BasicTests/keyaddrtest.json"));
  for (const auto& v : doc.GetArray()) {
    auto signer = Signer::create(SecretBytes(parse_hex(v["key"].GetString()).value()));
    ASSERT_TRUE(signer);
    EXPECT_EQ(to_hex((*signer)->address()), v["addr"].GetString());
  }
}

TEST(Signer, SignaturesAreLowSAndRecoverTheSigner) {
  auto signer = Signer::create(SecretBytes(Bytes(32, 0x11)));
  ASSERT_TRUE(signer);
  for (std::uint8_t i = 0; i < 32; ++i) {
    const Hash32 digest = keccak256(Bytes{i});
    auto sig = (*signer)->sign(digest);
    ASSERT_TRUE(sig);
    EXPECT_LT(sig->s[0], 0x80) << "s must be in the lower half (EIP-2)";
    EXPECT_EQ(*recover_address(digest, *sig), (*signer)->address());
  }
}

TEST(Signer, RefusesAnInvalidKey) {
  EXPECT_FALSE(Signer::create(SecretBytes(Bytes(32, 0))));
  EXPECT_FALSE(Signer::create(SecretBytes(Bytes(31, 1))));
}

// Exceptions a transaction decoder cannot see: they need the chain's rules or state.
const std::set<std::string> kNeedsChainContext = {
    "TransactionException.INTRINSIC_GAS_TOO_LOW", "TransactionException.INITCODE_SIZE_EXCEEDED",
    "TransactionException.GASLIMIT_PRICE_PRODUCT_OVERFLOW"};

TEST(TransactionTests, LegacyTransactionsDecodeOrAreRefusedAsTheCorpusSays) {
  int accepted = 0;
  int refused = 0;
  int chain_context = 0;
  int typed_skipped = 0;
  int accepted_eip1559 = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(
           testing::corpus_path("ethereum/TransactionTests"))) {
    if (entry.path().extension() != ".json") continue;
    const auto doc = load(entry.path());
    const auto& t = doc.MemberBegin()->value;
    const std::string name = entry.path().filename().string();
    const Bytes raw = parse_hex(t["txbytes"].GetString()).value();
    // The newest fork each file states among those our transactions target.
    const rapidjson::Value* fork = nullptr;
    for (const char* name_of_fork : {"Shanghai", "Cancun", "London"}) {
      if (t["result"].HasMember(name_of_fork)) {
        fork = &t["result"][name_of_fork];
        break;
      }
    }
    ASSERT_NE(fork, nullptr) << name;
    const auto& result = *fork;
    // Typed (EIP-2718) transactions start below 0xc0: type 2 is EIP-1559; type 1 (EIP-2930
    // access-list transactions) is neither sent nor decoded here.
    const bool typed = !raw.empty() && raw[0] < 0xc0;
    const bool eip1559 = !raw.empty() && raw[0] == 0x02;
    std::optional<Address> sender;
    std::optional<std::uint64_t> chain;
    Error why{ErrorCode::kInvalidInput, "", ""};
    if (eip1559) {
      auto d = decode_eip1559(raw);
      if (d) {
        sender = d->sender;
        chain = d->tx.chain_id;
      } else {
        why = d.error();
      }
    } else {
      auto d = decode_legacy(raw);
      if (d) {
        sender = d->sender;
        chain = d->chain_id;
      } else {
        why = d.error();
      }
    }
    const bool decoded = sender.has_value();
    if (result.HasMember("exception")) {
      const std::string exception = result["exception"].GetString();
      if (decoded && kNeedsChainContext.contains(exception)) {
        ++chain_context;
      } else if (decoded && exception == "TransactionException.INVALID_CHAINID") {
        EXPECT_NE(chain, std::optional<std::uint64_t>(1)) << name;
        ++refused;
      } else {
        EXPECT_FALSE(decoded) << name << " must be refused (" << exception << ")";
        ++refused;
      }
      continue;
    }
    if (typed && !eip1559) {
      EXPECT_FALSE(decoded) << name;  // refused, never misread as legacy
      ++typed_skipped;
      continue;
    }
    ASSERT_TRUE(decoded) << name << ": " << why.message;
    EXPECT_EQ(to_0x_hex(*sender), lower(result["sender"].GetString())) << name;
    EXPECT_EQ(to_0x_hex(keccak256(raw)), result["hash"].GetString()) << name;
    ++accepted;
    if (eip1559) ++accepted_eip1559;
  }
  std::printf(
      "TransactionTests: %d accepted (%d EIP-1559), %d refused, %d need chain context, %d "
      "EIP-2930 skipped\n",
      accepted, accepted_eip1559, refused, chain_context, typed_skipped);
  EXPECT_GE(accepted_eip1559, 1);
  EXPECT_GE(accepted, 40);
  EXPECT_GE(refused, 100);
}

}  // namespace
}  // namespace fl::ledger
