#include "fl/gateway/audit_event.h"

#include "fl/base/json_string.h"

#include "policy/join.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <ctime>

namespace fl::gateway::audit {
namespace {

constexpr const char* kDicom = "http://dicom.nema.org/resources/ontology/DCM";
constexpr const char* kEventType = "http://terminology.hl7.org/CodeSystem/audit-event-type";
constexpr const char* kInteraction = "http://hl7.org/fhir/restful-interaction";
constexpr const char* kKind = "urn:fhir-ledger:audit-kind";
constexpr const char* kEntityType = "http://terminology.hl7.org/CodeSystem/audit-entity-type";
constexpr const char* kObjectRole = "http://terminology.hl7.org/CodeSystem/object-role";
constexpr const char* kPurpose = "http://terminology.hl7.org/CodeSystem/v3-ActReason";
constexpr const char* kSourceType = "http://terminology.hl7.org/CodeSystem/security-source-type";
constexpr const char* kPatientKeySystem = "urn:fhir-ledger:patient-key";
constexpr const char* kResourceKeySystem = "urn:fhir-ledger:resource-key";
constexpr const char* kDeadLetterSystem = "urn:fhir-ledger:dead-letter";
constexpr const char* kAddressSystem = "urn:fhir-ledger:ledger-address";
constexpr const char* kCountrySystem = "urn:iso:std:iso:3166";

struct Code {
  const char* system;
  const char* code;
  const char* display;
};

// The event's identity: type, subtypes (the kind last), action.
struct Kind {
  Code type;
  Code subtype;
  const char* kind;
  const char* action;  // C R U D E
  // entity[0]'s identifier system when it is neither a patient nor a resource; null for those.
  const char* subject_system = nullptr;
};

// AuditEvent.outcome: success, minor failure (a refused request, an unconfirmed change),
// serious failure.
constexpr const char* kSucceeded = "0";
constexpr const char* kRefused = "4";
constexpr const char* kFailed = "8";

const char* decided(bool permitted) { return permitted ? kSucceeded : kRefused; }

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

// Every string of an event goes through here. Some come from outside (the fhir-source header
// as the agent's display, the country, a ledger node's error text) and RapidJSON's writer copies
// bytes as they are, so ill-formed UTF-8 is written as U+FFFD: the event stays valid JSON text
// for a strict consumer. Valid text, all of it in practice, is written without a copy.
void string(Writer& w, const char* name, const std::string& value) {
  w.Key(name);
  if (is_valid_utf8(value)) {
    w.String(value.c_str(), static_cast<rapidjson::SizeType>(value.size()));
  } else {
    const std::string valid = valid_utf8(value);
    w.String(valid.c_str(), static_cast<rapidjson::SizeType>(valid.size()));
  }
}

void coding(Writer& w, const Code& c) {
  w.StartObject();
  string(w, "system", c.system);
  string(w, "code", c.code);
  if (c.display != nullptr) string(w, "display", c.display);
  w.EndObject();
}

void detail(Writer& w, const std::string& type, const std::string& value) {
  w.StartObject();
  string(w, "type", std::string(type));
  // FHIR forbids empty strings: an empty list is written as "none".
  string(w, "valueString", value.empty() ? "none" : value);
  w.EndObject();
}

void policy_details(Writer& w, const PolicyFacts& p, const std::string& prefix) {
  detail(w, prefix + "policy-hash", to_0x_hex(p.policy_hash));
  detail(w, prefix + "rule-ids", policy::join(p.rule_ids));
  detail(w, prefix + "effect", std::string(policy::effect_name(p.effect)));
  detail(w, prefix + "obligations", p.obligations);
}

void agent(Writer& w, const Agent& a) {
  w.StartObject();
  w.Key("who");
  w.StartObject();
  if (!a.address.empty()) {
    w.Key("identifier");
    w.StartObject();
    string(w, "system", kAddressSystem);
    string(w, "value", a.address);
    w.EndObject();
  }
  string(w, "display",
         a.display.empty() ? (a.address.empty() ? "operator" : a.address) : a.display);
  w.EndObject();
  w.Key("requestor");
  w.Bool(a.requestor);
  if (!a.jurisdiction.empty()) {
    // Where the participant is: its registered country, which the policy decided on.
    w.Key("location");
    w.StartObject();
    w.Key("identifier");
    w.StartObject();
    string(w, "system", kCountrySystem);
    string(w, "value", a.jurisdiction);
    w.EndObject();
    string(w, "display", a.jurisdiction);
    w.EndObject();
  }
  w.EndObject();
}

// Writes everything up to and including entity[0]'s details; `more` adds entries to that list,
// `after` adds entities after it.
template <typename More, typename After>
std::string event(const Kind& kind, const Common& c, const char* outcome_code,
                  const std::string& outcome, More&& more, After&& after) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  string(w, "resourceType", "AuditEvent");
  if (!c.id.empty()) string(w, "id", c.id);
  w.Key("type");
  coding(w, kind.type);
  w.Key("subtype");
  w.StartArray();
  if (kind.subtype.system != nullptr) coding(w, kind.subtype);
  coding(w, Code{kKind, kind.kind, nullptr});
  w.EndArray();
  string(w, "action", kind.action);
  string(w, "recorded", c.recorded);
  string(w, "outcome", outcome_code);
  if (!outcome.empty()) string(w, "outcomeDesc", outcome);
  if (!c.purpose.empty()) {
    w.Key("purposeOfEvent");
    w.StartArray();
    w.StartObject();
    w.Key("coding");
    w.StartArray();
    coding(w, Code{kPurpose, c.purpose.c_str(), nullptr});
    w.EndArray();
    w.EndObject();
    w.EndArray();
  }
  w.Key("agent");
  w.StartArray();
  for (const auto& a : c.agents) agent(w, a);
  w.EndArray();
  w.Key("source");
  w.StartObject();
  string(w, "site", c.gateway.empty() ? "fhir-ledger" : c.gateway);
  w.Key("observer");
  w.StartObject();
  string(w, "display", "fhir-ledger gateway");
  w.EndObject();
  w.Key("type");
  w.StartArray();
  coding(w, Code{kSourceType, "4", "Application Server"});
  w.EndArray();
  w.EndObject();
  w.Key("entity");
  w.StartArray();
  w.StartObject();
  // The patient by pseudonym; an event about a resource whose patient is not known (a shadow
  // difference at ingest) names the resource by pseudonym instead.
  const bool patient = !c.patient_key.empty();
  w.Key("what");
  w.StartObject();
  w.Key("identifier");
  w.StartObject();
  string(w, "system",
         patient ? kPatientKeySystem
                 : (kind.subject_system ? kind.subject_system : kResourceKeySystem));
  string(w, "value", patient ? c.patient_key : c.resource_key);
  w.EndObject();
  w.EndObject();
  w.Key("type");
  coding(w, patient ? Code{kEntityType, "1", "Person"} : Code{kEntityType, "2", "System Object"});
  if (patient) {
    w.Key("role");
    coding(w, Code{kObjectRole, "1", "Patient"});
  }
  w.Key("detail");
  w.StartArray();
  more(w);
  for (const auto& [type, value] : c.details) detail(w, type, value);
  w.EndArray();
  w.EndObject();
  after(w);
  w.EndArray();
  w.EndObject();
  return buffer.GetString();
}

// The transaction's hash and block, or why it failed.
std::string transaction_event(const Kind& kind, const Common& common, const Transaction& tx,
                              const std::string& what) {
  const char* code = kFailed;
  std::string outcome;
  switch (tx.state) {
    case Transaction::State::kMined:
      code = kSucceeded;
      outcome = what + " carried out by ledger transaction " + tx.hash;
      break;
    case Transaction::State::kFailed:
      outcome = what + " not carried out: its ledger transaction failed (" + tx.error + ")";
      break;
    case Transaction::State::kUnconfirmed:
      // Neither done nor failed: the auditor must look the transaction up.
      code = kRefused;
      outcome = what + " sent as ledger transaction " + tx.hash +
                ", not confirmed in time: its outcome is unknown (" + tx.error + ")";
      break;
  }
  return event(
      kind, common, code, outcome,
      [&](Writer& w) {
        if (!tx.hash.empty()) detail(w, "transaction", tx.hash);
        if (tx.state == Transaction::State::kMined) {
          detail(w, "block", std::to_string(tx.block));
        } else {
          detail(w, "failure", tx.error);
        }
      },
      [](Writer&) {});
}

std::string words(const char* what, bool permitted, const std::optional<PolicyFacts>& policy) {
  std::string out = std::string(what) + (permitted ? " permitted" : " denied");
  // No bundle configured, or an operator's own read, which no policy governs.
  if (!policy) return out + " (no policy decision)";
  out += policy->rule_ids.empty() ? " by the default effect"
                                  : " by rules " + policy::join(policy->rule_ids);
  return out + " of policy " + to_0x_hex(policy->policy_hash);
}

}  // namespace

