// ABI encoding against ethereum/tests ABITests (basic_abi_tests.json), which covers every kind
// of argument the encoder has: uint, address, bytesN, T[] and bytes.
#include "fl/ledger/abi.h"

#include "support/corpus.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

namespace fl::ledger::abi {
namespace {

rapidjson::Document load() {
  rapidjson::Document doc;
  doc.Parse(
      testing::read_file(testing::corpus_path("ethereum/ABITests/basic_abi_tests.json")).c_str());
  return doc;
}

Arg to_arg(std::string_view type, const rapidjson::Value& v) {
  if (type == "uint256" || type == "uint32") return Arg::word(uint_word(v.GetUint64()));
  if (type == "address") return Arg::word(address_word(parse_address(v.GetString()).value()));
  if (type == "bytes") return Arg::dynamic_bytes(as_bytes(v.GetString()));
  if (type.starts_with("bytes")) return Arg::word(fixed_bytes_word(as_bytes(v.GetString())));
  std::vector<Word> elements;  // uint32[]
  for (const auto& e : v.GetArray()) elements.push_back(uint_word(e.GetUint64()));
  return Arg::array(std::move(elements));
}

TEST(Abi, EncodesEveryBasicAbiTestCase) {
  const auto doc = load();
  int checked = 0;
  for (const auto& c : doc.GetObject()) {
    std::vector<Arg> args;
    for (rapidjson::SizeType i = 0; i < c.value["types"].Size(); ++i) {
      args.push_back(to_arg(c.value["types"][i].GetString(), c.value["args"][i]));
    }
    EXPECT_EQ(to_hex(encode_args(args)), c.value["result"].GetString()) << c.name.GetString();
    ++checked;
  }
  EXPECT_EQ(checked, 3);
}

TEST(Abi, ACallIsTheSelectorThenTheArguments) {
  const Bytes call = encode_call("transfer(address,uint256)",
                                 {Arg::word(address_word(Address{})), Arg::word(uint_word(1))});

  ASSERT_EQ(call.size(), 4u + 64u);
  EXPECT_EQ(to_hex(ByteView(call).first(4)), "a9059cbb");  // ERC-20 transfer, well known
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
