// The operator's tools for one patient's or resource's stored data:
//   erase Patient/<id>           GDPR Art. 17: destroys the patient's master key in every
//                                region, then marks the patient erased on the ledger; prints
//                                (and logs) a FHIR AuditEvent naming only the pseudonym
//   read <Type/id> [--version N] decrypts one stored version after checking the ledger's
//                                erasure mark and the blob's content hash
// Both read the gateway configuration; output is JSON on stdout, errors on stderr.
#include "fl/base/json_string.h"
#include "fl/base/log.h"
#include "fl/gateway/keys/master_keys.h"
#include "fl/gateway/reader.h"

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/session.h"
#include "cli/wiring.h"

#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace fl::cli {
namespace {

using namespace std::chrono_literals;

int fail(const std::string& command, const Error& error, int code) {
  std::fprintf(stderr, "%s: %s: %s%s%s\n", command.c_str(),
               std::string(error_code_name(error.code)).c_str(), error.message.c_str(),
               error.where.empty() ? "" : " at ", error.where.c_str());
  return code;
}

// A FHIR R4 AuditEvent for the erasure: DICOM "Patient Record" deleted, by the operator, with
// the patient named only by pseudonym (the id itself is what was erased).
std::string erasure_audit_event(const std::string& when, const std::string& patient_key,
                                const std::string& tx, const std::string& regions,
                                const std::string& reason) {
  const char* user = std::getenv("USER");
  std::string out = R"({"resourceType":"AuditEvent","type":{"system":)"
                    R"("http://dicom.nema.org/resources/ontology/DCM","code":"110110",)"
                    R"("display":"Patient Record"},"subtype":[{"system":)"
                    R"("http://hl7.org/fhir/restful-interaction","code":"delete"}],)"
                    R"("action":"D","recorded":)";
  out += quoted(when);
  out += R"(,"outcome":"0","purposeOfEvent":[{"text":)";
  out += quoted(reason.empty() ? "GDPR Art. 17 erasure" : reason);
  out += R"(}],"agent":[{"who":{"display":)";
  out += quoted(user != nullptr ? user : "unknown");
  out += R"(},"requestor":true}],"source":{"observer":{"display":"fhir-ledger erase"}},)";
  out += R"("entity":[{"what":{"identifier":{"system":"urn:fhir-ledger:patient-key","value":)";
  out += quoted(patient_key);
  out += R"(}},"detail":[{"type":"ledgerTransaction","valueString":)";
  out += quoted(tx);
  out += R"(},{"type":"regions","valueString":)";
  out += quoted(regions);
  out += "}]}]}";
  return out;
}

}  // namespace

int erase_command(const std::vector<std::string>& argv) {
  auto args = Args::parse(argv, {"config", "reason"}, {});
  if (!args) return fail("erase", args.error(), 2);
  auto ref = reference_arg(*args, "patient");
  if (!ref) return fail("erase", ref.error(), 2);
  if (!ref->starts_with("Patient/")) {
    return fail("erase", Error{ErrorCode::kInvalidInput, "expected Patient/<id>", *ref}, 2);
  }
  auto s = open_session(*args);
  if (!s) return fail("erase", s.error(), 2);
  auto patient = pseudonym(*s, *ref, true);
  if (!patient) return fail("erase", patient.error(), 2);
  auto keys = build_key_provider(s->config);
  if (!keys) return fail("erase", keys.error(), 2);
  auto stores = build_stores(s->config);
  if (!stores) return fail("erase", stores.error(), 2);

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
  auto tx = s->registry->mark_erased(*patient);
  if (!tx) return fail("erase", tx.error(), 1);
  auto receipt = s->registry->wait_for_receipt(*tx, s->config.ledger.confirmations, 60s);
  if (!receipt) return fail("erase", receipt.error(), 1);

  const std::string patient_hex = to_0x_hex(*patient);
  const std::string audit =
      erasure_audit_event(when, patient_hex, to_0x_hex(*tx), regions, args->get("reason"));
  log::info("erasure.done", {{"patientKey", patient_hex},
                             {"regions", regions},
                             {"tx", to_0x_hex(*tx)},
                             {"auditEvent", audit}});
  std::printf(
      "{\"patientKey\":%s,\"erasedAt\":%s,\"regions\":{%s},\"tx\":%s,\"block\":%llu,"
      "\"auditEvent\":%s}\n",
      quoted(patient_hex).c_str(), quoted(when).c_str(), regions_json.c_str(),
      quoted(to_0x_hex(*tx)).c_str(), static_cast<unsigned long long>(receipt->block_number),
      audit.c_str());
  return 0;
}

int read_command(const std::vector<std::string>& argv) {
  auto args = Args::parse(argv, {"config", "version"}, {});
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
  auto config = gateway::load_gateway_config(args->get("config", "config/gateway.json"),
                                             gateway::process_environment());
  if (!config) return fail("read", config.error(), 2);
  auto keys = build_key_provider(*config);
  if (!keys) return fail("read", keys.error(), 2);
  auto stores = build_stores(*config);
  if (!stores) return fail("read", stores.error(), 2);
  auto ledger = build_ledger(*config);
  if (!ledger) return fail("read", ledger.error(), 2);
  std::vector<std::string> regions;
  for (const auto& [region, settings] : config->redis_regions) regions.push_back(region);
  gateway::ResourceReader reader(**keys, *stores->blobs, *stores->master_keys, **ledger, regions);
  auto read = reader.read(*ref, version);
  if (!read) return fail("read " + *ref, read.error(), 1);
  std::printf("%s\n", read->json.c_str());
  return 0;
}

}  // namespace fl::cli
