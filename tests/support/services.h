// RAII launchers of the real services integration tests run against, each on free loopback
// ports in its own temp dir, stopped (with its process group) when the object dies:
// redis-server, anvil (from the repo's node_modules) and librdkafka's mock cluster (in
// process, reached over TCP through its bootstrap address like any broker).
#pragma once

#include "fl/adapters/kafka/mock_cluster.h"

#include "support/child_process.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fl::testing {

class RedisServer {
 public:
  // Aborts the test binary if redis-server does not answer PING in 10 s. A `durable` server
  // appends every write to its data dir before answering (appendfsync always), so it comes
  // back with its data after kill().
  explicit RedisServer(bool durable = false);
  int port() const { return port_; }
  // Stops the server; restart() brings it back on the same port with an empty dataset.
  void stop();
  void restart();
  // SIGKILL, as a crashed host: connections are refused until start_again(), which brings it
  // back on the same port and data dir (with its data when durable).
  void kill();
  void start_again() { start(); }
  // SIGSTOP and SIGCONT, as a host that hangs: connections are accepted, nothing is answered.
  void freeze();
  void thaw();

 private:
  void start();
  TempDir dir_;
  int port_ = 0;
  bool durable_ = false;
  std::optional<ChildProcess> process_;
};

class AnvilNode {
 public:
  // Aborts if anvil does not listen within 20 s. With `persist_state`, the chain is kept in a
  // state file (anvil --state) that a graceful stop writes and a start reads.
  // `extra_args` go to anvil as given (e.g. a zero gas price, as permissioned networks run).
  explicit AnvilNode(bool persist_state = false, std::vector<std::string> extra_args = {});
  std::string rpc_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void stop() { process_.reset(); }
  // Stops anvil gracefully and starts it again on the same port: with the chain it had (when
  // persisting state), or a fresh chain.
  void restart(bool keep_state);

  // anvil's first two well-known development keys (public knowledge; test chains only).
  static constexpr const char* kDevKey0 =
      "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
  static constexpr const char* kDevKey1 =
      "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

 private:
  void start();
  TempDir dir_;
  int port_ = 0;
  bool persist_state_ = false;
  std::vector<std::string> extra_args_;
  std::optional<ChildProcess> process_;
};

class KafkaCluster {
 public:
  // Topics get `partitions` partitions each.
  explicit KafkaCluster(std::initializer_list<std::string> topics, int partitions = 1);
  std::string bootstrap() const { return cluster_->bootstrap_servers(); }
  kafka::MockCluster& mock() { return *cluster_; }

 private:
  std::unique_ptr<kafka::MockCluster> cluster_;
};

// The repo's pinned anvil and cast binaries.
std::string anvil_binary();
std::string cast_binary();

// stdout of a shell command (cast, redis-cli), without the trailing newline.
std::string shell_output(const std::string& command);

}  // namespace fl::testing
