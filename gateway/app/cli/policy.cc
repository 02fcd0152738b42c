// fhir-ledger policy check | test | eval: the tools compliance officers use while writing a
// policy bundle (config/policies/<name>.json). Each compiles the bundle through the same path as
// `serve` (fl/gateway/policy/policy_compiler.h), so what passes here is what the gateway loads.
#include "fl/base/bytes.h"
#include "fl/gateway/mapping_files.h"
#include "fl/gateway/policy/policy_compiler.h"
#include "fl/gateway/policy/policy_engine.h"
#include "fl/gateway/policy/policy_tests.h"

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/session.h"

#include <rapidjson/document.h>

#include <cstdio>
#include <string_view>

namespace fl::cli {
namespace {

constexpr const char* kPolicyUsage =
    "usage: fhir-ledger policy check | test | eval (see fhir-ledger help)";

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

constexpr const char* kTestUsage =
    "usage: fhir-ledger policy test <bundle.json | bundle.tests.json> [...]\n"
    "  runs the test cases written next to each bundle (<name>.tests.json) and prints a table;\n"
    "  exit 1 when a case fails or a file has problems";

// `policy test`: one line per case, the expected and actual decision of each failure, a total.
int policy_test(const std::vector<std::string>& argv) {
  auto args = Args::parse(argv, {}, {});
  if (!args || args->positional().empty()) return usage(kTestUsage);
  std::size_t failed = 0;
  std::size_t problems = 0;
  for (const std::string& file : args->positional()) {
    const auto run = gateway::policy::run_policy_tests(file, gateway::file_reader());
    for (const auto& d : run.diagnostics) std::printf("%s\n", mappings::to_string(d).c_str());
    problems += run.diagnostics.size();
    if (!run.diagnostics.empty()) continue;
    std::printf("%s: bundle %s, policy hash %s\n", run.bundle_file.c_str(), run.bundle_id.c_str(),
                to_0x_hex(run.policy_hash).c_str());
    for (const auto& r : run.results) {
      std::printf("  %s  %-12s %s\n", r.passed ? "PASS" : "FAIL", r.pointer.c_str(),
                  r.name.c_str());
      if (!r.passed) {
        std::printf("        expected: %s\n        actual:   %s\n", r.expected.c_str(),
                    r.actual.c_str());
      }
    }
    std::printf("%zu passed, %zu failed\n", run.results.size() - run.failed(), run.failed());
    failed += run.failed();
  }
  if (problems > 0 || failed > 0) {
    std::fprintf(stderr, "policy test: %zu failed, %zu problem(s)\n", failed, problems);
    return 1;
  }
  return 0;
}

constexpr const char* kEvalUsage =
    "usage: fhir-ledger policy eval <bundle.json> --stage ingest|grant|read\n"
    "         [--resource resource.json | --type ResourceType]\n"
    "         [--source CC | --patient-country CC --header CC --source-system NAME]\n"
    "         [--destination CC] [--purpose CODE] [--consent]\n"
    "  one decision with every rule's trace, in words; --source gives the patient's country,\n"
    "  else it is resolved as the gateway would (the resource if it is a Patient, then the\n"
    "  country recorded for the patient (--patient-country), the header, the source system)";

// `policy eval`: builds the request from the options and prints explain().
int policy_eval(const std::vector<std::string>& argv) {
  auto args = Args::parse(argv,
                          {"stage", "resource", "type", "source", "patient-country", "header",
                           "source-system", "destination", "purpose"},
                          {"consent"});
  if (!args || args->positional().size() != 1 || !args->has("stage")) return usage(kEvalUsage);
  const std::string& file = args->positional().front();
  auto bundle = compile_bundle_or_report(file);
  if (!bundle) return 1;
  gateway::policy::PolicyRequest request;
  const auto stage = gateway::policy::stage_from_name(args->get("stage"));
  if (!stage) return usage(kEvalUsage);
  request.stage = *stage;
  rapidjson::Document resource;
  if (args->has("resource")) {
    auto text = gateway::file_reader()(args->get("resource"));
    if (!text) {
      std::fprintf(stderr, "policy eval: %s\n", text.error().message.c_str());
      return 2;
    }
    resource.Parse<rapidjson::kParseFullPrecisionFlag>(text->c_str());
    if (resource.HasParseError() || !resource.IsObject() || !resource.HasMember("resourceType") ||
        !resource["resourceType"].IsString()) {
      std::fprintf(stderr, "policy eval: %s is not a FHIR resource\n",
                   args->get("resource").c_str());
      return 2;
    }
    request.resource = &resource;
    request.resource_type = resource["resourceType"].GetString();
  } else {
    request.resource_type = args->get("type");
  }
  if (args->has("source")) {
    request.source_country = args->get("source");
  } else {
    gateway::policy::JurisdictionFacts facts;
    if (request.resource != nullptr && request.resource_type == "Patient") {
      facts.patient_address_country = gateway::policy::patient_address_country(resource);
    }
    facts.recorded_country = args->get("patient-country");
    facts.header_country = args->get("header");
    facts.source_system = args->get("source-system");
    std::string from;
    request.source_country = gateway::policy::resolve_jurisdiction(**bundle, facts, &from);
    std::printf("patient's country: %s (from %s)\n",
                request.source_country.empty() ? "-" : request.source_country.c_str(),
                from.c_str());
  }
  request.destination_country = args->get("destination");
  request.purpose = args->get("purpose");
  request.consent = args->has("consent");
  const gateway::policy::PolicyEngine engine(*bundle);
  const auto decision = engine.evaluate(request, true);
  std::printf("%s", gateway::policy::explain(**bundle, request, decision).c_str());
  return 0;
}

// One entry per word after `policy`.
struct Subcommand {
  std::string_view word;
  int (*run)(const std::vector<std::string>&);
};
constexpr Subcommand kSubcommands[] = {
    {"check", policy_check},
    {"test", policy_test},
    {"eval", policy_eval},
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
