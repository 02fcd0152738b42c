#include "producer.h"

#include <utility>

namespace fl::kafka {

Result<std::unique_ptr<Producer>> Producer::create(const std::string& bootstrap,
                                                   const std::string& client_id,
                                                   const Properties& extra) {
  auto producer = std::make_unique<Producer>(Token{}, bootstrap);
  Properties properties = {{"bootstrap.servers", bootstrap},
                           {"client.id", client_id},
                           {"enable.idempotence", "true"},
                           {"acks", "all"},
                           {"linger.ms", "5"},
                           {"message.timeout.ms", "30000"}};
  properties.insert(properties.end(), extra.begin(), extra.end());
  auto conf = make_conf(properties);
  if (!conf) return conf.error();
  rd_kafka_conf_set_dr_msg_cb(conf->get(), &Producer::on_delivery);
  rd_kafka_conf_set_opaque(conf->get(), producer.get());
  auto rk = make_client(RD_KAFKA_PRODUCER, std::move(*conf), bootstrap);
  if (!rk) return rk.error();
  producer->rk_ = std::move(*rk);
  return producer;
}

void Producer::on_delivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
  if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) return;
  auto* self = static_cast<Producer*>(opaque);
  self->failed_.fetch_add(1);
  const std::lock_guard<std::mutex> lock(self->error_mutex_);
  self->last_error_ = rd_kafka_err2str(message->err);
  if (is_permanent(message->err)) {
    self->permanent_ = message->err;
    self->refused_.push_back(reinterpret_cast<std::uintptr_t>(message->_private));
  }
}

Status Producer::produce(const std::string& topic, std::string_view key, std::string_view value,
                         const std::vector<std::pair<std::string, std::string>>& headers,
                         std::uint64_t tag) {
  HeadersPtr hdrs(rd_kafka_headers_new(headers.size()));
  for (const auto& [name, v] : headers) {
    rd_kafka_header_add(hdrs.get(), name.data(), static_cast<ssize_t>(name.size()), v.data(),
                        static_cast<ssize_t>(v.size()));
  }
  for (;;) {
    const rd_kafka_resp_err_t err = rd_kafka_producev(
        rk_.get(), RD_KAFKA_V_TOPIC(topic.c_str()),
        RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),
        RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
        RD_KAFKA_V_HEADERS(hdrs.get()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(static_cast<std::uintptr_t>(tag))),
        RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      (void)hdrs.release();  // the message owns the headers now
      return Ok{};
    }
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) return kafka_error(err, bootstrap_);
    rd_kafka_poll(rk_.get(), 100);  // make room: serve delivery reports, then try again
  }
}

Status Producer::flush(std::chrono::milliseconds timeout) {
  const rd_kafka_resp_err_t err = rd_kafka_flush(rk_.get(), static_cast<int>(timeout.count()));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return kafka_error(err, bootstrap_);
  if (const int failed = failed_.exchange(0); failed > 0) {
    const std::lock_guard<std::mutex> lock(error_mutex_);
    const auto permanent = std::exchange(permanent_, RD_KAFKA_RESP_ERR_NO_ERROR);
    Error error = permanent != RD_KAFKA_RESP_ERR_NO_ERROR
                      ? kafka_error(permanent, bootstrap_)
                      : Error{ErrorCode::kUnavailable, last_error_, bootstrap_};
    error.message = std::to_string(failed) + " message(s) not delivered: " + error.message;
    return error;
  }
  return Ok{};
}

std::vector<std::uint64_t> Producer::refused() {
  const std::lock_guard<std::mutex> lock(error_mutex_);
  return std::exchange(refused_, {});
}

}  // namespace fl::kafka
