// RLP against ethereum/tests RLPTests: every valid case encodes to the expected bytes and
// decodes back; every invalid case is refused by the decoder.
#include "fl/ledger/rlp.h"

#include "support/corpus.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

namespace fl::ledger::rlp {
namespace {

Bytes encode_json(const rapidjson::Value& v) {
  if (v.IsArray()) {
    std::vector<Bytes> items;
    for (const auto& e : v.GetArray()) items.push_back(encode_json(e));
    return encode_list(items);
  }
  if (v.IsUint64()) return encode_uint(v.GetUint64());
  const std::string_view s(v.GetString(), v.GetStringLength());
  if (s.starts_with("#")) return encode_big_uint(testing::decimal_to_big_endian(s.substr(1)));
  return encode_bytes(as_bytes(s));
}

rapidjson::Document load(const std::string& relative) {
  rapidjson::Document doc;
  doc.Parse(testing::read_file(testing::corpus_path(relative)).c_str());
  return doc;
}

TEST(Rlp, EncodesEveryValidCorpusCase) {
  const auto doc = load("ethereum/RLPTests/rlptest.json");
  int checked = 0;
  for (const auto& c : doc.GetObject()) {
    EXPECT_EQ(to_0x_hex(encode_json(c.value["in"])), c.value["out"].GetString())
        << c.name.GetString();
    ++checked;
  }
  EXPECT_EQ(checked, 28);
}

TEST(Rlp, DecodesAndReEncodesEveryValidCorpusCase) {
  const auto doc = load("ethereum/RLPTests/rlptest.json");
  for (const auto& c : doc.GetObject()) {
    const Bytes encoded = parse_hex(c.value["out"].GetString()).value();
    auto item = decode(encoded);
    ASSERT_TRUE(item) << c.name.GetString() << ": " << item.error().message;
    std::function<Bytes(const Item&)> again = [&](const Item& i) -> Bytes {
      if (!i.is_list) return encode_bytes(i.bytes);
      std::vector<Bytes> parts;
      for (const auto& child : i.items) parts.push_back(again(child));
      return encode_list(parts);
    };
    EXPECT_EQ(again(*item), encoded) << c.name.GetString();
  }
}

TEST(Rlp, RefusesEveryInvalidCorpusCase) {
  const auto doc = load("ethereum/RLPTests/invalidRLPTest.json");
  int checked = 0;
  for (const auto& c : doc.GetObject()) {
    const Bytes encoded = parse_hex(c.value["out"].GetString()).value();
    EXPECT_FALSE(decode(encoded)) << c.name.GetString() << " must be refused";
    ++checked;
  }
  EXPECT_EQ(checked, 26);
}

}  // namespace
}  // namespace fl::ledger::rlp
