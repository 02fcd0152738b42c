#include "fl/adapters/kafka/tools.h"

#include "handles.h"
#include "producer.h"

#include <algorithm>
#include <map>
#include <utility>

namespace fl::kafka {

Result<std::vector<Placed>> publish_placed(const std::string& bootstrap_servers,
                                           const std::string& topic,
                                           const std::vector<OutgoingMessage>& messages,
                                           std::chrono::milliseconds timeout) {
  // The tool sends what it is given (tests publish oversized events on purpose): the broker's
  // limit decides, not librdkafka's default of 1 MB.
  auto producer = Producer::create(bootstrap_servers, "fhir-ledger-publish",
                                   {{"message.max.bytes", "100000000"}});
  if (!producer) return producer.error();
  std::vector<Placed> placed(messages.size());
  (*producer)->on_delivered([&](std::uint64_t tag, std::int32_t partition, std::int64_t offset) {
    if (tag >= 1 && tag <= placed.size()) placed[tag - 1] = {partition, offset};
  });
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const auto& m = messages[i];
    if (auto sent = (*producer)->produce(topic, m.key, m.value, m.headers, i + 1); !sent) {
      return sent.error();
    }
  }
  auto flushed = (*producer)->flush(timeout);
  if (flushed) return placed;
  // Refused for good: those messages are named, the rest were delivered (flush waits for all).
  for (std::uint64_t tag : (*producer)->refused()) {
    if (tag >= 1 && tag <= placed.size()) placed[tag - 1].refused = flushed.error().message;
  }
  const bool all_accounted = std::all_of(placed.begin(), placed.end(), [](const Placed& p) {
    return p.partition >= 0 || !p.refused.empty();
  });
  if (flushed.error().code == ErrorCode::kUnavailable || !all_accounted) return flushed.error();
  return placed;
}

Status publish(const std::string& bootstrap_servers, const std::string& topic,
               const std::vector<OutgoingMessage>& messages, std::chrono::milliseconds timeout) {
  auto placed = publish_placed(bootstrap_servers, topic, messages, timeout);
  if (!placed) return placed.error();
  for (const auto& p : *placed) {
    if (!p.refused.empty()) return Error{ErrorCode::kInvalidInput, p.refused, bootstrap_servers};
  }
  return Ok{};
}

namespace {

// A consumer that never joins its group: assign() and offset queries only.
Result<KafkaPtr> make_reader(const std::string& bootstrap_servers, const std::string& group,
                             const ReaderProperties& extra = {}) {
  Properties properties{{"bootstrap.servers", bootstrap_servers},
                        {"client.id", "fhir-ledger-reader"},
                        {"group.id", group},
                        {"enable.auto.commit", "false"},
                        {"enable.partition.eof", "true"}};
  properties.insert(properties.end(), extra.begin(), extra.end());
  auto conf = make_conf(properties);
  if (!conf) return conf.error();
  return make_client(RD_KAFKA_CONSUMER, std::move(*conf), bootstrap_servers);
}

Result<std::vector<std::int32_t>> partitions_of(rd_kafka_t* rk, const std::string& bootstrap,
                                                const std::string& topic, int timeout_ms) {
  TopicPtr handle(rd_kafka_topic_new(rk, topic.c_str(), nullptr));
  const rd_kafka_metadata_t* metadata = nullptr;
  if (auto err = rd_kafka_metadata(rk, 0, handle.get(), &metadata, timeout_ms);
      err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return kafka_error(err, bootstrap);
  }
  std::vector<std::int32_t> partitions;
  if (metadata->topic_cnt == 1 && metadata->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    for (int i = 0; i < metadata->topics[0].partition_cnt; ++i) {
      partitions.push_back(metadata->topics[0].partitions[i].id);
    }
  }
  rd_kafka_metadata_destroy(metadata);
  return partitions;
}

// The partition's first and end offsets.
Result<std::pair<int64_t, int64_t>> watermarks(rd_kafka_t* rk, const std::string& bootstrap,
                                               const std::string& topic, std::int32_t partition,
                                               int timeout_ms) {
  int64_t low = 0;
  int64_t high = 0;
  if (auto err =
          rd_kafka_query_watermark_offsets(rk, topic.c_str(), partition, &low, &high, timeout_ms);
      err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return kafka_error(err, bootstrap);
  }
  return std::pair{low, high};
}

// A reader that joins no group (assign() only), and the topic's partitions.
struct TopicReader {
  KafkaPtr rk;
  std::vector<std::int32_t> partitions;
};
Result<TopicReader> topic_reader(const std::string& bootstrap_servers, const std::string& topic,
                                 int timeout_ms, const ReaderProperties& extra) {
  auto rk = make_reader(bootstrap_servers, "fhir-ledger-reader-unused", extra);
  if (!rk) return rk.error();
  auto partitions = partitions_of(rk->get(), bootstrap_servers, topic, timeout_ms);
  if (!partitions) return partitions.error();
  return TopicReader{std::move(*rk), std::move(*partitions)};
}

}  // namespace

