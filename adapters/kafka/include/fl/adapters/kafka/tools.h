// Batch tools over Kafka for the CLI and tests: publish a set of messages and wait until all
// are acknowledged; read a whole topic (every partition from the beginning to its current end)
// without joining a consumer group.
#pragma once

#include "fl/adapters/kafka/kafka_config.h"
#include "fl/base/result.h"
#include "fl/ports/dependency_probe.h"
#include "fl/ports/event_source.h"

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace fl::kafka {

struct OutgoingMessage {
  std::string key;
  std::string value;
  std::vector<std::pair<std::string, std::string>> headers;
};

Status publish(const std::string& bootstrap_servers, const std::string& topic,
               const std::vector<OutgoingMessage>& messages,
               std::chrono::milliseconds timeout = std::chrono::seconds(30));

// Where a published message went, or why the broker refused it for good.
struct Placed {
  std::int32_t partition = -1;
  std::int64_t offset = -1;
  std::string refused;  // "" when delivered
};

// publish(), and where each message went, in the order given. A message the broker refuses for
// good (larger than the topic takes) is named by `refused`, and the others are still sent; any
// other failure fails the whole.
Result<std::vector<Placed>> publish_placed(
    const std::string& bootstrap_servers, const std::string& topic,
    const std::vector<OutgoingMessage>& messages,
    std::chrono::milliseconds timeout = std::chrono::seconds(30));

using PartitionOffsets = std::map<std::int32_t, std::int64_t>;
// Raw librdkafka properties the readers below apply last (TLS, SASL: KafkaConfig::extra).
using ReaderProperties = std::vector<std::pair<std::string, std::string>>;

// Every partition of the topic from `from` (its offset there; a partition not named from its
// beginning) up to the end it has now.
Result<std::vector<ports::SourceEvent>> read_topic(const std::string& bootstrap_servers,
                                                   const std::string& topic,
                                                   std::chrono::milliseconds timeout,
                                                   const PartitionOffsets& from = {},
                                                   const ReaderProperties& extra = {});

// The message at `offset` of one partition; kNotFound when the partition has no message there
// (not written yet, or already deleted by retention).
Result<ports::SourceEvent> read_message(const std::string& bootstrap_servers,
                                        const std::string& topic, std::int32_t partition,
                                        std::int64_t offset, std::chrono::milliseconds timeout,
                                        const ReaderProperties& extra = {});

// Each partition's end offset now (the offset the next message will get).
Result<PartitionOffsets> end_offsets(const std::string& bootstrap_servers, const std::string& topic,
                                     std::chrono::milliseconds timeout,
                                     const ReaderProperties& extra = {});

// The next offsets `group` committed on the topic's partitions; a partition without a commit
// is absent. Asks the group's coordinator without joining the group.
Result<PartitionOffsets> committed_offsets(const std::string& bootstrap_servers,
                                           const std::string& group, const std::string& topic,
                                           std::chrono::milliseconds timeout);

// The readiness probe "kafka": the brokers answer a metadata request within the timeout.
std::unique_ptr<ports::DependencyProbe> make_broker_probe(const KafkaConfig& config);

}  // namespace fl::kafka
