// The gateway's outputs to Kafka: dead letters (original bytes and headers plus error-code,
// error-detail, origin-topic, origin-partition, origin-offset) and receipts (JSON, keyed by the
// pseudonymous resource key). Idempotent producers with acks=all; a message counts as sent only
// after flush() saw its delivery report. Audit records (FHIR AuditEvent JSON, keyed by the
// pseudonym they are about) go to the audit topic. Pipeline thread only.
#pragma once

#include "fl/adapters/kafka/kafka_config.h"
#include "fl/base/result.h"
#include "fl/ports/audit_log.h"
#include "fl/ports/dead_letters.h"
#include "fl/ports/receipts.h"

#include <memory>

namespace fl::kafka {

Result<std::unique_ptr<ports::DeadLetters>> make_dead_letters(const KafkaConfig& config);
Result<std::unique_ptr<ports::Receipts>> make_receipts(const KafkaConfig& config);
Result<std::unique_ptr<ports::AuditLog>> make_audit_log(const KafkaConfig& config);

// The receipt as JSON (also what the report reads back).
std::string receipt_json(const ports::Receipt& receipt);

}  // namespace fl::kafka
