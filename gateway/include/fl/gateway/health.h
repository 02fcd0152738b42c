// What the gateway's readiness probe answers (`service.healthPort`, GET /readyz): whether the
// pipeline is moving, and if not which step it is retrying, since when and why (a transient
// error: a service that does not answer); and which storage regions are down, their events
// parked while the others flow. The pipeline writes it, an HTTP thread reads it: thread-safe.
// The error texts are ours (Error::message), which never carry PHI.
#pragma once

#include "fl/base/result.h"

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fl::gateway {

class Health {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  // The pipeline is up (its adapters answered at start); until then it is not ready.
  void started();
  // `step` failed with a transient error and is retried; the first failure of a run of them
  // sets `since`.
  void retrying(std::string_view step, const Error& error, TimePoint now);
  // `step` succeeded: if it was the one retrying, the pipeline moves again.
  void recovered(std::string_view step);
  void regions_down(std::vector<std::string> regions);
  // What a dependency probe found (ports/dependency_probe.h), shown with its error and since
  // when it is down. A `required` one (the brokers, the ledger: without them nothing moves)
  // makes the gateway unready while it is down; a storage region does not, since the other
  // regions' events and reads go on (the region-outage design): it shows as down and degraded.
  void dependency(std::string_view name, const Status& status, TimePoint now, bool required);

  // {"ready": bool, "retrying": {"step", "error", "where", "forMs", "attempts"} (while
  // retrying), "regionsDown": [...], "degraded": bool, "dependencies": {"<name>": {"up": bool,
  // "error", "forMs" (while down)}}}. Ready: started, not retrying, every required dependency
  // up; degraded: a region is down or a dependency that is not required does not answer.
  std::string readiness_json(TimePoint now, bool& ready) const;

 private:
  mutable std::mutex mutex_;
  bool started_ = false;
  std::string step_;  // empty: not retrying
  Error error_{};
  TimePoint since_{};
  std::uint64_t attempts_ = 0;
  std::vector<std::string> regions_down_;
  struct Down {
    Error error;
    TimePoint since;
  };
  struct Dependency {
    bool required = false;
    std::optional<Down> down;  // nullopt: up
  };
  std::map<std::string, Dependency, std::less<>> dependencies_;
};

}  // namespace fl::gateway
