#include "handles.h"

namespace fl::kafka {

Result<ConfPtr> make_conf(const Properties& properties) {
  ConfPtr conf(rd_kafka_conf_new());
  char errstr[512];
  for (const auto& [name, value] : properties) {
    if (rd_kafka_conf_set(conf.get(), name.c_str(), value.c_str(), errstr, sizeof errstr) !=
        RD_KAFKA_CONF_OK) {
      return Error{ErrorCode::kInvalidInput, std::string("kafka property: ") + errstr, name};
    }
  }
  return conf;
}

Result<KafkaPtr> make_client(rd_kafka_type_t type, ConfPtr conf, const std::string& bootstrap) {
  char errstr[512];
  KafkaPtr rk(rd_kafka_new(type, conf.get(), errstr, sizeof errstr));
  if (!rk) {
    return Error{ErrorCode::kInvalidInput, std::string("kafka client: ") + errstr, bootstrap};
  }
  (void)conf.release();  // rd_kafka_new took ownership
  return rk;
}

Error kafka_error(rd_kafka_resp_err_t err, const std::string& where) {
  return Error{ErrorCode::kUnavailable, rd_kafka_err2str(err), where};
}

ports::SourceEvent to_source_event(const rd_kafka_message_t& message) {
  ports::SourceEvent e;
  e.origin.topic = rd_kafka_topic_name(message.rkt);
  e.origin.partition = message.partition;
  e.origin.offset = message.offset;
  if (message.key != nullptr) e.key.assign(static_cast<const char*>(message.key), message.key_len);
  if (message.payload != nullptr) {
    e.value.assign(static_cast<const char*>(message.payload), message.len);
  }
  rd_kafka_headers_t* headers = nullptr;
  // The headers stay owned by the message.
  if (rd_kafka_message_headers(&message, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    const char* name = nullptr;
    const void* value = nullptr;
    size_t size = 0;
    for (size_t i = 0;
         rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
         ++i) {
      e.headers.emplace_back(name, value == nullptr
                                       ? std::string()
                                       : std::string(static_cast<const char*>(value), size));
    }
  }
  return e;
}

}  // namespace fl::kafka
