// The API's bearer tokens: OAuth 2.0 access tokens that are JWTs in the shape SMART on FHIR
// Backend Services gives them (sub or client_id, scope, exp, aud, optionally iss), signed with
// RS256, ES256 or ES384 by a key the configuration names (PEM files under /api/keys, a JWK Set in
// /api/jwksFile, one fetched from /api/jwksUrl; the token's kid chooses one, and only that one
// is tried).
// Verified with Poco JWT; the algorithm is the key's, never the token's choice, so `none` and a
// public key used as an HMAC secret are refused. Also mints tokens for `fhir-ledger token`, the
// demo's and tests' stand-in for an authorization server.
#pragma once

#include "fl/base/result.h"
#include "fl/gateway/config.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace fl::cli {

struct Caller {
  std::string client_id;
  std::string scopes;
  std::int64_t expires = 0;  // Unix seconds
};

class TokenVerifier {
 public:
  virtual ~TokenVerifier() = default;
  // `authorization`: the Authorization header. kPermissionDenied says why the caller is not
  // authenticated, in words that can be returned to it (never the token).
  virtual Result<Caller> verify(std::string_view authorization, std::int64_t now) const = 0;
};

// Loads every configured key; a key file that does not load is an error naming it (the config
// file, the JSON pointer and, for a JWK Set, the pointer of the key inside it).
// With /api/jwksUrl the set is fetched before this returns (a failure is the start's error) and
// again every /api/jwksRefreshMinutes on the verifier's own thread.
Result<std::unique_ptr<TokenVerifier>> make_token_verifier(const gateway::ApiSettings& api,
                                                           const std::string& config_file);

// Where /api/jwksUrl's set comes from: the body of the URL, or why there is none.
using JwksFetcher = std::function<Result<std::string>()>;

// The same with the fetch and the refresh period given (tests); an empty `fetch`: no URL.
Result<std::unique_ptr<TokenVerifier>> make_token_verifier(const gateway::ApiSettings& api,
                                                           const std::string& config_file,
                                                           JwksFetcher fetch,
                                                           std::chrono::milliseconds refresh);

struct TokenClaims {
  std::string kid = "dev";
  std::string alg = "ES256";
  std::string client_id;
  std::string scope;
  std::string audience;
  std::string issuer;
  std::int64_t issued_at = 0;
  std::int64_t expires = 0;
};

// A signed JWT for `claims` with the PEM private key in `private_key_file`.
Result<std::string> mint_token(const TokenClaims& claims, const std::string& private_key_file);

}  // namespace fl::cli
