// The grant and revoke use cases: the operator gives a participant access to a patient's data
// for a purpose until an expiry, or takes it away, as `ledger grant` and `ledger revoke` on the
// command line need it. A grant is decided first (decide_grant: the participant's registration
// on the ledger, the policy bundle for the patient's recorded country, the consent the operator
// attests) and the decision audited before any transaction is sent; a denial sends none. A
// permitted grant's transaction, and every revocation's, is then sent, waited for, and what
// became of it audited (record_grant_transaction, record_revocation), so that the trail shows
// whether the change took effect. The caller parses and prints; nothing here knows argv.
// One thread per instance (the ledger adapter is not shared between threads).
#pragma once

#include "fl/base/result.h"
#include "fl/gateway/audit_event.h"
#include "fl/gateway/policy/policy_engine.h"
#include "fl/ports/access_ledger.h"
#include "fl/ports/audit_log.h"
#include "fl/ports/clock.h"
#include "fl/ports/patient_directory.h"

#include <cstdint>
#include <optional>
#include <string>

namespace fl::gateway {

// How long a grant may be asked for, in days, when no absolute expiry is given.
inline constexpr std::uint64_t kDefaultGrantDays = 365;
inline constexpr std::uint64_t kMaxGrantDays = 36500;

struct GrantServicePorts {
  ports::AccessLedger& access;  // registrations, and the grant and revoke transactions
  // The patients' recorded countries, which the bundle judges a grant by. Revoking needs none,
  // so a tool that only revokes passes null rather than depend on the stores being up.
  ports::PatientDirectory* directory;
  ports::AuditLog& audit;
  ports::Clock& clock;  // the decisions' "now" and the expiry's start
};

struct GrantSettings {
  std::string gateway;  // the service name, the AuditEvents' source
  // Null: no bundle is configured, the operator alone decides. Both outlive the service.
  const policy::PolicyEngine* engine = nullptr;
  const policy::PolicyEngine* shadow = nullptr;
};

struct GrantQuery {
  ports::Hash32 patient_key{};
  ports::Address grantee{};
  std::string purpose;  // HL7 v3 PurposeOfUse code
  // Unix seconds; when absent the grant runs `days` from the clock's wall time.
  std::optional<std::uint64_t> expires_at;
  std::uint64_t days = kDefaultGrantDays;  // 1..kMaxGrantDays
  bool consent = false;  // the operator attests an active FHIR Consent for purpose and grantee
  std::string operator_name;
};

struct RevokeQuery {
  ports::Hash32 patient_key{};
  ports::Address grantee{};
  std::string purpose;
  std::string operator_name;
};

// What became of an access change's transaction, and whether that was audited.
struct TransactionReport {
  audit::Transaction outcome;  // mined (hash and block), failed, or sent and unconfirmed
  std::optional<Error> error;  // why it is not mined: the ledger's answer, with where
  std::string audit_event;     // the outcome's AuditEvent; "" when it could not be recorded
  // The outcome could not be audited: says what became of the transaction, which nothing else
  // records, and why the record failed. The change may have taken effect all the same.
  std::optional<Error> audit_error;
};

struct GrantReport {
  bool permit = false;
  std::string reason;        // on deny: why, with the rules and the policy hash
  std::string audit_event;   // the decision
  std::string shadow_event;  // "" unless the shadow bundle decided otherwise
  std::optional<policy::PolicyDecision> decision;  // when a bundle decided
  std::uint64_t expires_at = 0;  // put on chain: the asked expiry, or the policy's cap
  bool capped = false;           // the bundle's max days shortened the asked expiry
  std::optional<TransactionReport> transaction;  // only when permitted
};

class GrantService {
 public:
  GrantService(const GrantServicePorts& ports, GrantSettings settings);

  // kInvalidInput (no purpose, days outside 1..kMaxGrantDays: nothing asked or sent), or the
  // error of a ledger or directory that is down or an audit log that cannot record the decision
  // (nothing sent). A denial is not an error: permit is false, with the reason, and it was
  // audited. Neither is a transaction that failed or is unconfirmed: see `transaction`.
  Result<GrantReport> grant(const GrantQuery& query);

  // A revocation takes access away: no policy decides it, and a participant no longer
  // registered still loses its grant. It is sent whatever the audit log's state, and its outcome
  // audited after it. kInvalidInput without a purpose; otherwise the report says it all.
  Result<TransactionReport> revoke(const RevokeQuery& query);

 private:
  GrantServicePorts ports_;
  GrantSettings settings_;
};

}  // namespace fl::gateway
