#include "cli/api_wiring.h"

#include "fl/adapters/evm/evm_access_ledger.h"
#include "fl/adapters/evm/evm_ledger_reader.h"
#include "fl/adapters/kafka/shared_audit_log.h"
#include "fl/adapters/kafka/tools.h"
#include "fl/base/log.h"
#include "fl/gateway/cached_access_ledger.h"
#include "fl/ledger/abi.h"
#include "fl/ledger/json_rpc.h"
#include "fl/ledger/pointer_registry.h"

#include "cli/commands.h"
#include "cli/session.h"
#include "cli/token_cache.h"
#include "cli/wiring.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace fl::cli {
namespace {

using namespace std::chrono_literals;

// How long the audit producer gathers records before sending them: concurrent reads share one
// round trip to the broker; each read still waits for its own record's acknowledgement.
constexpr auto kAuditLinger = 1ms;
// How long the console waits for the broker when it reads the audit or dead-letter topic.
constexpr auto kConsoleReadTimeout = 10s;

// What every worker shares: the audit producer, and the ledger answers when they are cached.
struct SharedParts {
  std::unique_ptr<kafka::SharedAuditLog> audit;
  std::unique_ptr<gateway::AccessCache> cache;  // null with /api/grantCacheSeconds 0
  std::unique_ptr<gateway::RegionHints> hints;  // null with /api/grantCacheSeconds 0
};

class Worker final : public ApiWorker {
 public:
  static Result<std::unique_ptr<ApiWorker>> create(
      const gateway::GatewayConfig& config,
      const std::shared_ptr<const gateway::policy::PolicyEngine>& engine,
      const std::shared_ptr<const gateway::policy::PolicyEngine>& shadow, SharedParts& shared) {
    auto w = std::make_unique<Worker>();
    // A session owns its configuration, which holds a secret and is not copied: read it again.
    auto own = gateway::load_gateway_config(config.file, gateway::process_environment());
    if (!own) return own.error();
    auto session = connect_session(std::move(*own));
    if (!session) return session.error();
    w->session_ = std::move(*session);
    auto keys = build_key_provider(config);
    if (!keys) return keys.error();
    w->keys_ = std::move(*keys);
    auto stores = build_stores(config);
    if (!stores) return stores.error();
    w->stores_ = std::move(*stores);
    auto pointers = build_ledger(config);
    if (!pointers) return pointers.error();
    w->pointers_ = std::move(*pointers);
    w->audit_ = shared.audit->open();
    w->access_ = evm::make_access_ledger(*w->session_.registry, config.ledger.confirmations);
    w->ledger_reader_ = evm::make_ledger_reader(*w->session_.registry);
    ports::PointerLedger* erasure_marks = w->pointers_.get();
    ports::AccessLedger* access = w->access_.get();
    ports::PatientDirectory* directory = w->stores_.directory.get();
    ports::ConsentRecords* consents = w->stores_.consents.get();
    if (shared.cache) {
      w->cached_marks_ =
          std::make_unique<gateway::CachedErasureMarks>(*erasure_marks, *shared.cache);
      w->cached_access_ = std::make_unique<gateway::CachedAccessLedger>(*access, *shared.cache);
      w->cached_directory_ =
          std::make_unique<gateway::CachedPatientDirectory>(*directory, *shared.cache);
      erasure_marks = w->cached_marks_.get();
      access = w->cached_access_.get();
      w->cached_consents_ =
          std::make_unique<gateway::CachedConsentRecords>(*consents, *shared.cache);
      directory = w->cached_directory_.get();
      consents = w->cached_consents_.get();
    }
    w->reads_ = std::make_unique<gateway::ReadService>(
        gateway::ReadServicePorts{.keys = *w->keys_,
                                  .blobs = *w->stores_.blobs,
                                  .master_keys = *w->stores_.master_keys,
                                  .directory = *directory,
                                  .pointers = *erasure_marks,
                                  .access = *access,
                                  .audit = *w->audit_,
                                  .clock = ports::real_clock(),
                                  .consents = consents},
        gateway::ReadSettings{.gateway = config.service_name,
                              .regions = region_names(config),
                              .engine = engine.get(),
                              .shadow = shadow.get(),
                              .hints = shared.hints.get()});
    w->erasures_ = std::make_unique<gateway::EraseService>(
        gateway::EraseServicePorts{.keys = *w->keys_,
                                   .master_keys = *w->stores_.master_keys,
                                   .directory = *directory,
                                   .access = *access,
                                   .audit = *w->audit_,
                                   .clock = ports::real_clock()},
        gateway::EraseSettings{.gateway = config.service_name, .regions = region_names(config)});
    auto consent_settings = cli::consent_settings(config);
    if (!consent_settings) return consent_settings.error();
    w->consents_ = std::make_unique<gateway::ConsentService>(
        gateway::ConsentServicePorts{.keys = *w->keys_,
                                     .directory = *directory,
                                     .access = *access,
                                     .audit = *w->audit_,
                                     .records = *consents,
                                     .clock = ports::real_clock()},
        gateway::ConsentServiceSettings{
            .gateway = config.service_name,
            .consent = std::move(*consent_settings),
            .linking_identifier_system = config.identity.linking_identifier_system,
            .engine = engine.get(),
            .shadow = shadow.get()});
    return std::unique_ptr<ApiWorker>(std::move(w));
  }