Result<PartitionOffsets> end_offsets(const std::string& bootstrap_servers, const std::string& topic,
                                     std::chrono::milliseconds timeout,
                                     const ReaderProperties& extra) {
  const int timeout_ms = static_cast<int>(timeout.count());
  auto reader = topic_reader(bootstrap_servers, topic, timeout_ms, extra);
  if (!reader) return reader.error();
  auto& [rk, partitions] = *reader;
  PartitionOffsets out;
  for (std::int32_t p : partitions) {
    auto range = watermarks(rk.get(), bootstrap_servers, topic, p, timeout_ms);
    if (!range) return range.error();
    out[p] = range->second;
  }
  return out;
}

Result<PartitionOffsets> committed_offsets(const std::string& bootstrap_servers,
                                           const std::string& group, const std::string& topic,
                                           std::chrono::milliseconds timeout) {
  const int timeout_ms = static_cast<int>(timeout.count());
  auto rk = make_reader(bootstrap_servers, group);
  if (!rk) return rk.error();
  auto partitions = partitions_of(rk->get(), bootstrap_servers, topic, timeout_ms);
  if (!partitions) return partitions.error();
  PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions->size())));
  for (std::int32_t p : *partitions)
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p);
  if (auto err = rd_kafka_committed(rk->get(), list.get(), timeout_ms);
      err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return kafka_error(err, bootstrap_servers);
  }
  PartitionOffsets out;
  for (int i = 0; i < list->cnt; ++i) {
    if (list->elems[i].offset >= 0) out[list->elems[i].partition] = list->elems[i].offset;
  }
  return out;
}

Result<std::vector<ports::SourceEvent>> read_topic(const std::string& bootstrap_servers,
                                                   const std::string& topic,
                                                   std::chrono::milliseconds timeout,
                                                   const PartitionOffsets& from,
                                                   const ReaderProperties& extra) {
  const int timeout_ms = static_cast<int>(timeout.count());
  auto reader = topic_reader(bootstrap_servers, topic, timeout_ms, extra);
  if (!reader) return reader.error();
  auto& [rk, partitions] = *reader;

  // Read each partition from its beginning (or `from`) up to the end it has now.
  std::map<int32_t, int64_t> end;
  PartitionListPtr assignment(
      rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
  for (int32_t p : partitions) {
    auto range = watermarks(rk.get(), bootstrap_servers, topic, p, timeout_ms);
    if (!range) return range.error();
    auto [low, high] = *range;
    if (auto it = from.find(p); it != from.end()) low = std::max(low, it->second);
    if (high > low) {
      end[p] = high;
      rd_kafka_topic_partition_list_add(assignment.get(), topic.c_str(), p)->offset = low;
    }
  }
  std::vector<ports::SourceEvent> out;
  if (end.empty()) return out;
  if (auto err = rd_kafka_assign(rk.get(), assignment.get()); err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return kafka_error(err, bootstrap_servers);
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!end.empty()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return Error{ErrorCode::kUnavailable, "timed out reading topic " + topic, bootstrap_servers};
    }
    MessagePtr message(rd_kafka_consumer_poll(rk.get(), 200));
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
  (void)rd_kafka_consumer_close(rk.get());
  return out;
}

Result<ports::SourceEvent> read_message(const std::string& bootstrap_servers,
                                        const std::string& topic, std::int32_t partition,
                                        std::int64_t offset, std::chrono::milliseconds timeout,
                                        const ReaderProperties& extra) {
  const int timeout_ms = static_cast<int>(timeout.count());
  auto reader = topic_reader(bootstrap_servers, topic, timeout_ms, extra);
  if (!reader) return reader.error();
  auto& [rk, partitions] = *reader;
  const auto where = topic + "[" + std::to_string(partition) + "]@" + std::to_string(offset);
  if (std::find(partitions.begin(), partitions.end(), partition) == partitions.end()) {
    return Error{ErrorCode::kNotFound, "the topic has no such partition", where};
  }
  auto range = watermarks(rk.get(), bootstrap_servers, topic, partition, timeout_ms);
  if (!range) return range.error();
  if (offset < range->first || offset >= range->second) {
    return Error{ErrorCode::kNotFound, "no message at that offset", where};
  }
  PartitionListPtr assignment(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(assignment.get(), topic.c_str(), partition)->offset = offset;
  if (auto err = rd_kafka_assign(rk.get(), assignment.get()); err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return kafka_error(err, bootstrap_servers);
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  Result<ports::SourceEvent> out =
      Error{ErrorCode::kUnavailable, "timed out reading the message", where};
  while (std::chrono::steady_clock::now() <= deadline) {
    MessagePtr message(rd_kafka_consumer_poll(rk.get(), 200));
    if (!message || message->err != RD_KAFKA_RESP_ERR_NO_ERROR) continue;
    // A compacted or transactional topic may skip the offset: the next one is not it.
    out = message->offset == offset
              ? Result<ports::SourceEvent>(to_source_event(*message))
              : Error{ErrorCode::kNotFound, "no message at that offset", where};
    break;
  }
  (void)rd_kafka_consumer_close(rk.get());
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
