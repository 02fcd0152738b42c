#include "fl/adapters/kafka/kafka_producers.h"

#include "fl/adapters/kafka/dead_letter_message.h"
#include "fl/base/assert.h"
#include "fl/base/bytes.h"
#include "fl/base/json_string.h"
#include "fl/base/log.h"

#include "producer.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <map>

namespace fl::kafka {
namespace {

// Dead letters are cut to the producers' message size; one the broker still refuses for good
// (its topic's own limit is lower) is replaced by our headers alone, so a dead letter can never
// stall the partition it came from.
class KafkaDeadLetters final : public ports::DeadLetters {
 public:
  KafkaDeadLetters(std::unique_ptr<Producer> producer, std::string topic,
                   std::size_t max_message_bytes, std::shared_ptr<ports::TopicSealer> sealer)
      : producer_(std::move(producer)),
        topic_(std::move(topic)),
        max_message_bytes_(max_message_bytes),
        sealer_(std::move(sealer)) {}

  Status send(const ports::DeadLetter& letter) override {
    const std::uint64_t tag = ++sent_;
    auto minimal = minimal_dead_letter_message(letter);
    const KafkaMessage m = dead_letter_message(letter, max_message_bytes_, *sealer_);
    if (m.value.empty() && !letter.event.value.empty()) {
      log::error("dead_letter.unsealed", {{"topic", letter.event.origin.topic},
                                          {"partition", letter.event.origin.partition},
                                          {"offset", letter.event.origin.offset},
                                          {"kept", "headers only"}});
    } else if (m.headers.back().first == kOriginalTruncatedHeader) {
      log::warn("dead_letter.truncated", {{"topic", letter.event.origin.topic},
                                          {"partition", letter.event.origin.partition},
                                          {"offset", letter.event.origin.offset},
                                          {"originalBytes", letter.event.value.size()},
                                          {"cut", m.headers.back().second}});
    }
    auto sent = producer_->produce(topic_, m.key, m.value, m.headers, tag);
    if (!sent && sent.error().code != ErrorCode::kUnavailable) return send_minimal(minimal);
    if (!sent) return sent;
    minimal_.emplace(tag, std::move(minimal));
    return Ok{};
  }

  Status flush(std::chrono::milliseconds timeout) override {
    Status flushed = producer_->flush(timeout);
    const auto refused = producer_->refused();
    bool replaced = false;
    for (std::uint64_t tag : refused) {
      auto it = minimal_.find(tag);
      if (it == minimal_.end()) continue;  // a minimal letter itself: reported below
      log::warn("dead_letter.refused", {{"error", flushed ? "" : flushed.error().message},
                                        {"replacedBy", "headers only"}});
      if (auto sent = send_minimal(it->second); !sent) return sent;
      replaced = true;
    }
    if (replaced) flushed = producer_->flush(timeout);
    // Late letters stay queued in the producer, and may still be refused: keep their stand-ins.
    if (flushed) minimal_.clear();
    return flushed;
  }

 private:
  Status send_minimal(const KafkaMessage& m) {
    return producer_->produce(topic_, m.key, m.value, m.headers, 0);
  }

  std::unique_ptr<Producer> producer_;
  std::string topic_;
  std::size_t max_message_bytes_;
  std::shared_ptr<ports::TopicSealer> sealer_;
  std::uint64_t sent_ = 0;
  // Since the last successful flush: what replaces each letter should the broker refuse it for
  // good.
  std::map<std::uint64_t, KafkaMessage> minimal_;
};

class KafkaReceipts final : public ports::Receipts {
 public:
  KafkaReceipts(std::unique_ptr<Producer> producer, std::string topic,
                std::shared_ptr<ports::TopicSealer> sealer)
      : producer_(std::move(producer)), topic_(std::move(topic)), sealer_(std::move(sealer)) {}

  Status publish(const ports::Receipt& receipt) override {
    auto sealed = sealer_->seal(kReceiptContext, as_bytes(receipt_reference_json(receipt)));
    if (!sealed) return sealed.error();
    return producer_->produce(topic_, receipt.resource_key, receipt_json(receipt, *sealed),
                              {{"content-type", "application/json"}});
  }

  Status flush(std::chrono::milliseconds timeout) override { return producer_->flush(timeout); }

 private:
  std::unique_ptr<Producer> producer_;
  std::string topic_;
  std::shared_ptr<ports::TopicSealer> sealer_;
};

class KafkaAuditLog final : public ports::AuditLog {
 public:
  KafkaAuditLog(std::unique_ptr<Producer> producer, std::string topic)
      : producer_(std::move(producer)), topic_(std::move(topic)) {}

