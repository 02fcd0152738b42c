// The operator's tools for one patient's or resource's stored data:
//   erase Patient/<id>           GDPR Art. 17: destroys the patient's master key in every
//                                region, forgets their recorded country, then marks the patient
//                                erased on the ledger; prints, logs and writes to the audit
//                                topic a FHIR AuditEvent naming only the pseudonym
//   read <Type/id> [--version N] decrypts one stored version after checking the ledger's
//        [--as 0xP --purpose C   erasure mark and the blob's content hash; with --as, for a
//         [--consent]]           participant: its grant on the ledger and the policy bundle
//                                decide, and the obligations are applied. Audited either way.
// Both read the gateway configuration; output is JSON on stdout, errors on stderr.
#include "fl/adapters/evm/evm_access_ledger.h"
#include "fl/base/json_string.h"
#include "fl/base/log.h"
#include "fl/gateway/access.h"
#include "fl/gateway/audit_event.h"
#include "fl/gateway/keys/master_keys.h"
#include "fl/gateway/pseudonyms.h"
#include "fl/gateway/read_service.h"

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/session.h"
#include "cli/wiring.h"

#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <span>

namespace fl::cli {
namespace {

using namespace std::chrono_literals;

int fail(const std::string& command, const Error& error, int code) {
  std::fprintf(stderr, "%s: %s: %s%s%s\n", command.c_str(),
               std::string(error_code_name(error.code)).c_str(), error.message.c_str(),
               error.where.empty() ? "" : " at ", error.where.c_str());
  return code;
}

}  // namespace

int erase_command(const std::vector<std::string>& argv) {
  auto args = Args::parse(argv, {"config", "reason", "source"}, {});
  if (!args) return fail("erase", args.error(), 2);
  auto ref = reference_arg(*args, "patient");
  if (!ref) return fail("erase", ref.error(), 2);
  if (!ref->starts_with("Patient/")) {
    return fail("erase", Error{ErrorCode::kInvalidInput, "expected Patient/<id>", *ref}, 2);
  }
  auto s = open_session(*args);
  if (!s) return fail("erase", s.error(), 2);
  auto patient = pseudonym(*s, source_arg(*s, *args), *ref, true);
  if (!patient) return fail("erase", patient.error(), 2);
  auto keys = build_key_provider(s->config);
  if (!keys) return fail("erase", keys.error(), 2);
  auto stores = build_stores(s->config);
  if (!stores) return fail("erase", stores.error(), 2);
  auto audit_log = build_audit_log(s->config);
  if (!audit_log) return fail("erase", audit_log.error(), 2);

  // Keys first: destroying them is the erasure. The mark left in their place also stops the
  // gateway from making a new key for this patient before the ledger mark is mined.
  const std::string when = now_rfc3339();
  gateway::MasterKeys master_keys(**keys, *stores->master_keys);
  std::string regions;
  std::string regions_json;
  for (const auto& [region, settings] : s->config.redis_regions) {
    auto destroyed = master_keys.erase(region, *patient, when);
    if (!destroyed) {
      return fail("erase",
                  Error{destroyed.error().code,
                        destroyed.error().message + " (nothing is lost by running erase again)",
                        destroyed.error().where},
                  1);
    }
    const char* what = *destroyed ? "destroyed" : "none";
    regions += (regions.empty() ? "" : ",") + region + "=" + what;
    regions_json += (regions_json.empty() ? "" : ",") + quoted(region) + ":" + quoted(what);
  }
  // The recorded country is personal data too, and would outlive the keys otherwise.
  auto forgot = stores->directory->forget_patient(*patient);
  if (!forgot) {
    return fail("erase",
                Error{forgot.error().code,
                      forgot.error().message + " (nothing is lost by running erase again)",
                      forgot.error().where},
                1);
  }
  auto tx = s->registry->mark_erased(*patient);
  if (!tx) return fail("erase", tx.error(), 1);
  auto receipt = s->registry->wait_for_receipt(*tx, s->config.ledger.confirmations, 60s);
  if (!receipt) return fail("erase", receipt.error(), 1);

  const std::string patient_hex = to_0x_hex(*patient);
  gateway::audit::Common common;
  common.recorded = when;
  common.gateway = s->config.service_name;
  common.agents.push_back(gateway::audit::Agent{
      .address = "", .jurisdiction = "", .display = operator_name(), .requestor = true});
  common.patient_key = patient_hex;
  common.details = {{"ledgerTransaction", to_0x_hex(*tx)},
                    {"regions", regions},
                    {"directoryRecord", *forgot ? "forgotten" : "none"}};
  const std::string audit = gateway::audit::erasure_event(common, args->get("reason"));
  log::info("erasure.done", {{"patientKey", patient_hex},
                             {"regions", regions},
                             {"tx", to_0x_hex(*tx)},
                             {"auditEvent", audit}});
  const ports::AuditRecord record{.key = patient_hex, .json = audit};
  if (auto sent = (*audit_log)->record(std::span(&record, 1)); !sent) {
    return fail("erase", sent.error(), 1);
  }
  if (auto sent = (*audit_log)->flush(10s); !sent) return fail("erase", sent.error(), 1);
  std::printf(
      "{\"patientKey\":%s,\"erasedAt\":%s,\"regions\":{%s},\"tx\":%s,\"block\":%llu,"
      "\"auditEvent\":%s}\n",
      quoted(patient_hex).c_str(), quoted(when).c_str(), regions_json.c_str(),
      quoted(to_0x_hex(*tx)).c_str(), static_cast<unsigned long long>(receipt->block_number),
      audit.c_str());
  return 0;
}

int read_command(const std::vector<std::string>& argv) {
  auto args = Args::parse(argv, {"config", "version", "as", "purpose", "source"}, {"consent"});
  if (!args) return fail("read", args.error(), 2);
  auto ref = reference_arg(*args, "resource");
  if (!ref) return fail("read", ref.error(), 2);
  std::optional<std::uint64_t> version;
  if (args->has("version")) {
    const std::string text = args->get("version");
    std::uint64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size()) {
      return fail("read", Error{ErrorCode::kInvalidInput, "--version expects a number", text}, 2);
    }
    version = v;
  }
  const bool as_participant = args->has("as");
  std::optional<ledger::Address> participant;
  if (as_participant) {
    auto address = ledger::parse_address(args->get("as"));
    if (!address) {
      return fail("read", Error{ErrorCode::kInvalidInput, "--as expects a 0x address", ""}, 2);
    }
    participant = *address;
    if (args->get("purpose").empty()) {
      return fail("read", Error{ErrorCode::kInvalidInput, "--as needs --purpose CODE", ""}, 2);
    }
  }
  auto s = open_session(*args);
  if (!s) return fail("read", s.error(), 2);
  const auto& config = s->config;
  auto keys = build_key_provider(config);
  if (!keys) return fail("read", keys.error(), 2);
  auto stores = build_stores(config);
  if (!stores) return fail("read", stores.error(), 2);
  auto ledger = build_ledger(config);
  if (!ledger) return fail("read", ledger.error(), 2);
  auto audit = build_audit_log(config);
  if (!audit) return fail("read", audit.error(), 2);
  // The operator's own read is not decided by the policy: the bundle is compiled only for a
  // participant's.
  std::unique_ptr<gateway::policy::PolicyEngine> engine;
  std::unique_ptr<gateway::policy::PolicyEngine> shadow;
  if (as_participant) {
    auto loaded = load_policy_engine(config);
    if (!loaded) return fail("read", loaded.error(), 2);
    engine = std::move(*loaded);
    auto candidate = load_shadow_engine(config);
    if (!candidate) return fail("read", candidate.error(), 2);
    shadow = std::move(*candidate);
  }
  const auto access = evm::make_access_ledger(*s->registry);
  gateway::ReadService service({.keys = **keys,
                                .blobs = *stores->blobs,
                                .master_keys = *stores->master_keys,
                                .directory = *stores->directory,
                                .pointers = **ledger,
                                .access = *access,
                                .audit = **audit,
                                .clock = ports::real_clock()},
                               {.gateway = config.service_name,
                                .regions = region_names(config),
                                .engine = engine.get(),
                                .shadow = shadow.get()});
  auto verdict = service.read({.source = source_arg(*s, *args),
                               .reference = *ref,
                               .version = version,
                               .participant = participant,
                               .purpose = args->get("purpose"),
                               .consent = args->has("consent"),
                               .operator_name = operator_name()});
  if (!verdict) return fail("read " + *ref, verdict.error(), 1);
  // stdout is the released resource: the shadow difference goes to stderr, beside the audit.
  if (!verdict->shadow_event.empty()) {
    std::fprintf(stderr, "{\"shadowAuditEvent\":%s}\n", verdict->shadow_event.c_str());
  }
  if (!verdict->permit) {
    return fail("read " + *ref, Error{ErrorCode::kPolicyDenied, verdict->reason, ""}, 1);
  }
  std::printf("%s\n", verdict->released.c_str());
  return 0;
}

}  // namespace fl::cli
