// RAII launcher of a real Apache Kafka broker for integration tests: one node in KRaft combined
// mode (controller and broker in one JVM), the jars tools/kafka pins (fetched by
// scripts/install-deps), storage formatted in its own temp dir, listening on free loopback ports.
// It is the broker `scripts/services start RUN_DIR --kafka real` runs, configured alike, for the
// tests whose subject is Kafka's own behaviour (groups, commits, rebalances, limits), which the
// mock cluster only imitates. Stopped with SIGTERM (a controlled shutdown) when the object dies.
//
// A JVM takes seconds to start, so a test binary shares one broker (shared()) and each test
// makes topics and group ids of its own. Not thread-safe: the gtest main thread calls it.
#pragma once

#include "support/child_process.h"

#include <optional>
#include <string>
#include <vector>

namespace fl::testing {

class KafkaBroker {
 public:
  // Aborts the test binary, naming the cause, if the jars are not fetched (run
  // scripts/install-deps), java is missing, or the broker serves no metadata within 90 s.
  KafkaBroker();
  KafkaBroker(const KafkaBroker&) = delete;
  KafkaBroker& operator=(const KafkaBroker&) = delete;
  ~KafkaBroker();

  // The broker of this test binary, started at the first call and stopped when the binary exits.
  static KafkaBroker& shared();

  std::string bootstrap() const { return "127.0.0.1:" + std::to_string(port_); }

  // Creates the topics with `partitions` partitions each (replication 1) and returns once every
  // partition has a leader; topics that exist are left alone. Each call is a JVM start (seconds
  // on a busy machine), so callers make topics in bulk. Aborts on failure.
  void create_topics(int partitions, const std::vector<std::string>& names);

 private:
  // The java command line up to the main class: the broker logs at info, its tools at warn.
  enum class Jvm { kServer, kTool };
  std::vector<std::string> java(Jvm jvm) const;

  TempDir dir_;
  std::string home_;  // tools/kafka/fetch --dir: libs/ (the jars) and classes/ (CreateTopics)
  int port_ = 0;
  int controller_port_ = 0;
  std::optional<ChildProcess> process_;
};

}  // namespace fl::testing
