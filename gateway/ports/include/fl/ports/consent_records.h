// What each FHIR Consent was last compiled into: its version and the grants it holds on the
// ledger, so that a re-delivered Consent changes nothing and a changed or withdrawn one revokes
// what it no longer grants. Keyed by the Consent's pseudonym; the record is JSON naming only
// pseudonyms, participant addresses, purposes and times (no PHI). The Redis adapter keeps them
// beside the identity links, in the default region.
#pragma once

#include "fl/base/result.h"
#include "fl/ports/access_ledger.h"
#include "fl/ports/pointer_ledger.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace fl::ports {

// A grant a Consent holds: who, for what, until when (Unix seconds; 0: no end).
struct ConsentedGrant {
  Address participant{};
  std::string purpose;
  std::uint64_t expires_at = 0;

  friend bool operator==(const ConsentedGrant&, const ConsentedGrant&) = default;
};

// Whether `grants` consent to `participant` reading for `purpose` at `now` (Unix seconds).
inline bool consents_to(std::span<const ConsentedGrant> grants, const Address& participant,
                        std::string_view purpose, std::uint64_t now) {
  for (const auto& g : grants) {
    if (g.participant == participant && g.purpose == purpose &&
        (g.expires_at == 0 || g.expires_at > now)) {
      return true;
    }
  }
  return false;
}

class ConsentRecords {
 public:
  virtual ~ConsentRecords() = default;
  virtual Result<std::optional<std::string>> consent_record(const Hash32& consent_key) = 0;
  virtual Status put_consent_record(const Hash32& consent_key, const std::string& json) = 0;

  // The patient's consented grants, for the read path: what the policy's consent conditions
  // see at read time. Indexed by patient, one entry per Consent (a Consent's grants replace what
  // it held before; none removes its entry). The defaults keep nothing.
  virtual Result<std::vector<ConsentedGrant>> consented_grants(const Hash32& patient_key) {
    (void)patient_key;
    return std::vector<ConsentedGrant>{};
  }
  virtual Status put_consented_grants(const Hash32& patient_key, const Hash32& consent_key,
                                      std::span<const ConsentedGrant> grants) {
    (void)patient_key;
    (void)consent_key;
    (void)grants;
    return Ok{};
  }
};

}  // namespace fl::ports