  gateway::ReadService& reads() override { return *reads_; }
  gateway::ConsentService* consents() override { return consents_.get(); }

  Result<gateway::EraseReport> erase(const std::string& source, const std::string& reference,
                                     const std::string& operator_name,
                                     const std::string& reason) override {
    // A record linked to a person is erased as the person, as `fhir-ledger erase` does.
    auto patient = pseudonym(session_, source, reference, true);
    if (!patient) return patient.error();
    return erasures_->erase(
        {.patient_key = *patient, .operator_name = operator_name, .reason = reason});
  }

  Result<gateway::Verification> verify(const std::string& source, const std::string& reference,
                                       std::optional<std::uint64_t> version) override {
    auto key = pseudonym(session_, source, reference, false);
    if (!key) return key.error();
    return gateway::verify_resource(*ledger_reader_, *stores_.blobs, region_names(session_.config),
                                    *key, version);
  }

 private:
  Session session_;
  std::unique_ptr<ports::KeyProvider> keys_;
  Stores stores_;
  std::unique_ptr<ports::PointerLedger> pointers_;
  std::unique_ptr<ports::AuditLog> audit_;
  std::unique_ptr<ports::AccessLedger> access_;
  std::unique_ptr<ports::LedgerReader> ledger_reader_;
  std::unique_ptr<gateway::CachedErasureMarks> cached_marks_;
  std::unique_ptr<gateway::CachedAccessLedger> cached_access_;
  std::unique_ptr<gateway::CachedPatientDirectory> cached_directory_;
  std::unique_ptr<gateway::CachedConsentRecords> cached_consents_;
  std::unique_ptr<gateway::ReadService> reads_;
  std::unique_ptr<gateway::ConsentService> consents_;
  std::unique_ptr<gateway::EraseService> erasures_;
};

// Reads the contract's GrantChanged, ParticipantChanged and Erased events every /api/ledgerPollMs
// and drops the cached answers they change: a revocation stops being served from the cache
// within about one poll interval of being mined. When the node cannot be read, nothing is
// dropped and the entries expire with /api/grantCacheSeconds; the next poll that succeeds reads
// every block it missed.
class LedgerPoller {
 public:
  static Result<std::unique_ptr<LedgerPoller>> start(const gateway::GatewayConfig& config,
                                                     gateway::AccessCache& cache) {
    auto contract = ledger::parse_address(config.ledger.contract);
    if (!contract) return contract.error();
    auto transport = ledger::make_http_transport(config.ledger.rpc_url, 5s);
    if (!transport) return transport.error();
    auto rpc =
        std::make_unique<ledger::JsonRpcClient>(std::move(*transport), config.ledger.rpc_url);
    // Every answer cached from now on reflects at least this block: events from it on matter.
    auto head = rpc->block_number();
    if (!head) return head.error();
    return std::make_unique<LedgerPoller>(std::move(rpc), *contract, *head, cache,
                                          std::chrono::milliseconds(config.api.ledger_poll_ms));
  }

  LedgerPoller(std::unique_ptr<ledger::JsonRpcClient> rpc, const ledger::Address& contract,
               std::uint64_t from_block, gateway::AccessCache& cache,
               std::chrono::milliseconds every)
      : rpc_(std::move(rpc)),
        contract_(contract),
        next_block_(from_block),
        cache_(cache),
        every_(every),
        thread_([this] { run(); }) {}

  ~LedgerPoller() {
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }

