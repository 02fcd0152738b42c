#include "fl/adapters/kafka/kafka_event_source.h"

#include "fl/base/log.h"

#include "handles.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

namespace fl::kafka {
namespace {

constexpr int kMetadataTimeoutMs = 5000;

using PartitionKey = std::pair<std::string, std::int32_t>;

// How far this process got in each partition it has consumed. The pipeline finishes every event
// it polled (or the process ends), so when the group gives a partition back to this process (the
// consumer lost its session during a broker outage, a rebalance moved partitions around), it
// resumes after the last event it took, not at the committed offset: starting at the committed
// offset would run the uncommitted events a second time and publish their receipts twice.
class Positions {
 public:
  void polled(const std::string& topic, std::int32_t partition, std::int64_t offset) {
    const std::lock_guard<std::mutex> lock(mutex_);
    auto& next = polled_[{topic, partition}];
    next = std::max(next, offset + 1);
  }
  void done(const PartitionKey& tp, std::int64_t next_offset) {
    const std::lock_guard<std::mutex> lock(mutex_);
    auto& next = done_[tp];
    next = std::max(next, next_offset);
  }
  std::optional<std::int64_t> next_polled(const PartitionKey& tp) const {
    const std::lock_guard<std::mutex> lock(mutex_);
    auto it = polled_.find(tp);
    return it == polled_.end() ? std::nullopt : std::optional(it->second);
  }
  std::optional<std::int64_t> next_done(const PartitionKey& tp) const {
    const std::lock_guard<std::mutex> lock(mutex_);
    auto it = done_.find(tp);
    return it == done_.end() ? std::nullopt : std::optional(it->second);
  }

 private:
  mutable std::mutex mutex_;  // the rebalance callback runs on the polling thread, lag() may not
  std::map<PartitionKey, std::int64_t> polled_;
  std::map<PartitionKey, std::int64_t> done_;  // handled; its commit may have failed (rebalance)
};

// What became of the commits sent without waiting (their callback runs on the polling thread,
// within a poll): the first failure, until a commit reports it. A synchronous commit's answer
// comes this way too, so a refusal it returned is said once more by the next commit: one retry
// more, on a path that is failing already.
class AsyncCommits {
 public:
  void answered(rd_kafka_resp_err_t err) {
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return;
    if (moved(err)) {
      log::warn("kafka.commit.rebalanced", {{"error", rd_kafka_err2str(err)}});
      return;
    }
    const std::lock_guard<std::mutex> lock(mutex_);
    if (failed_ == RD_KAFKA_RESP_ERR_NO_ERROR) failed_ = err;
  }
  rd_kafka_resp_err_t take_failure() {
    const std::lock_guard<std::mutex> lock(mutex_);
    return std::exchange(failed_, RD_KAFKA_RESP_ERR_NO_ERROR);
  }

  // The partitions moved to another member, which will re-deliver these events (the pipeline
  // makes that a no-op), or they come back to this one, which commits these offsets then
  // (Positions): nothing is lost by not committing here.
  static bool moved(rd_kafka_resp_err_t err) {
    switch (err) {
      case RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION:
      case RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID:
      case RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS:
      case RD_KAFKA_RESP_ERR__ASSIGNMENT_LOST:
        return true;
      default:
        return false;
    }
  }