  Status record(std::span<const ports::AuditRecord> records) override {
    for (const auto& r : records) {
      if (auto s = producer_->produce(topic_, r.key, r.json,
                                      {{"content-type", "application/fhir+json"}});
          !s) {
        return s;
      }
    }
    return Ok{};
  }

  Status flush(std::chrono::milliseconds timeout) override { return producer_->flush(timeout); }

 private:
  std::unique_ptr<Producer> producer_;
  std::string topic_;
};

// The configured limit first; the config refuses a message.max.bytes among the raw properties.
Properties producer_properties(const KafkaConfig& config) {
  Properties properties = {{"message.max.bytes", std::to_string(config.max_message_bytes)}};
  properties.insert(properties.end(), config.extra.begin(), config.extra.end());
  return properties;
}

// How long a new producer waits to be connected before the gateway goes on without it.
constexpr std::chrono::milliseconds kConnectTimeout{1000};

}  // namespace

std::string receipt_reference_json(const ports::Receipt& r) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  for (const auto& [name, value] : {std::pair{"source", &r.source}, {"reference", &r.reference}}) {
    const std::string text = valid_utf8(*value);  // a sender's header may be any bytes
    w.Key(name);
    w.String(text.c_str(), static_cast<rapidjson::SizeType>(text.size()));
  }
  w.EndObject();
  return buffer.GetString();
}

std::string receipt_json(const ports::Receipt& r, ByteView sealed_reference) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  auto string = [&](const char* name, const std::string& value) {
    w.Key(name);
    w.String(value.c_str(), static_cast<rapidjson::SizeType>(value.size()));
  };
  w.StartObject();
  string("sealedReference", to_0x_hex(sealed_reference));
  string("resourceKey", r.resource_key);
  w.Key("version");
  w.Uint64(r.version);
  string("contentHash", r.content_hash);
  string("redisKey", r.redis_key);
  string("region", r.region);
  string("txHash", r.tx_hash);
  w.Key("block");
  w.Uint64(r.block);
  string("anchorMode", r.anchor_mode);
  if (r.deleted) {
    w.Key("deleted");
    w.Bool(true);
  }
  if (!r.merkle_root.empty()) {
    w.Key("merkle");
    w.StartObject();
    string("root", r.merkle_root);
    w.Key("index");
    w.Uint(r.merkle_index);
    w.Key("leafCount");
    w.Uint(r.merkle_leaf_count);
    w.Key("proof");
    w.StartArray();
    for (const auto& h : r.merkle_proof)
      w.String(h.c_str(), static_cast<rapidjson::SizeType>(h.size()));
    w.EndArray();
    w.EndObject();
  }
  w.Key("origin");
  w.StartObject();
  string("topic", r.origin.topic);
  w.Key("partition");
  w.Int(r.origin.partition);
  w.Key("offset");
  w.Int64(r.origin.offset);
  w.EndObject();
  w.EndObject();
  return buffer.GetString();
}

Result<std::unique_ptr<ports::DeadLetters>> make_dead_letters(
    const KafkaConfig& config, std::shared_ptr<ports::TopicSealer> sealer) {
  FL_ASSERT(sealer != nullptr, "topics are written sealed");
  auto producer = Producer::create(config.bootstrap_servers, config.client_id + "-dlq",
                                   producer_properties(config));
  if (!producer) return producer.error();
  (*producer)->connect(config.dead_letter_topic, kConnectTimeout);
  return std::unique_ptr<ports::DeadLetters>(std::make_unique<KafkaDeadLetters>(
      std::move(*producer), config.dead_letter_topic, config.max_message_bytes, std::move(sealer)));
}

Result<std::unique_ptr<ports::Receipts>> make_receipts(const KafkaConfig& config,
                                                       std::shared_ptr<ports::TopicSealer> sealer) {
  FL_ASSERT(sealer != nullptr, "topics are written sealed");
  auto producer = Producer::create(config.bootstrap_servers, config.client_id + "-receipts",
                                   producer_properties(config));
  if (!producer) return producer.error();
  (*producer)->connect(config.results_topic, kConnectTimeout);
  return std::unique_ptr<ports::Receipts>(std::make_unique<KafkaReceipts>(
      std::move(*producer), config.results_topic, std::move(sealer)));
}

Result<std::unique_ptr<ports::AuditLog>> make_audit_log(const KafkaConfig& config) {
  auto producer = Producer::create(config.bootstrap_servers, config.client_id + "-audit",
                                   producer_properties(config));
  if (!producer) return producer.error();
  (*producer)->connect(config.audit_topic, kConnectTimeout);
  return std::unique_ptr<ports::AuditLog>(
      std::make_unique<KafkaAuditLog>(std::move(*producer), config.audit_topic));
}

}  // namespace fl::kafka
