// A Kafka-protocol broker for development and tests: librdkafka's mock cluster, listening on
// ephemeral ports of 127.0.0.1 (so runs never collide), reachable over TCP by any Kafka client
// (kcat included). Data lives in memory (about 5 MB per partition) for the life of the object.
#pragma once

#include "fl/base/result.h"

#include <memory>
#include <string>

namespace fl::kafka {

class MockCluster {
  struct Token {};  // only start() can make one

 public:
  static Result<std::unique_ptr<MockCluster>> start(int brokers);
  ~MockCluster();
  MockCluster(const MockCluster&) = delete;
  MockCluster& operator=(const MockCluster&) = delete;

  std::string bootstrap_servers() const;
  Status create_topic(const std::string& name, int partitions);
  // The next `count` produce requests are answered "message too large", as a broker whose
  // topic limit is below the producer's would (for tests of what the gateway does then).
  void refuse_next_produce_requests_as_too_large(int count);

  struct Impl;
  MockCluster(Token, std::unique_ptr<Impl> impl);

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace fl::kafka
