#include "support/kafka_broker.h"

#include "fl/adapters/kafka/tools.h"

#include "support/services.h"

#include <array>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

namespace fl::testing {
namespace {

using namespace std::chrono_literals;

std::string random_base64_id() {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::random_device random;
  std::array<unsigned char, 16> bytes{};
  for (auto& b : bytes) b = static_cast<unsigned char>(random() & 0xff);
  std::string id;
  std::uint32_t bits = 0;
  int count = 0;
  for (const unsigned char b : bytes) {
    bits = (bits << 8) | b;
    count += 8;
    while (count >= 6) {
      count -= 6;
      id += kAlphabet[(bits >> count) & 0x3f];
    }
  }
  if (count > 0) id += kAlphabet[(bits << (6 - count)) & 0x3f];
  return id;
}

// A KRaft cluster id: 16 random bytes in URL-safe base64 without padding, what
// `StorageTool random-uuid` prints, made here to spare a JVM start (as scripts/services does).
// Like Kafka's Uuid.randomUuid(), never one that starts with '-': StorageTool's argument parser
// takes `--cluster-id -x...` for a missing value followed by an option (1 run in 64 failed so).
std::string random_cluster_id() {
  std::string id;
  do {
    id = random_base64_id();
  } while (id.front() == '-');
  return id;
}

std::string tail_of(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  const std::string all = text.str();
  return all.size() > 3000 ? all.substr(all.size() - 3000) : all;
}

// Aborts the test binary, as the other launchers do, with the end of `log` when one is named.
[[noreturn]] void fail(const std::string& what, const std::string& log) {
  std::fprintf(stderr, "test service: %s\n", what.c_str());
  if (!log.empty()) std::fprintf(stderr, "%s (end):\n%s\n", log.c_str(), tail_of(log).c_str());
  std::abort();
}

}  // namespace

KafkaBroker::KafkaBroker() {
  home_ = shell_output(std::string(FL_SOURCE_DIR) + "/tools/kafka/fetch --dir");
  if (home_.empty() || !std::filesystem::exists(home_ + "/complete")) {
    fail("the Kafka broker's jars are not fetched (" + home_ + "): run scripts/install-deps", "");
  }
  // Each bound once and closed, so two calls can hand out the same port.
  port_ = free_port();
  do {
    controller_port_ = free_port();
  } while (controller_port_ == port_);

  // The keys of scripts/services' kafka_prepare, with the same reasons; only the folders and
  // ports differ.
  const std::string properties = dir_.path() + "/server.properties";
  std::ofstream(properties)
      << "process.roles=broker,controller\n"
      << "node.id=1\n"
      << "listeners=PLAINTEXT://127.0.0.1:" << port_
      << ",CONTROLLER://127.0.0.1:" << controller_port_ << "\n"
      << "advertised.listeners=PLAINTEXT://127.0.0.1:" << port_ << "\n"
      << "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT\n"
      << "inter.broker.listener.name=PLAINTEXT\n"
      << "controller.listener.names=CONTROLLER\n"
      << "controller.quorum.bootstrap.servers=127.0.0.1:" << controller_port_ << "\n"
      << "log.dirs=" << dir_.path()
      << "/data\n"
      // One broker: every internal topic has one replica, and acks=all means that one.
      << "offsets.topic.replication.factor=1\n"
      << "offsets.topic.num.partitions=4\n"
      << "transaction.state.log.replication.factor=1\n"
      << "transaction.state.log.min.isr=1\n"
      << "default.replication.factor=1\n"
      << "min.insync.replicas=1\n"
      << "num.partitions=1\n"
      // Tests make their topics with the partitions they need, never by a typo.
      << "auto.create.topics.enable=false\n"
      // A group's first assignment without the 3 s wait for more members.
      << "group.initial.rebalance.delay.ms=0\n"
      << "broker.session.timeout.ms=4000\n"
      << "broker.heartbeat.interval.ms=1000\n"
      // Tests write little; small segments keep the data folder small.
      << "log.segment.bytes=16777216\n";

  // --standalone: this node is the only voter of the controller quorum (KIP-853).
  std::vector<std::string> format = java(Jvm::kTool);
  format.insert(format.end(), {"kafka.tools.StorageTool", "format", "--config", properties,
                               "--cluster-id", random_cluster_id(), "--standalone"});
  const std::string format_log = dir_.path() + "/format.log";
  const int formatted = ChildProcess(format, format_log).wait(60s);
  if (formatted == 127) fail("java (17 or newer) is needed for the real Kafka broker", "");
  if (formatted != 0) fail("formatting the Kafka storage failed", format_log);

  std::vector<std::string> server = java(Jvm::kServer);
  server.insert(server.end(), {"kafka.Kafka", properties});
  const std::string log = dir_.path() + "/kafka.log";
  process_.emplace(server, log);

  // First the port (quietly: librdkafka would log every refused connection), then metadata:
  // listening is not enough, as a KRaft broker answers metadata with no broker in it until it
  // has registered with its controller, and clients need a broker to talk to.
  const auto deadline = std::chrono::steady_clock::now() + 90s;
  while (!wait_for_port(port_, 1s)) {
    if (!process_->running()) fail("the Kafka broker exited", log);
    if (std::chrono::steady_clock::now() > deadline) {
      fail("the Kafka broker did not listen within 90 s", log);
    }
  }
  auto probe = kafka::make_broker_probe({.bootstrap_servers = bootstrap()});
  while (!probe->check(1s)) {
    if (!process_->running()) fail("the Kafka broker exited", log);
    if (std::chrono::steady_clock::now() > deadline) {
      fail("the Kafka broker served no metadata within 90 s", log);
    }
    std::this_thread::sleep_for(100ms);
  }
}

KafkaBroker::~KafkaBroker() {
  // SIGTERM: a controlled shutdown, the way the broker is meant to stop; SIGKILL after 30 s.
  if (process_) process_->stop(SIGTERM, 30s);
}

KafkaBroker& KafkaBroker::shared() {
  // Function-local: started by the first test that asks, never by a binary whose tests all run
  // on the mock; destroyed (the broker stopped) when the binary exits.
  static KafkaBroker broker;
  return broker;
}

void KafkaBroker::create_topics(int partitions, const std::vector<std::string>& names) {
  // The compiled helper scripts/services runs (tools/kafka/CreateTopics.java), at warn.
  std::vector<std::string> argv = java(Jvm::kTool);
  argv.insert(argv.end(), {"CreateTopics", bootstrap(), std::to_string(partitions), "1"});
  argv.insert(argv.end(), names.begin(), names.end());
  const std::string log = dir_.path() + "/topics.log";
  if (ChildProcess(argv, log).wait(90s) != 0) fail("creating Kafka topics failed", log);
}

std::vector<std::string> KafkaBroker::java(Jvm jvm) const {
  // scripts/services' kafka_java_options: a small heap and the serial collector keep start time
  // and memory low. The tools run for a few seconds, too short for the optimizing compiler to
  // pay off: without it a start takes about a second less.
  std::vector<std::string> argv{"java", "-Xms64m", "-Xmx512m", "-XX:+UseSerialGC"};
  if (jvm == Jvm::kTool) argv.push_back("-XX:TieredStopAtLevel=1");
  argv.push_back(jvm == Jvm::kTool ? "-Dfl.kafka.log.level=warn" : "-Dfl.kafka.log.level=info");
  argv.push_back("-Dlog4j2.configurationFile=" + std::string(FL_SOURCE_DIR) +
                 "/tools/kafka/log4j2.properties");
  argv.insert(argv.end(), {"-cp", home_ + "/libs/*:" + home_ + "/classes"});
  return argv;
}

}  // namespace fl::testing
