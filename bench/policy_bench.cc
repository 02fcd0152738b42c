// Policy decisions per second (issue 6, acceptance 4: at least 200,000 per core for rules
// without FHIRPath conditions). Every resource of the Synthea bundles is decided at read time
// against the shipped bundle (config/policies/example-cross-border.json), with sources,
// destinations, purposes and consent varied across the requests so that every rule is reached:
// without its one FHIRPath rule, whole, and with the trace.
//
//   fl_policy_bench [Google Benchmark flags]      items_per_second = decisions/s
#include "fl/gateway/policy/policy_compiler.h"
#include "fl/gateway/policy/policy_engine.h"

#include "support/corpus.h"
#include "support/synthea.h"

#include <benchmark/benchmark.h>
#include <rapidjson/document.h>

#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace fl::gateway::policy {
namespace {

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "fl_policy_bench: %s\n", message.c_str());
  std::exit(2);
}

// The bundles stay alive: the requests point into them.
using Corpus = testing::SyntheaCorpus;

Corpus load_synthea() {
  const auto dir = testing::full_corpus_dir("synthea");
  if (!dir) die("corpus folder synthea not found in FL_CORPORA or shared/corpora");
  Corpus corpus = testing::load_synthea(*dir);
  if (corpus.resources.empty()) die("no Synthea resources in " + dir->string());
  return corpus;
}

// The shipped bundle, compiled as `serve` compiles it.
std::shared_ptr<const PolicyBundle> shipped() {
  const std::string path =
      (testing::source_root() / "config" / "policies" / "example-cross-border.json").string();
  auto compiled = compile_policy_bundle(path, [](const std::string& file) -> Result<std::string> {
    return testing::read_file(file);
  });
  if (!compiled.bundle) die(path + ": " + mappings::to_string(compiled.diagnostics.front()));
  return compiled.bundle;
}

// The shipped bundle without its rules that have a FHIRPath condition (the acceptance's
// figure is for rules without conditions).
std::shared_ptr<const PolicyBundle> shipped_without_conditions() {
  auto bundle = std::make_shared<PolicyBundle>(*shipped());
  std::erase_if(bundle->rules, [](const Rule& r) { return r.match.condition.has_value(); });
  return bundle;
}

std::vector<PolicyRequest> requests_for(const Corpus& corpus) {
  static constexpr std::string_view kSources[] = {"DE", "FR", "US", "NO", "BR",
                                                  "IE", "US", "RU", "CH"};
  static constexpr std::string_view kDestinations[] = {"FR", "US", "JP", "DE", "BR", "CH",
                                                       "CN", "US", "SE", "RU", "GB"};
  static constexpr std::string_view kPurposes[] = {"TREAT",  "ETREAT", "HPAYMT", "HOPERAT",
                                                   "HMARKT", "HRESCH", "",       "TREAT"};
  std::vector<PolicyRequest> out;
  out.reserve(corpus.resources.size());
  for (std::size_t i = 0; i < corpus.resources.size(); ++i) {
    PolicyRequest& request = out.emplace_back();
    const rapidjson::Value& resource = *corpus.resources[i];
    request.stage = Stage::kRead;
    request.resource = &resource;
    request.resource_type = resource["resourceType"].GetString();
    request.source_country = std::string(kSources[i % std::size(kSources)]);
    request.destination_country = std::string(kDestinations[i % std::size(kDestinations)]);
    request.purpose = std::string(kPurposes[i % std::size(kPurposes)]);
    request.consent = i % 3 == 0;
  }
  return out;
}

const Corpus& corpus() {
  static const Corpus loaded = load_synthea();
  return loaded;
}

void decide(benchmark::State& state, const PolicyEngine& engine, bool with_trace) {
  const std::vector<PolicyRequest> requests = requests_for(corpus());
  std::size_t permits = 0;
  for (auto _ : state) {
    for (const PolicyRequest& request : requests) {
      PolicyDecision decision = engine.evaluate(request, with_trace);
      permits += decision.effect == Effect::kPermit ? 1 : 0;
      benchmark::DoNotOptimize(decision);
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * requests.size()));
  state.counters["rules"] = static_cast<double>(engine.bundle().rules.size());
  state.counters["permit_share"] =
      static_cast<double>(permits) / static_cast<double>(state.iterations() * requests.size());
}

void BM_ShippedBundleWithoutConditions(benchmark::State& state) {
  const PolicyEngine engine(shipped_without_conditions());
  decide(state, engine, false);
}
BENCHMARK(BM_ShippedBundleWithoutConditions)->Unit(benchmark::kMillisecond);

// All of the shipped bundle, with its rule that runs FHIRPath (HIV test codes) on every
// Observation and DiagnosticReport it reaches without consent.
void BM_ShippedBundle(benchmark::State& state) {
  const PolicyEngine engine(shipped());
  decide(state, engine, false);
}
BENCHMARK(BM_ShippedBundle)->Unit(benchmark::kMillisecond);

// With the trace (policy eval): words for every rule.
void BM_ShippedBundleWithTrace(benchmark::State& state) {
  const PolicyEngine engine(shipped());
  decide(state, engine, true);
}
BENCHMARK(BM_ShippedBundleWithTrace)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace fl::gateway::policy
