// Known answers from the RFCs that define the functions (RFC 4231 for HMAC-SHA256, RFC 5869 for
// HKDF, FIPS 180-2 for SHA-256).
#include "fl/gateway/crypto/hash.h"

#include <gtest/gtest.h>

namespace fl::gateway::crypto {
namespace {

Bytes hex(std::string_view h) { return parse_hex(h).value(); }

TEST(Sha256, MatchesFips180Abc) {
  EXPECT_EQ(to_hex(sha256(as_bytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

// One MAC under a key set up for it.
std::string hmac_hex(ByteView key, ByteView data) {
  auto keyed = KeyedHmacSha256::create(key);
  if (!keyed) return keyed.error().message;
  auto mac = keyed->mac(data);
  return mac ? to_hex(*mac) : mac.error().message;
}

TEST(HmacSha256, MatchesRfc4231TestCases1And2) {
  EXPECT_EQ(hmac_hex(Bytes(20, 0x0b), as_bytes("Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(hmac_hex(as_bytes("Jefe"), as_bytes("what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

// The key is set up once and used for each message in turn; each MAC starts afresh.
TEST(KeyedHmacSha256, MatchesRfc4231TestCases2And4OneAfterTheOther) {
  auto jefe = KeyedHmacSha256::create(as_bytes("Jefe"));
  ASSERT_TRUE(jefe);
  for (int i = 0; i < 2; ++i) {
    auto mac = jefe->mac(as_bytes("what do ya want for nothing?"));
    ASSERT_TRUE(mac);
    EXPECT_EQ(to_hex(*mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  }
  auto case4 = KeyedHmacSha256::create(hex("0102030405060708090a0b0c0d0e0f10111213141516171819"));
  ASSERT_TRUE(case4);
  auto mac = case4->mac(Bytes(50, 0xcd));
  ASSERT_TRUE(mac);
  EXPECT_EQ(to_hex(*mac), "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
}

// RFC 4231 test case 6: a key longer than SHA-256's block is hashed first.
TEST(KeyedHmacSha256, MatchesRfc4231TestCase6WithAKeyLongerThanABlock) {
  auto keyed = KeyedHmacSha256::create(Bytes(131, 0xaa));
  ASSERT_TRUE(keyed);
  auto mac = keyed->mac(as_bytes("Test Using Larger Than Block-Size Key - Hash Key First"));
  ASSERT_TRUE(mac);
  EXPECT_EQ(to_hex(*mac), "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(HkdfSha256, MatchesRfc5869TestCase1) {
  auto okm = hkdf_sha256(Bytes(22, 0x0b), hex("000102030405060708090a0b0c"),
                         hex("f0f1f2f3f4f5f6f7f8f9"), 42);

  ASSERT_TRUE(okm);
  EXPECT_EQ(to_hex(okm->view()),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
}

TEST(HkdfSha256, MatchesRfc5869TestCase3WithEmptySaltAndInfo) {
  auto okm = hkdf_sha256(Bytes(22, 0x0b), {}, {}, 42);

  ASSERT_TRUE(okm);
  EXPECT_EQ(to_hex(okm->view()),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
}

TEST(RandomBytes, AreFreshEachTime) { EXPECT_NE(*random_bytes(32), *random_bytes(32)); }

}  // namespace
}  // namespace fl::gateway::crypto