 private:
  std::mutex mutex_;
  rd_kafka_resp_err_t failed_ = RD_KAFKA_RESP_ERR_NO_ERROR;
};

// The consumer's callbacks share one opaque pointer.
struct CallbackState {
  Positions positions;
  AsyncCommits commits;
};

void on_commit(rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* offsets,
               void* opaque) {
  auto& commits = static_cast<CallbackState*>(opaque)->commits;
  commits.answered(err);
  for (int i = 0; offsets != nullptr && i < offsets->cnt; ++i) {
    commits.answered(offsets->elems[i].err);
  }
}

// Partitions assigned start at the later of the committed offset and where this process got;
// handled offsets whose commit was lost in the rebalance are committed again.
void assign(rd_kafka_t* rk, rd_kafka_topic_partition_list_t* partitions,
            const Positions& positions) {
  // Fails during an outage or for a partition never committed: the offsets stay unset, and
  // librdkafka then starts at the committed offset itself (or auto.offset.reset).
  if (rd_kafka_committed(rk, partitions, kMetadataTimeoutMs) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    for (int i = 0; i < partitions->cnt; ++i) partitions->elems[i].offset = RD_KAFKA_OFFSET_INVALID;
  }
  PartitionListPtr recommit(rd_kafka_topic_partition_list_new(partitions->cnt));
  for (int i = 0; i < partitions->cnt; ++i) {
    auto& tp = partitions->elems[i];
    tp.err = RD_KAFKA_RESP_ERR_NO_ERROR;
    const PartitionKey key{tp.topic, tp.partition};
    const std::int64_t committed = tp.offset;
    if (auto next = positions.next_polled(key); next && *next > committed) {
      log::info("kafka.partition.resumed", {{"topic", key.first},
                                            {"partition", key.second},
                                            {"committed", committed},
                                            {"resumedAt", *next}});
      tp.offset = *next;
    }
    if (auto done = positions.next_done(key); done && *done > committed) {
      rd_kafka_topic_partition_list_add(recommit.get(), tp.topic, tp.partition)->offset = *done;
    }
  }
  const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
  if (cooperative) {
    if (rd_kafka_error_t* error = rd_kafka_incremental_assign(rk, partitions)) {
      log::error("kafka.assign.failed", {{"error", rd_kafka_error_string(error)}});
      rd_kafka_error_destroy(error);
    }
  } else if (auto err = rd_kafka_assign(rk, partitions); err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    log::error("kafka.assign.failed", {{"error", rd_kafka_err2str(err)}});
  }
  if (recommit->cnt > 0) (void)rd_kafka_commit(rk, recommit.get(), 1);  // async: best effort
}

// "fhir.events:0,1,2" for the log.
std::string describe(const rd_kafka_topic_partition_list_t& partitions) {
  std::map<std::string, std::string> by_topic;
  for (int i = 0; i < partitions.cnt; ++i) {
    auto& list = by_topic[partitions.elems[i].topic];
    if (!list.empty()) list += ',';
    list += std::to_string(partitions.elems[i].partition);
  }
  std::string out;
  for (const auto& [topic, list] : by_topic) out += (out.empty() ? "" : " ") + topic + ':' + list;
  return out;
}

void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                  rd_kafka_topic_partition_list_t* partitions, void* opaque) {
  log::info(err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS ? "kafka.partitions.assigned"
            : rd_kafka_assignment_lost(rk)              ? "kafka.partitions.lost"
                                                        : "kafka.partitions.revoked",
            {{"partitions", describe(*partitions)}});
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    assign(rk, partitions, static_cast<CallbackState*>(opaque)->positions);
    return;
  }
  // Revoked or lost: what is in flight is finished anyway; its commit may fail, which is why
  // Positions remembers it.
  if (std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0) {
    if (rd_kafka_error_t* error = rd_kafka_incremental_unassign(rk, partitions)) {
      rd_kafka_error_destroy(error);
    }
  } else {
    (void)rd_kafka_assign(rk, nullptr);
  }
}

class Consumer final : public KafkaEventSource {
 public:
  Consumer(std::unique_ptr<CallbackState> state, KafkaPtr rk, std::string bootstrap)
      : state_(std::move(state)), rk_(std::move(rk)), bootstrap_(std::move(bootstrap)) {}
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;
  ~Consumer() override {
    // Without close() the group still learns of our departure when rd_kafka_destroy runs; the
    // explicit close() exists so that shutdown can report a failure.
    if (!closed_) (void)close();
  }

