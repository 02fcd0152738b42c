// EventSource over a Kafka consumer group (librdkafka C API). Offsets are never committed
// automatically: commit() commits, synchronously, the next offset of each partition handled.
// The pipeline thread is the only caller.
#pragma once

#include "fl/adapters/kafka/kafka_config.h"
#include "fl/base/result.h"
#include "fl/ports/event_source.h"

#include <memory>

namespace fl::kafka {

class KafkaEventSource : public ports::EventSource {
 public:
  // Leaves the consumer group now (so a restarted gateway gets its partitions at once) and
  // reports a failure to do so; the destructor only frees.
  virtual Status close() = 0;
};

// Joins the group and subscribes to config.input_topics; fails fast if the brokers are
// unreachable.
Result<std::unique_ptr<KafkaEventSource>> make_event_source(const KafkaConfig& config);

}  // namespace fl::kafka