std::string describe_obligations(const policy::Obligations& o) {
  std::vector<std::string> parts;
  if (!o.redact_text.empty()) parts.push_back("redact: " + policy::join(o.redact_text));
  if (o.pseudonymize_identifiers) parts.emplace_back("pseudonymize identifiers");
  if (!o.require_purpose.empty()) {
    parts.push_back("require purpose: " + policy::join(o.require_purpose));
  }
  if (o.max_days) parts.push_back("max days: " + std::to_string(*o.max_days));
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "; ") + p;
  return out.empty() ? "none" : out;
}

PolicyFacts facts_of(const policy::PolicyDecision& decision) {
  return PolicyFacts{.policy_hash = decision.policy_hash,
                     .effect = decision.effect,
                     .rule_ids = decision.rule_ids,
                     .obligations = decision.effect == policy::Effect::kPermit
                                        ? describe_obligations(decision.obligations)
                                        : "none"};
}

std::string grant_event(const Common& common, bool permitted,
                        const std::optional<PolicyFacts>& policy) {
  // A grant changes who may see the patient's data: DICOM's security alert for changed user
  // security attributes.
  const Kind kind{.type = {kDicom, "110113", "Security Alert"},
                  .subtype = {kDicom, "110137", "User Security Attributes Changed"},
                  .kind = "grant",
                  .action = "C"};
  return event(
      kind, common, decided(permitted), words("grant", permitted, policy),
      [&](Writer& w) {
        if (policy) policy_details(w, *policy, "");
      },
      [](Writer&) {});
}

