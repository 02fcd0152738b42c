// ABI encoding against the Solidity documentation's examples (shared/corpora/ethereum/abi),
// for the argument kinds our contract uses: static words and dynamic arrays of words.
#include "fl/ledger/abi.h"

#include "support/corpus.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

namespace fl::ledger::abi {
namespace {

const rapidjson::Value* example(const rapidjson::Document& doc, std::string_view signature) {
  for (const auto& e : doc["examples"].GetArray()) {
    if (signature == e["signature"].GetString()) return &e;
  }
  return nullptr;
}

rapidjson::Document load() {
  rapidjson::Document doc;
  doc.Parse(testing::read_file(testing::corpus_path("ethereum/abi/solidity-abi-spec-examples.json"))
                .c_str());
  return doc;
}

TEST(Abi, EncodesStaticArgumentsLikeTheSpec) {
  const auto doc = load();
  const auto* baz = example(doc, "baz(uint32,bool)");
  ASSERT_NE(baz, nullptr);

  const Bytes call =
      encode_call("baz(uint32,bool)", {Arg::word(uint_word(69)), Arg::word(bool_word(true))});

  EXPECT_EQ(to_0x_hex(call), (*baz)["calldata"].GetString());
}

TEST(Abi, SelectorsMatchTheSpec) {
  const auto doc = load();
  for (const auto& e : doc["examples"].GetArray()) {
    const auto sel = selector(e["signature"].GetString());
    EXPECT_EQ(to_0x_hex(sel), e["selector"].GetString()) << e["signature"].GetString();
  }
}

TEST(Abi, EncodesDynamicArraysWithOffsetsInTheHead) {
  // anchorBatch-like layout: two dynamic arrays; heads are offsets 0x40 and 0x40 + 32*(1+2).
  const Bytes encoded =
      encode_args({Arg::array({uint_word(1), uint_word(2)}), Arg::array({uint_word(3)})});

  ASSERT_EQ(encoded.size(), 32u * (2 + 3 + 2));
  EXPECT_EQ(*uint64_at(encoded, 0), 0x40u);
  EXPECT_EQ(*uint64_at(encoded, 1), 0xa0u);
  EXPECT_EQ(*uint64_at(encoded, 2), 2u);
  EXPECT_EQ(*uint64_at(encoded, 4), 2u);
  EXPECT_EQ(*uint64_at(encoded, 5), 1u);
  EXPECT_EQ(*uint64_at(encoded, 6), 3u);
}

TEST(Abi, EventTopicOfTransferIsTheWellKnownOne) {
  EXPECT_EQ(to_hex(event_topic("Transfer(address,address,uint256)")),
            "ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef");
}

TEST(Abi, ReadingPastTheEndIsAnError) {
  EXPECT_FALSE(word_at(Bytes(31, 0), 0));
  EXPECT_FALSE(uint64_at(Bytes(32, 0xff), 0));  // does not fit 64 bits
}

}  // namespace
}  // namespace fl::ledger::abi
