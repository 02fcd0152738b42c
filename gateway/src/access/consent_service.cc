#include "fl/gateway/consent_service.h"

#include "fl/base/json_string.h"
#include "fl/gateway/access.h"
#include "fl/gateway/crypto/hash.h"
#include "fl/gateway/pseudonyms.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <array>
#include <map>
#include <optional>
#include <tuple>
#include <utility>

namespace fl::gateway {
namespace {

// A dry run decides as the real run would and records nothing.
class DiscardedAudit final : public ports::AuditLog {
 public:
  Status record(std::span<const ports::AuditRecord>) override { return Ok{}; }
  Status flush(std::chrono::milliseconds) override { return Ok{}; }
};

struct Held {
  ports::Address grantee{};
  std::string purpose;
  std::uint64_t expires_at = 0;
};

struct Record {
  std::string version;
  std::string status;
  std::string patient_key;  // 0x pseudonym
  std::vector<Held> grants;
};

std::string json_string(std::string_view text) {
  std::string out;
  append_json_string(out, text);
  return out;
}

std::string hex_address(const ports::Address& a) { return to_0x_hex(a); }

std::optional<ports::Address> parse_address(std::string_view text) {
  if (text.size() != 42 || !text.starts_with("0x")) return std::nullopt;
  auto bytes = parse_hex(text.substr(2));
  if (!bytes || bytes->size() != 20) return std::nullopt;
  ports::Address a{};
  std::copy(bytes->begin(), bytes->end(), a.begin());
  return a;
}

std::string record_json(const std::string& version, const std::string& status,
                        const std::string& patient_key, const std::vector<Held>& grants) {
  std::string out = "{\"version\":" + json_string(version) + ",\"status\":" + json_string(status) +
                    ",\"patientKey\":" + json_string(patient_key) + ",\"grants\":[";
  for (std::size_t i = 0; i < grants.size(); ++i) {
    out += (i ? "," : "") + std::string("{\"grantee\":") +
           json_string(hex_address(grants[i].grantee)) +
           ",\"purpose\":" + json_string(grants[i].purpose) +
           ",\"expiresAt\":" + std::to_string(grants[i].expires_at) + "}";
  }
  return out + "]}";
}

Result<Record> parse_record(const std::string& json) {
  rapidjson::Document d;
  d.Parse(json.c_str(), json.size());
  const auto broken = Error{ErrorCode::kIntegrity, "a stored Consent record is not readable", ""};
  if (d.HasParseError() || !d.IsObject() || !d.HasMember("version") || !d["version"].IsString() ||
      !d.HasMember("grants") || !d["grants"].IsArray()) {
    return broken;
  }
  Record r;
  r.version = d["version"].GetString();
  if (d.HasMember("status") && d["status"].IsString()) r.status = d["status"].GetString();
  if (d.HasMember("patientKey") && d["patientKey"].IsString()) {
    r.patient_key = d["patientKey"].GetString();
  }
  for (const auto& g : d["grants"].GetArray()) {
    if (!g.IsObject() || !g.HasMember("grantee") || !g["grantee"].IsString() ||
        !g.HasMember("purpose") || !g["purpose"].IsString() || !g.HasMember("expiresAt") ||
        !g["expiresAt"].IsUint64()) {
      return broken;
    }
    auto grantee = parse_address(g["grantee"].GetString());
    if (!grantee) return broken;
    r.grants.push_back({*grantee, g["purpose"].GetString(), g["expiresAt"].GetUint64()});
  }
  return r;
}

std::string version_of(const rapidjson::Value& consent, const std::string& text) {
  if (consent.HasMember("meta") && consent["meta"].IsObject() &&
      consent["meta"].HasMember("versionId") && consent["meta"]["versionId"].IsString()) {
    return consent["meta"]["versionId"].GetString();
  }
  const Bytes digest = crypto::sha256(as_bytes(text));
  return "sha256:" + to_hex(digest);
}

std::optional<ports::Hash32> parse_hash(std::string_view text) {
  if (text.size() != 66 || !text.starts_with("0x")) return std::nullopt;
  auto bytes = parse_hex(text.substr(2));
  if (!bytes || bytes->size() != 32) return std::nullopt;
  ports::Hash32 h{};
  std::copy(bytes->begin(), bytes->end(), h.begin());
  return h;
}

// Takes back one grant the Consent held: its transaction, then its AuditEvent (as the CLI's
// revoke does). A dry run only says so.
Result<ConsentChange> revoke_held(const ConsentServicePorts& ports, const std::string& gateway,
                                  const std::string& operator_name, std::int64_t now,
                                  const ports::Hash32& patient, const Held& h, bool dry_run) {
  // A participant no longer registered still loses its grants; it is named by its address.
  auto state = ports.access.participant(h.grantee);
  ConsentChange change{.kind = "revoked",
                       .participant = state ? state->address : hex_address(h.grantee),
                       .purpose = h.purpose,
                       .expires_at = h.expires_at};
  if (dry_run) return change;
  const AccessContext context{.now = now,
                              .gateway = gateway,
                              .operator_name = operator_name,
                              .participant = state ? state->address : hex_address(h.grantee),
                              .jurisdiction = state && state->active ? state->jurisdiction : "",
                              .purpose = h.purpose,
                              .consent = false};
  auto tx = ports.access.send_revoke(patient, h.grantee, h.purpose);
  const Result<std::uint64_t> block =
      tx ? ports.access.wait_mined(*tx) : Result<std::uint64_t>(tx.error());
  const auto outcome = transaction_outcome(tx ? to_0x_hex(*tx) : std::string(), block);
  auto recorded = record_revocation(ports.audit, context, patient, outcome, ports.clock);
  if (!block) return block.error();
  if (!recorded) return recorded.error();
  change.tx = outcome.hash;
  change.block = *block;
  change.audit_event = *recorded;
  return change;
}

}  // namespace

ConsentService::ConsentService(const ConsentServicePorts& ports, ConsentServiceSettings settings)
    : ports_(ports), settings_(std::move(settings)) {}

Result<ConsentReport> ConsentService::apply(const ConsentQuery& query) {
  rapidjson::Document consent;
  // Iterative: a body of nested brackets from the API must not exhaust the thread's stack.
  consent.Parse<rapidjson::kParseIterativeFlag>(query.json.c_str(), query.json.size());
  if (consent.HasParseError()) {
    return Error{ErrorCode::kInvalidInput, "the Consent is not JSON", ""};
  }
  const std::int64_t now = ports::unix_seconds(ports_.clock.wall());
  auto compiled = compile_consent(consent, settings_.consent, now);
  if (!compiled) return compiled.error();

  ConsentReport report;
  report.consent_id = compiled->id;
  report.status = compiled->status;
  report.version = version_of(consent, query.json);
  report.dry_run = query.dry_run;

  Pseudonyms pseudonyms(ports_.keys);
  auto patient = pseudonyms.patient_key(query.source, compiled->patient);
  if (!patient) return patient.error();
  if (!settings_.linking_identifier_system.empty()) {
    auto person = ports_.directory.linked_persons(std::span(&*patient, 1));
    if (!person) return person.error();
    if (person->front()) *patient = *person->front();
  }
  report.patient_key = to_0x_hex(*patient);
  auto consent_key = pseudonyms.resource_key(query.source, "Consent/" + compiled->id);
  if (!consent_key) return consent_key.error();
  auto stored = ports_.records.consent_record(*consent_key);
  if (!stored) return stored.error();
  Record previous;
  if (*stored) {
    auto parsed = parse_record(**stored);
    if (!parsed) return parsed.error();
    previous = std::move(*parsed);
  }
  if (*stored && previous.version == report.version) {
    report.unchanged = true;
    for (const auto& h : previous.grants) {
      report.changes.push_back({.kind = "kept",
                                .participant = hex_address(h.grantee),
                                .purpose = h.purpose,
                                .expires_at = h.expires_at});
    }
    return report;
  }

  DiscardedAudit discarded;
  ports::AuditLog& audit = query.dry_run ? discarded : ports_.audit;
  for (const auto& r : compiled->refused) {
    auto to = settings_.consent.actors.find(r.actor);
    report.changes.push_back(
        {.kind = "refused",
         .participant = to == settings_.consent.actors.end() ? "" : hex_address(to->second),
         .actor = r.actor,
         .purpose = r.purpose,
         .reason = r.reason});
  }
  std::vector<Held> granted;  // what the ledger holds for this Consent afterwards
  for (const auto& g : compiled->grants) {
    auto state = ports_.access.participant(g.grantee);
    if (!state) return state.error();
    GrantRequest request;
    request.context = AccessContext{.now = now,
                                    .gateway = settings_.gateway,
                                    .operator_name = query.operator_name,
                                    .participant = state->address,
                                    .jurisdiction = state->active ? state->jurisdiction : "",
                                    .purpose = g.purpose,
                                    .consent = true};
    request.patient_key = *patient;
    request.expires_at = g.expires_at;
    auto verdict =
        decide_grant(settings_.engine, ports_.directory, audit, request, settings_.shadow);
    if (!verdict) return verdict.error();
    ConsentChange change{.participant = state->address,
                         .actor = g.actor,
                         .purpose = g.purpose,
                         .expires_at = verdict->expires_at,
                         .audit_event = query.dry_run ? "" : verdict->audit_event};
    if (!verdict->permit) {
      change.kind = "refused";
      change.reason = verdict->reason;
      report.changes.push_back(std::move(change));
      continue;
    }
    const auto before = std::find_if(
        previous.grants.begin(), previous.grants.end(),
        [&](const Held& h) { return h.grantee == g.grantee && h.purpose == g.purpose; });
    change.kind = before == previous.grants.end()           ? "added"
                  : before->expires_at != change.expires_at ? "changed"
                                                            : "kept";
    if (!query.dry_run && change.kind != "kept") {
      auto tx = ports_.access.send_grant(*patient, g.grantee, g.purpose, change.expires_at);
      const Result<std::uint64_t> block =
          tx ? ports_.access.wait_mined(*tx) : Result<std::uint64_t>(tx.error());
      const auto outcome = transaction_outcome(tx ? to_0x_hex(*tx) : std::string(), block);
      if (auto recorded = record_grant_transaction(ports_.audit, request, change.expires_at,
                                                   outcome, ports_.clock);
          !recorded) {
        return recorded.error();
      }
      if (!block) return block.error();
      change.tx = outcome.hash;
      change.block = *block;
    }
    granted.push_back({g.grantee, g.purpose, change.expires_at});
    report.changes.push_back(std::move(change));
  }
  for (const auto& h : previous.grants) {
    const bool still = std::any_of(granted.begin(), granted.end(), [&](const Held& g) {
      return g.grantee == h.grantee && g.purpose == h.purpose;
    });
    if (still) continue;
    auto change = revoke_held(ports_, settings_.gateway, query.operator_name, now, *patient, h,
                              query.dry_run);
    if (!change) return change.error();
    report.changes.push_back(std::move(*change));
  }
  if (!query.dry_run) {
    // The read path's index first: a record written without it would make a re-delivery a
    // no-op that never writes it.
    std::vector<ports::ConsentedGrant> consented;
    for (const auto& g : granted) consented.push_back({g.grantee, g.purpose, g.expires_at});
    if (auto put = ports_.records.put_consented_grants(*patient, *consent_key, consented); !put) {
      return put.error();
    }
    if (auto put = ports_.records.put_consent_record(
            *consent_key, record_json(report.version, report.status, report.patient_key, granted));
        !put) {
      return put.error();
    }
  }
  return report;
}

Result<ConsentReport> ConsentService::withdraw(const ConsentWithdrawal& query) {
  ConsentReport report;
  report.consent_id = query.reference.starts_with("Consent/")
                          ? query.reference.substr(std::string_view("Consent/").size())
                          : query.reference;
  report.status = "deleted";
  Pseudonyms pseudonyms(ports_.keys);
  auto consent_key = pseudonyms.resource_key(query.source, query.reference);
  if (!consent_key) return consent_key.error();
  auto stored = ports_.records.consent_record(*consent_key);
  if (!stored) return stored.error();
  if (!*stored) {
    // Never applied (refused, or published before Consents were read from Kafka): it holds
    // nothing on the ledger.
    report.unchanged = true;
    return report;
  }
  auto previous = parse_record(**stored);
  if (!previous) return previous.error();
  report.version = previous->version;
  report.patient_key = previous->patient_key;
  if (previous->status == "deleted" && previous->grants.empty()) {
    report.unchanged = true;
    return report;
  }
  const auto patient = parse_hash(previous->patient_key);
  if (!patient) {
    return Error{ErrorCode::kIntegrity, "a stored Consent record names no patient key", ""};
  }
  const std::int64_t now = ports::unix_seconds(ports_.clock.wall());
  for (const auto& h : previous->grants) {
    auto change =
        revoke_held(ports_, settings_.gateway, query.operator_name, now, *patient, h, false);
    if (!change) return change.error();
    report.changes.push_back(std::move(*change));
  }
  if (auto put = ports_.records.put_consented_grants(*patient, *consent_key, {}); !put) {
    return put.error();
  }
  // The version applied last stays: a re-delivery of it (older than the deletion) changes
  // nothing, while a later version is applied as new.
  if (auto put = ports_.records.put_consent_record(
          *consent_key, record_json(previous->version, "deleted", previous->patient_key, {}));
      !put) {
    return put.error();
  }
  return report;
}

ports::ConsentOutcome outcome_of(const ConsentReport& report) {
  ports::ConsentOutcome out;
  out.unchanged = report.unchanged;
  for (const auto& c : report.changes) {
    if (c.kind == "added") ++out.added;
    if (c.kind == "changed") ++out.changed;
    if (c.kind == "kept") ++out.kept;
    if (c.kind == "revoked") ++out.revoked;
    if (c.kind == "refused") ++out.refused;
  }
  return out;
}

Result<ports::ConsentOutcome> ConsentServiceSink::apply(const ports::ConsentDelivery& delivery) {
  auto report = delivery.deleted ? service_.withdraw({.source = delivery.source,
                                                      .reference = delivery.reference,
                                                      .operator_name = delivery.submitter})
                                 : service_.apply({.source = delivery.source,
                                                   .json = delivery.json,
                                                   .dry_run = false,
                                                   .operator_name = delivery.submitter});
  if (!report) return report.error();
  return outcome_of(*report);
}

std::string to_json(const ConsentReport& report) {
  std::string out = "{\"consent\":" + json_string("Consent/" + report.consent_id) +
                    ",\"version\":" + json_string(report.version) +
                    ",\"status\":" + json_string(report.status) +
                    ",\"patientKey\":" + json_string(report.patient_key) +
                    ",\"dryRun\":" + (report.dry_run ? "true" : "false") +
                    ",\"unchanged\":" + (report.unchanged ? "true" : "false") + ",\"changes\":[";
  for (std::size_t i = 0; i < report.changes.size(); ++i) {
    const auto& c = report.changes[i];
    out += (i ? "," : "") + std::string("{\"kind\":") + json_string(c.kind);
    if (!c.participant.empty()) out += ",\"participant\":" + json_string(c.participant);
    if (!c.actor.empty()) out += ",\"actor\":" + json_string(c.actor);
    if (!c.purpose.empty()) out += ",\"purpose\":" + json_string(c.purpose);
    if (c.expires_at != 0) out += ",\"expiresAt\":" + std::to_string(c.expires_at);
    if (!c.reason.empty()) out += ",\"reason\":" + json_string(c.reason);
    if (!c.tx.empty())
      out += ",\"tx\":" + json_string(c.tx) + ",\"block\":" + std::to_string(c.block);
    if (!c.audit_event.empty()) out += ",\"auditEvent\":" + c.audit_event;
    out += "}";
  }
  return out + "]}";
}

}  // namespace fl::gateway