 private:
  void run() {
    bool failing = false;
    std::unique_lock<std::mutex> lock(mutex_);
    while (!wake_.wait_for(lock, every_, [&] { return stop_; })) {
      lock.unlock();
      auto polled = poll();
      if (!polled && !failing) {
        log::warn("api.ledger_poll_failed", {{"error", polled.error().message}});
      }
      failing = !polled;
      lock.lock();
    }
  }

  Status poll() {
    auto head = rpc_->block_number();
    if (!head) return head.error();
    if (*head < next_block_) return Ok{};
    static const ledger::Hash32 kGrant = ledger::abi::event_topic(ledger::kGrantChangedEvent);
    static const ledger::Hash32 kParticipant =
        ledger::abi::event_topic(ledger::kParticipantChangedEvent);
    static const ledger::Hash32 kErased = ledger::abi::event_topic("Erased(bytes32)");
    for (const auto& topic : {kGrant, kParticipant, kErased}) {
      auto logs = rpc_->logs(contract_, {topic}, next_block_);
      if (!logs) return logs.error();
      for (const auto& entry : *logs) {
        if (entry.topics.size() < 2) continue;
        const ledger::Hash32& subject = entry.topics[1];
        if (topic == kParticipant) {
          ports::Address who{};
          std::copy(subject.end() - who.size(), subject.end(), who.begin());
          cache_.forget_participant(who);
        } else if (topic == kGrant) {
          cache_.forget_grants(subject);
        } else {
          cache_.forget_patient(subject);
        }
      }
    }
    // Blocks after `head` may have been read too; reading them again drops nothing new.
    next_block_ = *head + 1;
    return Ok{};
  }

  std::unique_ptr<ledger::JsonRpcClient> rpc_;
  const ledger::Address contract_;
  std::uint64_t next_block_;
  gateway::AccessCache& cache_;
  const std::chrono::milliseconds every_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;  // declared last: started once everything it uses is set
};

// The server with what its workers share; the server (and its workers) stops first.
class ConfiguredApi final : public ApiServer {
 public:
  ConfiguredApi(std::unique_ptr<SharedParts> shared, std::unique_ptr<LedgerPoller> poller,
                std::unique_ptr<ApiServer> server)
      : shared_(std::move(shared)), poller_(std::move(poller)), server_(std::move(server)) {}
  int port() const override { return server_->port(); }

 private:
  std::unique_ptr<SharedParts> shared_;
  std::unique_ptr<LedgerPoller> poller_;
  std::unique_ptr<ApiServer> server_;
};

// What the console reads: the configured bundles' files, the audit and dead-letter topics (the
// KEK opens dead letters), serve's metrics and mapping sets.
Result<std::shared_ptr<ConsoleData>> make_console(
    const gateway::GatewayConfig& config,
    const std::shared_ptr<const gateway::policy::PolicyEngine>& active,
    const std::shared_ptr<const gateway::policy::PolicyEngine>& candidate, const ApiHooks& hooks,
    kafka::SharedAuditLog& audit) {
  auto keys = build_key_provider(config);
  if (!keys) return keys.error();
  ConsoleParts c;
  c.bundle_file = config.policy.bundle;
  c.shadow_file = config.policy.shadow;
  c.enforced_hash = active ? to_0x_hex(active->bundle().hash) : "";
  c.enforced_shadow_hash = candidate ? to_0x_hex(candidate->bundle().hash) : "";
  c.default_source = config.identity.default_source;
  c.contract = config.ledger.contract;
  c.rpc_url = config.ledger.rpc_url;
  c.dead_letter_topic = config.kafka.dead_letter_topic;
  c.audit_topic = config.kafka.audit_topic;
  // The topics are read with the gateway's own Kafka properties (TLS, SASL).
  const auto kafka = kafka_config(config);
  c.read_audit =
      [kafka](const kafka::PartitionOffsets& from) -> Result<std::vector<ports::SourceEvent>> {
    if (!from.empty()) {
      return kafka::read_topic(kafka.bootstrap_servers, kafka.audit_topic, kConsoleReadTimeout,
                               from, kafka.extra);
    }
    // The first look starts at the newest events the console keeps, not at the topic's
    // beginning: a long-running gateway's audit topic holds far more than it keeps.
    auto end = kafka::end_offsets(kafka.bootstrap_servers, kafka.audit_topic, kConsoleReadTimeout,
                                  kafka.extra);
    if (!end) return end.error();
    const auto share =
        static_cast<std::int64_t>(AuditTail::kMaxKept / std::max<std::size_t>(1, end->size()));
    for (auto& [partition, offset] : *end) offset = std::max<std::int64_t>(0, offset - share);
    return kafka::read_topic(kafka.bootstrap_servers, kafka.audit_topic, kConsoleReadTimeout, *end,
                             kafka.extra);
  };
  if (!kafka.dead_letter_topic.empty()) {
    c.read_dead_letter = [kafka](std::int32_t partition, std::int64_t offset) {
      return kafka::read_message(kafka.bootstrap_servers, kafka.dead_letter_topic, partition,
                                 offset, kConsoleReadTimeout, kafka.extra);
    };
    c.read_recent_dead_letters =
        [kafka](std::int64_t newest) -> Result<std::vector<ports::SourceEvent>> {
      auto end = kafka::end_offsets(kafka.bootstrap_servers, kafka.dead_letter_topic,
                                    kConsoleReadTimeout, kafka.extra);
      if (!end) return end.error();
      for (auto& [partition, offset] : *end) offset = std::max<std::int64_t>(0, offset - newest);
      return kafka::read_topic(kafka.bootstrap_servers, kafka.dead_letter_topic,
                               kConsoleReadTimeout, *end, kafka.extra);
    };
  }
  c.keys = std::shared_ptr<ports::KeyProvider>(std::move(*keys));
  // `audit` outlives the console: both belong to the configured API, the server stopping first.
  c.record_audit = [&audit](const ports::AuditRecord& record) -> Status {
    auto log = audit.open();
    if (auto recorded = log->record(std::span(&record, 1)); !recorded) return recorded;
    return log->flush(kConsoleReadTimeout);
  };
  c.gateway_name = config.service_name;
  c.mappings = hooks.mappings;
  c.mapping_hash = hooks.mapping_hash;
  c.metrics = hooks.exposition;
  return std::make_shared<ConsoleData>(std::move(c));
}

}  // namespace