std::string grant_transaction_event(const Common& common, const Transaction& tx) {
  const Kind kind{.type = {kDicom, "110113", "Security Alert"},
                  .subtype = {kDicom, "110137", "User Security Attributes Changed"},
                  .kind = "grant-transaction",
                  .action = "C"};
  return transaction_event(kind, common, tx, "grant");
}

std::string revocation_event(const Common& common, const Transaction& tx) {
  const Kind kind{.type = {kDicom, "110113", "Security Alert"},
                  .subtype = {kDicom, "110137", "User Security Attributes Changed"},
                  .kind = "revocation",
                  .action = "D"};
  return transaction_event(kind, common, tx, "revocation");
}

namespace {

// The entity that names a resource by pseudonym and type.
void resource_entity(Writer& w, const std::string& resource_key, std::string_view type) {
  w.StartObject();
  w.Key("what");
  w.StartObject();
  w.Key("identifier");
  w.StartObject();
  string(w, "system", kResourceKeySystem);
  string(w, "value", resource_key);
  w.EndObject();
  string(w, "type", std::string(type));
  w.EndObject();
  w.Key("type");
  coding(w, Code{kEntityType, "2", "System Object"});
  w.EndObject();
}

// An event about one resource: entity[1] names it by pseudonym and type.
std::string resource_event(const Kind& kind, const Common& common, const std::string& resource_key,
                           const std::string& resource_type, bool permitted,
                           const std::optional<PolicyFacts>& policy) {
  return event(
      kind, common, decided(permitted), words(kind.kind, permitted, policy),
      [&](Writer& w) {
        if (policy) policy_details(w, *policy, "");
      },
      [&](Writer& w) { resource_entity(w, resource_key, resource_type); });
}

}  // namespace

