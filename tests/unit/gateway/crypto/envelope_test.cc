#include "fl/gateway/crypto/envelope.h"

#include "fl/gateway/crypto/aead.h"
#include "fl/gateway/crypto/hash.h"
#include "fl/gateway/crypto/sealer.h"

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

TEST(Envelope, OpensWithOpenSslsOwnHkdfAndAesGcm) {
  // The sealer derives keys with two HMACs; OpenSSL's HKDF (RFC 5869) must agree.
  const Bytes blob = *seal_resource(kek(), "k", kContext, as_bytes(kPlain));
  constexpr std::size_t kHeader = 4 + 1 + 1 + 12;  // magic, id length, id "k", nonce
  const auto data_key =
      hkdf_sha256(kek().view(), as_bytes("fhir-ledger/data-key/v1"), kContext, 32);
  ASSERT_TRUE(data_key);
  Bytes aad(blob.begin(), blob.begin() + kHeader);
  aad.insert(aad.end(), kContext.begin(), kContext.end());

  auto plain = aes_gcm_open(data_key->view(), ByteView(blob).subspan(kHeader - 12, 12), aad,
                            ByteView(blob).subspan(kHeader));

  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_EQ(as_chars(*plain), kPlain);
}

TEST(Sealer, ALongLivedSealerGivesTheSameBlobsAsTheOneShotFunctions) {
  auto sealer = Sealer::create();
  ASSERT_TRUE(sealer);

  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(*(*sealer)->seal(kek(), "k", kContext, as_bytes(kPlain)),
              *seal_resource(kek(), "k", kContext, as_bytes(kPlain)));
  }
  EXPECT_EQ(as_chars(*(*sealer)->open(kek(), *seal_resource(kek(), "k", kContext, as_bytes(kPlain)),
                                      kContext)),
            kPlain);
}

}  // namespace
}  // namespace fl::gateway::crypto
