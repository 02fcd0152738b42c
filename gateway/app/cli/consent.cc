// `fhir-ledger consent dry-run <Consent.json>` and `consent apply <Consent.json>`: a FHIR
// Consent turned into the grants and revocations it implies (consent_service.h). The dry run
// prints the diff (added, changed, kept, revoked, refused and why) without a transaction or an
// AuditEvent; apply sends them and records what the Consent now holds. JSON on stdout.
#include "fl/adapters/evm/evm_access_ledger.h"
#include "fl/gateway/consent_service.h"
#include "fl/ledger/signer.h"

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/session.h"
#include "cli/wiring.h"

#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>

namespace fl::cli {
namespace {

int fail(const std::string& command, const Error& error, int code) {
  std::fprintf(stderr, "consent %s: %s%s%s\n", command.c_str(), error.message.c_str(),
               error.where.empty() ? "" : " at ", error.where.c_str());
  return code;
}

Result<std::string> read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{ErrorCode::kNotFound, "cannot read the file", path};
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

Result<gateway::ConsentSettings> consent_settings(const gateway::GatewayConfig& config) {
  gateway::ConsentSettings out;
  for (const auto& [reference, address] : config.consent.actors) {
    auto parsed = ledger::parse_address(address);
    if (!parsed) {
      return Error{ErrorCode::kInvalidInput, "expected a 0x address",
                   config.file + "#/consent/actors/" + reference};
    }
    out.actors.emplace(reference, *parsed);
  }
  out.default_purposes = config.consent.default_purposes;
  out.default_lifetime_seconds = static_cast<std::int64_t>(config.consent.default_days) * 86400;
  return out;
}

int consent_command(const std::vector<std::string>& argv) {
  if (argv.empty() || (argv[0] != "dry-run" && argv[0] != "apply")) {
    std::fprintf(stderr,
                 "consent: usage: consent dry-run|apply <Consent.json> [--source NAME] "
                 "--config FILE\n");
    return 2;
  }
  const std::string sub = argv[0];
  auto args = Args::parse({argv.begin() + 1, argv.end()}, {"config", "source"}, {});
  if (!args) return fail(sub, args.error(), 2);
  if (args->positional().size() != 1) {
    return fail(sub, {ErrorCode::kInvalidInput, "expected one Consent file", ""}, 2);
  }
  auto text = read_text(args->positional().front());
  if (!text) return fail(sub, text.error(), 2);
  auto s = open_session(*args);
  if (!s) return fail(sub, s.error(), 2);
  const auto& config = s->config;
  auto settings = consent_settings(config);
  if (!settings) return fail(sub, settings.error(), 2);
  auto keys = build_key_provider(config);
  if (!keys) return fail(sub, keys.error(), 2);
  auto stores = build_stores(config);
  if (!stores) return fail(sub, stores.error(), 2);
  auto audit = build_audit_log(config);
  if (!audit) return fail(sub, audit.error(), 2);
  auto engine = load_policy_engine(config);
  if (!engine) return fail(sub, engine.error(), 2);
  auto shadow = load_shadow_engine(config);
  if (!shadow) return fail(sub, shadow.error(), 2);
  const auto access = evm::make_access_ledger(*s->registry, config.ledger.confirmations);
  gateway::ConsentService service(
      {.keys = **keys,
       .directory = *stores->directory,
       .access = *access,
       .audit = **audit,
       .records = *stores->consents,
       .clock = ports::real_clock()},
      {.gateway = config.service_name,
       .consent = std::move(*settings),
       .linking_identifier_system = config.identity.linking_identifier_system,
       .engine = engine->get(),
       .shadow = shadow->get()});
  auto report = service.apply({.source = source_arg(*s, *args),
                               .json = *text,
                               .dry_run = sub == "dry-run",
                               .operator_name = operator_name()});
  if (!report) {
    return fail(sub, report.error(), report.error().code == ErrorCode::kInvalidInput ? 2 : 1);
  }
  std::printf("%s\n", gateway::to_json(*report).c_str());
  return 0;
}

}  // namespace fl::cli
