// Keccak-256 against the Ethereum corpus: known answers, and the hashes of 54 raw transactions
// from ethereum/tests (inputs from 18 bytes to 49 KB, so every padding path runs).
#include "fl/ledger/keccak.h"

#include "support/corpus.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

namespace fl::ledger {
namespace {

void check_file(const std::string& relative, const char* input_field) {
  rapidjson::Document doc;
  doc.Parse(testing::read_file(testing::corpus_path(relative)).c_str());
  ASSERT_TRUE(doc.IsArray());
  int checked = 0;
  for (const auto& v : doc.GetArray()) {
    const Bytes input = parse_hex(v[input_field].GetString()).value();
    EXPECT_EQ(to_0x_hex(keccak256(input)), v["keccak256"].GetString())
        << v[input_field].GetString();
    ++checked;
  }
  EXPECT_GT(checked, 0);
}

TEST(Keccak256, MatchesTheEip155SigningHash) {
  rapidjson::Document doc;
  doc.Parse(
      testing::read_file(testing::corpus_path("ethereum/eip155/eip155-example.json")).c_str());

  const Bytes signing_data = parse_hex(doc["signingData"].GetString()).value();

  EXPECT_EQ(to_0x_hex(keccak256(signing_data)), doc["signingHash"].GetString());
}

TEST(Keccak256, MatchesTransactionHashesFromEthereumTests) {
  check_file("ethereum/keccak256/keccak256-from-TransactionTests.json", "input");
}

TEST(Keccak256, IsNotSha3) {
  // SHA3-256("") is a7ffc6f8...; Keccak-256("") is c5d24601... (EIP-1052's empty code hash)
  EXPECT_EQ(to_hex(keccak256({})),
            "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
}

TEST(Keccak256, HandlesInputsAroundTheRateBoundary) {
  // 135, 136 and 137 bytes straddle the 136-byte block; each must differ and be stable.
  const Hash32 a = keccak256(Bytes(135, 0x61));
  const Hash32 b = keccak256(Bytes(136, 0x61));
  const Hash32 c = keccak256(Bytes(137, 0x61));
  EXPECT_NE(a, b);
  EXPECT_NE(b, c);
  EXPECT_EQ(b, keccak256(Bytes(136, 0x61)));
}

}  // namespace
}  // namespace fl::ledger
