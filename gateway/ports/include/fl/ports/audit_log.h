// The audit topic: one FHIR R4 AuditEvent per policy decision an auditor must see (a resource
// refused at ingest, a grant and what became of its transaction, a revocation, a read, an
// erasure, a shadow bundle's difference), so an auditor can see who asked for which patient's
// data, under which policy hash and rules, and what was decided. Records name patients only by
// pseudonym: the topic is read by people who must not learn who the patients are.
#pragma once

#include "fl/base/result.h"

#include <chrono>
#include <span>
#include <string>

namespace fl::ports {

struct AuditRecord {
  std::string key;   // the pseudonym the event is about (0x-hex), so one patient's events share
                     // a partition and stay in order
  std::string json;  // the FHIR AuditEvent
};

class AuditLog {
 public:
  virtual ~AuditLog() = default;

  // Queues the records; they are durable only after flush() succeeds.
  virtual Status record(std::span<const AuditRecord> records) = 0;

  // Waits until everything recorded so far is acknowledged. A failed flush loses nothing queued:
  // kUnavailable means some is not acknowledged yet and stays queued (flush again; queuing it again
  // would send it twice); any other code means the broker refused a message for good.
  virtual Status flush(std::chrono::milliseconds timeout) = 0;
};

}  // namespace fl::ports
