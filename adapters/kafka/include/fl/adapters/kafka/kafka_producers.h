// The gateway's outputs to Kafka: dead letters (the original event sealed, plus error-code,
// error-detail, origin-topic, origin-partition, origin-offset in clear; dead_letter_message.h) and
// receipts (JSON, keyed by the pseudonymous resource key, the sender's source and `Type/id`
// sealed as `sealedReference`). Both seal with the sealer they are given (ports/topic_sealer.h).
// Idempotent producers with acks=all; a message counts as sent only after flush() saw its delivery
// report. Audit records (FHIR AuditEvent JSON, keyed by the pseudonym they are about) go to the
// audit topic. Pipeline thread only.
#pragma once

#include "fl/adapters/kafka/kafka_config.h"
#include "fl/base/result.h"
#include "fl/ports/audit_log.h"
#include "fl/ports/dead_letters.h"
#include "fl/ports/receipts.h"
#include "fl/ports/topic_sealer.h"

#include <memory>
#include <string_view>

namespace fl::kafka {

Result<std::unique_ptr<ports::DeadLetters>> make_dead_letters(
    const KafkaConfig& config, std::shared_ptr<ports::TopicSealer> sealer);
Result<std::unique_ptr<ports::Receipts>> make_receipts(const KafkaConfig& config,
                                                       std::shared_ptr<ports::TopicSealer> sealer);
Result<std::unique_ptr<ports::AuditLog>> make_audit_log(const KafkaConfig& config);

// The sealing context of a receipt's reference.
inline constexpr std::string_view kReceiptContext = "receipt";

// What a receipt seals: {"source": ..., "reference": ...}.
std::string receipt_reference_json(const ports::Receipt& receipt);

// The receipt as JSON (also what the report reads back), `sealed_reference` being the sealed
// receipt_reference_json().
std::string receipt_json(const ports::Receipt& receipt, ByteView sealed_reference);

}  // namespace fl::kafka
