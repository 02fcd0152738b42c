// The read use case: one stored resource version released to whoever asks, as `read` on the
// command line and GET /fhir/{type}/{id} over HTTP both need it. In order: the pointer record
// and the blob (ResourceReader: erasure mark, content hash against the record, master key,
// AEAD), then for a participant its registration and the ledger grant for the purpose, the
// policy bundle for its jurisdiction, and the obligations; every decision is audited before it
// is answered (decide_read). The caller parses and prints; nothing here knows HTTP or argv.
// One thread per instance (ResourceReader's adapters are not shared between threads).
#pragma once

#include "fl/base/result.h"
#include "fl/gateway/access.h"
#include "fl/gateway/pointer_record.h"
#include "fl/gateway/policy/policy_engine.h"
#include "fl/gateway/reader.h"
#include "fl/ports/access_ledger.h"
#include "fl/ports/audit_log.h"
#include "fl/ports/blob_store.h"
#include "fl/ports/clock.h"
#include "fl/ports/consent_records.h"
#include "fl/ports/key_provider.h"
#include "fl/ports/master_key_store.h"
#include "fl/ports/patient_directory.h"
#include "fl/ports/pointer_ledger.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fl::gateway {

struct ReadServicePorts {
  ports::KeyProvider& keys;
  ports::BlobStore& blobs;
  ports::MasterKeyStore& master_keys;
  ports::PatientDirectory& directory;
  ports::PointerLedger& pointers;  // the erasure marks
  ports::AccessLedger& access;     // registrations and grants
  ports::AuditLog& audit;
  ports::Clock& clock;
  // Where a participant's read finds the patient's consent (the grants their Consents hold) when
  // the query does not assert it; null: only the query's `consent` counts.
  ports::ConsentRecords* consents = nullptr;
};

struct ReadSettings {
  std::string gateway;               // the service name, the AuditEvents' source
  std::vector<std::string> regions;  // every configured storage region
  // Null: no bundle is configured, the ledger grant alone decides. Both outlive the service.
  const policy::PolicyEngine* engine = nullptr;
  const policy::PolicyEngine* shadow = nullptr;
  RegionHints* hints = nullptr;  // where pointer records were found (reader.h); null: none
};

struct ReadQuery {
  std::string source;                    // the id space of `reference`
  std::string reference;                 // "Type/id"
  std::optional<std::uint64_t> version;  // the latest when absent
  // Absent: the operator's own read, which no grant or policy decides (and is audited so).
  std::optional<ports::Address> participant;
  std::string purpose;  // HL7 v3 PurposeOfUse code; needed with a participant
  bool consent = false;
  std::string operator_name;  // who runs the tool, or the API's authenticated client
};

struct ReadReport {
  PointerRecord record;  // what was anchored for the version read
  bool permit = false;
  std::string released;  // the resource with obligations applied; "" when denied
  std::string reason;    // on deny: why, with the rules and the policy hash; never data
  std::string audit_event;
  std::string shadow_event;  // "" unless the shadow bundle decided otherwise
  std::optional<policy::PolicyDecision> decision;
};

// What one participant may read of one patient: each stored resource decided as read() decides
// it (each decision audited), the permitted ones released.
struct PatientReadReport {
  std::vector<ReadReport> released;
  std::size_t denied = 0;  // resources the grant or the policy withheld
  struct Failure {
    std::string resource_key;  // 0x pseudonym
    std::string error;
  };
  std::vector<Failure> failed;  // resources whose blob does not match the ledger
};

class ReadService {
 public:
  ReadService(const ReadServicePorts& ports, ReadSettings settings);
  ~ReadService();

  // kNotFound (never stored), kErased, kIntegrity (the blob does not match the ledger),
  // kUnavailable (a service is down), kInvalidInput (no purpose with a participant). A denial
  // is not an error: permit is false, with the reason, and it was audited.
  Result<ReadReport> read(const ReadQuery& query);

  // Every resource of the patient `query.reference` ("Patient/<id>") names, latest versions, in
  // every region. kNotFound when none is stored, kErased when the patient is erased.
  Result<PatientReadReport> read_patient(const ReadQuery& query);

 private:
  Result<ReadReport> decide(const ReadQuery& query, ReadResource stored);

  ReadServicePorts ports_;
  ReadSettings settings_;
  ResourceReader reader_;
};

}  // namespace fl::gateway
