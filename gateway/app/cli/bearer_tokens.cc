#include "cli/bearer_tokens.h"

#include <Poco/Crypto/ECKey.h>
#include <Poco/Crypto/RSAKey.h>
#include <Poco/Exception.h>
#include <Poco/JWT/Signer.h>
#include <Poco/JWT/Token.h>
#include <Poco/Timestamp.h>

#include <map>
#include <memory>
#include <utility>
#include <vector>

namespace fl::cli {
namespace {

Error unauthenticated(std::string why) {
  return Error{ErrorCode::kPermissionDenied, std::move(why), ""};
}

bool is_rsa(const std::string& alg) { return alg == "RS256"; }

struct Key {
  std::string alg;
  Poco::SharedPtr<Poco::Crypto::RSAKey> rsa;
  Poco::SharedPtr<Poco::Crypto::ECKey> ec;
};

// Poco's own shared pointer, which the JWT signer takes, made without a naked new.
template <class T, class... A>
Poco::SharedPtr<T> poco_shared(A&&... args) {
  return Poco::SharedPtr<T>(std::make_unique<T>(std::forward<A>(args)...).release());
}

// Poco keeps a Timestamp in microseconds.
std::int64_t seconds_of(const Poco::Timestamp& t) { return t.epochTime(); }

class PocoTokenVerifier final : public TokenVerifier {
 public:
  PocoTokenVerifier(const gateway::ApiSettings& api, std::map<std::string, Key> keys)
      : audience_(api.audience),
        issuer_(api.issuer),
        skew_(api.clock_skew_seconds),
        max_lifetime_(api.max_token_lifetime_seconds),
        keys_(std::move(keys)) {}

  Result<Caller> verify(std::string_view authorization, std::int64_t now) const override {
    constexpr std::string_view kScheme = "Bearer ";
    if (authorization.empty()) return unauthenticated("no bearer token");
    if (authorization.size() <= kScheme.size() ||
        !std::equal(kScheme.begin(), kScheme.end(), authorization.begin(),
                    [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
      return unauthenticated("the Authorization header is not a bearer token");
    }
    const std::string jwt(authorization.substr(kScheme.size()));
    try {
      const Poco::JWT::Token unverified(jwt);
      const std::string kid = unverified.header().optValue<std::string>("kid", "");
      auto key = keys_.find(kid);
      if (key == keys_.end() && kid.empty() && keys_.size() == 1) key = keys_.begin();
      if (key == keys_.end()) return unauthenticated("the token is signed by an unknown key");
      Poco::JWT::Signer signer;
      signer.setAlgorithms({key->second.alg});
      if (key->second.rsa) signer.setRSAKey(key->second.rsa);
      if (key->second.ec) signer.setECKey(key->second.ec);
      Poco::JWT::Token token;
      if (!signer.tryVerify(jwt, token)) {
        return unauthenticated("the token's signature does not verify");
      }
      return check_claims(token, now);
    } catch (const Poco::Exception&) {
      return unauthenticated("the token is not a well-formed JWT");
    } catch (const std::exception&) {
      return unauthenticated("the token is not a well-formed JWT");
    }
  }

 private:
  Result<Caller> check_claims(const Poco::JWT::Token& token, std::int64_t now) const {
    const auto& payload = token.payload();
    if (!payload.has("exp")) return unauthenticated("the token has no exp");
    const std::int64_t exp = seconds_of(token.getExpiration());
    if (exp + skew_ < now) return unauthenticated("the token has expired");
    if (exp - now > max_lifetime_ + skew_) {
      return unauthenticated("the token's lifetime exceeds /api/maxTokenLifetimeSeconds");
    }
    if (payload.has("nbf") && seconds_of(token.getNotBefore()) - skew_ > now) {
      return unauthenticated("the token is not valid yet");
    }
    const auto audiences = token.getAudience();
    if (std::find(audiences.begin(), audiences.end(), audience_) == audiences.end()) {
      return unauthenticated("the token is not for this API (aud)");
    }
    if (!issuer_.empty() && token.getIssuer() != issuer_) {
      return unauthenticated("the token's issuer is not trusted (iss)");
    }
    Caller caller;
    caller.client_id = payload.optValue<std::string>("client_id", token.getSubject());
    if (caller.client_id.empty()) return unauthenticated("the token names no client");
    caller.scopes = payload.optValue<std::string>("scope", "");
    caller.expires = exp;
    return caller;
  }

  std::string audience_;
  std::string issuer_;
  std::int64_t skew_;
  std::int64_t max_lifetime_;
  std::map<std::string, Key> keys_;
};

}  // namespace

Result<std::unique_ptr<TokenVerifier>> make_token_verifier(const gateway::ApiSettings& api,
                                                           const std::string& config_file) {
  std::map<std::string, Key> keys;
  for (std::size_t i = 0; i < api.keys.size(); ++i) {
    const auto& k = api.keys[i];
    const std::string where = config_file + "#/api/keys/" + std::to_string(i) + "/publicKeyFile";
    Key key{.alg = k.alg, .rsa = nullptr, .ec = nullptr};
    try {
      if (is_rsa(k.alg)) {
        key.rsa = poco_shared<Poco::Crypto::RSAKey>(k.public_key_file);
      } else {
        key.ec = poco_shared<Poco::Crypto::ECKey>(k.public_key_file, "");
      }
    } catch (const Poco::Exception& e) {
      return Error{ErrorCode::kInvalidInput,
                   "expected a PEM " + std::string(is_rsa(k.alg) ? "RSA" : "EC") +
                       " public key: " + e.displayText(),
                   where + " (" + k.public_key_file + ")"};
    }
    if (!keys.emplace(k.kid, std::move(key)).second) {
      return Error{ErrorCode::kInvalidInput, "expected each kid once",
                   config_file + "#/api/keys/" + std::to_string(i) + "/kid"};
    }
  }
  return std::unique_ptr<TokenVerifier>(std::make_unique<PocoTokenVerifier>(api, std::move(keys)));
}

Result<std::string> mint_token(const TokenClaims& claims, const std::string& private_key_file) {
  try {
    Poco::JWT::Token token;
    token.setType("JWT");
    token.header().set("kid", claims.kid);
    token.setSubject(claims.client_id);
    token.payload().set("client_id", claims.client_id);
    token.payload().set("scope", claims.scope);
    token.setAudience(claims.audience);
    if (!claims.issuer.empty()) token.setIssuer(claims.issuer);
    token.setIssuedAt(Poco::Timestamp::fromEpochTime(claims.issued_at));
    token.setExpiration(Poco::Timestamp::fromEpochTime(claims.expires));
    Poco::JWT::Signer signer;
    if (is_rsa(claims.alg)) {
      signer.setRSAKey(poco_shared<Poco::Crypto::RSAKey>("", private_key_file));
    } else {
      signer.setECKey(poco_shared<Poco::Crypto::ECKey>("", private_key_file));
    }
    signer.addAlgorithm(claims.alg);
    return signer.sign(token, claims.alg);
  } catch (const Poco::Exception& e) {
    return Error{ErrorCode::kInvalidInput, "cannot sign with the key: " + e.displayText(),
                 private_key_file};
  }
}

}  // namespace fl::cli
