// Bearer tokens verified against a JWK Set (/api/jwksFile, /api/jwksUrl): key pairs are generated
// here with OpenSSL (through Poco::Crypto), their public halves published as JWKs, and tokens
// signed with the private halves by `mint_token`, as `fhir-ledger token` does. The token's kid
// picks exactly one key; the algorithm is that key's, whatever the token's header says.
#include "cli/bearer_tokens.h"

#include <Poco/Base64Decoder.h>
#include <Poco/Base64Encoder.h>
#include <Poco/Crypto/ECKey.h>
#include <Poco/Crypto/RSAKey.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>

namespace fl::cli {
namespace {

namespace fs = std::filesystem;

constexpr std::int64_t kNow = 1'800'000'000;
constexpr const char* kAudience = "https://api.example/fhir";

std::string base64url(const std::string& bytes) {
  std::ostringstream out;
  Poco::Base64Encoder encoder(out, Poco::BASE64_URL_ENCODING | Poco::BASE64_NO_PADDING);
  encoder.rdbuf()->setLineLength(0);
  encoder << bytes;
  encoder.close();
  return out.str();
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// The uncompressed point's x || y: the last bytes of a P-384 SubjectPublicKeyInfo.
std::string ec_coordinates(const fs::path& public_pem) {
  std::string body;
  std::istringstream lines(read_file(public_pem));
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with("-----")) body += line;
  }
  std::istringstream encoded(body);
  Poco::Base64Decoder decoder(encoded);
  std::string der((std::istreambuf_iterator<char>(decoder)), std::istreambuf_iterator<char>());
  return der.substr(der.size() - 96);
}

class JwksTokens : public ::testing::Test {
 protected:
  JwksTokens()
      : dir_(fs::temp_directory_path() / ("fl-jwks-" + std::to_string(std::random_device{}()))) {
    fs::create_directories(dir_);
    Poco::Crypto::RSAKey rsa(Poco::Crypto::RSAKey::KL_2048, Poco::Crypto::RSAKey::EXP_LARGE);
    rsa.save((dir_ / "rsa.pub.pem").string(), (dir_ / "rsa.pem").string());
    Poco::Crypto::ECKey ec("secp384r1");
    ec.save((dir_ / "ec.pub.pem").string(), (dir_ / "ec.pem").string());

    const auto n = rsa.modulus();
    const auto e = rsa.encryptionExponent();
    const std::string xy = ec_coordinates(dir_ / "ec.pub.pem");
    jwks_ = R"({"keys":[{"kty":"RSA","kid":"rsa-1","use":"sig","n":")" +
            base64url(std::string(n.begin(), n.end())) + R"(","e":")" +
            base64url(std::string(e.begin(), e.end())) +
            R"("},{"kty":"EC","crv":"P-384","kid":"ec-384","x":")" + base64url(xy.substr(0, 48)) +
            R"(","y":")" + base64url(xy.substr(48)) + R"("}]})";
    write("jwks.json", jwks_);
  }
  ~JwksTokens() override {
    std::error_code ignored;  // a leftover temp folder must not fail the test
    fs::remove_all(dir_, ignored);
  }

  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
  }

  gateway::ApiSettings settings(const std::string& jwks = "jwks.json") {
    gateway::ApiSettings api;
    api.audience = kAudience;
    api.jwks_file = (dir_ / jwks).string();
    return api;
  }

  std::string token(const std::string& kid, const std::string& alg, const std::string& key) {
    auto minted = mint_token({.kid = kid,
                              .alg = alg,
                              .client_id = "eu-hospital",
                              .scope = "system/*.rs",
                              .audience = kAudience,
                              .issuer = "",
                              .issued_at = kNow,
                              .expires = kNow + 300},
                             (dir_ / key).string());
    EXPECT_TRUE(minted) << minted.error().message;
    return minted ? "Bearer " + *minted : "";
  }

  fs::path dir_;
  std::string jwks_;
};

TEST_F(JwksTokens, TokensSignedByJwksKeysVerify) {
  auto verifier = make_token_verifier(settings(), "gateway.json");
  ASSERT_TRUE(verifier) << verifier.error().message << " at " << verifier.error().where;

  auto rsa = (*verifier)->verify(token("rsa-1", "RS256", "rsa.pem"), kNow);
  auto ec = (*verifier)->verify(token("ec-384", "ES384", "ec.pem"), kNow);

  ASSERT_TRUE(rsa) << rsa.error().message;
  EXPECT_EQ(rsa->client_id, "eu-hospital");
  ASSERT_TRUE(ec) << ec.error().message;
  EXPECT_EQ(ec->scopes, "system/*.rs");
}

