// Events that wait for a storage region that is down (issue 14). When one region's Redis does not
// answer, the pipeline parks the events that need it, with every later event that touches a
// resource or patient they touch, and goes on with the rest of the batch; the parked events run
// again, oldest first, when the region may be tried again. This class is the bookkeeping of
// that, with no I/O:
// - which regions are down, and when each may be tried again (a doubling backoff, capped);
// - the parked events in order, and the pseudonyms (resource and patient keys) they hold, which
//   later events must not overtake;
// - how far each partition may be committed: never at or past an event that is parked or
//   running again, however many events after it are done (those are held and committed with it).
// Owned by the Pipeline; pipeline thread only.
#pragma once

#include "fl/ports/event_source.h"
#include "fl/ports/pointer_ledger.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <span>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace fl::gateway {

class ParkedEvents {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  // A region that fails is tried again after `first_backoff`, then after twice as long at each
  // further failure, at most `max_backoff`.
  ParkedEvents(std::chrono::milliseconds first_backoff, std::chrono::milliseconds max_backoff);

  // Regions.

  // Whether a call to `region` may be made now: it is up, or down and due to be tried again.
  bool usable(const std::string& region, TimePoint now) const;
  bool is_down(const std::string& region) const;
  // The regions down and not due yet: nothing is asked of them (their events wait).
  std::vector<std::string> unusable(TimePoint now) const;
  // Every region down, due or not.
  std::vector<std::string> down() const;
  // A call to `region` failed as unavailable: it is down, and may be tried again at the time
  // returned. A failure before that time (another step of the same batch) keeps the backoff.
  TimePoint failed(const std::string& region, TimePoint now);
  // A call to `region` succeeded: it is up. True when it was down.
  bool answered(const std::string& region);

  // Events.

  // Parks `event`, which touches `keys`: behind the events parked before it, or, when it was
  // taken to run again, back in its place, ahead of the younger events still parked.
  void park(ports::SourceEvent event, std::vector<ports::Hash32> keys);
  // Whether an event polled after every parked one must wait behind them: it touches a key
  // one of them holds.
  bool blocks(std::span<const ports::Hash32> keys) const;
  // Whether parked events are to run again now: some are parked, and a region is due to be
  // tried again or none is down any more.
  bool due(TimePoint now) const;
  // When due, the oldest `max` parked events, taken out to run again (they release their
  // keys); otherwise none. They stay outstanding for committable() until handed to it as done,
  // or parked again.
  std::vector<ports::SourceEvent> take_due(TimePoint now, std::size_t max);
  std::size_t size() const { return queue_.size(); }
  // The bytes of the parked events' values and headers (what they hold in memory).
  std::size_t bytes() const { return bytes_; }

  // Commits.

  // Which events may be committed now, given that `done` were just handled (stored and
  // anchored, dead-lettered, or dropped): per partition, those below its earliest outstanding
  // (parked, or running again) offset, among `done` and the events held back before. The
  // others are held until the events before them are done.
  std::vector<ports::Origin> committable(std::span<const ports::Origin> done);
  // Events handled and held back behind an outstanding one.
  std::size_t held() const;

 private:
  struct Outage {
    std::chrono::milliseconds backoff{0};
    TimePoint retry_at{};
  };
  struct Entry {
    std::uint64_t place = 0;  // order of first parking: the queue is sorted by it
    ports::SourceEvent event;
    std::vector<ports::Hash32> keys;
  };
  using Partition = std::pair<std::string, std::int32_t>;
  using Message = std::tuple<std::string, std::int32_t, std::int64_t>;

  void hold_keys(const std::vector<ports::Hash32>& keys);
  void release_keys(const std::vector<ports::Hash32>& keys);

  std::chrono::milliseconds first_backoff_;
  std::chrono::milliseconds max_backoff_;
  std::map<std::string, Outage> down_;
  std::deque<Entry> queue_;                                  // oldest first
  std::map<ports::Hash32, std::size_t> keys_;                // key -> parked events that hold it
  std::map<Partition, std::set<std::int64_t>> outstanding_;  // parked or running again
  std::map<Partition, std::set<std::int64_t>> held_;         // done, waiting to be committed
  std::map<Message, std::uint64_t> running_;  // taken to run again -> their place in the queue
  std::uint64_t next_place_ = 0;
  std::size_t bytes_ = 0;
};

}  // namespace fl::gateway
