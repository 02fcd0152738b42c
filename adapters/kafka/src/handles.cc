#include "handles.h"

#include "fl/base/log.h"

namespace fl::kafka {
namespace {

// librdkafka's own lines (broker connections, retries) join our JSON-lines log instead of
// printing raw text to stderr. Called from librdkafka's threads; the facade is thread-safe.
void on_log(const rd_kafka_t* /*rk*/, int level, const char* facility, const char* message) {
  // syslog levels: 0-3 error, 4 warning, 5-6 notice and info, 7 debug.
  const log::Level ours = level <= 3   ? log::Level::kError
                          : level == 4 ? log::Level::kWarn
                          : level <= 6 ? log::Level::kInfo
                                       : log::Level::kDebug;
  log::write(ours, "kafka.log", {{"facility", facility}, {"message", message}});
}

// Errors librdkafka recovers from by itself (all brokers down, a broker gone) would otherwise
// pass silently: the operator sees them here while the pipeline waits.
void on_error(rd_kafka_t* rk, int err, const char* reason, void* /*opaque*/) {
  const auto code = static_cast<rd_kafka_resp_err_t>(err);
  char fatal[512] = {0};
  const bool is_fatal = code == RD_KAFKA_RESP_ERR__FATAL &&
                        rd_kafka_fatal_error(rk, fatal, sizeof fatal) != RD_KAFKA_RESP_ERR_NO_ERROR;
  log::write(is_fatal ? log::Level::kError : log::Level::kWarn, "kafka.error",
             {{"error", rd_kafka_err2name(code)},
              {"reason", is_fatal ? fatal : reason},
              {"fatal", is_fatal}});
}

}  // namespace

bool is_permanent(rd_kafka_resp_err_t err) {
  switch (err) {
    // The message itself is refused: sending the same bytes again cannot succeed.
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR_POLICY_VIOLATION:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
    // The configuration or the ACLs are wrong: an operator has to act.
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_INVALID_REQUIRED_ACKS:
    // The client instance can no longer produce or consume (idempotence broken).
    case RD_KAFKA_RESP_ERR__FATAL:
      return true;
    default:
      return false;
  }
}

Result<ConfPtr> make_conf(const Properties& properties) {
  ConfPtr conf(rd_kafka_conf_new());
  rd_kafka_conf_set_log_cb(conf.get(), &on_log);
  rd_kafka_conf_set_error_cb(conf.get(), &on_error);
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
  if (!is_permanent(err)) return Error{ErrorCode::kUnavailable, rd_kafka_err2str(err), where};
  const bool access = err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
                      err == RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED ||
                      err == RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED;
  return Error{access ? ErrorCode::kPermissionDenied : ErrorCode::kInvalidInput,
               std::string(rd_kafka_err2str(err)) + " (permanent: not retried)", where};
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