TEST_F(JwksTokens, AnUnknownKidIsRefused) {
  auto verifier = make_token_verifier(settings(), "gateway.json");
  ASSERT_TRUE(verifier);

  auto caller = (*verifier)->verify(token("rsa-2", "RS256", "rsa.pem"), kNow);

  ASSERT_FALSE(caller);
  EXPECT_EQ(caller.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(caller.error().message, "the token is signed by an unknown key");
}

TEST_F(JwksTokens, TheKidChoosesTheOnlyKeyTried) {
  auto verifier = make_token_verifier(settings(), "gateway.json");
  ASSERT_TRUE(verifier);

  // Signed by a key of the set, but naming the other one.
  auto caller = (*verifier)->verify(token("ec-384", "RS256", "rsa.pem"), kNow);

  EXPECT_FALSE(caller);
}

TEST_F(JwksTokens, TheAlgorithmComesFromTheKeyNotTheToken) {
  auto verifier = make_token_verifier(settings(), "gateway.json");
  ASSERT_TRUE(verifier);

  // A valid ECDSA signature by the right key, but over SHA-256 where the P-384 key means ES384.
  auto caller = (*verifier)->verify(token("ec-384", "ES256", "ec.pem"), kNow);

  EXPECT_FALSE(caller);
}

TEST_F(JwksTokens, AMissingOrWrongSetIsRefusedAtStartNamingIt) {
  auto missing = make_token_verifier(settings("absent.json"), "gateway.json");
  write("bad.json", R"({"keys":[{"kty":"EC","crv":"P-384","kid":"x","x":"AA","y":"AA"}]})");
  auto bad = make_token_verifier(settings("bad.json"), "gateway.json");

  ASSERT_FALSE(missing);
  EXPECT_TRUE(missing.error().where.starts_with("gateway.json#/api/jwksFile"))
      << missing.error().where;
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().where.ends_with("bad.json) at /keys/0/x")) << bad.error().where;
}

TEST_F(JwksTokens, AKidInBothKeysAndTheSetIsRefused) {
  auto api = settings();
  api.keys.push_back(
      {.kid = "rsa-1", .alg = "RS256", .public_key_file = (dir_ / "rsa.pub.pem").string()});

  auto verifier = make_token_verifier(api, "gateway.json");

  ASSERT_FALSE(verifier);
  EXPECT_NE(verifier.error().message.find("rsa-1"), std::string::npos);
}

// What a fake JWKS URL serves; the verifier's refresh thread reads it.
struct FakeJwksUrl {
  std::mutex mutex;
  std::string body;
  bool down = false;
  int fetches = 0;

  void serve(std::string text, bool is_down = false) {
    std::lock_guard lock(mutex);
    body = std::move(text);
    down = is_down;
  }
  int fetched() {
    std::lock_guard lock(mutex);
    return fetches;
  }
  JwksFetcher fetcher() {
    return [this]() -> Result<std::string> {
      std::lock_guard lock(mutex);
      ++fetches;
      if (down) return Error{ErrorCode::kUnavailable, "connection refused", "fake"};
      return body;
    };
  }
};

// Waits (at most 5 s) until the URL has been fetched `n` more times than `before`.
void await_fetches(FakeJwksUrl& url, int before, int n) {
  for (int i = 0; i < 500 && url.fetched() < before + n; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_GE(url.fetched(), before + n) << "the verifier did not refresh its keys";
}

TEST_F(JwksTokens, AJwksUrlIsFetchedAtStartAndARefreshReplacesItsKeys) {
  FakeJwksUrl url;
  url.serve(jwks_);
  auto api = settings();
  api.jwks_file.clear();
  api.jwks_url = "https://idp.example/jwks";
  auto verifier =
      make_token_verifier(api, "gateway.json", url.fetcher(), std::chrono::milliseconds(10));
  ASSERT_TRUE(verifier) << verifier.error().message;
  const std::string rsa = token("rsa-1", "RS256", "rsa.pem");
  EXPECT_TRUE((*verifier)->verify(rsa, kNow));

  // The provider rotates: only the EC key is left.
  url.serve(R"({"keys":[)" + jwks_.substr(jwks_.find("{\"kty\":\"EC\""), std::string::npos));
  await_fetches(url, url.fetched(), 2);

  EXPECT_FALSE((*verifier)->verify(rsa, kNow));
  EXPECT_TRUE((*verifier)->verify(token("ec-384", "ES384", "ec.pem"), kNow));
}

TEST_F(JwksTokens, AFailedRefreshKeepsTheKeysAndAFailedStartIsRefused) {
  FakeJwksUrl url;
  url.serve(jwks_);
  auto api = settings();
  api.jwks_file.clear();
  api.jwks_url = "https://idp.example/jwks";
  auto verifier =
      make_token_verifier(api, "gateway.json", url.fetcher(), std::chrono::milliseconds(10));
  ASSERT_TRUE(verifier);

  url.serve("", true);
  await_fetches(url, url.fetched(), 2);
  auto still = (*verifier)->verify(token("rsa-1", "RS256", "rsa.pem"), kNow);
  auto refused = make_token_verifier(api, "gateway.json", url.fetcher(), std::chrono::hours(1));

  EXPECT_TRUE(still) << still.error().message;
  ASSERT_FALSE(refused);
  EXPECT_TRUE(refused.error().where.starts_with("gateway.json#/api/jwksUrl"))
      << refused.error().where;
}

}  // namespace
}  // namespace fl::cli
