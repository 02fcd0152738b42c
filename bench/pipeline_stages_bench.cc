// The CPU side of one resource's trip through the pipeline, on the demo's sample resources:
// validate (parse + checks), canonical JSON, seal (HKDF + AES-256-GCM + SHA-256), and the three
// together. Reported per resource and in bytes/s.
#include "fl/gateway/crypto/envelope.h"
#include "fl/gateway/crypto/hash.h"
#include "fl/gateway/crypto/sealer.h"
#include "fl/gateway/stages/protect_stage.h"
#include "fl/gateway/stages/validate_stage.h"
#include "fl/mappings/canonical_json.h"

#include "support/corpus.h"
#include "support/fakes.h"

#include <benchmark/benchmark.h>

#include <filesystem>

namespace fl {
namespace {

std::vector<ports::SourceEvent> sample_events() {
  std::vector<ports::SourceEvent> out;
  const auto dir = testing::source_root() / "config" / "samples" / "events";
  for (const auto& f : std::filesystem::directory_iterator(dir)) {
    if (f.path().filename().string().find("invalid") != std::string::npos) continue;
    ports::SourceEvent e;
    e.value = testing::read_file(f.path());
    out.push_back(std::move(e));
  }
  return out;
}

std::size_t total_bytes(const std::vector<ports::SourceEvent>& events) {
  std::size_t n = 0;
  for (const auto& e : events) n += e.value.size();
  return n;
}

void BM_Validate(benchmark::State& state) {
  const auto events = sample_events();
  const gateway::ValidateStage stage({});
  for (auto _ : state) {
    for (const auto& e : events) benchmark::DoNotOptimize(stage.run(e));
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(events.size()));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(total_bytes(events)));
}
BENCHMARK(BM_Validate);

void BM_Canonicalize(benchmark::State& state) {
  const auto events = sample_events();
  for (auto _ : state) {
    for (const auto& e : events) benchmark::DoNotOptimize(mappings::canonicalize(e.value));
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(events.size()));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(total_bytes(events)));
}
BENCHMARK(BM_Canonicalize);

void BM_SealResource(benchmark::State& state) {
  const SecretBytes kek(Bytes(32, 7));
  const Bytes context(80, 1);
  const Bytes plain(static_cast<std::size_t>(state.range(0)), 'x');
  auto sealer = gateway::crypto::Sealer::create().value();
  for (auto _ : state) {
    auto blob = sealer->seal(kek, "kek-1", context, plain);
    benchmark::DoNotOptimize(gateway::crypto::sha256(*blob));
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_SealResource)->Arg(1024)->Arg(2048)->Arg(8192);

void BM_ValidateCanonicalizeSeal(benchmark::State& state) {
  const auto events = sample_events();
  const gateway::ValidateStage validate({});
  testing::FakeKeyProvider keys;
  gateway::ProtectStage protect(keys);
  for (auto _ : state) {
    for (const auto& e : events) {
      auto v = validate.run(e);
      for (auto& r : v->resources) {
        auto canonical = mappings::canonicalize(*r.json);
        benchmark::DoNotOptimize(protect.run(r.reference(), r.version, "default", {}, *canonical));
      }
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(events.size()));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(total_bytes(events)));
}
BENCHMARK(BM_ValidateCanonicalizeSeal);

}  // namespace
}  // namespace fl
