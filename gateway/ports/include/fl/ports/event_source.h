// Where FHIR events come from: a Kafka consumer group in production (adapters/kafka), a fake in
// unit tests. The pipeline polls events, handles them, and commits each one only when it has been
// stored, anchored and confirmed; a crash before commit means re-delivery, which the rest of the
// pipeline makes a no-op. Called from the pipeline thread only.
#pragma once

#include "fl/base/result.h"
#include "fl/ports/types.h"

#include <chrono>
#include <cstddef>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace fl::ports {

struct SourceEvent {
  Origin origin;
  std::string key;    // the message key: the patient reference, for ordering
  std::string value;  // the FHIR JSON as received; may be anything, including not JSON
  std::vector<std::pair<std::string, std::string>> headers;

  // The first header with this name, or empty.
  std::string header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
      if (k == name) return v;
    }
    return {};
  }
};

class EventSource {
 public:
  virtual ~EventSource() = default;

  // Up to `max_events` events, waiting at most `timeout` for the first. An empty vector is a
  // quiet period, not an error; kUnavailable means the broker cannot be reached.
  virtual Result<std::vector<SourceEvent>> poll(std::size_t max_events,
                                                std::chrono::milliseconds timeout) = 0;

  // Marks these events handled and commits, synchronously, the next offset of every partition
  // they touch. Events of a partition must be committed in offset order.
  virtual Status commit(std::span<const Origin> handled) = 0;

  // The same commit, without waiting for the broker's answer (on a real broker that answer is
  // a round trip per batch). A commit that failed is reported by a later commit or
  // commit_async, and those offsets are committed again by it or by any later commit of the
  // partition. Nothing is lost meanwhile: an offset not committed is re-delivered after a
  // restart, which the pipeline makes a no-op. Synchronous unless the source says otherwise.
  virtual Status commit_async(std::span<const Origin> handled) { return commit(handled); }

  // True when every partition assigned to this consumer has been committed up to its end, so
  // a batch job (the demo) knows all published events were handled. False before assignment.
  virtual Result<bool> caught_up() = 0;

  // How far behind this consumer is, per assigned partition, from what it knows locally (the
  // end as last fetched, the position): no request to the broker. Empty when not known.
  struct PartitionLag {
    std::string topic;
    std::int32_t partition = 0;
    std::int64_t messages = 0;
  };
  virtual std::vector<PartitionLag> lag() { return {}; }
};

}  // namespace fl::ports
