// The consent use case: a FHIR Consent (from `fhir-ledger consent`, POST /fhir/Consent) turned
// into the grants and revocations it implies on the ledger. compile_consent (consent.h) says
// what the Consent grants; each grant is then decided by the policy bundle as a grant with the
// patient's consent (decide_grant, audited like an operator's grant); the result is compared
// with what this Consent was last compiled into (ConsentRecords): grants added, changed (another
// expiry), kept, revoked (no longer granted, or the Consent is no longer active), refused (with
// why). A dry run stops there: no transaction, no AuditEvent, no record. Otherwise the
// transactions are sent and waited for (each audited after it, as the CLI's grant and revoke
// are), then the record is written. A Consent whose version (meta.versionId, else the SHA-256
// of its text) is the one recorded changes nothing: re-delivery is a no-op. A deleted Consent
// (withdraw) revokes every grant it holds. ConsentServiceSink applies the Consents the pipeline
// anchors from Kafka through the same service.
#pragma once

#include "fl/base/result.h"
#include "fl/gateway/consent.h"
#include "fl/gateway/policy/policy_engine.h"
#include "fl/ports/access_ledger.h"
#include "fl/ports/audit_log.h"
#include "fl/ports/clock.h"
#include "fl/ports/consent_records.h"
#include "fl/ports/consent_sink.h"
#include "fl/ports/key_provider.h"
#include "fl/ports/patient_directory.h"

#include <cstdint>
#include <string>
#include <vector>

namespace fl::gateway {

struct ConsentServicePorts {
  ports::KeyProvider& keys;  // the pseudonyms of the patient and the Consent
  ports::PatientDirectory& directory;
  ports::AccessLedger& access;
  ports::AuditLog& audit;
  ports::ConsentRecords& records;
  ports::Clock& clock;
};

struct ConsentServiceSettings {
  std::string gateway;  // the service name, the AuditEvents' source
  ConsentSettings consent;
  std::string linking_identifier_system;         // "" when records are not linked to persons
  const policy::PolicyEngine* engine = nullptr;  // null: no bundle, the Consent alone decides
  const policy::PolicyEngine* shadow = nullptr;
};

struct ConsentQuery {
  std::string source;  // the id space of the Consent and its patient reference
  std::string json;    // the Consent resource
  bool dry_run = false;
  std::string operator_name;  // who submits it (the operator, or the API's client)
};

// A Consent deleted by its source (a FHIR delete of Consent/<id>).
struct ConsentWithdrawal {
  std::string source;     // the id space of the Consent
  std::string reference;  // "Consent/<id>"
  std::string operator_name;
};

struct ConsentChange {
  std::string kind;         // added, changed, kept, revoked, refused
  std::string participant;  // 0x address; "" when the refusal names none
  std::string actor;        // the Consent's reference; "" for a revocation of an older grant
  std::string purpose;
  std::uint64_t expires_at = 0;
  std::string reason;  // refused: why
  std::string tx;      // sent transaction (not in a dry run)
  std::uint64_t block = 0;
  std::string audit_event;  // the policy decision (added, changed, refused by the policy)
};

struct ConsentReport {
  std::string consent_id;
  std::string version;
  std::string status;
  std::string patient_key;  // 0x pseudonym
  bool dry_run = false;
  bool unchanged = false;  // this version was applied before: nothing done
  std::vector<ConsentChange> changes;
};

class ConsentService {
 public:
  ConsentService(const ConsentServicePorts& ports, ConsentServiceSettings settings);

  // kInvalidInput for what is not a Consent this reads (with its JSON pointer); kUnavailable
  // when a service is down (nothing recorded: applying the Consent again finishes the work).
  Result<ConsentReport> apply(const ConsentQuery& query);

  // Revokes every grant the Consent's record holds and records it as deleted (status
  // "deleted", no grants, the version applied last kept). A Consent never applied, or withdrawn
  // before, changes nothing (`unchanged`). A re-delivery of the deleted version afterwards is
  // recognised by that version and changes nothing either; a new version grants again. Errors
  // as for apply (kIntegrity: the record is not readable).
  Result<ConsentReport> withdraw(const ConsentWithdrawal& query);

 private:
  ConsentServicePorts ports_;
  ConsentServiceSettings settings_;
};

// The report as JSON, for the CLI and the API.
std::string to_json(const ConsentReport& report);

// The pipeline's ConsentSink: each Consent anchored from Kafka applied by the service (never a
// dry run) or, when deleted, withdrawn, submitted by the delivery's submitter (the AuditEvents'
// operator). The report becomes counts; what the service refuses is its error, unchanged.
class ConsentServiceSink final : public ports::ConsentSink {
 public:
  explicit ConsentServiceSink(ConsentService& service) : service_(service) {}

  Result<ports::ConsentOutcome> apply(const ports::ConsentDelivery& delivery) override;

 private:
  ConsentService& service_;
};

// A report's changes counted by kind.
ports::ConsentOutcome outcome_of(const ConsentReport& report);

}  // namespace fl::gateway
