// A synchronous-at-flush Kafka producer: produce() queues, flush() waits for every delivery
// report. Shared by dead letters, receipts, the pipeline's audit log and the publish tool.
// A message is queued once: one that failed for a passing reason (the broker was away longer
// than message.timeout.ms) is queued again by the next flush(), so a failed flush (kUnavailable)
// is cured by flushing again, never by producing the same messages again, which would send
// twice what was only late. A message the broker refuses for good (too large, a policy
// violation) makes flush() fail with a permanent error, and its tag is kept for refused() so the
// caller can send something else in its place instead of the same bytes again.
#pragma once

#include "fl/base/result.h"

#include "handles.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace fl::kafka {

class Producer {
  struct Token {};  // only create() can make one

 public:
  static Result<std::unique_ptr<Producer>> create(const std::string& bootstrap,
                                                  const std::string& client_id,
                                                  const Properties& extra);
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;
  ~Producer() = default;

  // `tag` names the message in refused(); 0 when the caller does not care.
  Status produce(const std::string& topic, std::string_view key, std::string_view value,
                 const std::vector<std::pair<std::string, std::string>>& headers,
                 std::uint64_t tag = 0);
  Status flush(std::chrono::milliseconds timeout);
  // Connects and learns `topic`'s leaders now rather than at the first produce(), waiting up to
  // `timeout`: the first batch's messages are then not delayed by the connection (a third of a
  // second on the mock cluster). Best effort: a broker not there yet is connected to later.
  void connect(const std::string& topic, std::chrono::milliseconds timeout);
  // The tags of the messages refused for good since the last call, and forgets them.
  std::vector<std::uint64_t> refused();
  // Called, on the thread that produces or flushes, with the tag, partition and offset of each
  // message the broker acknowledged; set it before the first produce().
  using Delivered =
      std::function<void(std::uint64_t tag, std::int32_t partition, std::int64_t offset)>;
  void on_delivered(Delivered delivered) { delivered_ = std::move(delivered); }

  Producer(Token, std::string bootstrap) : bootstrap_(std::move(bootstrap)) {}

 private:
  // A message that failed for a passing reason, as it is to be sent again.
  struct Retry {
    std::string topic;
    std::string key;
    std::string value;
    std::vector<std::pair<std::string, std::string>> headers;
    std::uint64_t tag = 0;
  };

  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque);
  Status produce_again();

  std::string bootstrap_;
  std::atomic<int> failed_{0};  // refused for good since the last flush
  std::mutex error_mutex_;      // guards what librdkafka's callback writes below
  std::string last_error_;
  // Since the last flush, the error of a message refused for good, if any.
  rd_kafka_resp_err_t permanent_ = RD_KAFKA_RESP_ERR_NO_ERROR;
  std::vector<std::uint64_t> refused_;
  std::vector<Retry> retries_;  // failed for a passing reason: the next flush sends them again
  Delivered delivered_;
  KafkaPtr rk_;  // declared last: destroyed first, while the fields its callback uses live
};

}  // namespace fl::kafka