  Result<std::vector<ports::SourceEvent>> poll(std::size_t max_events,
                                               std::chrono::milliseconds timeout) override {
    std::vector<ports::SourceEvent> out;
    int wait_ms = static_cast<int>(timeout.count());
    while (out.size() < max_events) {
      MessagePtr message(rd_kafka_consumer_poll(rk_.get(), wait_ms));
      if (!message) break;
      wait_ms = 0;  // take what is already fetched, do not wait for more
      if (message->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) continue;
      if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        char reason[512];
        if (rd_kafka_fatal_error(rk_.get(), reason, sizeof reason) != RD_KAFKA_RESP_ERR_NO_ERROR) {
          return Error{ErrorCode::kUnavailable, std::string("kafka consumer: ") + reason,
                       bootstrap_};
        }
        // Transient (a broker went away, a rebalance): librdkafka recovers by itself.
        log::warn("kafka.consumer.error", {{"error", rd_kafka_err2str(message->err)}});
        if (out.empty()) return out;
        break;
      }
      state_->positions.polled(rd_kafka_topic_name(message->rkt), message->partition,
                               message->offset);
      out.push_back(to_source_event(*message));
    }
    return out;
  }

  Status commit(std::span<const ports::Origin> handled) override {
    return send_commit(handled, /*async=*/false);
  }

  Status commit_async(std::span<const ports::Origin> handled) override {
    return send_commit(handled, /*async=*/true);
  }

  Result<bool> caught_up() override {
    rd_kafka_topic_partition_list_t* raw = nullptr;
    if (auto err = rd_kafka_assignment(rk_.get(), &raw); err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return kafka_error(err, bootstrap_);
    }
    PartitionListPtr assignment(raw);
    if (assignment->cnt == 0) return false;
    if (auto err = rd_kafka_committed(rk_.get(), assignment.get(), kMetadataTimeoutMs);
        err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return kafka_error(err, bootstrap_);
    }
    for (int i = 0; i < assignment->cnt; ++i) {
      const auto& tp = assignment->elems[i];
      int64_t low = 0;
      int64_t high = 0;
      if (auto err = rd_kafka_query_watermark_offsets(rk_.get(), tp.topic, tp.partition, &low,
                                                      &high, kMetadataTimeoutMs);
          err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return kafka_error(err, bootstrap_);
      }
      const int64_t committed = tp.offset < 0 ? low : tp.offset;
      if (committed < high) return false;
    }
    return true;
  }

  std::vector<PartitionLag> lag() override {
    std::vector<PartitionLag> out;
    rd_kafka_topic_partition_list_t* raw = nullptr;
    if (rd_kafka_assignment(rk_.get(), &raw) != RD_KAFKA_RESP_ERR_NO_ERROR) return out;
    PartitionListPtr assignment(raw);
    if (rd_kafka_position(rk_.get(), assignment.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) return out;
    for (int i = 0; i < assignment->cnt; ++i) {
      const auto& tp = assignment->elems[i];
      int64_t low = 0;
      int64_t high = 0;
      if (rd_kafka_get_watermark_offsets(rk_.get(), tp.topic, tp.partition, &low, &high) !=
              RD_KAFKA_RESP_ERR_NO_ERROR ||
          high < 0) {
        continue;  // nothing fetched from it yet
      }
      const int64_t position = tp.offset < 0 ? low : tp.offset;
      out.push_back({tp.topic, tp.partition, std::max<int64_t>(0, high - position)});
    }
    return out;
  }

  Status send_commit(std::span<const ports::Origin> handled, bool async) {
    // An earlier commit sent without waiting was refused: said once, and the caller's next
    // try commits every assigned partition as far as it was handled (Positions), so that what
    // the refused commit held is committed even in a partition with nothing new. Partitions
    // assigned now only: one that moved is another member's to commit.
    if (const auto failed = state_->commits.take_failure(); failed != RD_KAFKA_RESP_ERR_NO_ERROR) {
      recommit_assigned_ = true;
      return kafka_error(failed, bootstrap_);
    }
    std::map<std::pair<std::string, std::int32_t>, std::int64_t> next;
    for (const auto& o : handled) {
      auto& offset = next[{o.topic, o.partition}];
      offset = std::max(offset, o.offset + 1);
    }
    if (recommit_assigned_) {
      rd_kafka_topic_partition_list_t* raw = nullptr;
      if (rd_kafka_assignment(rk_.get(), &raw) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        PartitionListPtr assignment(raw);
        for (int i = 0; i < assignment->cnt; ++i) {
          const PartitionKey key{assignment->elems[i].topic, assignment->elems[i].partition};
          if (auto done = state_->positions.next_done(key)) {
            auto& offset = next[key];
            offset = std::max(offset, *done);
          }
        }
      }
    }
    if (next.empty()) return Ok{};
    for (const auto& [tp, offset] : next) state_->positions.done(tp, offset);
    PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(next.size())));
    for (const auto& [tp, offset] : next) {
      rd_kafka_topic_partition_list_add(list.get(), tp.first.c_str(), tp.second)->offset = offset;
    }
    const rd_kafka_resp_err_t err = rd_kafka_commit(rk_.get(), list.get(), async ? 1 : 0);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      recommit_assigned_ = false;
      return Ok{};
    }
    if (AsyncCommits::moved(err)) {
      log::warn("kafka.commit.rebalanced", {{"error", rd_kafka_err2str(err)}});
      return Ok{};
    }
    return kafka_error(err, bootstrap_);
  }

  Status close() override {
    if (closed_) return Ok{};
    closed_ = true;
    const rd_kafka_resp_err_t err = rd_kafka_consumer_close(rk_.get());
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return kafka_error(err, bootstrap_);
    return Ok{};
  }

 private:
  std::unique_ptr<CallbackState> state_;  // outlives rk_, whose callbacks use it
  KafkaPtr rk_;
  std::string bootstrap_;
  bool closed_ = false;
  bool recommit_assigned_ = false;  // after a refused commit sent without waiting
};

}  // namespace

