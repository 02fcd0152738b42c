// The dead-letter topic: where an event that cannot be processed goes, with the reason and its
// origin, so nothing is ever dropped silently. The original bytes are kept (the topic has the
// same trust level as the input topic) as far as the topic's message size allows: a letter too
// large for it keeps its reason, origin, size and SHA-256, says that it was truncated, and is
// never refused for its size. The reason never quotes the content.
#pragma once

#include "fl/base/result.h"
#include "fl/ports/event_source.h"

#include <chrono>
#include <string>

namespace fl::ports {

struct DeadLetter {
  SourceEvent event;         // as received, with its origin and headers
  std::string error_code;    // stable name, e.g. "invalid-json", "unknown-resource-type"
  std::string error_detail;  // for operators; names a JSON pointer, never content
  // Lower-case hex SHA-256 of event.value, so a truncated letter still identifies its event.
  std::string original_sha256;
};

class DeadLetters {
 public:
  virtual ~DeadLetters() = default;

  // Queues the dead letter; it is durable only after flush() succeeds.
  virtual Status send(const DeadLetter& letter) = 0;

  // Waits until everything sent so far is acknowledged by the broker. A failed flush loses nothing
  // queued: kUnavailable means some is not acknowledged yet and stays queued (flush again; queuing
  // it again would send it twice); any other code means the broker refused a message for good.
  virtual Status flush(std::chrono::milliseconds timeout) = 0;
};

}  // namespace fl::ports
