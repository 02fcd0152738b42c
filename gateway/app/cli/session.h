// What the operator tools that touch the ledger share: the gateway configuration, a signing
// session with the PointerRegistry, and the pseudonym of a "Type/id" argument.
#pragma once

#include "fl/base/result.h"
#include "fl/gateway/config.h"
#include "fl/gateway/policy/policy_engine.h"
#include "fl/ledger/json_rpc.h"
#include "fl/ledger/pointer_registry.h"

#include "cli/args.h"

#include <memory>
#include <string>
#include <string_view>

namespace fl::cli {

struct Session {
  gateway::GatewayConfig config;
  std::unique_ptr<ledger::JsonRpcClient> rpc;
  std::unique_ptr<ledger::Signer> signer;
  std::unique_ptr<ledger::PointerRegistry> registry;
};

// Reads --config (default config/gateway.json) and connects to the node and contract.
Result<Session> open_session(const Args& args);
// The same for a configuration already loaded.
Result<Session> connect_session(gateway::GatewayConfig config);

// The one positional "Type/id", checked as the validate stage checks it.
Result<std::string> reference_arg(const Args& args, const char* what);

// The source whose id space a reference argument is in: --source, else the config's
// identity.defaultSource.
std::string source_arg(const Session& s, const Args& args);

// The resource key (or, with `patient`, the patient key) of a reference of `source`, under the
// keyring's pepper. A patient record linked to a person (identity.linkingIdentifierSystem) is
// the person: grants and erasure follow them across sources.
Result<ledger::Hash32> pseudonym(const Session& s, const std::string& source,
                                 const std::string& reference, bool patient);

// A policy bundle compiled, or, when it does not compile, every problem printed on stderr
// (file: JSON pointer: message) and an error: what serve and the tools load bundles with.
Result<std::shared_ptr<const gateway::policy::PolicyBundle>> compile_bundle_or_report(
    const std::string& path);

// The configured policy bundle (/policy/bundle), compiled; null when none is configured. A
// bundle that does not compile is an error: access is never decided without the rules asked for.
Result<std::unique_ptr<gateway::policy::PolicyEngine>> load_policy_engine(
    const gateway::GatewayConfig& config);

// The shadow bundle (/policy/shadow, which the config accepts only beside /policy/bundle),
// compiled; null when none is configured. A shadow that does not compile is an error too.
Result<std::unique_ptr<gateway::policy::PolicyEngine>> load_shadow_engine(
    const gateway::GatewayConfig& config);

// Who runs the tool ($USER), for AuditEvents.
std::string operator_name();

// The current UTC time as RFC 3339 (seconds), for records operators read.
std::string now_rfc3339();

// `text` as a JSON string literal.
std::string quoted(std::string_view text);

}  // namespace fl::cli
