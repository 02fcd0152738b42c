#include "fl/adapters/kafka/tools.h"

#include "handles.h"
#include "producer.h"

#include <map>

namespace fl::kafka {

Status publish(const std::string& bootstrap_servers, const std::string& topic,
               const std::vector<OutgoingMessage>& messages, std::chrono::milliseconds timeout) {
  // The tool sends what it is given (tests publish oversized events on purpose): the broker's
  // limit decides, not librdkafka's default of 1 MB.
  auto producer = Producer::create(bootstrap_servers, "fhir-ledger-publish",
                                   {{"message.max.bytes", "100000000"}});
  if (!producer) return producer.error();
  for (const auto& m : messages) {
    if (auto sent = (*producer)->produce(topic, m.key, m.value, m.headers); !sent) return sent;
  }
  return (*producer)->flush(timeout);
}

Result<std::vector<ports::SourceEvent>> read_topic(const std::string& bootstrap_servers,
                                                   const std::string& topic,
                                                   std::chrono::milliseconds timeout) {
  const int timeout_ms = static_cast<int>(timeout.count());
  auto conf = make_conf({{"bootstrap.servers", bootstrap_servers},
                         {"client.id", "fhir-ledger-reader"},
                         {"group.id", "fhir-ledger-reader-unused"},  // assign() needs no group
                         {"enable.auto.commit", "false"},
                         {"enable.partition.eof", "true"}});
  if (!conf) return conf.error();
  auto rk = make_client(RD_KAFKA_CONSUMER, std::move(*conf), bootstrap_servers);
  if (!rk) return rk.error();

  TopicPtr handle(rd_kafka_topic_new(rk->get(), topic.c_str(), nullptr));
  const rd_kafka_metadata_t* metadata = nullptr;
  if (auto err = rd_kafka_metadata(rk->get(), 0, handle.get(), &metadata, timeout_ms);
      err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return kafka_error(err, bootstrap_servers);
  }
  std::vector<int32_t> partitions;
  if (metadata->topic_cnt == 1 && metadata->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    for (int i = 0; i < metadata->topics[0].partition_cnt; ++i) {
      partitions.push_back(metadata->topics[0].partitions[i].id);
    }
  }
  rd_kafka_metadata_destroy(metadata);

  // Read each partition from its beginning up to the end it has now.
  std::map<int32_t, int64_t> end;
  PartitionListPtr assignment(
      rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
  for (int32_t p : partitions) {
    int64_t low = 0;
    int64_t high = 0;
    if (auto err =
            rd_kafka_query_watermark_offsets(rk->get(), topic.c_str(), p, &low, &high, timeout_ms);
        err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return kafka_error(err, bootstrap_servers);
    }
    if (high > low) {
      end[p] = high;
      rd_kafka_topic_partition_list_add(assignment.get(), topic.c_str(), p)->offset = low;
    }
  }
  std::vector<ports::SourceEvent> out;
  if (end.empty()) return out;
  if (auto err = rd_kafka_assign(rk->get(), assignment.get()); err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return kafka_error(err, bootstrap_servers);
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!end.empty()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return Error{ErrorCode::kUnavailable, "timed out reading topic " + topic, bootstrap_servers};
    }
    MessagePtr message(rd_kafka_consumer_poll(rk->get(), 200));
    if (!message) continue;
    if (message->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      if (message->offset >= end[message->partition]) end.erase(message->partition);
      continue;
    }
    if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) continue;  // transient; retried by librdkafka
    const int32_t p = message->partition;
    out.push_back(to_source_event(*message));
    if (auto it = end.find(p); it != end.end() && message->offset + 1 >= it->second) end.erase(it);
  }
  (void)rd_kafka_consumer_close(rk->get());
  return out;
}

namespace {

class BrokerProbe final : public ports::DependencyProbe {
 public:
  explicit BrokerProbe(KafkaConfig config) : config_(std::move(config)) {}
  std::string name() const override { return "kafka"; }

  Status check(std::chrono::milliseconds timeout) override {
    if (!client_) {
      Properties properties{{"bootstrap.servers", config_.bootstrap_servers},
                            {"client.id", config_.client_id + "-readiness"}};
      properties.insert(properties.end(), config_.extra.begin(), config_.extra.end());
      auto conf = make_conf(properties);
      if (!conf) return conf.error();
      auto rk = make_client(RD_KAFKA_PRODUCER, std::move(*conf), config_.bootstrap_servers);
      if (!rk) return rk.error();
      client_ = std::move(*rk);
    }
    const rd_kafka_metadata_t* metadata = nullptr;
    const auto err =
        rd_kafka_metadata(client_.get(), 0, nullptr, &metadata, static_cast<int>(timeout.count()));
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return kafka_error(err, config_.bootstrap_servers);
    const bool brokers = metadata->broker_cnt > 0;
    rd_kafka_metadata_destroy(metadata);
    if (!brokers) {
      return Error{ErrorCode::kUnavailable, "the cluster names no broker",
                   config_.bootstrap_servers};
    }
    return Ok{};
  }

 private:
  KafkaConfig config_;
  KafkaPtr client_;
};

}  // namespace

std::unique_ptr<ports::DependencyProbe> make_broker_probe(const KafkaConfig& config) {
  return std::make_unique<BrokerProbe>(config);
}

}  // namespace fl::kafka
