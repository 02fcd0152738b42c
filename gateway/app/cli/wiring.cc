#include "cli/wiring.h"

#include "fl/adapters/evm/evm_pointer_ledger.h"
#include "fl/adapters/kafka/kafka_event_source.h"
#include "fl/adapters/kafka/kafka_producers.h"
#include "fl/adapters/keys/keyring_key_provider.h"
#include "fl/adapters/redis/redis_blob_store.h"
#include "fl/gateway/crypto/topic_sealer.h"

namespace fl::cli {

kafka::KafkaConfig kafka_config(const gateway::GatewayConfig& config) {
  const auto& k = config.kafka;
  return kafka::KafkaConfig{.bootstrap_servers = k.bootstrap_servers,
                            .group_id = k.group_id,
                            .input_topics = k.input_topics,
                            .dead_letter_topic = k.dead_letter_topic,
                            .results_topic = k.results_topic,
                            .audit_topic = k.audit_topic,
                            .client_id = k.client_id,
                            .max_message_bytes = k.max_message_bytes,
                            .extra = k.properties};
}

redis::RedisConfig redis_config(const gateway::GatewayConfig& config) {
  redis::RedisConfig out;
  for (const auto& [name, r] : config.redis_regions) {
    out.regions.emplace(name, redis::RedisEndpoint{.host = r.host,
                                                   .port = r.port,
                                                   .username = r.username,
                                                   .password = r.password,
                                                   .db = r.db,
                                                   .timeout_ms = r.timeout_ms,
                                                   .cluster = r.cluster});
  }
  out.links_region = config.pipeline.default_region;
  return out;
}

namespace {

Error at(Error error, const gateway::GatewayConfig& config, const char* pointer) {
  error.message += " (configured at " + config.file + ": " + pointer + ")";
  return error;
}

}  // namespace

Result<Stores> build_stores(const gateway::GatewayConfig& config) {
  auto made = redis::make_region_stores(redis_config(config));
  if (!made) return at(made.error(), config, "/redis/regions");
  std::shared_ptr<redis::RegionStores> stores = std::move(*made);
  return Stores{.blobs = stores, .master_keys = stores, .directory = stores, .consents = stores};
}

Result<std::unique_ptr<ports::KeyProvider>> build_key_provider(
    const gateway::GatewayConfig& config) {
  auto keys = keys::make_keyring_key_provider(config.keyring_file);
  if (!keys) return at(keys.error(), config, "/keys/keyringFile");
  return std::move(*keys);
}

Result<std::unique_ptr<ports::PointerLedger>> build_ledger(const gateway::GatewayConfig& config) {
  if (config.ledger.contract.empty()) {
    return Error{ErrorCode::kInvalidInput,
                 "no contract address: set /ledger/contract or FL_LEDGER_CONTRACT (deploy one with "
                 "`fhir-ledger ledger deploy`)",
                 config.file + "#/ledger/contract"};
  }
  if (config.ledger.private_key.empty()) {
    return Error{ErrorCode::kInvalidInput,
                 "no signing key: set FL_LEDGER_PRIVATE_KEY or /ledger/privateKeyFile",
                 config.file + "#/ledger"};
  }
  auto ledger = evm::make_pointer_ledger(
      evm::EvmConfig{.rpc_url = config.ledger.rpc_url,
                     .contract_address = config.ledger.contract,
                     .private_key = SecretBytes(Bytes(config.ledger.private_key.view().begin(),
                                                      config.ledger.private_key.view().end())),
                     .confirmations = config.ledger.confirmations,
                     .receipt_timeout = std::chrono::milliseconds(config.ledger.receipt_timeout_ms),
                     .eip1559 = config.ledger.eip1559,
                     .max_fee_per_gas_wei = config.ledger.max_fee_per_gas_wei,
                     .replace_after_blocks = config.ledger.replace_after_blocks});
  if (!ledger) return at(ledger.error(), config, "/ledger");
  return std::move(*ledger);
}

Result<std::unique_ptr<ports::AuditLog>> build_audit_log(const gateway::GatewayConfig& config) {
  auto audit = kafka::make_audit_log(kafka_config(config));
  if (!audit) return at(audit.error(), config, "/kafka/auditTopic");
  return std::move(*audit);
}

Result<Adapters> build_adapters(const gateway::GatewayConfig& config) {
  Adapters out;
  auto keys = keys::make_keyring_key_provider(config.keyring_file);
  if (!keys) return at(keys.error(), config, "/keys/keyringFile");
  out.keys = std::move(*keys);
  // Every region must be able to wrap new master keys before the first event arrives.
  for (const auto& [region, settings] : config.redis_regions) {
    if (auto kek = out.keys->active_kek_id(region); !kek) {
      return Error{ErrorCode::kInvalidInput,
                   config.keyring_file + ": no active key-encryption key for region \"" + region +
                       "\" (add one with `fhir-ledger keys add --region " + region + "`)",
                   config.file + "#/redis/regions/" + region};
    }
  }

  auto stores = build_stores(config);
  if (!stores) return stores.error();
  out.blobs = std::move(stores->blobs);
  out.master_keys = std::move(stores->master_keys);
  out.directory = std::move(stores->directory);
  out.consents = std::move(stores->consents);
  auto record_stores = build_stores(config);
  if (!record_stores) return record_stores.error();
  out.record_blobs = std::move(record_stores->blobs);

  auto ledger = build_ledger(config);
  if (!ledger) return ledger.error();
  out.ledger = std::move(*ledger);

  // Dead letters and receipts belong to no region: what could name a patient in them is sealed
  // under the default region's KEK.
  auto sealer = gateway::crypto::make_topic_sealer(*out.keys, config.pipeline.default_region);
  if (!sealer) return at(sealer.error(), config, "/keys/keyringFile");
  std::shared_ptr<ports::TopicSealer> topic_sealer = std::move(*sealer);

  const auto kafka = kafka_config(config);
  auto dead = kafka::make_dead_letters(kafka, topic_sealer);
  if (!dead) return at(dead.error(), config, "/kafka");
  out.dead_letters = std::move(*dead);
  auto receipts = kafka::make_receipts(kafka, topic_sealer);
  if (!receipts) return at(receipts.error(), config, "/kafka");
  out.receipts = std::move(*receipts);
  auto audit = build_audit_log(config);
  if (!audit) return audit.error();
  out.audit = std::move(*audit);
  // The consumer joins its group last, so a failure above never leaves a ghost member.
  auto source = kafka::make_event_source(kafka);
  if (!source) return at(source.error(), config, "/kafka");
  out.source = std::move(*source);
  return out;
}

Status close_adapters(Adapters& adapters) {
  Status status = Ok{};
  if (auto* consumer = dynamic_cast<kafka::KafkaEventSource*>(adapters.source.get())) {
    status = consumer->close();
  }
  adapters.source.reset();
  return status;
}

std::vector<std::string> region_names(const gateway::GatewayConfig& config) {
  std::vector<std::string> names;
  for (const auto& [region, settings] : config.redis_regions) names.push_back(region);
  return names;
}

}  // namespace fl::cli