Result<std::unique_ptr<KafkaEventSource>> make_event_source(const KafkaConfig& config) {
  Properties properties = {
      {"bootstrap.servers", config.bootstrap_servers},
      {"group.id", config.group_id},
      {"client.id", config.client_id},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", "earliest"},
      // A crashed member is noticed within 6 s (the broker's minimum), so a restart after
      // SIGKILL gets its partitions back quickly.
      {"session.timeout.ms", "6000"},
      {"heartbeat.interval.ms", "500"},
      {"topic.metadata.refresh.interval.ms", "5000"},
  };
  properties.insert(properties.end(), config.extra.begin(), config.extra.end());
  auto conf = make_conf(properties);
  if (!conf) return conf.error();
  auto state = std::make_unique<CallbackState>();
  rd_kafka_conf_set_rebalance_cb(conf->get(), &on_rebalance);
  rd_kafka_conf_set_offset_commit_cb(conf->get(), &on_commit);
  rd_kafka_conf_set_opaque(conf->get(), state.get());
  auto rk = make_client(RD_KAFKA_CONSUMER, std::move(*conf), config.bootstrap_servers);
  if (!rk) return rk.error();
  rd_kafka_poll_set_consumer(rk->get());

  // Fail at start, not on the first poll, when nobody answers.
  const rd_kafka_metadata_t* metadata = nullptr;
  if (auto err = rd_kafka_metadata(rk->get(), 0, nullptr, &metadata, kMetadataTimeoutMs);
      err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Error{ErrorCode::kUnavailable,
                 std::string("kafka brokers unreachable: ") + rd_kafka_err2str(err),
                 config.bootstrap_servers};
  }
  rd_kafka_metadata_destroy(metadata);

  PartitionListPtr topics(
      rd_kafka_topic_partition_list_new(static_cast<int>(config.input_topics.size())));
  for (const auto& topic : config.input_topics) {
    rd_kafka_topic_partition_list_add(topics.get(), topic.c_str(), RD_KAFKA_PARTITION_UA);
  }
  if (auto err = rd_kafka_subscribe(rk->get(), topics.get()); err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return kafka_error(err, config.bootstrap_servers);
  }
  return std::unique_ptr<KafkaEventSource>(
      std::make_unique<Consumer>(std::move(state), std::move(*rk), config.bootstrap_servers));
}

}  // namespace fl::kafka
