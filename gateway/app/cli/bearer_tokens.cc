#include "cli/bearer_tokens.h"

#include "fl/base/log.h"
#include "fl/gateway/crypto/jwk.h"

#include <Poco/Crypto/ECKey.h>
#include <Poco/Crypto/RSAKey.h>
#include <Poco/Exception.h>
#include <Poco/JWT/Signer.h>
#include <Poco/JWT/Token.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/NetSSL.h>
#include <Poco/Timestamp.h>
#include <Poco/URI.h>

#include <condition_variable>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>
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

using KeySet = std::map<std::string, Key>;

// Adds the keys of the JWK Set `text` to `keys`. Each key's algorithm is the one
// gateway::crypto derived from the key itself. A kid already taken (by /api/keys, or the other
// set) is refused: which key a token meant would depend on the order of loading.
Status add_jwk_set(std::string_view text, const std::string& where, KeySet& keys) {
  auto jwks = gateway::crypto::parse_jwk_set(text);
  if (!jwks) {
    return Error{ErrorCode::kInvalidInput, jwks.error().message,
                 where + " at " + (jwks.error().where.empty() ? "/" : jwks.error().where)};
  }
  for (const auto& jwk : *jwks) {
    Key key{.alg = jwk.alg, .rsa = nullptr, .ec = nullptr};
    try {
      std::istringstream pem(jwk.public_key_pem);
      if (is_rsa(jwk.alg)) {
        key.rsa = poco_shared<Poco::Crypto::RSAKey>(&pem);
      } else {
        key.ec = poco_shared<Poco::Crypto::ECKey>(&pem);
      }
    } catch (const Poco::Exception& e) {
      return Error{ErrorCode::kInvalidInput, "the key does not load: " + e.displayText(),
                   where + " kid " + jwk.kid};
    }
    if (!keys.emplace(jwk.kid, std::move(key)).second) {
      return Error{ErrorCode::kInvalidInput,
                   "expected each kid once: \"" + jwk.kid + "\" is configured twice", where};
    }
  }
  return Ok{};
}

// The keys of `fixed` and of the set `fetch` answers now.
Result<std::shared_ptr<const KeySet>> fetched_keys(const JwksFetcher& fetch, const KeySet& fixed,
                                                   const std::string& where) {
  auto text = fetch();
  if (!text) return Error{text.error().code, text.error().message, where};
  KeySet keys = fixed;
  if (auto added = add_jwk_set(*text, where, keys); !added) return added.error();
  return std::shared_ptr<const KeySet>(std::make_shared<KeySet>(std::move(keys)));
}

// Verifies on the API's request threads. The keys are an immutable snapshot, swapped whole when
// /api/jwksUrl is refreshed (on the verifier's own thread), so a request sees the old set or the
// new one, never half of each.
class PocoTokenVerifier final : public TokenVerifier {
 public:
  PocoTokenVerifier(const gateway::ApiSettings& api, std::shared_ptr<const KeySet> keys)
      : audience_(api.audience),
        issuer_(api.issuer),
        skew_(api.clock_skew_seconds),
        max_lifetime_(api.max_token_lifetime_seconds),
        keys_(std::move(keys)) {}

  ~PocoTokenVerifier() override {
    {
      std::lock_guard lock(keys_mutex_);
      stopping_ = true;
    }
    stop_.notify_all();
    if (refresher_.joinable()) refresher_.join();
  }

  // Every `period`, the set `fetch` answers replaces the fetched part of the keys; `fixed` are
  // the keys of /api/keys and /api/jwksFile, which stay. A failed refresh keeps the keys there
  // are: an identity provider that is down for a while must not lock every client out.
  void refresh_every(std::chrono::milliseconds period, JwksFetcher fetch, KeySet fixed,
                     std::string where) {
    refresher_ = std::thread([this, period, fetch = std::move(fetch), fixed = std::move(fixed),
                              where = std::move(where)] {
      std::unique_lock lock(keys_mutex_);
      while (!stop_.wait_for(lock, period, [this] { return stopping_; })) {
        lock.unlock();
        auto keys = fetched_keys(fetch, fixed, where);
        if (!keys) {
          log::warn("api.jwks_refresh_failed",
                    {{"error", keys.error().message}, {"where", keys.error().where}});
        }
        lock.lock();
        if (keys) keys_ = std::move(*keys);
      }
    });
  }

