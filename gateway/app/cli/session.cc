#include "cli/session.h"

#include "fl/base/json_string.h"
#include "fl/gateway/audit_event.h"
#include "fl/gateway/mapping_files.h"
#include "fl/gateway/policy/policy_compiler.h"
#include "fl/gateway/pseudonyms.h"
#include "fl/gateway/stages/validate_stage.h"

#include "cli/wiring.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace fl::cli {

using namespace std::chrono_literals;

std::string quoted(std::string_view text) {
  std::string out;
  append_json_string(out, text);
  return out;
}

Result<std::shared_ptr<const gateway::policy::PolicyBundle>> compile_bundle_or_report(
    const std::string& path) {
  auto compiled = gateway::policy::compile_policy_bundle(path, gateway::file_reader());
  if (!compiled.bundle) {
    for (const auto& d : compiled.diagnostics) {
      std::fprintf(stderr, "%s\n", fl::mappings::to_string(d).c_str());
    }
    return Error{ErrorCode::kInvalidInput,
                 "the policy bundle does not compile (run fhir-ledger policy check)", path};
  }
  return std::move(compiled.bundle);
}

namespace {

Result<std::unique_ptr<gateway::policy::PolicyEngine>> load_engine(const std::string& path) {
  if (path.empty()) return std::unique_ptr<gateway::policy::PolicyEngine>();
  auto bundle = compile_bundle_or_report(path);
  if (!bundle) return bundle.error();
  return std::make_unique<gateway::policy::PolicyEngine>(std::move(*bundle));
}

}  // namespace

Result<std::unique_ptr<gateway::policy::PolicyEngine>> load_policy_engine(
    const gateway::GatewayConfig& config) {
  return load_engine(config.policy.bundle);
}

Result<std::unique_ptr<gateway::policy::PolicyEngine>> load_shadow_engine(
    const gateway::GatewayConfig& config) {
  return load_engine(config.policy.shadow);
}

std::string operator_name() {
  const char* user = std::getenv("USER");
  return user != nullptr && *user != '\0' ? user : "operator";
}

std::string now_rfc3339() {
  return gateway::audit::rfc3339_utc(
      std::chrono::system_clock::to_time_t(std::chrono::system_clock::now()));
}

Result<Session> open_session(const Args& args) {
  auto config = gateway::load_gateway_config(args.get("config", "config/gateway.json"),
                                             gateway::process_environment());
  if (!config) return config.error();
  return connect_session(std::move(*config));
}

Result<Session> connect_session(gateway::GatewayConfig config) {
  Session s{.config = std::move(config)};
  if (s.config.ledger.contract.empty()) {
    return Error{ErrorCode::kInvalidInput,
                 "no contract address: set /ledger/contract or FL_LEDGER_CONTRACT",
                 s.config.file + "#/ledger/contract"};
  }
  if (s.config.ledger.private_key.empty()) {
    return Error{ErrorCode::kInvalidInput,
                 "no signing key: set FL_LEDGER_PRIVATE_KEY or /ledger/privateKeyFile",
                 s.config.file + "#/ledger/privateKeyFile"};
  }
  auto transport = ledger::make_http_transport(s.config.ledger.rpc_url, 10s);
  if (!transport) return transport.error();
  s.rpc = std::make_unique<ledger::JsonRpcClient>(std::move(*transport), s.config.ledger.rpc_url);
  auto chain_id = s.rpc->chain_id();
  if (!chain_id) return chain_id.error();
  auto contract = ledger::parse_address(s.config.ledger.contract);
  if (!contract) return contract.error();
  auto signer = ledger::Signer::create(SecretBytes(
      Bytes(s.config.ledger.private_key.view().begin(), s.config.ledger.private_key.view().end())));
  if (!signer) return signer.error();
  s.signer = std::move(*signer);
  s.registry = std::make_unique<ledger::PointerRegistry>(
      *s.rpc, *s.signer, *chain_id, *contract,
      s.config.ledger.eip1559 ? ledger::TxType::kEip1559 : ledger::TxType::kLegacy);
  s.registry->set_fee_policy({.max_fee_per_gas_wei = s.config.ledger.max_fee_per_gas_wei,
                              .replace_after_blocks = s.config.ledger.replace_after_blocks});
  return s;
}

Result<std::string> reference_arg(const Args& args, const char* what) {
  if (args.positional().size() != 1) {
    return Error{ErrorCode::kInvalidInput, std::string("expected one ") + what + " Type/id", ""};
  }
  const std::string& ref = args.positional().front();
  const auto slash = ref.find('/');
  if (slash == std::string::npos || !gateway::is_r4_resource_type(ref.substr(0, slash)) ||
      !gateway::is_valid_fhir_id(ref.substr(slash + 1))) {
    return Error{ErrorCode::kInvalidInput, "expected Type/id, e.g. Patient/123", ref};
  }
  return ref;
}

std::string source_arg(const Session& s, const Args& args) {
  return args.get("source", s.config.identity.default_source);
}

Result<ledger::Hash32> pseudonym(const Session& s, const std::string& source,
                                 const std::string& reference, bool patient) {
  auto keys = build_key_provider(s.config);
  if (!keys) return keys.error();
  gateway::Pseudonyms pseudonyms(**keys);
  if (!patient) return pseudonyms.resource_key(source, reference);
  auto record = pseudonyms.patient_key(source, reference);
  if (!record || s.config.identity.linking_identifier_system.empty()) return record;
  auto stores = build_stores(s.config);
  if (!stores) return stores.error();
  auto person = stores->directory->linked_persons(std::span(&*record, 1));
  if (!person) return person.error();
  return person->front() ? *person->front() : *record;
}

}  // namespace fl::cli
