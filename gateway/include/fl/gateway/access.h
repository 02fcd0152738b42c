// Access decisions after ingest: may this participant be granted access to a patient's data
// (grant time), and may it read this resource now, with which redactions (read time). Both
// evaluate the policy bundle (when one is configured) with the patient's country as recorded in
// the PatientDirectory and the participant's registered jurisdiction, and both write one FHIR
// AuditEvent per decision, permit or deny, to the audit log before answering: a decision that
// cannot be audited is not made (kUnavailable). The ledger transaction itself (the grant) and
// the ledger's grant check (can_read) stay with the caller, which holds the ledger client; the
// caller records what became of a grant's or a revocation's transaction here too, so the trail
// shows whether a permitted change took effect.
#pragma once

#include "fl/base/result.h"
#include "fl/gateway/audit_event.h"
#include "fl/gateway/policy/obligations.h"
#include "fl/gateway/policy/policy_engine.h"
#include "fl/ports/audit_log.h"
#include "fl/ports/clock.h"
#include "fl/ports/patient_directory.h"

#include <rapidjson/document.h>

#include <cstdint>
#include <optional>
#include <string>

namespace fl::gateway {

// Who asks and on whose behalf: shared by both decisions.
struct AccessContext {
  std::int64_t now = 0;       // Unix seconds
  std::string gateway;        // the service name, the AuditEvent's source
  std::string operator_name;  // the operator running the tool
  std::string participant;    // ledger address (0x-hex) of the grantee or reader
  std::string jurisdiction;   // its country as registered on the contract; "" if unregistered
  std::string purpose;        // HL7 v3 PurposeOfUse code
  bool consent = false;       // an active FHIR Consent for this purpose and participant
};

struct GrantRequest {
  AccessContext context;
  ports::Hash32 patient_key{};
  std::uint64_t expires_at = 0;  // asked for (Unix seconds)
};

struct AccessVerdict {
  bool permit = false;
  std::optional<policy::PolicyDecision> decision;  // when a bundle decided
  std::string reason;       // on deny, for the operator: the rules and the policy hash
  std::string audit_event;  // what was recorded
  // Grant time: the expiry to put on chain, capped at now + max_days when the policy says so.
  std::uint64_t expires_at = 0;
  bool capped = false;
  // Read time: the released resource, obligations applied.
  std::string released;
  // Shadow mode: the AuditEvent recording that the candidate bundle would have decided
  // otherwise (effect, rules or obligations); "" when it agrees, or none is configured.
  std::string shadow_event;
};

// `engine` null: no bundle is configured; the grant is the operator's decision alone (today's
// behaviour), and still audited. `candidate`: a shadow bundle (/policy/shadow), evaluated
// beside the active one and never enforced; a difference is audited, and a difference that
// cannot be audited is logged, never an error.
Result<AccessVerdict> decide_grant(const policy::PolicyEngine* engine,
                                   ports::PatientDirectory& directory, ports::AuditLog& audit,
                                   const GrantRequest& request,
                                   const policy::PolicyEngine* candidate = nullptr);

// What became of an access change's transaction, from the ledger client's answers: `sent_hash`
// (0x-hex, "" when sending failed) and the mined block or the error waiting for it. An
// unavailable node after sending leaves the outcome unknown (kUnconfirmed), not failed.
audit::Transaction transaction_outcome(const std::string& sent_hash,
                                       const Result<std::uint64_t>& block);

// After a permitted grant's transaction: records what became of it, with the expiry put on
// chain, and answers the recorded event. kUnavailable when it cannot be recorded; the caller
// must then say what became of the transaction, which nothing else records.
Result<std::string> record_grant_transaction(ports::AuditLog& audit, const GrantRequest& request,
                                             std::uint64_t expires_at, const audit::Transaction& tx,
                                             ports::Clock& clock = ports::real_clock());

// A revocation takes access away, so no policy decides it and an audit log that is down does
// not hold it up: it is recorded after its transaction, mined or failed. Answers the event.
Result<std::string> record_revocation(ports::AuditLog& audit, const AccessContext& context,
                                      const ports::Hash32& patient_key,
                                      const audit::Transaction& tx,
                                      ports::Clock& clock = ports::real_clock());

struct ReadRequest {
  AccessContext context;
  ports::Hash32 patient_key{};  // from the resource's pointer record; zero without a patient
  ports::Hash32 resource_key{};
  bool granted = false;        // the ledger's can_read(patient, participant, purpose)
  bool operator_read = false;  // the operator's own read: no grant or policy check
};

// `resource` is the stored resource (PHI); on permit the obligations are applied to it and it
// is released in AccessVerdict::released. Identifiers are replaced by `pseudonym` when the
// policy asks. `candidate` as for decide_grant.
Result<AccessVerdict> decide_read(const policy::PolicyEngine* engine,
                                  ports::PatientDirectory& directory, ports::AuditLog& audit,
                                  const policy::IdentifierPseudonym& pseudonym,
                                  const ReadRequest& request, rapidjson::Document& resource,
                                  const policy::PolicyEngine* candidate = nullptr);

}  // namespace fl::gateway
