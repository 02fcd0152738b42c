// JWK Sets become PEM public keys with the algorithm the key implies. Known answers: the RSA and
// EC public keys of RFC 7517 Appendix A.1, and a P-384 key generated with Python's
// `cryptography`; the expected PEMs were written by that independent implementation.
#include "fl/gateway/crypto/jwk.h"

#include <gtest/gtest.h>

#include <string>

namespace fl::gateway::crypto {
namespace {

// RFC 7517 Appendix A.1, transcribed.
constexpr const char* kRfcRsaN =
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"
    "BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-"
    "65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-"
    "bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-"
    "kEgU8awapJzKnqDKgw";
constexpr const char* kRfcEcX = "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4";
constexpr const char* kRfcEcY = "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM";

constexpr const char* kRfcRsaPem =
    "-----BEGIN PUBLIC KEY-----\n"
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA0vx7agoebGcQSuuPiLJX\n"
    "ZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tS\n"
    "oc/BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ/2W+5JsGY4Hc5n9yBXArwl93lqt\n"
    "7/RN5w6Cf0h4QyQ5v+65YGjQR0/FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0\n"
    "zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt+bFTWhAI4vMQFh6WeZu0f\n"
    "M4lFd2NcRwr3XPksINHaQ+G/xBniIqbw0Ls1jF44+csFCur+kEgU8awapJzKnqDK\n"
    "gwIDAQAB\n"
    "-----END PUBLIC KEY-----\n";
constexpr const char* kRfcEcPem =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEMKBCTNIcKUSDii11ySs3526iDZ8A\n"
    "iTo7Tu6KPAqv7D7gS2XpJFbZiItSs3m9+9Ue6GnvHw/GW2ZZaVtszggXIw==\n"
    "-----END PUBLIC KEY-----\n";

constexpr const char* kP384X = "f3f7BTXhr1jQzcfGz8HdMCVfRDmWSuqdV3baS2QOM3ddOKUj0i-Ofh9sCjKBF45h";
constexpr const char* kP384Y = "qQ8QWs4FTqOK5UPspQ5bz_2-gbnzjSav3cO9dZEKE1Ja3rG2vtXa7tlj1yf2gXWL";
constexpr const char* kP384Pem =
    "-----BEGIN PUBLIC KEY-----\n"
    "MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEf3f7BTXhr1jQzcfGz8HdMCVfRDmWSuqd\n"
    "V3baS2QOM3ddOKUj0i+Ofh9sCjKBF45hqQ8QWs4FTqOK5UPspQ5bz/2+gbnzjSav\n"
    "3cO9dZEKE1Ja3rG2vtXa7tlj1yf2gXWL\n"
    "-----END PUBLIC KEY-----\n";

// A 1024-bit modulus (Python's `cryptography`): too short for RS256 (RFC 7518 section 3.3).
constexpr const char* kRsa1024N =
    "0EMyGAcWOal0DQsiJZFmPUzy73My8gF8T06MF3g_UfJkZb-"
    "6jpHswEwPwPP1OrUBx5WPxZ1th8UtSejrnvvFKacsRKmbanP"
    "GetUvNDdCi74IHhLQyJ8FhdjjK8jZ7qEhu2iyk3pPc1iWIwaJnqrdTlNGAwgU5K5pnaVEBpFr2TU";

std::string rsa_jwk(const std::string& extra = R"("alg":"RS256","kid":"2011-04-29")") {
  return std::string(R"({"kty":"RSA","n":")") + kRfcRsaN + R"(","e":"AQAB",)" + extra + "}";
}
std::string ec_jwk(const std::string& extra = R"("kid":"1")", const std::string& x = kRfcEcX) {
  return std::string(R"({"kty":"EC","crv":"P-256","x":")") + x + R"(","y":")" + kRfcEcY + "\"," +
         extra + "}";
}
std::string set_of(const std::string& keys) { return R"({"keys":[)" + keys + "]}"; }

std::string error_where(const std::string& jwks) {
  auto keys = parse_jwk_set(jwks);
  EXPECT_FALSE(keys) << "expected the set to be refused";
  return keys ? "" : keys.error().where;
}

// A set fetched from /api/jwksUrl may be up to 1 MiB from a server we do not control: nesting
// that deep is refused as invalid JSON, not followed down the verifier thread's stack.
TEST(JsonWebKeys, NestingAsDeepAsTheFetchLimitIsInvalidJsonNotACrash) {
  const std::string deep = "{\"keys\":" + std::string(1 << 20, '[');
  auto parsed = parse_jwk_set(deep);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidInput);
}

TEST(JsonWebKeys, TheRfc7517RsaKeyIsAnRs256PublicKey) {
  auto keys = parse_jwk_set(set_of(rsa_jwk()));

  ASSERT_TRUE(keys) << keys.error().message << " at " << keys.error().where;
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ((*keys)[0].kid, "2011-04-29");
  EXPECT_EQ((*keys)[0].alg, "RS256");
  EXPECT_EQ((*keys)[0].public_key_pem, kRfcRsaPem);
}

TEST(JsonWebKeys, TheRfc7517EcKeyIsAnEs256PublicKey) {
  auto keys = parse_jwk_set(set_of(ec_jwk(R"("use":"sig","kid":"1")")));

  ASSERT_TRUE(keys) << keys.error().message << " at " << keys.error().where;
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ((*keys)[0].kid, "1");
  EXPECT_EQ((*keys)[0].alg, "ES256");
  EXPECT_EQ((*keys)[0].public_key_pem, kRfcEcPem);
}

TEST(JsonWebKeys, AP384KeyIsAnEs384PublicKey) {
  auto keys = parse_jwk_set(set_of(std::string(R"({"kty":"EC","crv":"P-384","kid":"p384","x":")") +
                                   kP384X + R"(","y":")" + kP384Y + R"("})"));

  ASSERT_TRUE(keys) << keys.error().message << " at " << keys.error().where;
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ((*keys)[0].alg, "ES384");
  EXPECT_EQ((*keys)[0].public_key_pem, kP384Pem);
}

TEST(JsonWebKeys, KeysForOtherPurposesAreSkippedNotRefused) {
  // As published in RFC 7517 A.1 the EC key is "use":"enc": it must not verify signatures.
  const std::string others =
      ec_jwk(R"("use":"enc","kid":"1")") + "," + ec_jwk(R"("key_ops":["deriveKey"],"kid":"2")") +
      "," +
      R"({"kty":"oct","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow","kid":"hmac"},)" +
      rsa_jwk(R"("alg":"PS256","kid":"pss")") + "," +
      R"({"kty":"EC","crv":"P-521","kid":"p521","x":"AA","y":"AA"})";

  auto keys = parse_jwk_set(set_of(others + "," + rsa_jwk()));

  ASSERT_TRUE(keys) << keys.error().message << " at " << keys.error().where;
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ((*keys)[0].kid, "2011-04-29");
}

TEST(JsonWebKeys, APointOffTheCurveIsRefusedWithItsPointer) {
  std::string x = kRfcEcX;
  x[5] = x[5] == 'A' ? 'B' : 'A';

  EXPECT_EQ(error_where(set_of(rsa_jwk() + "," + ec_jwk(R"("kid":"1")", x))), "/keys/1/x");
}

TEST(JsonWebKeys, WrongKeysAreRefusedWithTheirPointer) {
  EXPECT_EQ(error_where(set_of(ec_jwk(R"("kid":"1","d":"AAAA")"))), "/keys/0/d");
  EXPECT_EQ(error_where(set_of(ec_jwk(R"("use":"sig")"))), "/keys/0/kid");
  EXPECT_EQ(error_where(set_of(ec_jwk(R"("kid":"1","alg":"ES384")"))), "/keys/0/alg");
  EXPECT_EQ(
      error_where(set_of(ec_jwk(R"("kid":"1")", "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D"))),
      "/keys/0/x");
  EXPECT_EQ(error_where(set_of(rsa_jwk() + "," + rsa_jwk())), "/keys/1/kid");
  EXPECT_EQ(error_where(set_of(std::string(R"({"kty":"RSA","kid":"short","e":"AQAB","n":")") +
                               kRsa1024N + "\"}")),
            "/keys/0/n");
  EXPECT_EQ(error_where(set_of(R"({"kty":"RSA","kid":"no-n","e":"AQAB"})")), "/keys/0/n");
  EXPECT_EQ(error_where(R"({"keys":{}})"), "/keys");
  EXPECT_FALSE(parse_jwk_set("not json"));
}

TEST(Base64Url, DecodesWithoutPaddingAndRefusesOtherAlphabets) {
  auto e = base64url_decode("AQAB");
  ASSERT_TRUE(e);
  EXPECT_EQ(*e, std::string("\x01\x00\x01", 3));
  EXPECT_EQ(*base64url_decode("-_8"), std::string("\xfb\xff", 2));

  EXPECT_FALSE(base64url_decode("AQ=="));   // padding
  EXPECT_FALSE(base64url_decode("+/8"));    // the standard alphabet
  EXPECT_FALSE(base64url_decode("AQABA"));  // no whole byte in the last character
  EXPECT_FALSE(base64url_decode("AR"));     // bits left over: a second spelling of "AQ"
}

}  // namespace
}  // namespace fl::gateway::crypto
