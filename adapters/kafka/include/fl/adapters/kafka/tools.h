// Batch tools over Kafka for the CLI and tests: publish a set of messages and wait until all
// are acknowledged; read a whole topic (every partition from the beginning to its current end)
// without joining a consumer group.
#pragma once

#include "fl/adapters/kafka/kafka_config.h"
#include "fl/base/result.h"
#include "fl/ports/dependency_probe.h"
#include "fl/ports/event_source.h"

#include <chrono>
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

Result<std::vector<ports::SourceEvent>> read_topic(const std::string& bootstrap_servers,
                                                   const std::string& topic,
                                                   std::chrono::milliseconds timeout);

// The readiness probe "kafka": the brokers answer a metadata request within the timeout.
std::unique_ptr<ports::DependencyProbe> make_broker_probe(const KafkaConfig& config);

}  // namespace fl::kafka
