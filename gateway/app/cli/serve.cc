// `fhir-ledger serve`: loads the configuration, builds every adapter from it, and runs the
// pipeline until stopped (or, in batch mode, until caught up).
#include "fl/adapters/evm/evm_access_ledger.h"
#include "fl/adapters/metrics/prometheus_metrics.h"
#include "fl/base/json_string.h"
#include "fl/base/log.h"
#include "fl/gateway/config.h"
#include "fl/gateway/consent_service.h"
#include "fl/gateway/mapping_files.h"
#include "fl/gateway/pipeline.h"
#include "fl/gateway/pointer_record.h"
#include "fl/gateway/policy/policy_compiler.h"
#include "fl/gateway/stages/mapping_normalizer.h"

#include "cli/api_wiring.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/dependency_watch.h"
#include "cli/health_server.h"
#include "cli/session.h"
#include "cli/wiring.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <sys/resource.h>
#include <thread>

namespace fl::cli {
namespace {

// How often /readyz's dependencies are asked whether they answer, and how long each may take.
constexpr std::chrono::milliseconds kDependencyInterval{5000};
constexpr std::chrono::milliseconds kDependencyTimeout{2000};

log::Level parse_level(const std::string& name) {
  if (name == "debug") return log::Level::kDebug;
  if (name == "warn") return log::Level::kWarn;
  if (name == "error") return log::Level::kError;
  return log::Level::kInfo;
}

// The ingest policy: the configured bundle (and its shadow candidate), compiled once at start,
// or permit-all into the default region when none is configured. Every region a bundle can
// choose must have a Redis, so that residency can never fail later, event by event.
struct LoadedPolicy {
  std::unique_ptr<gateway::IngestPolicy> policy;
  gateway::BundlePolicy* bundle = nullptr;  // the same object, when it is one
};

Result<std::shared_ptr<const gateway::policy::PolicyBundle>> load_bundle(
    const gateway::GatewayConfig& config, const std::string& path) {
  auto compiled = compile_bundle_or_report(path);
  if (!compiled) return compiled.error();
  const auto& bundle = **compiled;
  auto check = [&](const std::string& region, const std::string& pointer) -> Status {
    if (region.empty() || config.redis_regions.contains(region)) return Ok{};
    return Error{ErrorCode::kInvalidInput,
                 "region \"" + region + "\" has no Redis under /redis/regions in " + config.file,
                 path + "#" + pointer};
  };
  if (auto s = check(bundle.default_region, "/defaultRegion"); !s) return s.error();
  for (std::size_t i = 0; i < bundle.jurisdictions.size(); ++i) {
    const std::string pointer = "/jurisdictions/" + std::to_string(i) + "/region";
    if (auto s = check(bundle.jurisdictions[i].region, pointer); !s) return s.error();
  }
  return compiled;
}

// The compiled bundles: checked before any service is contacted; none when no bundle is set.
struct Bundles {
  std::shared_ptr<const gateway::policy::PolicyBundle> active;
  std::shared_ptr<const gateway::policy::PolicyBundle> candidate;  // shadow mode
};

Result<Bundles> load_bundles(const gateway::GatewayConfig& config) {
  Bundles out;
  if (config.policy.bundle.empty()) return out;
  auto active = load_bundle(config, config.policy.bundle);
  if (!active) return active.error();
  out.active = std::move(*active);
  if (!config.policy.shadow.empty()) {
    auto shadow = load_bundle(config, config.policy.shadow);
    if (!shadow) return shadow.error();
    out.candidate = std::move(*shadow);
  }
  log::info("policy.loaded",
            {{"bundle", out.active->id},
             {"policyHash", to_0x_hex(out.active->hash)},
             {"shadow", out.candidate ? out.candidate->id : std::string()},
             {"shadowPolicyHash", out.candidate ? to_0x_hex(out.candidate->hash) : std::string()}});
  return out;
}

// `audit`: where shadow-mode differences are recorded.
LoadedPolicy make_policy(const gateway::GatewayConfig& config, Bundles bundles,
                         ports::AuditLog* audit) {
  LoadedPolicy out;
  if (!bundles.active) {
    out.policy = std::make_unique<gateway::PermitAllPolicy>(config.pipeline.default_region);
    return out;
  }
  auto policy = std::make_unique<gateway::BundlePolicy>(std::move(bundles.active),
                                                        std::move(bundles.candidate), audit);
  out.bundle = policy.get();
  out.policy = std::move(policy);
  return out;
}

// Consents published on the input topics become grants (issue 15) through the service that
// `consent apply` and POST /fhir/Consent use. It signs its grants in a session of its own (the
// pipeline's ledger adapter keeps its registry to itself); both use the gateway's key, and a
// nonce one of them finds taken is read again (PointerRegistry::send).
struct ConsentWiring {
  Session session;
  std::unique_ptr<ports::AccessLedger> access;
  std::unique_ptr<gateway::policy::PolicyEngine> engine;
  std::unique_ptr<gateway::policy::PolicyEngine> shadow;
  std::unique_ptr<gateway::ConsentService> service;
  std::unique_ptr<gateway::ConsentServiceSink> sink;
};

Result<std::unique_ptr<ConsentWiring>> wire_consents(const gateway::GatewayConfig& config,
                                                     const Adapters& adapters) {
  auto settings = consent_settings(config);
  if (!settings) return settings.error();
  auto engine = load_policy_engine(config);
  if (!engine) return engine.error();
  auto shadow = load_shadow_engine(config);
  if (!shadow) return shadow.error();
  // A session owns its configuration, which holds a secret and is not copied: read it again.
  auto own = gateway::load_gateway_config(config.file, gateway::process_environment());
  if (!own) return own.error();
  auto session = connect_session(std::move(*own));
  if (!session) return session.error();
  auto w = std::make_unique<ConsentWiring>();
  w->session = std::move(*session);
  w->access = evm::make_access_ledger(*w->session.registry, config.ledger.confirmations);
  w->engine = std::move(*engine);
  w->shadow = std::move(*shadow);
  w->service = std::make_unique<gateway::ConsentService>(
      gateway::ConsentServicePorts{.keys = *adapters.keys,
                                   .directory = *adapters.directory,
                                   .access = *w->access,
                                   .audit = *adapters.audit,
                                   .records = *adapters.consents,
                                   .clock = ports::real_clock()},
      gateway::ConsentServiceSettings{
          .gateway = config.service_name,
          .consent = std::move(*settings),
          .linking_identifier_system = config.identity.linking_identifier_system,
          .engine = w->engine.get(),
          .shadow = w->shadow.get()});
  w->sink = std::make_unique<gateway::ConsentServiceSink>(*w->service);
  return w;
}

void print_summary(const gateway::PipelineStats& s, const LoadedPolicy& policy) {
  const double rate = s.busy_seconds > 0 ? static_cast<double>(s.resources) / s.busy_seconds : 0;
  const double gas_per_pointer =
      s.pointers > 0 ? static_cast<double>(s.gas_used) / static_cast<double>(s.pointers) : 0;
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::string regions_down;
  for (const auto& region : s.regions_down) {
    if (!regions_down.empty()) regions_down += ",";
    append_json_string(regions_down, region);
  }
  std::string stages;
  for (const auto& [stage, seconds] : s.stage_seconds) {
    if (!stages.empty()) stages += ",";
    append_json_string(stages, stage);
    char figure[32];
    std::snprintf(figure, sizeof figure, ":%.3f", seconds);
    stages += figure;
  }
  std::printf(
      "{\"consumed\":%llu,\"resources\":%llu,\"deadLettered\":%llu,\"batches\":%llu,"
      "\"transactions\":%llu,\"pointers\":%llu,\"alreadyAnchored\":%llu,\"gasUsed\":%llu,"
      "\"gasPerPointer\":%.0f,"
      "\"seconds\":%.3f,\"resourcesPerSecond\":%.1f,\"latencyP50Ms\":%.1f,"
      "\"latencyP99Ms\":%.1f,\"peakRssMiB\":%.1f,\"shadowDecisions\":%llu,"
      "\"shadowDifferences\":%llu,\"shadowAuditFailures\":%llu,\"parked\":%llu,"
      "\"waiting\":%llu,\"regionsDown\":[%s],\"consentsApplied\":%llu,"
      "\"consentsFailed\":%llu,\"stageSeconds\":{%s}}\n",
      static_cast<unsigned long long>(s.consumed), static_cast<unsigned long long>(s.resources),
      static_cast<unsigned long long>(s.dead_lettered), static_cast<unsigned long long>(s.batches),
      static_cast<unsigned long long>(s.transactions), static_cast<unsigned long long>(s.pointers),
      static_cast<unsigned long long>(s.already_anchored),
      static_cast<unsigned long long>(s.gas_used), gas_per_pointer, s.busy_seconds, rate,
      1000 * s.latency_quantile(0.5), 1000 * s.latency_quantile(0.99),
      static_cast<double>(usage.ru_maxrss) / 1024.0,
      static_cast<unsigned long long>(policy.bundle ? policy.bundle->shadow_stats().decisions : 0),
      static_cast<unsigned long long>(policy.bundle ? policy.bundle->shadow_stats().differences
                                                    : 0),
      static_cast<unsigned long long>(policy.bundle ? policy.bundle->shadow_stats().audit_failures
                                                    : 0),
      static_cast<unsigned long long>(s.parked), static_cast<unsigned long long>(s.waiting),
      regions_down.c_str(), static_cast<unsigned long long>(s.consents_applied),
      static_cast<unsigned long long>(s.consents_failed), stages.c_str());
  std::fflush(stdout);
}

}  // namespace

int serve(const std::vector<std::string>& argv) {
  auto args = Args::parse(argv, {"config"}, {"until-caught-up"});
  if (!args) {
    std::fprintf(stderr, "serve: %s\n", args.error().message.c_str());
    return 2;
  }
  auto config = gateway::load_gateway_config(args->get("config", "config/gateway.json"),
                                             gateway::process_environment());
  if (!config) {
    std::fprintf(stderr, "%s\n", config.error().message.c_str());
    return 2;
  }
  log::set_min_level(parse_level(config->log_level));
  log::info("gateway.config", {{"effective", gateway::describe_config(*config)}});

  // Mapping sets are compiled here and on SIGHUP, never per event. A set that does not compile
  // stops the start (every problem is printed); on reload the old sets stay in force.
  if (std::error_code ec;
      config->mappings.dir_given && !std::filesystem::is_directory(config->mappings.dir, ec)) {
    std::fprintf(stderr,
                 "%s: /mappings/dir: expected a folder of mapping sets, \"%s\" is not one\n",
                 config->file.c_str(), config->mappings.dir.c_str());
    return 2;
  }
  auto mappings = gateway::load_mapping_catalog(config->mappings.dir);
  if (!mappings.catalog) {
    for (const auto& d : mappings.diagnostics) {
      std::fprintf(stderr, "%s\n", fl::mappings::to_string(d).c_str());
    }
    log::error("gateway.start_failed",
               {{"error", "the mapping sets do not compile (run fhir-ledger map check)"},
                {"where", config->mappings.dir}});
    return 2;
  }
  log::info("mappings.loaded",
            {{"dir", config->mappings.dir}, {"sets", mappings.catalog->sets().size()}});
  // The bundles are compiled and checked before any service is contacted.
  auto bundles = load_bundles(*config);
  if (!bundles) {
    log::error("gateway.start_failed",
               {{"error", bundles.error().message}, {"where", bundles.error().where}});
    return 2;
  }
  install_stop_handlers();
  auto adapters = build_adapters(*config);
  if (!adapters) {
    log::error("gateway.start_failed",
               {{"error", adapters.error().message}, {"where", adapters.error().where}});
    return 2;
  }
  const LoadedPolicy policy = make_policy(*config, std::move(*bundles), adapters->audit.get());
  auto consents = wire_consents(*config, *adapters);
  if (!consents) {
    log::error("gateway.start_failed",
               {{"error", consents.error().message}, {"where", consents.error().where}});
    (void)close_adapters(*adapters);
    return 2;
  }

  gateway::MappingNormalizer normalizer(mappings.catalog,
                                        config->mappings.dead_letter_unknown_source);
  install_reload_handler();
  std::atomic<bool> reloader_done{false};
  std::thread reloader([&] {
    while (!stop_flag().load() && !reloader_done.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (!take_reload_request()) continue;
      auto next = gateway::load_mapping_catalog(config->mappings.dir);
      if (!next.catalog) {
        for (const auto& d : next.diagnostics) {
          std::fprintf(stderr, "%s\n", fl::mappings::to_string(d).c_str());
        }
        log::error("mappings.reload_failed", {{"errors", next.diagnostics.size()}});
        continue;
      }
      normalizer.replace(next.catalog);
      log::info("mappings.reloaded", {{"sets", next.catalog->sets().size()}});
    }
  });
  ports::SteadyClock clock;
  const auto& p = config->pipeline;
  gateway::PipelineOptions options{
      .limits = {.max_event_bytes = p.max_event_bytes,
                 .max_json_depth = p.max_json_depth,
                 .max_bundle_entries = p.max_bundle_entries},
      .batch_max_events = p.batch_max_events,
      .max_in_flight = p.max_in_flight_batches,
      .batch_max_wait = std::chrono::milliseconds(p.batch_max_wait_ms),
      .retry_backoff = std::chrono::milliseconds(p.retry_backoff_ms),
      .max_parked_bytes = p.max_parked_bytes,
      .until_caught_up = args->has("until-caught-up"),
  };
  options.service_name = config->service_name;
  options.identity = {.default_source = config->identity.default_source,
                      .linking_identifier_system = config->identity.linking_identifier_system};
  // The schema allows only "pointer" and "merkle".
  const auto mode = [](const std::string& name) {
    return gateway::parse_anchor_mode(name).value_or(ports::AnchorMode::kPointer);
  };
  options.anchoring.fallback = mode(config->ledger.default_mode);
  for (const auto& [topic, m] : config->ledger.mode_by_topic) {
    options.anchoring.by_topic.emplace(topic, mode(m));
  }
  for (const auto& [type, m] : config->ledger.mode_by_resource_type) {
    options.anchoring.by_resource_type.emplace(type, mode(m));
  }
  metrics::PrometheusMetrics metrics;
  gateway::Pipeline pipeline({.source = *adapters->source,
                              .dead_letters = *adapters->dead_letters,
                              .receipts = *adapters->receipts,
                              .blobs = *adapters->blobs,
                              .master_keys = *adapters->master_keys,
                              .directory = *adapters->directory,
                              .ledger = *adapters->ledger,
                              .keys = *adapters->keys,
                              .clock = clock,
                              .audit = adapters->audit.get(),
                              .metrics = &metrics,
                              .consents = (*consents)->sink.get(),
                              .record_blobs = adapters->record_blobs.get()},
                             normalizer, *policy.policy, options);
  std::unique_ptr<HealthServer> probes;
  if (config->health_port > 0) {
    auto started = start_health_server(config->health_port, pipeline.health(), clock,
                                       [&metrics] { return metrics.exposition(); });
    if (!started) {
      log::error("gateway.start_failed",
                 {{"error", started.error().message}, {"where", started.error().where}});
      reloader_done.store(true);
      reloader.join();
      (void)close_adapters(*adapters);
      return 2;
    }
    probes = std::move(*started);
    log::info("health.listening", {{"port", probes->port()}});
  }
  // What /readyz says of the services, asked every few seconds whether or not events flow.
  std::unique_ptr<DependencyWatch> watch;
  if (config->health_port > 0) {
    watch = std::make_unique<DependencyWatch>(configured_probes(*config), pipeline.health(),
                                              kDependencyInterval, kDependencyTimeout);
  }
  auto api = start_configured_api(
      *config, {.metrics = &metrics,
                .exposition = [&metrics] { return metrics.exposition(); },
                .mappings = [&normalizer] { return normalizer.catalog(); },
                .mapping_hash =
                    [&normalizer](std::string_view source) { return normalizer.hash_of(source); }});
  if (!api) {
    log::error("gateway.start_failed",
               {{"error", api.error().message}, {"where", api.error().where}});
    probes.reset();
    reloader_done.store(true);
    reloader.join();
    (void)close_adapters(*adapters);
    return 2;
  }
  if (*api) log::info("api.listening", {{"port", (*api)->port()}});
  log::info("gateway.started",
            {{"topics", config->kafka.input_topics.front()}, {"group", config->kafka.group_id}});
  Status status = pipeline.run(stop_flag());
  api->reset();
  watch.reset();
  probes.reset();
  reloader_done.store(true);
  reloader.join();
  if (Status audited = adapters->audit->flush(std::chrono::seconds(10)); !audited) {
    log::error("gateway.audit_flush_failed", {{"error", audited.error().message}});
  }
  Status closed = close_adapters(*adapters);
  print_summary(pipeline.stats(), policy);
  if (!status) {
    log::error("gateway.failed",
               {{"error", status.error().message}, {"where", status.error().where}});
    return 1;
  }
  if (!closed) {
    log::error("gateway.close_failed", {{"error", closed.error().message}});
    return 1;
  }
  log::info("gateway.stopped", {{"resources", pipeline.stats().resources}});
  return 0;
}

}  // namespace fl::cli
