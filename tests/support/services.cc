#include "support/services.h"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>
#include <utility>

namespace fl::testing {
namespace {

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "test service: %s\n", what.c_str());
  std::abort();
}

}  // namespace

std::string anvil_binary() {
  return std::string(FL_SOURCE_DIR) + "/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil";
}

std::string shell_output(const std::string& command) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, pipe) != nullptr) out += buf;
  pclose(pipe);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

std::string cast_binary() {
  return std::string(FL_SOURCE_DIR) + "/node_modules/@foundry-rs/cast-linux-amd64/bin/cast";
}

RedisServer::RedisServer(bool durable) : port_(free_port()), durable_(durable) {
  // hiredis writes with plain write(2): a peer that went away raises SIGPIPE, which the
  // gateway ignores in main(); tests must too, or "Redis is down" kills the test binary.
  std::signal(SIGPIPE, SIG_IGN);
  start();
}

void RedisServer::start() {
  std::vector<std::string> argv{"redis-server", "--port",    std::to_string(port_),
                                "--bind",       "127.0.0.1", "--dir",
                                dir_.path(),    "--save",    ""};
  if (durable_) {
    argv.insert(argv.end(), {"--appendonly", "yes", "--appendfsync", "always"});
  } else {
    argv.insert(argv.end(), {"--appendonly", "no"});
  }
  process_.emplace(argv, dir_.path() + "/redis.log");
  if (!wait_for_port(port_, std::chrono::seconds(10))) fail("redis-server did not start");
}

void RedisServer::stop() { process_.reset(); }

void RedisServer::kill() {
  if (process_) process_->stop(SIGKILL);
  process_.reset();
}

void RedisServer::freeze() {
  if (process_) ::kill(process_->pid(), SIGSTOP);
}

void RedisServer::thaw() {
  if (process_) ::kill(process_->pid(), SIGCONT);
}

void RedisServer::restart() {
  stop();
  start();
}

AnvilNode::AnvilNode(bool persist_state, std::vector<std::string> extra_args)
    : port_(free_port()), persist_state_(persist_state), extra_args_(std::move(extra_args)) {
  start();
}

void AnvilNode::start() {
  std::vector<std::string> argv{anvil_binary(),        "--host",     "127.0.0.1", "--port",
                                std::to_string(port_), "--hardfork", "shanghai"};
  if (persist_state_) {
    argv.insert(argv.end(), {"--state", dir_.path() + "/state.json"});
  } else {
    argv.push_back("--prune-history");
  }
  argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
  process_.emplace(argv, dir_.path() + "/anvil.log");
  if (!wait_for_port(port_, std::chrono::seconds(20)))
    fail("anvil did not start: " + anvil_binary());
}

void AnvilNode::restart(bool keep_state) {
  // SIGINT: anvil writes its --state file on a graceful exit.
  if (process_) process_->stop(SIGINT, std::chrono::seconds(10));
  process_.reset();
  if (!keep_state) std::filesystem::remove(dir_.path() + "/state.json");
  start();
}

KafkaCluster::KafkaCluster(std::initializer_list<std::string> topics, int partitions) {
  auto cluster = kafka::MockCluster::start(1);
  if (!cluster) fail(cluster.error().message);
  cluster_ = std::move(*cluster);
  for (const auto& t : topics) {
    if (auto created = cluster_->create_topic(t, partitions); !created)
      fail(created.error().message);
  }
}

}  // namespace fl::testing
