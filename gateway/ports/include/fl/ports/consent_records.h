// What each FHIR Consent was last compiled into: its version and the grants it holds on the
// ledger, so that a re-delivered Consent changes nothing and a changed or withdrawn one revokes
// what it no longer grants. Keyed by the Consent's pseudonym; the record is JSON naming only
// pseudonyms, participant addresses, purposes and times (no PHI). The Redis adapter keeps them
// beside the identity links, in the default region.
#pragma once

#include "fl/base/result.h"
#include "fl/ports/pointer_ledger.h"

#include <optional>
#include <string>

namespace fl::ports {

class ConsentRecords {
 public:
  virtual ~ConsentRecords() = default;
  virtual Result<std::optional<std::string>> consent_record(const Hash32& consent_key) = 0;
  virtual Status put_consent_record(const Hash32& consent_key, const std::string& json) = 0;
};

}  // namespace fl::ports
