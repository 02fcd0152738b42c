#include "cli/dependency_watch.h"

#include "fl/adapters/evm/evm_node_probe.h"
#include "fl/adapters/kafka/tools.h"
#include "fl/adapters/redis/redis_blob_store.h"
#include "fl/base/log.h"

#include "cli/wiring.h"

namespace fl::cli {

DependencyWatch::DependencyWatch(std::vector<WatchedProbe> probes, gateway::Health& health,
                                 std::chrono::milliseconds interval,
                                 std::chrono::milliseconds timeout)
    : probes_(std::move(probes)),
      health_(health),
      interval_(interval),
      timeout_(timeout),
      thread_([this] { run(); }) {}

DependencyWatch::~DependencyWatch() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void DependencyWatch::run() {
  // Each probe's last answer, so that a change is logged once rather than every interval.
  std::vector<bool> up(probes_.size(), true);
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    for (std::size_t i = 0; i < probes_.size(); ++i) {
      auto& [probe, required] = probes_[i];
      const Status status = probe->check(timeout_);
      health_.dependency(probe->name(), status, std::chrono::steady_clock::now(), required);
      if (static_cast<bool>(status) != up[i]) {
        up[i] = static_cast<bool>(status);
        if (status) {
          log::info("dependency.up", {{"name", probe->name()}});
        } else {
          log::warn("dependency.down",
                    {{"name", probe->name()}, {"error", status.error().message}});
        }
      }
    }
    lock.lock();
    wake_.wait_for(lock, interval_, [this] { return stopping_; });
  }
}

std::vector<WatchedProbe> configured_probes(const gateway::GatewayConfig& config) {
  std::vector<WatchedProbe> out;
  out.push_back({kafka::make_broker_probe(kafka_config(config)), true});
  out.push_back({evm::make_node_probe(config.ledger.rpc_url), true});
  for (auto& probe : redis::make_region_probes(redis_config(config))) {
    out.push_back({std::move(probe), false});
  }
  return out;
}

}  // namespace fl::cli
