// `fhir-ledger ledger ...`: the operator's view of the PointerRegistry. Every subcommand reads
// the gateway configuration (node, contract, signing key, regions, keyring), prints JSON on
// stdout, and says what failed on stderr.
#include "fl/adapters/evm/evm_access_ledger.h"
#include "fl/adapters/evm/evm_ledger_reader.h"
#include "fl/base/json_string.h"
#include "fl/gateway/audit_event.h"
#include "fl/gateway/config.h"
#include "fl/gateway/grant_service.h"
#include "fl/gateway/pseudonyms.h"
#include "fl/gateway/stages/validate_stage.h"
#include "fl/gateway/verify.h"
#include "fl/ledger/json_rpc.h"
#include "fl/ledger/pointer_registry.h"

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/session.h"
#include "cli/wiring.h"

#include <charconv>
#include <chrono>
#include <cstdio>

namespace fl::cli {
namespace {

using namespace std::chrono_literals;

constexpr auto kReceiptTimeout = 60s;

int fail(const std::string& command, const Error& error, int code) {
  std::fprintf(stderr, "ledger %s: %s%s%s\n", command.c_str(), error.message.c_str(),
               error.where.empty() ? "" : " at ", error.where.c_str());
  return code;
}

Result<std::uint64_t> number_option(const Args& args, const std::string& name) {
  const std::string text = args.get(name);
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return Error{ErrorCode::kInvalidInput, "--" + name + " expects a whole number", text};
  }
  return value;
}

void print_mined(const std::string& tx, std::uint64_t block) {
  std::printf("{\"tx\":%s,\"block\":%llu}\n", quoted(tx).c_str(),
              static_cast<unsigned long long>(block));
}

// Waits for the transaction's receipt and prints {"tx":…,"block":…}.
Status confirm(Session& s, const Result<ledger::Hash32>& tx) {
  if (!tx) return tx.error();
  auto receipt = s.registry->wait_for_receipt(*tx, s.config.ledger.confirmations, kReceiptTimeout);
  if (!receipt) return receipt.error();
  print_mined(to_0x_hex(*tx), receipt->block_number);
  return Ok{};
}

// The end of an access change (a grant or a revocation): its transaction, if mined, then the
// AuditEvent recording what became of it. A transaction that succeeded but could not be
// recorded is reported as such: the operator must know both.
int print_transaction(const std::string& command, const gateway::TransactionReport& report) {
  if (report.outcome.state == gateway::audit::Transaction::State::kMined) {
    print_mined(report.outcome.hash, report.outcome.block);
  }
  if (report.audit_error) return fail(command, *report.audit_error, 1);
  std::printf("{\"auditEvent\":%s}\n", report.audit_event.c_str());
  return report.error ? fail(command, *report.error, 1) : 0;
}

int status(const std::vector<std::string>& argv) {
  auto args = Args::parse(argv, {"config"}, {});
  if (!args) return fail("status", args.error(), 2);
  auto s = open_session(*args);
  if (!s) return fail("status", s.error(), 2);
  auto head = s->rpc->block_number();
  if (!head) return fail("status", head.error(), 1);
  auto chain_id = s->rpc->chain_id();
  if (!chain_id) return fail("status", chain_id.error(), 1);
  auto code = s->rpc->code_at(s->registry->contract());
  if (!code) return fail("status", code.error(), 1);
  auto admin = s->registry->admin();
  auto writer = s->registry->is_writer(s->signer->address());
  if (!admin || !writer) {
    return fail("status",
                {ErrorCode::kNotFound, "the contract does not answer like a PointerRegistry",
                 s->config.ledger.contract},
                1);
  }
  std::printf(
      "{\"rpcUrl\":%s,\"chainId\":%llu,\"head\":%llu,\"contract\":%s,\"codeBytes\":%zu,"
      "\"admin\":%s,\"account\":%s,\"accountIsWriter\":%s,\"accountIsAdmin\":%s}\n",
      quoted(s->config.ledger.rpc_url).c_str(), static_cast<unsigned long long>(*chain_id),
      static_cast<unsigned long long>(*head),
      quoted(ledger::to_checksum_hex(s->registry->contract())).c_str(), code->size(),
      quoted(ledger::to_checksum_hex(*admin)).c_str(),
      quoted(ledger::to_checksum_hex(s->signer->address())).c_str(), *writer ? "true" : "false",
      *admin == s->signer->address() ? "true" : "false");
  return 0;
}

int pointer(const std::vector<std::string>& argv) {
  auto args = Args::parse(argv, {"config", "source"}, {});
  if (!args) return fail("pointer", args.error(), 2);
  auto ref = reference_arg(*args, "resource");
  if (!ref) return fail("pointer", ref.error(), 2);
  auto s = open_session(*args);
  if (!s) return fail("pointer", s.error(), 2);
  auto key = pseudonym(*s, source_arg(*s, *args), *ref, false);
  if (!key) return fail("pointer", key.error(), 2);
  auto latest = s->registry->latest(*key);
  if (!latest) return fail("pointer", latest.error(), 1);
  auto versions = s->registry->anchored_versions(*key);
  if (!versions) return fail("pointer", versions.error(), 1);
  // The stored records also name merkle-mode versions, which the contract's storage does not.
  auto stores = build_stores(s->config);
  if (!stores) return fail("pointer", stores.error(), 2);
  auto& blobs = stores->blobs;
  std::string records;
  for (const auto& [region, settings] : s->config.redis_regions) {
    auto found = blobs->pointer_records(region, to_hex(*key));
    if (!found) return fail("pointer", found.error(), 1);
    for (const auto& [version, json] : *found) {
      records += (records.empty() ? "" : ",") + json;
    }
  }
  std::string events;
  for (const auto& p : *versions) {
    if (!events.empty()) events += ',';
    events += "{\"version\":" + std::to_string(p.version) +
              ",\"contentHash\":" + quoted(to_0x_hex(p.content_hash)) +
              ",\"patientKey\":" + quoted(to_0x_hex(p.patient_key)) +
              ",\"policyHash\":" + quoted(to_0x_hex(p.policy_hash)) +
              ",\"mappingHash\":" + quoted(to_0x_hex(p.mapping_hash)) +
              ",\"region\":" + quoted(p.region) + ",\"keyId\":" + quoted(p.key_id) + "}";
  }
  std::string latest_json = "null";
  if (latest->has_value()) {
    latest_json = "{\"version\":" + std::to_string((*latest)->first) +
                  ",\"contentHash\":" + quoted(to_0x_hex((*latest)->second)) + "}";
  }
  std::printf(
      "{\"reference\":%s,\"resourceKey\":%s,\"latestOnChain\":%s,\"anchoredEvents\":[%s],"
      "\"records\":[%s]}\n",
      quoted(*ref).c_str(), quoted(to_0x_hex(*key)).c_str(), latest_json.c_str(), events.c_str(),
      records.c_str());
  return 0;
}

int verify(const std::vector<std::string>& argv) {
  auto args = Args::parse(argv, {"config", "version", "source"}, {});
  if (!args) return fail("verify", args.error(), 2);
  auto ref = reference_arg(*args, "resource");
  if (!ref) return fail("verify", ref.error(), 2);
  std::optional<std::uint64_t> version;
  if (args->has("version")) {
    auto v = number_option(*args, "version");
    if (!v) return fail("verify", v.error(), 2);
    version = *v;
  }
  auto s = open_session(*args);
  if (!s) return fail("verify", s.error(), 2);
  auto key = pseudonym(*s, source_arg(*s, *args), *ref, false);
  if (!key) return fail("verify", key.error(), 2);
  auto stores = build_stores(s->config);
  if (!stores) return fail("verify", stores.error(), 2);
  const auto reader = evm::make_ledger_reader(*s->registry);
  auto result =
      gateway::verify_resource(*reader, *stores->blobs, region_names(s->config), *key, version);
  if (!result) {
    std::fprintf(stderr, "ledger verify %s: FAILED: %s%s%s\n", ref->c_str(),
                 result.error().message.c_str(), result.error().where.empty() ? "" : " at ",
                 result.error().where.c_str());
    return 1;
  }
  std::string checks;
  for (const auto& c : result->checks) checks += (checks.empty() ? "" : ",") + quoted(c);
  std::printf(
      "{\"reference\":%s,\"verified\":true,\"version\":%llu,\"mode\":%s,\"region\":%s,"
      "\"deleted\":%s,\"contentHash\":%s,\"tx\":%s,\"block\":%llu,\"checks\":[%s]}\n",
      quoted(*ref).c_str(), static_cast<unsigned long long>(result->version),
      quoted(result->mode).c_str(), quoted(result->region).c_str(),
      result->deleted ? "true" : "false", quoted(result->content_hash).c_str(),
      quoted(result->tx_hash).c_str(), static_cast<unsigned long long>(result->block),
      checks.c_str());
  return 0;
}

// grant/revoke: --patient Patient/<id> --to 0xADDRESS --purpose CODE.
struct GrantArgs {
  ledger::Hash32 patient_key{};
  ledger::Address grantee{};
  std::string purpose;
};

Result<GrantArgs> grant_args(const Session& s, const Args& args) {
  GrantArgs out;
  const std::string patient = args.get("patient");
  if (!patient.starts_with("Patient/") || !gateway::is_valid_fhir_id(patient.substr(8))) {
    return Error{ErrorCode::kInvalidInput, "--patient expects Patient/<id>", patient};
  }
  auto key = pseudonym(s, source_arg(s, args), patient, true);
  if (!key) return key.error();
  out.patient_key = *key;
  auto to = ledger::parse_address(args.get("to"));
  if (!to) return Error{ErrorCode::kInvalidInput, "--to expects a 0x address", args.get("to")};
  out.grantee = *to;
  out.purpose = args.get("purpose");
  if (out.purpose.empty()) {
    return Error{ErrorCode::kInvalidInput, "--purpose expects a PurposeOfUse code (TREAT, ...)",
                 ""};
  }
  return out;
}

// With /policy/bundle set, the bundle decides at grant time: the patient's recorded country,
// the grantee's registered jurisdiction, the purpose and --consent (the operator attests that
// the patient has an active FHIR Consent for this purpose and grantee). A denial sends no
// transaction. Every decision is written to the audit topic and printed, and so is, after it,
// what became of a permitted grant's transaction.
int grant(const std::vector<std::string>& argv) {
  auto args = Args::parse(
      argv, {"config", "patient", "to", "purpose", "days", "expires-at", "source"}, {"consent"});
  if (!args) return fail("grant", args.error(), 2);
  auto s = open_session(*args);
  if (!s) return fail("grant", s.error(), 2);
  auto g = grant_args(*s, *args);
  if (!g) return fail("grant", g.error(), 2);
  gateway::GrantQuery query{.patient_key = g->patient_key,
                            .grantee = g->grantee,
                            .purpose = g->purpose,
                            .expires_at = std::nullopt,
                            .days = gateway::kDefaultGrantDays,
                            .consent = args->has("consent"),
                            .operator_name = operator_name()};
  if (args->has("expires-at")) {
    auto at = number_option(*args, "expires-at");
    if (!at) return fail("grant", at.error(), 2);
    query.expires_at = *at;
  } else if (args->has("days")) {
    auto days = number_option(*args, "days");
    if (!days || *days == 0 || *days > gateway::kMaxGrantDays) {
      return fail("grant", {ErrorCode::kInvalidInput, "--days expects 1 to 36500", ""}, 2);
    }
    query.days = *days;
  }
  auto engine = load_policy_engine(s->config);
  if (!engine) return fail("grant", engine.error(), 2);
  auto shadow = load_shadow_engine(s->config);
  if (!shadow) return fail("grant", shadow.error(), 2);
  auto stores = build_stores(s->config);
  if (!stores) return fail("grant", stores.error(), 2);
  auto audit = build_audit_log(s->config);
  if (!audit) return fail("grant", audit.error(), 2);
  const auto access = evm::make_access_ledger(*s->registry, s->config.ledger.confirmations);
  gateway::GrantService service(
      {.access = *access,
       .directory = stores->directory.get(),
       .audit = **audit,
       .clock = ports::real_clock()},
      {.gateway = s->config.service_name, .engine = engine->get(), .shadow = shadow->get()});

  auto report = service.grant(query);
  if (!report) return fail("grant", report.error(), 1);
  if (!report->shadow_event.empty()) {
    std::printf("{\"shadowAuditEvent\":%s}\n", report->shadow_event.c_str());
  }
  std::printf("{\"auditEvent\":%s}\n", report->audit_event.c_str());
  if (!report->permit) {
    return fail("grant", {ErrorCode::kPolicyDenied, "not granted: " + report->reason, ""}, 1);
  }
  if (report->capped) {
    std::fprintf(
        stderr, "ledger grant: expiry capped at %s by the policy (max days)\n",
        gateway::audit::rfc3339_utc(static_cast<std::int64_t>(report->expires_at)).c_str());
  }
  return print_transaction("grant", *report->transaction);
}

// The operator takes a grant away; the revocation is audited after its transaction.
int revoke(const std::vector<std::string>& argv) {
  auto args = Args::parse(argv, {"config", "patient", "to", "purpose", "source"}, {});
  if (!args) return fail("revoke", args.error(), 2);
  auto s = open_session(*args);
  if (!s) return fail("revoke", s.error(), 2);
  auto g = grant_args(*s, *args);
  if (!g) return fail("revoke", g.error(), 2);
  auto audit = build_audit_log(s->config);
  if (!audit) return fail("revoke", audit.error(), 2);
  const auto access = evm::make_access_ledger(*s->registry, s->config.ledger.confirmations);
  // Taking access away asks no policy, so it needs no directory (nor Redis up).
  gateway::GrantService service(
      {.access = *access, .directory = nullptr, .audit = **audit, .clock = ports::real_clock()},
      {.gateway = s->config.service_name});

  auto report = service.revoke({.patient_key = g->patient_key,
                                .grantee = g->grantee,
                                .purpose = g->purpose,
                                .operator_name = operator_name()});
  if (!report) return fail("revoke", report.error(), 1);
  return print_transaction("revoke", *report);
}

// participants: lists; `participants set 0xADDR --jurisdiction DE [--inactive]` registers.
int participants(const std::vector<std::string>& argv) {
  auto args = Args::parse(argv, {"config", "jurisdiction"}, {"inactive"});
  if (!args) return fail("participants", args.error(), 2);
  auto s = open_session(*args);
  if (!s) return fail("participants", s.error(), 2);
  const auto& words = args->positional();
  if (!words.empty()) {
    if (words.size() != 2 || words[0] != "set") {
      return fail("participants",
                  {ErrorCode::kInvalidInput,
                   "usage: participants [set 0xADDRESS --jurisdiction CODE [--inactive]]", ""},
                  2);
    }
    auto address = ledger::parse_address(words[1]);
    if (!address) return fail("participants", address.error(), 2);
    auto done = confirm(*s, s->registry->set_participant(*address, args->get("jurisdiction"),
                                                         !args->has("inactive")));
    return done ? 0 : fail("participants", done.error(), 1);
  }
  auto list = s->registry->participants();
  if (!list) return fail("participants", list.error(), 1);
  std::string out;
  for (const auto& p : *list) {
    out += std::string(out.empty() ? "" : ",") +
           "{\"address\":" + quoted(ledger::to_checksum_hex(p.address)) +
           ",\"jurisdiction\":" + quoted(p.jurisdiction) +
           ",\"active\":" + (p.active ? "true" : "false") + "}";
  }
  std::printf("{\"participants\":[%s]}\n", out.c_str());
  return 0;
}

// writer 0xADDRESS [--remove]: the admin adds (or removes) a gateway account as a writer.
int writer(const std::vector<std::string>& argv) {
  auto args = Args::parse(argv, {"config"}, {"remove"});
  if (!args) return fail("writer", args.error(), 2);
  if (args->positional().size() != 1) {
    return fail("writer", {ErrorCode::kInvalidInput, "usage: writer 0xADDRESS [--remove]", ""}, 2);
  }
  auto s = open_session(*args);
  if (!s) return fail("writer", s.error(), 2);
  auto address = ledger::parse_address(args->positional().front());
  if (!address) return fail("writer", address.error(), 2);
  auto done = confirm(*s, s->registry->set_writer(*address, !args->has("remove")));
  return done ? 0 : fail("writer", done.error(), 1);
}

}  // namespace

int ledger_command(const std::vector<std::string>& argv) {
  if (argv.empty()) {
    std::fprintf(stderr,
                 "ledger: expected a subcommand: deploy, status, pointer, verify, grant, revoke, "
                 "participants, writer\n");
    return 2;
  }
  const std::string sub = argv.front();
  const std::vector<std::string> rest(argv.begin() + 1, argv.end());
  if (sub == "deploy") return ledger_deploy(rest);
  if (sub == "status") return status(rest);
  if (sub == "pointer") return pointer(rest);
  if (sub == "verify") return verify(rest);
  if (sub == "grant") return grant(rest);
  if (sub == "revoke") return revoke(rest);
  if (sub == "participants") return participants(rest);
  if (sub == "writer") return writer(rest);
  std::fprintf(stderr, "ledger: unknown subcommand '%s'\n", sub.c_str());
  return 2;
}

}  // namespace fl::cli
