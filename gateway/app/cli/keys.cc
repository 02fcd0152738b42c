// `fhir-ledger keys ...`: the key-encryption keys of the keyring and the master keys they wrap.
//   keys list                 every KEK (no material) and, per region, how many master keys
//                             each one wraps
//   keys add --region R       a new KEK, active for its region from now on (the old one stays
//                             readable); then `keys rotate` moves the master keys onto it
//   keys rotate [--region R]  re-wraps every master key not under its region's active KEK;
//                             blobs are not touched (they name the master key, not the KEK)
//   keys retire <kek id>      marks a KEK retired, refused while any master key still needs it
// Output is JSON on stdout; errors on stderr.
#include "fl/adapters/keys/keyring_key_provider.h"
#include "fl/base/json_string.h"
#include "fl/gateway/config.h"
#include "fl/gateway/keys/master_keys.h"

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/session.h"
#include "cli/wiring.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>

namespace fl::cli {
namespace {

int fail(const std::string& command, const Error& error, int code) {
  std::fprintf(stderr, "keys %s: %s%s%s\n", command.c_str(), error.message.c_str(),
               error.where.empty() ? "" : " at ", error.where.c_str());
  return code;
}

Result<gateway::GatewayConfig> load_config(const Args& args) {
  return gateway::load_gateway_config(args.get("config", "config/gateway.json"),
                                      gateway::process_environment());
}

// region -> KEK id -> master keys wrapped under it ("erased" counts the marks).
Result<std::map<std::string, std::map<std::string, std::uint64_t>>> usage(
    const gateway::GatewayConfig& config, ports::MasterKeyStore& store) {
  std::map<std::string, std::map<std::string, std::uint64_t>> out;
  for (const auto& [region, settings] : config.redis_regions) {
    auto& counts = out[region];
    auto visited = store.for_each_master_key(
        region, [&](const ports::Hash32&, const ports::MasterKeyEntry& e) {
          ++counts[e.erased() ? std::string("erased") : e.wrapped.kek_id];
          return Status(Ok{});
        });
    if (!visited) return visited.error();
  }
  return out;
}

int list(const std::vector<std::string>& argv) {
  auto args = Args::parse(argv, {"config"}, {});
  if (!args) return fail("list", args.error(), 2);
  auto config = load_config(*args);
  if (!config) return fail("list", config.error(), 2);
  auto keys = build_key_provider(*config);
  if (!keys) return fail("list", keys.error(), 2);
  auto stores = build_stores(*config);
  if (!stores) return fail("list", stores.error(), 2);
  auto counts = usage(*config, *stores->master_keys);
  if (!counts) return fail("list", counts.error(), 1);
  std::string out = "{\"keks\":[";
  bool first = true;
  for (const auto& k : (*keys)->keks()) {
    out += first ? "" : ",";
    first = false;
    out += "{\"id\":" + quoted(k.id) + ",\"region\":" + quoted(k.region) +
           ",\"created\":" + quoted(k.created) + ",\"active\":" + (k.active ? "true" : "false") +
           ",\"retired\":" + (k.retired ? "true" : "false") + "}";
  }
  out += "],\"masterKeys\":{";
  first = true;
  for (const auto& [region, by_kek] : *counts) {
    out += (first ? "" : ",") + quoted(region) + ":{";
    first = false;
    bool inner_first = true;
    for (const auto& [kek, n] : by_kek) {
      out += (inner_first ? "" : ",") + quoted(kek) + ":" + std::to_string(n);
      inner_first = false;
    }
    out += "}";
  }
  out += "}}";
  std::printf("%s\n", out.c_str());
  return 0;
}

int add(const std::vector<std::string>& argv) {
  auto args = Args::parse(argv, {"config", "region", "id"}, {});
  if (!args) return fail("add", args.error(), 2);
  if (!args->has("region")) {
    return fail("add", Error{ErrorCode::kInvalidInput, "expected --region NAME", ""}, 2);
  }
  auto config = load_config(*args);
  if (!config) return fail("add", config.error(), 2);
  auto added = keys::add_keyring_kek(config->keyring_file, args->get("region"), args->get("id"),
                                     now_rfc3339());
  if (!added) return fail("add", added.error(), 1);
  std::printf("{\"added\":%s,\"region\":%s,\"active\":true,\"next\":%s}\n",
              quoted(added->id).c_str(), quoted(added->region).c_str(),
              quoted("restart the gateway, then run `fhir-ledger keys rotate --region " +
                     added->region + "`")
                  .c_str());
  return 0;
}

int rotate(const std::vector<std::string>& argv) {
  auto args = Args::parse(argv, {"config", "region"}, {});
  if (!args) return fail("rotate", args.error(), 2);
  auto config = load_config(*args);
  if (!config) return fail("rotate", config.error(), 2);
  auto keys = build_key_provider(*config);
  if (!keys) return fail("rotate", keys.error(), 2);
  auto stores = build_stores(*config);
  if (!stores) return fail("rotate", stores.error(), 2);
  gateway::MasterKeys master_keys(**keys, *stores->master_keys);
  std::string out = "{\"regions\":[";
  bool first = true;
  int code = 0;
  for (const auto& [region, settings] : config->redis_regions) {
    if (args->has("region") && args->get("region") != region) continue;
    auto report = master_keys.rotate(region);
    if (!report) return fail("rotate", report.error(), 1);
    out += (first ? "" : ",") + std::string("{\"region\":") + quoted(region) +
           ",\"activeKek\":" + quoted(report->active_kek) +
           ",\"rewrapped\":" + std::to_string(report->rewrapped) +
           ",\"current\":" + std::to_string(report->current) +
           ",\"erased\":" + std::to_string(report->erased) +
           ",\"raced\":" + std::to_string(report->raced) + "}";
    first = false;
    if (report->raced > 0) code = 1;  // changed meanwhile: run it again
  }
  out += "]}";
  std::printf("%s\n", out.c_str());
  return code;
}

int retire(const std::vector<std::string>& argv) {
  auto args = Args::parse(argv, {"config"}, {});
  if (!args) return fail("retire", args.error(), 2);
  if (args->positional().size() != 1) {
    return fail("retire", Error{ErrorCode::kInvalidInput, "expected one KEK id", ""}, 2);
  }
  const std::string id = args->positional().front();
  auto config = load_config(*args);
  if (!config) return fail("retire", config.error(), 2);
  auto stores = build_stores(*config);
  if (!stores) return fail("retire", stores.error(), 2);
  // Retiring a KEK that still wraps a master key would make that patient's data unreadable:
  // an erasure nobody asked for.
  auto counts = usage(*config, *stores->master_keys);
  if (!counts) return fail("retire", counts.error(), 1);
  for (const auto& [region, by_kek] : *counts) {
    if (auto it = by_kek.find(id); it != by_kek.end() && it->second > 0) {
      return fail(
          "retire",
          Error{ErrorCode::kConflict,
                std::to_string(it->second) + " master keys in region " + region +
                    " are still wrapped under " + id + ": run `fhir-ledger keys rotate` first",
                config->keyring_file},
          1);
    }
  }
  if (auto retired = keys::retire_keyring_kek(config->keyring_file, id); !retired) {
    return fail("retire", retired.error(), 1);
  }
  std::printf("{\"retired\":%s}\n", quoted(id).c_str());
  return 0;
}

}  // namespace

int keys_command(const std::vector<std::string>& argv) {
  if (argv.empty()) {
    std::fprintf(stderr, "keys: expected a subcommand: list, add, rotate, retire\n");
    return 2;
  }
  const std::string sub = argv.front();
  const std::vector<std::string> rest(argv.begin() + 1, argv.end());
  if (sub == "list") return list(rest);
  if (sub == "add") return add(rest);
  if (sub == "rotate") return rotate(rest);
  if (sub == "retire") return retire(rest);
  std::fprintf(stderr, "keys: unknown subcommand '%s'\n", sub.c_str());
  return 2;
}

}  // namespace fl::cli
