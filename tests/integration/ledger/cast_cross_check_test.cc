// Our Keccak-256 and legacy (EIP-155) signing against foundry's `cast` (the repo's pinned
// binary), an independent implementation. The corpora hold no full Keccak KAT (see their
// SOURCES.md), so every input length across the first two 136-byte blocks is compared here;
// signing is compared byte for byte across nonces, chain ids and gas prices whose encodings
// change length (v above one byte, nonces of 0, 127, 128, zero gas price, contract creation).
#include "fl/ledger/keccak.h"
#include "fl/ledger/transaction.h"

#include "support/services.h"

#include <gtest/gtest.h>

#include <cstdio>

namespace fl::ledger {
namespace {

using testing::shell_output;

TEST(CastCrossCheck, Keccak256AgreesForEveryLengthUpTo300Bytes) {
  Bytes input;
  for (std::size_t length = 0; length <= 300; ++length) {
    const std::string theirs = shell_output(testing::cast_binary() + " keccak " + to_0x_hex(input));
    ASSERT_EQ(to_0x_hex(keccak256(input)), theirs) << "length " << length;
    input.push_back(static_cast<std::uint8_t>(length * 37 + 11));
  }
}

struct LegacyCase {
  std::uint64_t chain_id;
  std::uint64_t nonce;
  std::uint64_t gas_price;
  bool create;
  std::string data;  // 0x-hex
};

TEST(CastCrossCheck, LegacyEip155TransactionsAreByteForByteLikeCast) {
  const LegacyCase cases[] = {
      {1, 0, 1, false, "0x"},
      {31337, 7, 3'000'000'000, false, "0xcafe"},
      {31337, 127, 0, false, "0x00"},
      {2018, 128, 1'000'000'000'000, false, "0x" + std::string(200, 'a')},
      {4'294'967'295, 1'099'511'627'776, 7, true, "0x6080604052"},
  };
  auto signer = Signer::create(SecretBytes(parse_hex(testing::AnvilNode::kDevKey0).value()));
  ASSERT_TRUE(signer);
  const std::string to = "0x3535353535353535353535353535353535353535";
  for (const auto& c : cases) {
    const LegacyTransaction tx{
        .nonce = c.nonce,
        .gas_price = big_endian(c.gas_price),
        .gas_limit = 100000,
        .to = c.create ? std::optional<Address>() : parse_address(to).value(),
        .value = big_endian(12345),
        .data = parse_hex(c.data).value()};
    std::string command =
        testing::cast_binary() + " mktx --legacy --private-key " + testing::AnvilNode::kDevKey0 +
        " --chain " + std::to_string(c.chain_id) + " --nonce " + std::to_string(c.nonce) +
        " --gas-limit 100000 --gas-price " + std::to_string(c.gas_price) + " --value 12345 ";
    command += c.create ? "--create " + c.data : to + " " + c.data;

    auto ours = sign(tx, c.chain_id, **signer);
    const std::string theirs = shell_output(command + " 2>/dev/null");

    ASSERT_TRUE(ours);
    ASSERT_FALSE(theirs.empty()) << "cast mktx produced nothing: " << command;
    EXPECT_EQ(to_0x_hex(ours->raw), theirs) << "chain " << c.chain_id << " nonce " << c.nonce;
    auto decoded = decode_legacy(ours->raw);
    ASSERT_TRUE(decoded) << decoded.error().message;
    EXPECT_EQ(decoded->chain_id, c.chain_id);
    EXPECT_EQ(decoded->sender, (*signer)->address());
    EXPECT_EQ(to_0x_hex(ours->hash), shell_output(testing::cast_binary() + " keccak " + theirs));
  }
}

}  // namespace
}  // namespace fl::ledger
