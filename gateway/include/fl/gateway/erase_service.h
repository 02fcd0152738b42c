// The erasure use case (GDPR Art. 17), as `erase Patient/<id>` needs it. In order: the
// patient's master key is destroyed in every region (the erasure itself: their blobs can no
// longer be opened, and the mark left in its place stops a new key being made for them), the
// directory forgets their recorded country (personal data too), the ledger marks them erased
// and the mark is waited for, and a FHIR AuditEvent naming only the pseudonym is written to the
// audit log. Every step is idempotent, so an erasure that stopped part way is finished by
// running it again. The caller parses and prints; nothing here knows argv.
// One thread per instance (the adapters are not shared between threads).
#pragma once

#include "fl/base/result.h"
#include "fl/ports/access_ledger.h"
#include "fl/ports/audit_log.h"
#include "fl/ports/clock.h"
#include "fl/ports/key_provider.h"
#include "fl/ports/master_key_store.h"
#include "fl/ports/patient_directory.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace fl::gateway {

struct EraseServicePorts {
  ports::KeyProvider& keys;  // the regions' KEKs, which the master keys are wrapped under
  ports::MasterKeyStore& master_keys;
  ports::PatientDirectory& directory;
  ports::AccessLedger& access;  // the erasure mark
  ports::AuditLog& audit;
  ports::Clock& clock;  // the erasure's time, as the key marks and the AuditEvent record it
};

struct EraseSettings {
  std::string gateway;               // the service name, the AuditEvent's source
  std::vector<std::string> regions;  // every configured storage region
};

struct EraseQuery {
  ports::Hash32 patient_key{};  // the patient's pseudonym (a linked person's, when linked)
  std::string operator_name;    // who asks, for the AuditEvent
  std::string reason;           // why, for the AuditEvent; may be ""
};

struct EraseReport {
  std::string patient_key;  // 0x-hex
  std::string erased_at;    // RFC 3339, as the key marks and the AuditEvent record it
  // Per region in the settings' order: true when a key was destroyed, false when there was none
  // (never stored there, or already erased).
  std::vector<std::pair<std::string, bool>> regions;
  bool directory_record = false;  // a recorded country was forgotten
  std::string tx;                 // the erasure mark's transaction (0x-hex)
  std::uint64_t block = 0;        // where it was mined
  std::string audit_event;
};

class EraseService {
 public:
  EraseService(const EraseServicePorts& ports, EraseSettings settings);

  // Errors of a store, the ledger or the audit log that is down; the keys destroyed before the
  // error stay destroyed. Running erase again is always safe and finishes the rest.
  Result<EraseReport> erase(const EraseQuery& query);

 private:
  EraseServicePorts ports_;
  EraseSettings settings_;
};

}  // namespace fl::gateway
