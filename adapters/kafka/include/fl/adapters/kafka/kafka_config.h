// What the Kafka adapters need to know, converted by gateway/app from the gateway config.
#pragma once

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
  // Raw librdkafka properties, applied last (TLS, SASL, tuning).
  std::vector<std::pair<std::string, std::string>> extra;
};

}  // namespace fl::kafka