std::string read_event(const Common& common, const std::string& resource_key,
                       const std::string& resource_type, bool permitted,
                       const std::optional<PolicyFacts>& policy) {
  const Kind kind{.type = {kEventType, "rest", "RESTful Operation"},
                  .subtype = {kInteraction, "read", "read"},
                  .kind = "read",
                  .action = "R"};
  return resource_event(kind, common, resource_key, resource_type, permitted, policy);
}

std::string ingest_denial_event(const Common& common, const std::string& resource_key,
                                const std::string& resource_type, bool deleted,
                                const PolicyFacts& policy) {
  const Kind kind{.type = {kEventType, "rest", "RESTful Operation"},
                  .subtype = deleted ? Code{kInteraction, "delete", "delete"}
                                     : Code{kInteraction, "create", "create"},
                  .kind = "ingest",
                  .action = deleted ? "D" : "C"};
  return resource_event(kind, common, resource_key, resource_type, false, policy);
}

std::string consent_failure_event(const Common& common, const std::string& resource_key,
                                  bool deleted, const std::string& reason) {
  // What the Consent would have changed: who may see the patient's data.
  const Kind kind{.type = {kDicom, "110113", "Security Alert"},
                  .subtype = {kDicom, "110137", "User Security Attributes Changed"},
                  .kind = "consent-failure",
                  .action = deleted ? "D" : "U"};
  return event(
      kind, common, kFailed,
      std::string(deleted ? "the deletion of a Consent" : "a Consent") +
          " was anchored but not applied to the ledger's grants: " + reason,
      [&](Writer& w) { detail(w, "failure", reason); },
      [&](Writer& w) { resource_entity(w, resource_key, "Consent"); });
}

std::string erasure_event(const Common& common, const std::string& reason) {
  const Kind kind{.type = {kDicom, "110110", "Patient Record"},
                  .subtype = {kInteraction, "delete", "delete"},
                  .kind = "erasure",
                  .action = "D"};
  return event(
      kind, common, kSucceeded, reason.empty() ? "GDPR Art. 17 erasure" : reason, [](Writer&) {},
      [](Writer&) {});
}

std::string dead_letter_read_event(const Common& given, const std::string& place,
                                   const std::string& original_sha256) {
  Common common = given;
  common.patient_key.clear();
  common.resource_key = place;
  const Kind kind{.type = {kEventType, "rest", "RESTful Operation"},
                  .subtype = {kInteraction, "read", "read"},
                  .kind = "dead-letter-read",
                  .action = "R",
                  .subject_system = kDeadLetterSystem};
  return event(
      kind, common, kSucceeded, "dead letter " + place + " opened: its original event was shown",
      [&](Writer& w) { detail(w, "original-sha256", original_sha256); }, [](Writer&) {});
}

std::string shadow_difference_event(const Common& given, const std::string& stage,
                                    const std::string& resource_key,
                                    const std::string& resource_type, const PolicyFacts& active,
                                    const PolicyFacts& candidate) {
  Common common = given;
  common.resource_key = resource_key;
  const Kind kind{.type = {kDicom, "110100", "Application Activity"},
                  .subtype = {nullptr, nullptr, nullptr},
                  .kind = "policy-shadow-difference",
                  .action = "E"};
  const std::string outcome = "the candidate policy " + to_0x_hex(candidate.policy_hash) +
                              " would " + std::string(policy::effect_name(candidate.effect)) +
                              " at " + stage + " where the active policy " +
                              to_0x_hex(active.policy_hash) + " decided " +
                              std::string(policy::effect_name(active.effect));
  return event(
      kind, common, kSucceeded, outcome,
      [&](Writer& w) {
        detail(w, "stage", stage);
        detail(w, "resource-key", resource_key);
        detail(w, "resource-type", resource_type);
        policy_details(w, active, "");
        policy_details(w, candidate, "candidate-");
      },
      [](Writer&) {});
}

std::string rfc3339_utc(std::int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

}  // namespace fl::gateway::audit