Result<std::unique_ptr<ApiServer>> start_configured_api(const gateway::GatewayConfig& config,
                                                        ApiHooks hooks) {
  if (config.api.port <= 0) return std::unique_ptr<ApiServer>();
  auto tokens = make_token_verifier(config.api, config.file);
  if (!tokens) return tokens.error();
  auto engine = load_policy_engine(config);
  if (!engine) return engine.error();
  auto shadow = load_shadow_engine(config);
  if (!shadow) return shadow.error();
  std::shared_ptr<const gateway::policy::PolicyEngine> active = std::move(*engine);
  std::shared_ptr<const gateway::policy::PolicyEngine> candidate = std::move(*shadow);

  auto shared = std::make_unique<SharedParts>();
  auto audit = kafka::make_shared_audit_log(kafka_config(config), kAuditLinger);
  if (!audit) return audit.error();
  shared->audit = std::move(*audit);
  std::unique_ptr<LedgerPoller> poller;
  if (config.api.grant_cache_seconds > 0) {
    shared->cache = std::make_unique<gateway::AccessCache>(
        ports::real_clock(), std::chrono::seconds(config.api.grant_cache_seconds));
    shared->hints = std::make_unique<gateway::RegionHints>(
        ports::real_clock(), std::chrono::seconds(config.api.grant_cache_seconds));
    // Started before any worker can fill the cache, so that no event it must see is missed.
    auto started = LedgerPoller::start(config, *shared->cache);
    if (!started) return started.error();
    poller = std::move(*started);
  }

  auto console = make_console(config, active, candidate, hooks, *shared->audit);
  if (!console) return console.error();

  ApiServerParts parts;
  parts.console = std::move(*console);
  parts.settings = config.api;
  parts.default_source = config.identity.default_source;
  parts.tokens = cache_verified_tokens(std::move(*tokens));
  parts.engine = active;
  parts.mappings = std::move(hooks.mappings);
  parts.metrics = hooks.metrics;
  // `config` outlives the server (serve stops it first); `shared` outlives the workers.
  parts.make_worker = [&config, active, candidate, s = shared.get()] {
    return Worker::create(config, active, candidate, *s);
  };
  auto server = start_api_server(std::move(parts));
  if (!server) return server.error();
  return std::unique_ptr<ApiServer>(
      std::make_unique<ConfiguredApi>(std::move(shared), std::move(poller), std::move(*server)));
}

}  // namespace fl::cli
