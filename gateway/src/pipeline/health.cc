#include "fl/gateway/health.h"

#include "fl/base/json_string.h"

#include <algorithm>

namespace fl::gateway {

void Health::started() {
  std::lock_guard lock(mutex_);
  started_ = true;
}

void Health::retrying(std::string_view step, const Error& error, TimePoint now) {
  std::lock_guard lock(mutex_);
  if (step_ != step) {
    step_ = std::string(step);
    since_ = now;
    attempts_ = 0;
  }
  error_ = error;
  ++attempts_;
}

void Health::recovered(std::string_view step) {
  std::lock_guard lock(mutex_);
  if (step_ == step) step_.clear();
}

void Health::regions_down(std::vector<std::string> regions) {
  std::lock_guard lock(mutex_);
  regions_down_ = std::move(regions);
}

void Health::dependency(std::string_view name, const Status& status, TimePoint now, bool required) {
  std::lock_guard lock(mutex_);
  auto& entry = dependencies_[std::string(name)];
  entry.required = required;
  if (status) {
    entry.down.reset();
  } else if (!entry.down) {
    entry.down = Down{.error = status.error(), .since = now};
  } else {
    entry.down->error = status.error();
  }
}

std::string Health::readiness_json(TimePoint now, bool& ready) const {
  std::lock_guard lock(mutex_);
  const bool required_up =
      std::none_of(dependencies_.begin(), dependencies_.end(),
                   [](const auto& d) { return d.second.required && d.second.down; });
  const bool all_up = std::none_of(dependencies_.begin(), dependencies_.end(),
                                   [](const auto& d) { return d.second.down.has_value(); });
  ready = started_ && step_.empty() && required_up;
  std::string out = R"({"ready":)";
  out += ready ? "true" : "false";
  if (!started_) out += R"(,"starting":true)";
  if (!step_.empty()) {
    const auto for_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - since_);
    out += R"(,"retrying":{"step":)";
    append_json_string(out, step_);
    out += R"(,"error":)";
    append_json_string(out, error_.message);
    out += R"(,"where":)";
    append_json_string(out, error_.where);
    out += R"(,"forMs":)" + std::to_string(for_ms.count());
    out += R"(,"attempts":)" + std::to_string(attempts_) + "}";
  }
  out += R"(,"regionsDown":[)";
  for (std::size_t i = 0; i < regions_down_.size(); ++i) {
    if (i > 0) out += ",";
    append_json_string(out, regions_down_[i]);
  }
  out += R"(],"degraded":)";
  out += all_up && regions_down_.empty() ? "false" : "true";
  out += R"(,"dependencies":{)";
  bool first = true;
  for (const auto& [name, entry] : dependencies_) {
    const auto& down = entry.down;
    if (!first) out += ",";
    first = false;
    append_json_string(out, name);
    out += R"(:{"up":)";
    out += down ? "false" : "true";
    if (down) {
      const auto for_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - down->since);
      out += R"(,"error":)";
      append_json_string(out, down->error.message);
      out += R"(,"forMs":)" + std::to_string(for_ms.count());
    }
    out += "}";
  }
  out += "}}";
  return out;
}

}  // namespace fl::gateway
