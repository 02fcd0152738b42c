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
  auto* self = static_cast<Producer*>(opaque);
  if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (self->delivered_) {
      self->delivered_(reinterpret_cast<std::uintptr_t>(message->_private), message->partition,
                       message->offset);
    }
    return;
  }
  const std::lock_guard<std::mutex> lock(self->error_mutex_);
  self->last_error_ = rd_kafka_err2str(message->err);
  const auto tag = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(message->_private));
  if (is_permanent(message->err)) {
    self->failed_.fetch_add(1);
    self->permanent_ = message->err;
    self->refused_.push_back(tag);
    return;
  }
  Retry retry{.topic = rd_kafka_topic_name(message->rkt), .tag = tag};
  if (message->key != nullptr) {
    retry.key.assign(static_cast<const char*>(message->key), message->key_len);
  }
  if (message->payload != nullptr) {
    retry.value.assign(static_cast<const char*>(message->payload), message->len);
  }
  rd_kafka_headers_t* headers = nullptr;
  if (rd_kafka_message_headers(message, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    const char* name = nullptr;
    const void* value = nullptr;
    std::size_t size = 0;
    for (std::size_t i = 0;
         rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
         ++i) {
      retry.headers.emplace_back(name, std::string(static_cast<const char*>(value), size));
    }
  }
  self->retries_.push_back(std::move(retry));
}

Status Producer::produce_again() {
  std::vector<Retry> retries;
  {
    const std::lock_guard<std::mutex> lock(error_mutex_);
    retries.swap(retries_);
  }
  for (std::size_t i = 0; i < retries.size(); ++i) {
    const Retry& r = retries[i];
    if (auto sent = produce(r.topic, r.key, r.value, r.headers, r.tag); !sent) {
      const std::lock_guard<std::mutex> lock(error_mutex_);
      retries_.insert(retries_.begin(), std::make_move_iterator(retries.begin() + i),
                      std::make_move_iterator(retries.end()));
      return sent;
    }
  }
  return Ok{};
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
  if (auto again = produce_again(); !again) return again;
  const rd_kafka_resp_err_t err = rd_kafka_flush(rk_.get(), static_cast<int>(timeout.count()));
  if (err == RD_KAFKA_RESP_ERR__TIMED_OUT) {
    return Error{ErrorCode::kUnavailable,
                 std::to_string(rd_kafka_outq_len(rk_.get())) +
                     " message(s) not acknowledged within " + std::to_string(timeout.count()) +
                     " ms (still queued)",
                 bootstrap_};
  }
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return kafka_error(err, bootstrap_);
  if (const int failed = failed_.exchange(0); failed > 0) {
    const std::lock_guard<std::mutex> lock(error_mutex_);
    Error error = kafka_error(std::exchange(permanent_, RD_KAFKA_RESP_ERR_NO_ERROR), bootstrap_);
    error.message = std::to_string(failed) + " message(s) not delivered: " + error.message;
    return error;
  }
  const std::lock_guard<std::mutex> lock(error_mutex_);
  if (!retries_.empty()) {
    return Error{ErrorCode::kUnavailable,
                 std::to_string(retries_.size()) + " message(s) not delivered (" + last_error_ +
                     "): the next flush sends them again",
                 bootstrap_};
  }
  return Ok{};
}

void Producer::connect(const std::string& topic, std::chrono::milliseconds timeout) {
  TopicPtr handle(rd_kafka_topic_new(rk_.get(), topic.c_str(), nullptr));
  const rd_kafka_metadata_t* metadata = nullptr;
  if (rd_kafka_metadata(rk_.get(), 0, handle.get(), &metadata, static_cast<int>(timeout.count())) ==
      RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_metadata_destroy(metadata);
  }
}

std::vector<std::uint64_t> Producer::refused() {
  const std::lock_guard<std::mutex> lock(error_mutex_);
  return std::exchange(refused_, {});
}

}  // namespace fl::kafka
