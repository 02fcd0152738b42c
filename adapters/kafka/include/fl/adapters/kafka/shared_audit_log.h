// One audit producer for many threads (the API's request threads). Each thread opens its own
// AuditLog on it; that log's flush() waits for the delivery reports of its own records only,
// not for everything the producer holds, so concurrent reads share the broker's round trips
// (records sent together within linger.ms) and a busy producer never keeps a reader waiting
// for other threads' records. A record still counts as written only once the broker
// acknowledged it (idempotent, acks=all), as with make_audit_log().
#pragma once

#include "fl/adapters/kafka/kafka_config.h"
#include "fl/base/result.h"
#include "fl/ports/audit_log.h"

#include <chrono>
#include <memory>

namespace fl::kafka {

class SharedAuditLog {
 public:
  virtual ~SharedAuditLog() = default;
  // An AuditLog for one thread at a time; it must not outlive this.
  virtual std::unique_ptr<ports::AuditLog> open() = 0;
};

// `linger`: how long the producer waits to send records together (librdkafka's linger.ms);
// /kafka's raw properties still apply last.
Result<std::unique_ptr<SharedAuditLog>> make_shared_audit_log(const KafkaConfig& config,
                                                              std::chrono::milliseconds linger);

}  // namespace fl::kafka
