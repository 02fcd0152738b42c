// A pointer record is what Redis keeps of an anchored version (and of a root noted before it was
// sent): its JSON is read back by every later gateway, so its spelling is pinned here.
#include "fl/gateway/pointer_record.h"

#include <gtest/gtest.h>

#include <string>

namespace fl::gateway {
namespace {

ports::Hash32 filled(std::uint8_t byte) {
  ports::Hash32 h{};
  h.fill(byte);
  return h;
}

std::string hex(std::uint8_t byte) {
  std::string out = "0x";
  for (int i = 0; i < 32; ++i) out += to_hex(ByteView(&byte, 1));
  return out;
}

PointerRecord merkle_record() {
  PointerRecord record;
  record.pointer = {.resource_key = filled(0x01),
                    .patient_key = filled(0x02),
                    .version = 7,
                    .content_hash = filled(0xab),
                    .policy_hash = filled(0x0c),
                    .mapping_hash = filled(0xd0),
                    .region = "eu",
                    .key_id = "mk-\"1\"",
                    .mode = ports::AnchorMode::kMerkle};
  record.tx_hash = "0x" + std::string(64, 'f');
  record.block = 123;
  record.proof = ports::InclusionProof{
      .root = filled(0xee), .index = 2, .leaf_count = 3, .siblings = {filled(0x33), filled(0x44)}};
  return record;
}

TEST(PointerRecordJson, IsSpelledAsEveryGatewayReadsIt) {
  const std::string expected =
      R"({"resourceKey":")" + hex(0x01) + R"(","patientKey":")" + hex(0x02) +
      R"(","version":7,"contentHash":")" + hex(0xab) + R"(","policyHash":")" + hex(0x0c) +
      R"(","mappingHash":")" + hex(0xd0) +
      R"(","region":"eu","keyId":"mk-\"1\"","mode":"merkle",)" + R"("tx":"0x)" +
      std::string(64, 'f') + R"(","block":123,"merkle":{"root":")" + hex(0xee) +
      R"(","index":2,"leafCount":3,"proof":[")" + hex(0x33) + R"(",")" + hex(0x44) + R"("]}})";

  EXPECT_EQ(to_json(merkle_record()), expected);
}

TEST(PointerRecordJson, ReadsBackWhatItWrote) {
  PointerRecord pending = merkle_record();
  pending.tx_hash = "";
  pending.block = 0;
  pending.sender = "0x" + std::string(40, '1');
  PointerRecord plain = merkle_record();
  plain.proof.reset();
  plain.pointer.mode = ports::AnchorMode::kPointer;

  for (const PointerRecord& record : {merkle_record(), pending, plain}) {
    auto read = parse_pointer_record(to_json(record));

    ASSERT_TRUE(read) << read.error().message;
    EXPECT_EQ(to_json(*read), to_json(record));
    EXPECT_EQ(read->pointer.content_hash, record.pointer.content_hash);
    EXPECT_EQ(read->pointer.key_id, record.pointer.key_id);
    EXPECT_EQ(read->sender, record.sender);
    EXPECT_EQ(read->proof.has_value(), record.proof.has_value());
    if (record.proof) {
      EXPECT_EQ(read->proof->siblings, record.proof->siblings);
    }
  }
}

}  // namespace
}  // namespace fl::gateway
