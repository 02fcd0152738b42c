#include "fl/gateway/crypto/envelope.h"

#include <gtest/gtest.h>

namespace fl::gateway::crypto {
namespace {

const SecretBytes& kek() {
  static const SecretBytes key(Bytes(32, 0x5a));
  return key;
}
const Bytes kContext = {1, 2, 3, 4};
constexpr std::string_view kPlain = R"({"id":"p1","resourceType":"Patient"})";

TEST(Envelope, RoundTripsAndNamesItsKey) {
  auto blob = seal_resource(kek(), "kek-2026-11", kContext, as_bytes(kPlain));
  ASSERT_TRUE(blob);

  auto opened = open_resource(kek(), *blob, kContext);

  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_EQ(as_chars(*opened), kPlain);
  EXPECT_EQ(*sealed_key_id(*blob), "kek-2026-11");
  EXPECT_EQ(std::string(as_chars(ByteView(*blob).first(4))), "FLB1");
}

TEST(Envelope, SealingTheSameVersionTwiceGivesTheSameBlob) {
  EXPECT_EQ(*seal_resource(kek(), "k", kContext, as_bytes(kPlain)),
            *seal_resource(kek(), "k", kContext, as_bytes(kPlain)));
}

TEST(Envelope, DifferentContentOrContextGivesDifferentNoncesAndBlobs) {
  const Bytes a = *seal_resource(kek(), "k", kContext, as_bytes(kPlain));
  const Bytes b = *seal_resource(kek(), "k", kContext, as_bytes(R"({"id":"p2"})"));
  const Bytes c = *seal_resource(kek(), "k", Bytes{9}, as_bytes(kPlain));

  EXPECT_FALSE(std::equal(a.begin() + 6, a.begin() + 18, b.begin() + 6));
  EXPECT_NE(a, c);
}

TEST(Envelope, AFlippedBitAnywhereIsDetected) {
  const Bytes blob = *seal_resource(kek(), "k", kContext, as_bytes(kPlain));

  for (std::size_t i = 0; i < blob.size(); ++i) {
    Bytes tampered = blob;
    tampered[i] ^= 0x80;
    auto opened = open_resource(kek(), tampered, kContext);
    ASSERT_FALSE(opened) << "byte " << i;
    EXPECT_EQ(opened.error().code, ErrorCode::kIntegrity) << "byte " << i;
  }
}

TEST(Envelope, AWrongContextOrKeyDoesNotOpen) {
  const Bytes blob = *seal_resource(kek(), "k", kContext, as_bytes(kPlain));

  EXPECT_FALSE(open_resource(kek(), blob, Bytes{1, 2, 3, 5}));
  EXPECT_FALSE(open_resource(SecretBytes(Bytes(32, 0x5b)), blob, kContext));
}

}  // namespace
}  // namespace fl::gateway::crypto