  Result<Caller> verify(std::string_view authorization, std::int64_t now) const override {
    constexpr std::string_view kScheme = "Bearer ";
    if (authorization.empty()) return unauthenticated("no bearer token");
    if (authorization.size() <= kScheme.size() ||
        !std::equal(kScheme.begin(), kScheme.end(), authorization.begin(),
                    [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
      return unauthenticated("the Authorization header is not a bearer token");
    }
    const std::string jwt(authorization.substr(kScheme.size()));
    const std::shared_ptr<const KeySet> keys = snapshot();
    try {
      const Poco::JWT::Token unverified(jwt);
      const std::string kid = unverified.header().optValue<std::string>("kid", "");
      auto key = keys->find(kid);
      if (key == keys->end() && kid.empty() && keys->size() == 1) key = keys->begin();
      if (key == keys->end()) return unauthenticated("the token is signed by an unknown key");
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

  std::shared_ptr<const KeySet> snapshot() const {
    std::lock_guard lock(keys_mutex_);
    return keys_;
  }

  std::string audience_;
  std::string issuer_;
  std::int64_t skew_;
  std::int64_t max_lifetime_;
  mutable std::mutex keys_mutex_;  // guards keys_ and stopping_
  std::shared_ptr<const KeySet> keys_;
  bool stopping_ = false;
  std::condition_variable stop_;
  std::thread refresher_;
};

// The keys of the JWK Set in `jwks_file` (/api/jwksFile), added to `keys`.
Status add_jwks_file(const std::string& jwks_file, const std::string& config_file, KeySet& keys) {
  const std::string where = config_file + "#/api/jwksFile (" + jwks_file + ")";
  std::ifstream in(jwks_file, std::ios::binary);
  if (!in) return Error{ErrorCode::kInvalidInput, "expected a readable JWK Set file", where};
  std::ostringstream text;
  text << in.rdbuf();
  return add_jwk_set(text.str(), where, keys);
}

// A JWK Set is a few kilobytes; a body far larger is not one.
constexpr std::streamsize kMaxJwksBytes = 1 << 20;

// GET `url`: the body of a 200 answer. HTTPS verifies the server's certificate against the
// system's CAs and its name against the URL's host.
JwksFetcher http_fetcher(const std::string& url) {
  return [url]() -> Result<std::string> {
    try {
      const Poco::URI uri(url);
      std::unique_ptr<Poco::Net::HTTPClientSession> session;
      if (uri.getScheme() == "https") {
        static const bool kSslReady = [] {
          Poco::Net::initializeSSL();
          return true;
        }();
        (void)kSslReady;  // initialized once, for every fetcher
        Poco::Net::Context::Ptr context(
            std::make_unique<Poco::Net::Context>(Poco::Net::Context::TLS_CLIENT_USE, "",
                                                 Poco::Net::Context::VERIFY_RELAXED, 9, true)
                .release());
        context->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
        session =
            std::make_unique<Poco::Net::HTTPSClientSession>(uri.getHost(), uri.getPort(), context);
      } else {
        session = std::make_unique<Poco::Net::HTTPClientSession>(uri.getHost(), uri.getPort());
      }
      session->setTimeout(Poco::Timespan(10, 0));
      Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET, uri.getPathAndQuery(),
                                     Poco::Net::HTTPMessage::HTTP_1_1);
      request.set("Accept", "application/jwk-set+json, application/json");
      session->sendRequest(request);
      Poco::Net::HTTPResponse response;
      std::istream& body = session->receiveResponse(response);
      if (response.getStatus() != Poco::Net::HTTPResponse::HTTP_OK) {
        return Error{ErrorCode::kUnavailable,
                     "the JWK Set URL answered HTTP " + std::to_string(response.getStatus()), url};
      }
      std::string text(static_cast<std::size_t>(kMaxJwksBytes) + 1, '\0');
      body.read(text.data(), kMaxJwksBytes + 1);
      text.resize(static_cast<std::size_t>(body.gcount()));
      if (static_cast<std::streamsize>(text.size()) > kMaxJwksBytes) {
        return Error{ErrorCode::kInvalidInput, "the JWK Set is larger than 1 MiB", url};
      }
      return text;
    } catch (const Poco::Exception& e) {
      return Error{ErrorCode::kUnavailable, "cannot fetch the JWK Set: " + e.displayText(), url};
    } catch (const std::exception& e) {
      return Error{ErrorCode::kUnavailable, std::string("cannot fetch the JWK Set: ") + e.what(),
                   url};
    }
  };
}

}  // namespace

Result<std::unique_ptr<TokenVerifier>> make_token_verifier(const gateway::ApiSettings& api,
                                                           const std::string& config_file) {
  return make_token_verifier(api, config_file,
                             api.jwks_url.empty() ? JwksFetcher() : http_fetcher(api.jwks_url),
                             std::chrono::minutes(api.jwks_refresh_minutes));
}

Result<std::unique_ptr<TokenVerifier>> make_token_verifier(const gateway::ApiSettings& api,
                                                           const std::string& config_file,
                                                           JwksFetcher fetch,
                                                           std::chrono::milliseconds refresh) {
  KeySet keys;
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
  if (!api.jwks_file.empty()) {
    auto added = add_jwks_file(api.jwks_file, config_file, keys);
    if (!added) return added.error();
  }
  if (!fetch) {
    return std::unique_ptr<TokenVerifier>(
        std::make_unique<PocoTokenVerifier>(api, std::make_shared<const KeySet>(std::move(keys))));
  }
  // Fetched at start: a gateway that cannot verify anyone's token should not claim to be ready.
  const std::string where = config_file + "#/api/jwksUrl (" + api.jwks_url + ")";
  auto first = fetched_keys(fetch, keys, where);
  if (!first) return first.error();
  auto verifier = std::make_unique<PocoTokenVerifier>(api, std::move(*first));
  verifier->refresh_every(refresh, std::move(fetch), std::move(keys), where);
  return std::unique_ptr<TokenVerifier>(std::move(verifier));
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
