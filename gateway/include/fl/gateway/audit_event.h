// FHIR R4 AuditEvents for the decisions an auditor must be able to reconstruct: a resource
// refused at ingest, a grant (may this participant be given access) and the ledger transaction
// that carried it out, a revocation, a read (may this participant read this resource now), an
// erasure, and a shadow bundle's difference from the active one. One function per kind; each
// returns the AuditEvent's JSON.
//
// What an auditor reads where:
//   type / subtype     what happened (DICOM and audit-event-type codes) and, as the last
//                      subtype, the kind ("ingest", "grant", "grant-transaction",
//                      "revocation", "read", "erasure", "policy-shadow-difference",
//                      "consent-failure", "dead-letter-read") under
//                      urn:fhir-ledger:audit-kind
//   outcome            "0" permitted (or carried out), "4" denied (a refused request, like an
//                      HTTP 4xx) or a change whose transaction is unconfirmed, "8" a permitted
//                      change whose ledger transaction failed
//   agent              who asked (the operator, or a participant by ledger address) and who
//                      would receive the data (a participant, located by its registered
//                      ISO 3166 country)
//   entity[0]          the patient, by pseudonym only (never a FHIR id, name or other PHI),
//                      or the resource by pseudonym when its patient is not known (for a
//                      dead letter opened, the letter: its place and the original's SHA-256);
//                      its detail holds the decision: "policy-hash", "rule-ids", "effect",
//                      "obligations" (and the candidate's for a shadow difference)
//   entity[1]          for a read or an ingest, the resource, by pseudonym and type
// The events never contain resource content.
#pragma once

#include "fl/gateway/policy/policy_engine.h"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace fl::gateway::audit {

// Someone taking part in the event.
struct Agent {
  std::string address;       // ledger address (0x-hex) of a participant; "" for the operator
  std::string jurisdiction;  // the participant's registered ISO 3166 country; ""
  std::string display;       // the operator's user name, or a participant's label
  bool requestor = false;    // the one who asked
};

// A policy decision as recorded: everything the auditor needs to find the rules in the bundle.
struct PolicyFacts {
  ports::Hash32 policy_hash{};
  policy::Effect effect = policy::Effect::kDeny;
  std::vector<std::string> rule_ids;
  std::string obligations;  // describe_obligations() of the decision
};

PolicyFacts facts_of(const policy::PolicyDecision& decision);

// The obligations in words: "redact: text; pseudonymize identifiers; require purpose: TREAT;
// max days: 30", or "none".
std::string describe_obligations(const policy::Obligations& obligations);

// What every kind shares.
struct Common {
  // The AuditEvent's id, when the event can be written more than once (at least once delivery)
  // and a consumer must recognise the copies; "" for none.
  std::string id;
  std::string recorded;  // FHIR instant, e.g. rfc3339_utc(now)
  std::string gateway;   // the gateway's service name (the source's site)
  std::vector<Agent> agents;
  std::string patient_key;   // 0x-hex pseudonym; "" when unknown (then entity[0] is the resource)
  std::string resource_key;  // 0x-hex pseudonym of the resource, when patient_key is ""
  std::string purpose;       // HL7 v3 PurposeOfUse code; "" when none
  // Further entity[0].detail entries (type, text): e.g. a ledger transaction.
  std::vector<std::pair<std::string, std::string>> details;
};

// Access granted (or refused) to a participant for a purpose. `policy` empty when no bundle is
// configured (then the grant is permitted by the operator alone, and the event says so).
std::string grant_event(const Common& common, bool permitted,
                        const std::optional<PolicyFacts>& policy);

// What became of the ledger transaction that carries out an access change.
struct Transaction {
  enum class State {
    kMined,
    kFailed,       // never sent, reverted, or refused: the change did not take effect
    kUnconfirmed,  // sent, but no confirmed receipt in time: it may yet take effect
  };
  State state = State::kFailed;
  std::string hash;         // 0x-hex; "" when it was never sent
  std::uint64_t block = 0;  // where it was mined; 0 when it was not
  std::string error;        // why it failed or is unconfirmed; "" when it was mined
};

// A permitted grant's transaction, recorded after it: outcome "0" when mined (hash and block in
// entity[0].detail), "8" when it failed, "4" when its outcome is unknown (sent, unconfirmed:
// check the transaction), with why. grant_event records the decision before the transaction is
// sent; the two together show whether a permitted grant took effect.
std::string grant_transaction_event(const Common& common, const Transaction& tx);

// The operator's revocation of a participant's access for a purpose, recorded after its
// transaction, with the outcomes of grant_transaction_event. No policy governs taking access
// away.
std::string revocation_event(const Common& common, const Transaction& tx);

// A participant's (or the operator's) read of one resource.
std::string read_event(const Common& common, const std::string& resource_key,
                       const std::string& resource_type, bool permitted,
                       const std::optional<PolicyFacts>& policy);

// A resource (or, `deleted`, a deletion) a source system published that the policy refused at
// ingest (outcome "4"). The dead letter tells the sender; this tells the auditor.
std::string ingest_denial_event(const Common& common, const std::string& resource_key,
                                const std::string& resource_type, bool deleted,
                                const PolicyFacts& policy);

// A Consent (or, `deleted`, its deletion) a source system published that was anchored but
// cannot be applied to the ledger's grants (outcome "8"): the patient's choice is stored and
// not enforced, and an auditor must see that. `reason` is the error, without content.
std::string consent_failure_event(const Common& common, const std::string& resource_key,
                                  bool deleted, const std::string& reason);

// GDPR Art. 17 erasure of a patient, by the operator.
std::string erasure_event(const Common& common, const std::string& reason);

// An operator opened a dead letter's original event (PHI as received) in the console: entity[0]
// is the letter, by its place ("fhir.dead-letters[2]@11") and the original's SHA-256 (the
// letter's own header), since its patient is not known without reading the event.
std::string dead_letter_read_event(const Common& common, const std::string& place,
                                   const std::string& original_sha256);

// The candidate bundle would have decided differently from the active one.
std::string shadow_difference_event(const Common& common, const std::string& stage,
                                    const std::string& resource_key,
                                    const std::string& resource_type, const PolicyFacts& active,
                                    const PolicyFacts& candidate);

// Unix seconds as a FHIR instant in UTC ("2024-05-01T12:00:00Z").
std::string rfc3339_utc(std::int64_t unix_seconds);

}  // namespace fl::gateway::audit
