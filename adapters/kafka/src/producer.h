// A synchronous-at-flush Kafka producer: produce() queues, flush() waits for every delivery
// report and fails if any message was not acknowledged. Shared by dead letters, receipts and
// the publish tool.
#pragma once

#include "fl/base/result.h"

#include "handles.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>

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

  Status produce(const std::string& topic, std::string_view key, std::string_view value,
                 const std::vector<std::pair<std::string, std::string>>& headers);
  Status flush(std::chrono::milliseconds timeout);

  Producer(Token, std::string bootstrap) : bootstrap_(std::move(bootstrap)) {}

 private:
  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque);

  std::string bootstrap_;
  std::atomic<int> failed_{0};
  std::mutex error_mutex_;  // guards last_error_, written from librdkafka's callback
  std::string last_error_;
  KafkaPtr rk_;  // declared last: destroyed first, while the fields its callback uses live
};

}  // namespace fl::kafka
