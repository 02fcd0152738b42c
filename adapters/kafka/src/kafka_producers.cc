#include "fl/adapters/kafka/kafka_producers.h"

#include "producer.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace fl::kafka {
namespace {

class KafkaDeadLetters final : public ports::DeadLetters {
 public:
  KafkaDeadLetters(std::unique_ptr<Producer> producer, std::string topic)
      : producer_(std::move(producer)), topic_(std::move(topic)) {}

  Status send(const ports::DeadLetter& letter) override {
    auto headers = letter.event.headers;
    headers.emplace_back("error-code", letter.error_code);
    headers.emplace_back("error-detail", letter.error_detail);
    headers.emplace_back("origin-topic", letter.event.origin.topic);
    headers.emplace_back("origin-partition", std::to_string(letter.event.origin.partition));
    headers.emplace_back("origin-offset", std::to_string(letter.event.origin.offset));
    return producer_->produce(topic_, letter.event.key, letter.event.value, headers);
  }

  Status flush(std::chrono::milliseconds timeout) override { return producer_->flush(timeout); }

 private:
  std::unique_ptr<Producer> producer_;
  std::string topic_;
};

class KafkaReceipts final : public ports::Receipts {
 public:
  KafkaReceipts(std::unique_ptr<Producer> producer, std::string topic)
      : producer_(std::move(producer)), topic_(std::move(topic)) {}

  Status publish(const ports::Receipt& receipt) override {
    return producer_->produce(topic_, receipt.resource_key, receipt_json(receipt),
                              {{"content-type", "application/json"}});
  }

  Status flush(std::chrono::milliseconds timeout) override { return producer_->flush(timeout); }

 private:
  std::unique_ptr<Producer> producer_;
  std::string topic_;
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

}  // namespace

std::string receipt_json(const ports::Receipt& r) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  auto string = [&](const char* name, const std::string& value) {
    w.Key(name);
    w.String(value.c_str(), static_cast<rapidjson::SizeType>(value.size()));
  };
  w.StartObject();
  string("reference", r.reference);
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

Result<std::unique_ptr<ports::DeadLetters>> make_dead_letters(const KafkaConfig& config) {
  auto producer =
      Producer::create(config.bootstrap_servers, config.client_id + "-dlq", config.extra);
  if (!producer) return producer.error();
  return std::unique_ptr<ports::DeadLetters>(
      std::make_unique<KafkaDeadLetters>(std::move(*producer), config.dead_letter_topic));
}

Result<std::unique_ptr<ports::Receipts>> make_receipts(const KafkaConfig& config) {
  auto producer =
      Producer::create(config.bootstrap_servers, config.client_id + "-receipts", config.extra);
  if (!producer) return producer.error();
  return std::unique_ptr<ports::Receipts>(
      std::make_unique<KafkaReceipts>(std::move(*producer), config.results_topic));
}

Result<std::unique_ptr<ports::AuditLog>> make_audit_log(const KafkaConfig& config) {
  auto producer =
      Producer::create(config.bootstrap_servers, config.client_id + "-audit", config.extra);
  if (!producer) return producer.error();
  return std::unique_ptr<ports::AuditLog>(
      std::make_unique<KafkaAuditLog>(std::move(*producer), config.audit_topic));
}

}  // namespace fl::kafka
