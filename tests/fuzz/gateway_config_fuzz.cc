// The gateway config loader (parse_gateway_config: schema check, environment overrides,
// conversion) on an arbitrary gateway.json, with two fixed environments (none, and overrides of
// most variables, chosen by the input's length). The private key always comes from the
// environment, so a fuzzed privateKeyFile never reads the machine's files. A loaded config's
// description must not reveal a secret. Seeds: corpus/gateway_config and, at run time,
// config/gateway.json.
#include "fl/gateway/config.h"

#include "fuzz_support.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

constexpr const char* kPrivateKey =
    "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";  // anvil's, public
constexpr const char* kRedisPassword = "fuzz-redis-password-7f3a";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fl::gateway::Environment env{{"FL_LEDGER_PRIVATE_KEY", kPrivateKey}};
  if (size % 2 == 1) {
    env.insert({{"FL_KAFKA_BOOTSTRAP_SERVERS", "broker:9092"},
                {"FL_KAFKA_GROUP_ID", "fuzz"},
                {"FL_LEDGER_RPC_URL", "http://node:8545"},
                {"FL_LEDGER_CONFIRMATIONS", "3"},
                {"FL_MAPPINGS_DIR", "mappings"},
                {"FL_POLICY_BUNDLE", "policies/bundle.json"},
                {"FL_REDIS_HOST", "redis"},
                {"FL_REDIS_PORT", "6380"},
                {"FL_REDIS_EU_HOST", "redis-eu"},
                {"FL_REDIS_EU_PORT", "not-a-port"},
                {"FL_REDIS_USERNAME", "gateway"},
                {"FL_REDIS_PASSWORD", kRedisPassword}});
  }
  const std::string_view text = fl::fuzz::as_text(data, size);
  auto config = fl::gateway::parse_gateway_config(text, "/nonexistent-fl-fuzz/gateway.json", env);
  if (!config) {
    FL_FUZZ_CHECK(!config.error().message.empty());
    return 0;
  }
  const std::string description = fl::gateway::describe_config(*config);
  // Unless the file itself spells a secret out (say, as a client id), the description cannot.
  for (const std::string_view secret : {kPrivateKey, kRedisPassword}) {
    if (text.find(secret) == std::string_view::npos) {
      FL_FUZZ_CHECK(description.find(secret) == std::string::npos);
    }
  }
  return 0;
}
