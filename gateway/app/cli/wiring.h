// Builds the concrete adapters from the configuration: Kafka for events, dead letters and
// receipts; Redis per region for blobs and wrapped master keys; the keyring file for keys; the EVM
// node for pointers. Every factory checks its service at start, so a wrong endpoint fails here with
// the config pointer rather than on the first event.
#pragma once

#include "fl/adapters/kafka/kafka_config.h"
#include "fl/adapters/redis/redis_blob_store.h"
#include "fl/base/result.h"
#include "fl/gateway/config.h"
#include "fl/ports/audit_log.h"
#include "fl/ports/blob_store.h"
#include "fl/ports/consent_records.h"
#include "fl/ports/dead_letters.h"
#include "fl/ports/event_source.h"
#include "fl/ports/key_provider.h"
#include "fl/ports/master_key_store.h"
#include "fl/ports/patient_directory.h"
#include "fl/ports/pointer_ledger.h"
#include "fl/ports/receipts.h"

#include <memory>
#include <string>
#include <vector>

namespace fl::cli {

// The adapters' own configurations, converted from the gateway's.
kafka::KafkaConfig kafka_config(const gateway::GatewayConfig& config);
redis::RedisConfig redis_config(const gateway::GatewayConfig& config);

struct Adapters {
  std::unique_ptr<ports::EventSource> source;
  std::unique_ptr<ports::DeadLetters> dead_letters;
  std::unique_ptr<ports::Receipts> receipts;
  std::unique_ptr<ports::AuditLog> audit;   // AuditEvents: ingest denials, shadow differences
  std::shared_ptr<ports::BlobStore> blobs;  // one Redis per region holds both
  std::shared_ptr<ports::MasterKeyStore> master_keys;
  std::shared_ptr<ports::PatientDirectory> directory;
  std::shared_ptr<ports::ConsentRecords> consents;  // what each Consent from Kafka holds
  // The same stores on connections of their own, for the pipeline's recording thread.
  std::shared_ptr<ports::BlobStore> record_blobs;
  std::unique_ptr<ports::PointerLedger> ledger;
  std::unique_ptr<ports::KeyProvider> keys;
};

Result<Adapters> build_adapters(const gateway::GatewayConfig& config);

// The pieces the tools need without Kafka: every region's store and the keyring.
struct Stores {
  std::shared_ptr<ports::BlobStore> blobs;
  std::shared_ptr<ports::MasterKeyStore> master_keys;
  std::shared_ptr<ports::PatientDirectory> directory;
  std::shared_ptr<ports::ConsentRecords> consents;  // beside the identity links
};
Result<Stores> build_stores(const gateway::GatewayConfig& config);
// The EVM node and contract, with the gateway's signing key.
Result<std::unique_ptr<ports::PointerLedger>> build_ledger(const gateway::GatewayConfig& config);
// The audit topic's producer alone, for the tools that record grant, read and erasure decisions
// without consuming anything.
Result<std::unique_ptr<ports::AuditLog>> build_audit_log(const gateway::GatewayConfig& config);
Result<std::unique_ptr<ports::KeyProvider>> build_key_provider(
    const gateway::GatewayConfig& config);

// The configured storage regions' names, in the config's order.
std::vector<std::string> region_names(const gateway::GatewayConfig& config);

// Leaves the consumer group and flushes producers; reports what could not be closed cleanly.
Status close_adapters(Adapters& adapters);

}  // namespace fl::cli
