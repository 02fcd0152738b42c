// `fhir-ledger token`: a bearer token for the API, signed with a private key, for development,
// tests and the demo; a deployment's tokens come from its authorization server. Options fall
// back to the environment scripts/services writes: FL_API_SIGNING_KEY_FILE, FL_API_KEY_ID and
// FL_API_KEY_ALG, FL_API_AUDIENCE.
#include "cli/args.h"
#include "cli/bearer_tokens.h"
#include "cli/commands.h"

#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace fl::cli {
namespace {

std::string option_or_env(const Args& args, const char* option, const char* env,
                          const char* fallback) {
  if (args.has(option)) return args.get(option);
  const char* value = std::getenv(env);
  return value != nullptr && *value != '\0' ? value : fallback;
}

int usage(const std::string& why) {
  std::fprintf(stderr,
               "token: %s\nusage: fhir-ledger token --client ID [--scope 'system/*.rs'] "
               "[--audience URL] [--key FILE] [--kid ID] [--alg ES256|ES384|RS256] "
               "[--expires-in SECONDS] [--issuer ISS]\n",
               why.c_str());
  return 2;
}

}  // namespace

int token_command(const std::vector<std::string>& argv) {
  auto args = Args::parse(
      argv, {"client", "scope", "audience", "key", "kid", "alg", "expires-in", "issuer"}, {});
  if (!args) return usage(args.error().message);
  TokenClaims claims;
  claims.client_id = args->get("client");
  if (claims.client_id.empty()) return usage("--client is needed");
  claims.scope = args->get("scope", "system/*.rs");
  claims.audience = option_or_env(*args, "audience", "FL_API_AUDIENCE", "");
  if (claims.audience.empty()) return usage("--audience (or FL_API_AUDIENCE) is needed");
  claims.kid = option_or_env(*args, "kid", "FL_API_KEY_ID", "dev");
  claims.alg = option_or_env(*args, "alg", "FL_API_KEY_ALG", "ES256");
  claims.issuer = args->get("issuer");
  const std::string key = option_or_env(*args, "key", "FL_API_SIGNING_KEY_FILE", "");
  if (key.empty()) return usage("--key (or FL_API_SIGNING_KEY_FILE) is needed");
  // Negative lifetimes are allowed: an expired token is what a test of expiry needs.
  const std::string lifetime = args->get("expires-in", "300");
  std::int64_t seconds = 0;
  auto [end, ec] = std::from_chars(lifetime.data(), lifetime.data() + lifetime.size(), seconds);
  if (ec != std::errc() || end != lifetime.data() + lifetime.size()) {
    return usage("--expires-in expects whole seconds");
  }
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  claims.issued_at = now;
  claims.expires = now + seconds;
  auto token = mint_token(claims, key);
  if (!token) {
    std::fprintf(stderr, "token: %s at %s\n", token.error().message.c_str(),
                 token.error().where.c_str());
    return 1;
  }
  std::printf("%s\n", token->c_str());
  return 0;
}

}  // namespace fl::cli
