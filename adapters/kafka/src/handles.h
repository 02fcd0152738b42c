// Owning types for librdkafka handles and the helpers every Kafka adapter file shares.
#pragma once

#include "fl/adapters/kafka/kafka_config.h"
#include "fl/base/c_handle.h"
#include "fl/base/result.h"
#include "fl/ports/event_source.h"

#include <librdkafka/rdkafka.h>

#include <string>
#include <utility>
#include <vector>

namespace fl::kafka {

using KafkaPtr = CHandle<rd_kafka_t, &rd_kafka_destroy>;
using ConfPtr = CHandle<rd_kafka_conf_t, &rd_kafka_conf_destroy>;
using MessagePtr = CHandle<rd_kafka_message_t, &rd_kafka_message_destroy>;
using PartitionListPtr =
    CHandle<rd_kafka_topic_partition_list_t, &rd_kafka_topic_partition_list_destroy>;
using HeadersPtr = CHandle<rd_kafka_headers_t, &rd_kafka_headers_destroy>;
using TopicPtr = CHandle<rd_kafka_topic_t, &rd_kafka_topic_destroy>;

using Properties = std::vector<std::pair<std::string, std::string>>;

// A configuration with `properties` set in order; a refused property is kInvalidInput naming it.
Result<ConfPtr> make_conf(const Properties& properties);

// Creates a client; on success the configuration is owned by the client.
Result<KafkaPtr> make_client(rd_kafka_type_t type, ConfPtr conf, const std::string& bootstrap);

// True for errors that sending the same message again cannot cure (too large, refused by the
// broker's policy, not authorized, a fatal client error); anything else is passing.
bool is_permanent(rd_kafka_resp_err_t err);

// kUnavailable for passing errors (retried with backoff); kInvalidInput or kPermissionDenied
// for permanent ones, which the pipeline never retries as they are.
Error kafka_error(rd_kafka_resp_err_t err, const std::string& where);

// The message as a SourceEvent (copies topic, partition, offset, key, value, headers).
ports::SourceEvent to_source_event(const rd_kafka_message_t& message);

}  // namespace fl::kafka
