// fhir-ledger policy check | test | eval: the tools compliance officers use while writing a
// policy bundle (config/policies/<name>.json). Each compiles the bundle through the same path as
// `serve` (fl/gateway/policy/policy_compiler.h), so what passes here is what the gateway loads.
#include "fl/base/bytes.h"
#include "fl/gateway/mapping_files.h"
#include "fl/gateway/policy/policy_compiler.h"

#include "cli/args.h"
#include "cli/commands.h"

#include <cstdio>
#include <string_view>

namespace fl::cli {
namespace {

constexpr const char* kPolicyUsage = "usage: fhir-ledger policy check (see fhir-ledger help)";

constexpr const char* kCheckUsage =
    "usage: fhir-ledger policy check <bundle.json> [<bundle.json> ...]\n"
    "  compiles each policy bundle and lists every problem as file: JSON pointer: message";

int usage(const char* text) {
  std::fprintf(stderr, "%s\n", text);
  return 2;
}

int policy_check(const std::vector<std::string>& argv) {
  auto args = Args::parse(argv, {}, {});
  if (!args || args->positional().empty()) return usage(kCheckUsage);
  std::size_t errors = 0;
  for (const std::string& file : args->positional()) {
    auto compiled = gateway::policy::compile_policy_bundle(file, gateway::file_reader());
    for (const auto& d : compiled.diagnostics) {
      std::printf("%s\n", mappings::to_string(d).c_str());
    }
    errors += compiled.diagnostics.size();
    if (!compiled.bundle) continue;
    const auto& bundle = *compiled.bundle;
    std::printf("%s: bundle %s, %zu rule(s), policy hash %s\n", file.c_str(), bundle.id.c_str(),
                bundle.rules.size(), to_0x_hex(bundle.hash).c_str());
  }
  if (errors > 0) {
    std::fprintf(stderr, "policy check: %zu error(s)\n", errors);
    return 1;
  }
  return 0;
}

// One entry per word after `policy`; `test` and `eval` join this table.
struct Subcommand {
  std::string_view word;
  int (*run)(const std::vector<std::string>&);
};
constexpr Subcommand kSubcommands[] = {
    {"check", policy_check},
};

}  // namespace

int policy_command(const std::vector<std::string>& argv) {
  if (argv.empty()) return usage(kPolicyUsage);
  const std::vector<std::string> rest(argv.begin() + 1, argv.end());
  for (const Subcommand& sub : kSubcommands) {
    if (argv[0] == sub.word) return sub.run(rest);
  }
  return usage(kPolicyUsage);
}

}  // namespace fl::cli
