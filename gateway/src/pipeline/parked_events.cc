#include "fl/gateway/parked_events.h"

#include <algorithm>
#include <limits>

namespace fl::gateway {
namespace {

std::size_t size_of(const ports::SourceEvent& event) {
  std::size_t n = event.value.size() + event.key.size();
  for (const auto& [name, value] : event.headers) n += name.size() + value.size();
  return n;
}

}  // namespace

ParkedEvents::ParkedEvents(std::chrono::milliseconds first_backoff,
                           std::chrono::milliseconds max_backoff)
    : first_backoff_(std::max(first_backoff, std::chrono::milliseconds(1))),
      max_backoff_(std::max(max_backoff, first_backoff_)) {}

bool ParkedEvents::usable(const std::string& region, TimePoint now) const {
  auto it = down_.find(region);
  return it == down_.end() || now >= it->second.retry_at;
}

bool ParkedEvents::is_down(const std::string& region) const { return down_.contains(region); }

std::vector<std::string> ParkedEvents::unusable(TimePoint now) const {
  std::vector<std::string> out;
  for (const auto& [region, outage] : down_) {
    if (now < outage.retry_at) out.push_back(region);
  }
  return out;
}

std::vector<std::string> ParkedEvents::down() const {
  std::vector<std::string> out;
  for (const auto& [region, outage] : down_) out.push_back(region);
  return out;
}

ParkedEvents::TimePoint ParkedEvents::failed(const std::string& region, TimePoint now) {
  auto [it, fresh] = down_.try_emplace(region);
  Outage& outage = it->second;
  if (fresh) {
    outage.backoff = first_backoff_;
  } else if (now >= outage.retry_at) {
    outage.backoff = std::min(outage.backoff * 2, max_backoff_);
  } else {
    return outage.retry_at;  // failed again before it was due: the same outage, the same wait
  }
  outage.retry_at = now + outage.backoff;
  return outage.retry_at;
}

bool ParkedEvents::answered(const std::string& region) { return down_.erase(region) > 0; }

void ParkedEvents::park(ports::SourceEvent event, std::vector<ports::Hash32> keys) {
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  hold_keys(keys);
  const auto& o = event.origin;
  outstanding_[{o.topic, o.partition}].insert(o.offset);
  bytes_ += size_of(event);
  auto running = running_.find({o.topic, o.partition, o.offset});
  if (running == running_.end()) {
    queue_.push_back({.place = next_place_++, .event = std::move(event), .keys = std::move(keys)});
    return;
  }
  // Parked again: it goes back before the events parked after it, which must not overtake it.
  const std::uint64_t place = running->second;
  running_.erase(running);
  auto at = std::upper_bound(queue_.begin(), queue_.end(), place,
                             [](std::uint64_t p, const Entry& e) { return p < e.place; });
  queue_.insert(at, {.place = place, .event = std::move(event), .keys = std::move(keys)});
}

bool ParkedEvents::blocks(std::span<const ports::Hash32> keys) const {
  return std::any_of(keys.begin(), keys.end(),
                     [&](const ports::Hash32& key) { return keys_.contains(key); });
}

bool ParkedEvents::due(TimePoint now) const {
  if (queue_.empty()) return false;
  if (down_.empty()) return true;
  return std::any_of(down_.begin(), down_.end(),
                     [&](const auto& region) { return now >= region.second.retry_at; });
}

std::vector<ports::SourceEvent> ParkedEvents::take_due(TimePoint now, std::size_t max) {
  std::vector<ports::SourceEvent> out;
  if (!due(now)) return out;
  while (!queue_.empty() && out.size() < max) {
    Entry& entry = queue_.front();
    release_keys(entry.keys);
    bytes_ -= size_of(entry.event);
    const auto& o = entry.event.origin;
    running_[{o.topic, o.partition, o.offset}] = entry.place;
    out.push_back(std::move(entry.event));
    queue_.pop_front();
  }
  return out;
}

std::vector<ports::Origin> ParkedEvents::committable(std::span<const ports::Origin> done) {
  for (const auto& origin : done) {
    const Partition partition{origin.topic, origin.partition};
    running_.erase({origin.topic, origin.partition, origin.offset});
    if (auto it = outstanding_.find(partition); it != outstanding_.end()) {
      it->second.erase(origin.offset);
      if (it->second.empty()) outstanding_.erase(it);
    }
    held_[partition].insert(origin.offset);
  }
  std::vector<ports::Origin> out;
  for (auto it = held_.begin(); it != held_.end();) {
    const auto& [partition, offsets] = *it;
    auto blocking = outstanding_.find(partition);
    const std::int64_t limit = blocking == outstanding_.end()
                                   ? std::numeric_limits<std::int64_t>::max()
                                   : *blocking->second.begin();
    auto end = offsets.lower_bound(limit);
    for (auto o = offsets.begin(); o != end; ++o) {
      out.push_back({.topic = partition.first, .partition = partition.second, .offset = *o});
    }
    it->second.erase(it->second.begin(), end);
    it = it->second.empty() ? held_.erase(it) : std::next(it);
  }
  return out;
}

std::size_t ParkedEvents::held() const {
  std::size_t n = 0;
  for (const auto& [partition, offsets] : held_) n += offsets.size();
  return n;
}

void ParkedEvents::hold_keys(const std::vector<ports::Hash32>& keys) {
  for (const auto& key : keys) ++keys_[key];
}

void ParkedEvents::release_keys(const std::vector<ports::Hash32>& keys) {
  for (const auto& key : keys) {
    auto it = keys_.find(key);
    if (it != keys_.end() && --it->second == 0) keys_.erase(it);
  }
}

}  // namespace fl::gateway
