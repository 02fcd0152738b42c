#include "fl/gateway/access.h"

#include "fl/base/log.h"

#include "policy/join.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <array>
#include <chrono>
#include <ctime>

namespace fl::gateway {
namespace {

using namespace std::chrono_literals;

constexpr auto kAuditFlushTimeout = 10s;

// The patient's country as recorded at ingest; "" when none was recorded (or no patient).
Result<std::string> recorded_country(ports::PatientDirectory& directory,
                                     const ports::Hash32& patient_key) {
  if (patient_key == ports::Hash32{}) return std::string();
  const std::array<ports::Hash32, 1> keys{patient_key};
  auto found = directory.recorded_countries(keys);
  if (!found) return found.error();
  if (found->empty() || !found->front()) return std::string();
  return found->front()->country;
}

audit::Common common_of(const AccessContext& c, const ports::Hash32& patient_key,
                        bool operator_reads) {
  audit::Common out;
  out.recorded = audit::rfc3339_utc(c.now);
  out.gateway = c.gateway;
  if (patient_key != ports::Hash32{}) out.patient_key = to_0x_hex(patient_key);
  out.purpose = c.purpose;
  out.agents.push_back(
      audit::Agent{.address = "",
                   .jurisdiction = "",
                   .display = c.operator_name.empty() ? "operator" : c.operator_name,
                   .requestor = true});
  if (!operator_reads) {
    out.agents.push_back(audit::Agent{.address = c.participant,
                                      .jurisdiction = c.jurisdiction,
                                      .display = "",
                                      .requestor = false});
  }
  return out;
}

Status record(ports::AuditLog& audit, const ports::Hash32& key, const std::string& event) {
  const std::array<ports::AuditRecord, 1> records{
      ports::AuditRecord{.key = to_0x_hex(key), .json = event}};
  if (auto s = audit.record(records); !s) return s;
  return audit.flush(kAuditFlushTimeout);
}

std::string denial(const policy::PolicyDecision& d) {
  return "denied by " +
         (d.rule_ids.empty() ? std::string("the default effect")
                             : "rules " + policy::join(d.rule_ids)) +
         " of policy " + to_0x_hex(d.policy_hash);
}

// The bundle's effect, then the obligation that the stated purpose be one it requires: a permit
// whose purpose requirement fails is a refusal.
audit::PolicyFacts judge(const policy::PolicyDecision& d, const std::string& purpose,
                         AccessVerdict& out) {
  out.permit = d.effect == policy::Effect::kPermit;
  if (!out.permit) {
    out.reason = denial(d);
  } else if (auto s = policy::check_purpose(d.obligations, purpose); !s) {
    out.permit = false;
    out.reason = s.error().message;
  }
  return audit::facts_of(d);
}

policy::PolicyRequest ask(policy::Stage stage, const AccessContext& c, std::string source) {
  policy::PolicyRequest r;
  r.stage = stage;
  r.source_country = std::move(source);
  r.destination_country = c.jurisdiction;
  r.purpose = c.purpose;
  r.consent = c.consent;
  return r;
}

// Shadow mode: the candidate bundle's answer to the same question (the jurisdiction resolved
// by its own order of sources). Answers the AuditEvent of its difference from the active
// bundle's in effect, rules or obligations, or "" when it agrees.
std::string shadow_difference(const policy::PolicyEngine& candidate, policy::PolicyRequest r,
                              const policy::JurisdictionFacts& known,
                              const policy::PolicyDecision& active, const audit::Common& common,
                              const std::string& resource_key) {
  r.source_country = policy::resolve_jurisdiction(candidate.bundle(), known);
  const policy::PolicyDecision would = candidate.evaluate(r);
  const audit::PolicyFacts active_facts = audit::facts_of(active);
  const audit::PolicyFacts candidate_facts = audit::facts_of(would);
  if (would.effect == active.effect && would.rule_ids == active.rule_ids &&
      candidate_facts.obligations == active_facts.obligations) {
    return "";
  }
  return audit::shadow_difference_event(
      common, std::string(policy::stage_name(r.stage)), resource_key,
      r.resource_type.empty() ? "none" : r.resource_type, active_facts, candidate_facts);
}

// Recorded after the decision it shadows, so the trail never holds a shadow of a decision that
// was not made. Shadow mode never changes what is enforced: a record that cannot be written is
// logged, and the event dropped from the answer.
void record_shadow(ports::AuditLog& audit, const ports::Hash32& key, std::string& event) {
  if (event.empty()) return;
  if (auto s = record(audit, key, event); !s) {
    log::warn("policy.shadow_audit_failed", {{"error", s.error().message}});
    event.clear();
  }
}

}  // namespace

Result<AccessVerdict> decide_grant(const policy::PolicyEngine* engine,
                                   ports::PatientDirectory& directory, ports::AuditLog& audit,
                                   const GrantRequest& request,
                                   const policy::PolicyEngine* candidate) {
  const AccessContext& c = request.context;
  AccessVerdict out;
  out.permit = true;
  out.expires_at = request.expires_at;
  audit::Common common = common_of(c, request.patient_key, false);
  std::optional<audit::PolicyFacts> facts;
  if (c.jurisdiction.empty()) {
    // The contract takes grants for inactive participants too; a participant with no active
    // registration has no jurisdiction for the policy to judge, so no grant is made for it.
    out.permit = false;
    out.reason = "the participant is not registered, or not active, on the contract";
  } else if (engine != nullptr) {
    auto country = recorded_country(directory, request.patient_key);
    if (!country) return country.error();
    // Only the recorded country: at grant time there is no resource, header or source system.
    policy::JurisdictionFacts known;
    known.recorded_country = *country;
    const policy::PolicyRequest r =
        ask(policy::Stage::kGrant, c, policy::resolve_jurisdiction(engine->bundle(), known));
    const policy::PolicyDecision d = engine->evaluate(r);
    if (candidate != nullptr) {
      out.shadow_event = shadow_difference(*candidate, r, known, d, common, "");
    }
    facts = judge(d, c.purpose, out);
    if (out.permit && d.obligations.max_days) {
      const std::uint64_t limit =
          static_cast<std::uint64_t>(c.now) + std::uint64_t{*d.obligations.max_days} * 86400;
      if (out.expires_at > limit) {
        out.expires_at = limit;
        out.capped = true;
      }
    }
    out.decision = d;
  }
  if (!out.reason.empty()) common.details.emplace_back("refusal", out.reason);
  if (out.capped)
    common.details.emplace_back("expires-at",
                                audit::rfc3339_utc(static_cast<std::int64_t>(out.expires_at)));
  out.audit_event = audit::grant_event(common, out.permit, facts);
  if (auto s = record(audit, request.patient_key, out.audit_event); !s) return s.error();
  record_shadow(audit, request.patient_key, out.shadow_event);
  return out;
}

audit::Transaction transaction_outcome(const std::string& sent_hash,
                                       const Result<std::uint64_t>& block) {
  audit::Transaction out;
  out.hash = sent_hash;
  if (block) {
    out.state = audit::Transaction::State::kMined;
    out.block = *block;
    return out;
  }
  out.error = block.error().message;
  out.state = !sent_hash.empty() && block.error().code == ErrorCode::kUnavailable
                  ? audit::Transaction::State::kUnconfirmed
                  : audit::Transaction::State::kFailed;
  return out;
}

Result<std::string> record_grant_transaction(ports::AuditLog& audit, const GrantRequest& request,
                                             std::uint64_t expires_at, const audit::Transaction& tx,
                                             ports::Clock& clock) {
  audit::Common common = common_of(request.context, request.patient_key, false);
  common.recorded = audit::rfc3339_utc(ports::unix_seconds(clock.wall()));
  common.details.emplace_back("expires-at",
                              audit::rfc3339_utc(static_cast<std::int64_t>(expires_at)));
  std::string event = audit::grant_transaction_event(common, tx);
  if (auto s = record(audit, request.patient_key, event); !s) return s.error();
  return event;
}

Result<std::string> record_revocation(ports::AuditLog& audit, const AccessContext& context,
                                      const ports::Hash32& patient_key,
                                      const audit::Transaction& tx, ports::Clock& clock) {
  audit::Common common = common_of(context, patient_key, false);
  common.recorded = audit::rfc3339_utc(ports::unix_seconds(clock.wall()));
  std::string event = audit::revocation_event(common, tx);
  if (auto s = record(audit, patient_key, event); !s) return s.error();
  return event;
}

Result<AccessVerdict> decide_read(const policy::PolicyEngine* engine,
                                  ports::PatientDirectory& directory, ports::AuditLog& audit,
                                  const policy::IdentifierPseudonym& pseudonym,
                                  const ReadRequest& request, rapidjson::Document& resource,
                                  const policy::PolicyEngine* candidate) {
  const AccessContext& c = request.context;
  AccessVerdict out;
  audit::Common common = common_of(c, request.patient_key, request.operator_read);
  common.resource_key = to_0x_hex(request.resource_key);
  std::optional<audit::PolicyFacts> facts;
  const std::string type = resource.IsObject() && resource.HasMember("resourceType") &&
                                   resource["resourceType"].IsString()
                               ? resource["resourceType"].GetString()
                               : "";
  out.permit = true;
  if (!request.operator_read && c.jurisdiction.empty()) {
    out.permit = false;
    out.reason = "the participant is not registered, or not active, on the contract";
  } else if (!request.operator_read && !request.granted) {
    out.permit = false;
    out.reason = "no active grant on the ledger for " + c.participant + " and purpose " + c.purpose;
  }
  if (request.operator_read) common.details.emplace_back("access", "operator read: no policy");
  if (out.permit && !request.operator_read && engine != nullptr) {
    auto country = recorded_country(directory, request.patient_key);
    if (!country) return country.error();
    policy::JurisdictionFacts known;
    known.recorded_country = *country;
    if (type == "Patient")
      known.patient_address_country = policy::patient_address_country(resource);
    policy::PolicyRequest r =
        ask(policy::Stage::kRead, c, policy::resolve_jurisdiction(engine->bundle(), known));
    r.resource_type = type;
    r.resource = &resource;
    const policy::PolicyDecision d = engine->evaluate(r);
    if (candidate != nullptr) {  // before the obligations change the resource
      out.shadow_event =
          shadow_difference(*candidate, r, known, d, common, to_0x_hex(request.resource_key));
    }
    facts = judge(d, c.purpose, out);
    if (out.permit) {
      if (auto applied = policy::apply_obligations(d.obligations, resource, pseudonym); !applied) {
        // Redaction could not be carried out: nothing is released.
        out.permit = false;
        out.reason = applied.error().message;
      }
    }
    out.decision = d;
  }
  if (!out.reason.empty()) common.details.emplace_back("refusal", out.reason);
  out.audit_event = audit::read_event(common, to_0x_hex(request.resource_key),
                                      type.empty() ? "Resource" : type, out.permit, facts);
  const ports::Hash32& audit_key =
      request.patient_key == ports::Hash32{} ? request.resource_key : request.patient_key;
  if (auto s = record(audit, audit_key, out.audit_event); !s) return s.error();
  record_shadow(audit, audit_key, out.shadow_event);
  if (out.permit) {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
    resource.Accept(w);
    out.released = buffer.GetString();
  }
  return out;
}

}  // namespace fl::gateway
