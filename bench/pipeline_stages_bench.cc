// The CPU side of one resource's trip through the pipeline, on the demo's sample resources:
// validate (parse + checks), canonical JSON, seal (HKDF + AES-256-GCM + SHA-256), and the three
// together. Reported per resource and in bytes/s. Storing is not included:
// bench/seal_store_bench.cc measures sealing and storing on a real Redis.
#include "fl/gateway/crypto/envelope.h"
#include "fl/gateway/stages/protect_stage.h"
#include "fl/gateway/stages/validate_stage.h"
#include "fl/mappings/canonical_json.h"

#include "support/corpus.h"

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

// A master key as the pipeline holds it after unwrapping (the HKDF extract done once).
gateway::crypto::MasterKey bench_master_key(gateway::crypto::Sealer& sealer) {
  return sealer.master_key("mk-bench", SecretBytes(Bytes(gateway::crypto::kMasterKeyBytes, 7)))
      .value();
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

// What ProtectStage does per new version: data key info and context, seal, content hash.
void BM_SealResource(benchmark::State& state) {
  auto sealer = gateway::crypto::Sealer::create().value();
  const auto key = bench_master_key(*sealer);
  const ports::Hash32 resource_key{1};
  const Bytes plain(static_cast<std::size_t>(state.range(0)), 'x');
  std::uint64_t version = 0;
  for (auto _ : state) {
    ++version;
    const Bytes context = gateway::seal_context(resource_key, version, "default", {}, {});
    auto blob =
        sealer->seal(key, gateway::crypto::data_key_info(resource_key, version), context, plain);
    benchmark::DoNotOptimize(sealer->content_hash(*blob));
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_SealResource)->Arg(1024)->Arg(2048)->Arg(8192);

void BM_ValidateCanonicalizeSeal(benchmark::State& state) {
  const auto events = sample_events();
  const gateway::ValidateStage validate({});
  auto sealer = gateway::crypto::Sealer::create().value();
  const auto key = bench_master_key(*sealer);
  const ports::Hash32 resource_key{2};
  std::uint64_t version = 0;
  for (auto _ : state) {
    for (const auto& e : events) {
      auto v = validate.run(e);
      for (auto& r : v->resources) {
        if (r.deleted) continue;
        auto canonical = mappings::canonicalize(*r.json);
        ++version;
        const Bytes context = gateway::seal_context(resource_key, version, "default", {}, {});
        auto blob = sealer->seal(key, gateway::crypto::data_key_info(resource_key, version),
                                 context, as_bytes(*canonical));
        benchmark::DoNotOptimize(sealer->content_hash(*blob));
      }
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(events.size()));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(total_bytes(events)));
}
BENCHMARK(BM_ValidateCanonicalizeSeal);

}  // namespace
}  // namespace fl
