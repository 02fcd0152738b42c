// Where the pipeline hands each FHIR Consent it anchored, so that a Consent published on Kafka
// becomes the ledger grants it implies, as one applied with `fhir-ledger consent apply` or POST
// /fhir/Consent does (the gateway's ConsentServiceSink, consent_service.h). Called on the
// pipeline's thread once the Consent's batch is confirmed and before its offsets are committed,
// so a crash in between re-delivers the Consent: both calls must be idempotent (a version
// applied before, or a deletion withdrawn before, changes nothing).
#pragma once

#include "fl/base/result.h"

#include <cstdint>
#include <string>

namespace fl::ports {

// What applying one Consent did, by change: for the log and the metrics (no PHI).
struct ConsentOutcome {
  bool unchanged = false;  // this version (or this deletion) was applied before: nothing done
  std::uint64_t added = 0;
  std::uint64_t changed = 0;  // a grant kept with another expiry
  std::uint64_t kept = 0;
  std::uint64_t revoked = 0;
  std::uint64_t refused = 0;  // grants the Consent or the policy refuses: part of the outcome
};

// One Consent as anchored, or its deletion.
struct ConsentDelivery {
  std::string source;     // the id space of the Consent's id and of its patient reference
  std::string reference;  // "Consent/<id>"
  bool deleted = false;
  std::string json;       // the Consent as anchored (normalized); "" for a deletion
  std::string submitter;  // who it came from, for the AuditEvents: "kafka:<topic>"
};

class ConsentSink {
 public:
  virtual ~ConsentSink() = default;

  // A Consent becomes the grants it implies (an inactive or rejected one revokes what it
  // granted); a deleted one revokes what it granted (one never applied has nothing to revoke).
  // kUnavailable when a service is down: applying again finishes the work. Any other error
  // means this Consent can never be applied (kInvalidInput: not a Consent the gateway reads).
  virtual Result<ConsentOutcome> apply(const ConsentDelivery& delivery) = 0;
};

}  // namespace fl::ports
