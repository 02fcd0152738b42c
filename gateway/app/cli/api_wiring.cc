#include "cli/api_wiring.h"

#include "fl/adapters/evm/evm_access_ledger.h"
#include "fl/adapters/evm/evm_ledger_reader.h"

#include "cli/session.h"
#include "cli/wiring.h"

namespace fl::cli {
namespace {

class Worker final : public ApiWorker {
 public:
  static Result<std::unique_ptr<ApiWorker>> create(
      const gateway::GatewayConfig& config,
      const std::shared_ptr<const gateway::policy::PolicyEngine>& engine,
      const std::shared_ptr<const gateway::policy::PolicyEngine>& shadow) {
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
    auto audit = build_audit_log(config);
    if (!audit) return audit.error();
    w->audit_ = std::move(*audit);
    w->access_ = evm::make_access_ledger(*w->session_.registry);
    w->ledger_reader_ = evm::make_ledger_reader(*w->session_.registry);
    w->reads_ = std::make_unique<gateway::ReadService>(
        gateway::ReadServicePorts{.keys = *w->keys_,
                                  .blobs = *w->stores_.blobs,
                                  .master_keys = *w->stores_.master_keys,
                                  .directory = *w->stores_.directory,
                                  .pointers = *w->pointers_,
                                  .access = *w->access_,
                                  .audit = *w->audit_,
                                  .clock = ports::real_clock()},
        gateway::ReadSettings{.gateway = config.service_name,
                              .regions = region_names(config),
                              .engine = engine.get(),
                              .shadow = shadow.get()});
    return std::unique_ptr<ApiWorker>(std::move(w));
  }

  gateway::ReadService& reads() override { return *reads_; }

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
  std::unique_ptr<gateway::ReadService> reads_;
};

}  // namespace

Result<std::unique_ptr<ApiServer>> start_configured_api(const gateway::GatewayConfig& config) {
  if (config.api.port <= 0) return std::unique_ptr<ApiServer>();
  auto tokens = make_token_verifier(config.api, config.file);
  if (!tokens) return tokens.error();
  auto engine = load_policy_engine(config);
  if (!engine) return engine.error();
  auto shadow = load_shadow_engine(config);
  if (!shadow) return shadow.error();
  std::shared_ptr<const gateway::policy::PolicyEngine> active = std::move(*engine);
  std::shared_ptr<const gateway::policy::PolicyEngine> candidate = std::move(*shadow);
  ApiServerParts parts;
  parts.settings = config.api;
  parts.default_source = config.identity.default_source;
  parts.tokens = std::move(*tokens);
  // `config` outlives the server (serve stops it first).
  parts.make_worker = [&config, active, candidate] {
    return Worker::create(config, active, candidate);
  };
  return start_api_server(std::move(parts));
}

}  // namespace fl::cli
