// Asks each dependency whether it answers (ports/dependency_probe.h) every interval, on its own
// thread, and writes what it finds into the gateway's Health for /readyz. Stops when destroyed.
#pragma once

#include "fl/gateway/config.h"
#include "fl/gateway/health.h"
#include "fl/ports/dependency_probe.h"

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace fl::cli {

struct WatchedProbe {
  std::unique_ptr<ports::DependencyProbe> probe;
  bool required = false;  // see Health::dependency
};

class DependencyWatch {
 public:
  DependencyWatch(std::vector<WatchedProbe> probes, gateway::Health& health,
                  std::chrono::milliseconds interval, std::chrono::milliseconds timeout);
  ~DependencyWatch();
  DependencyWatch(const DependencyWatch&) = delete;
  DependencyWatch& operator=(const DependencyWatch&) = delete;

 private:
  void run();

  std::vector<WatchedProbe> probes_;
  gateway::Health& health_;
  std::chrono::milliseconds interval_;
  std::chrono::milliseconds timeout_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

// The brokers and the ledger (required) and every storage region (not required), from the
// configuration.
std::vector<WatchedProbe> configured_probes(const gateway::GatewayConfig& config);

}  // namespace fl::cli
