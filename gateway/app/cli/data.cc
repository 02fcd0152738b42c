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
#include "fl/gateway/erase_service.h"
#include "fl/gateway/pseudonyms.h"
#include "fl/gateway/read_service.h"

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/session.h"
#include "cli/wiring.h"

#include <charconv>
#include <cstdio>

namespace fl::cli {
namespace {

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

  const auto access = evm::make_access_ledger(*s->registry, s->config.ledger.confirmations);
  gateway::EraseService service(
      {.keys = **keys,
       .master_keys = *stores->master_keys,
       .directory = *stores->directory,
       .access = *access,
       .audit = **audit_log,
       .clock = ports::real_clock()},
      {.gateway = s->config.service_name, .regions = region_names(s->config)});

  auto erased = service.erase(
      {.patient_key = *patient, .operator_name = operator_name(), .reason = args->get("reason")});
  if (!erased) return fail("erase", erased.error(), 1);
  std::string regions;
  for (const auto& [region, destroyed] : erased->regions) {
    regions += (regions.empty() ? "" : ",") + quoted(region) + ":" +
               quoted(destroyed ? "destroyed" : "none");
  }
  std::printf(
      "{\"patientKey\":%s,\"erasedAt\":%s,\"regions\":{%s},\"tx\":%s,\"block\":%llu,"
      "\"auditEvent\":%s}\n",
      quoted(erased->patient_key).c_str(), quoted(erased->erased_at).c_str(), regions.c_str(),
      quoted(erased->tx).c_str(), static_cast<unsigned long long>(erased->block),
      erased->audit_event.c_str());
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
