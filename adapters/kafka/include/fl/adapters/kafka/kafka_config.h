// What the Kafka adapters need to know, converted by gateway/app from the gateway config.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace fl::kafka {

struct KafkaConfig {
  std::string bootstrap_servers;
  std::string group_id;
  std::vector<std::string> input_topics;
  std::string dead_letter_topic;
  std::string results_topic;
  std::string audit_topic = "fhir.audit";
  std::string client_id = "fhir-ledger";
  // The producers' message.max.bytes: the largest message the gateway writes. Dead letters are
  // cut to fit it (fl/adapters/kafka/dead_letter_message.h).
  std::size_t max_message_bytes = 1000000;
  // Raw librdkafka properties, applied last (TLS, SASL, tuning).
  std::vector<std::pair<std::string, std::string>> extra;
};

}  // namespace fl::kafka
