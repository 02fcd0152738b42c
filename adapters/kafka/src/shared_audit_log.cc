#include "fl/adapters/kafka/shared_audit_log.h"

#include "handles.h"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace fl::kafka {
namespace {

// What one thread's log waits for; the producer's delivery callback updates it.
struct Waiter {
  std::mutex mutex;
  std::condition_variable done;
  int pending = 0;
  int failed = 0;
  std::string last_error;
  rd_kafka_resp_err_t permanent = RD_KAFKA_RESP_ERR_NO_ERROR;
};

class ThreadAuditLog final : public ports::AuditLog {
 public:
  ThreadAuditLog(rd_kafka_t* rk, const std::string& topic, const std::string& bootstrap,
                 Waiter& waiter)
      : rk_(rk), topic_(topic), bootstrap_(bootstrap), waiter_(waiter) {}

  Status record(std::span<const ports::AuditRecord> records) override {
    for (const auto& r : records) {
      if (auto s = produce(r); !s) return s;
    }
    return Ok{};
  }

  Status flush(std::chrono::milliseconds timeout) override {
    std::unique_lock<std::mutex> lock(waiter_.mutex);
    if (!waiter_.done.wait_for(lock, timeout, [&] { return waiter_.pending == 0; })) {
      return Error{ErrorCode::kUnavailable,
                   std::to_string(waiter_.pending) + " audit record(s) not acknowledged within " +
                       std::to_string(timeout.count()) + " ms",
                   bootstrap_};
    }
    if (waiter_.failed == 0) return Ok{};
    const int failed = std::exchange(waiter_.failed, 0);
    const auto permanent = std::exchange(waiter_.permanent, RD_KAFKA_RESP_ERR_NO_ERROR);
    Error error = permanent != RD_KAFKA_RESP_ERR_NO_ERROR
                      ? kafka_error(permanent, bootstrap_)
                      : Error{ErrorCode::kUnavailable, waiter_.last_error, bootstrap_};
    error.message = std::to_string(failed) + " audit record(s) not delivered: " + error.message;
    return error;
  }

 private:
  Status produce(const ports::AuditRecord& r) {
    static const std::string kName = "content-type";
    static const std::string kValue = "application/fhir+json";
    {
      const std::lock_guard<std::mutex> lock(waiter_.mutex);
      ++waiter_.pending;
    }
    for (;;) {
      HeadersPtr headers(rd_kafka_headers_new(1));
      rd_kafka_header_add(headers.get(), kName.data(), static_cast<ssize_t>(kName.size()),
                          kValue.data(), static_cast<ssize_t>(kValue.size()));
      const rd_kafka_resp_err_t err = rd_kafka_producev(
          rk_, RD_KAFKA_V_TOPIC(topic_.c_str()),
          RD_KAFKA_V_KEY(const_cast<char*>(r.key.data()), r.key.size()),
          RD_KAFKA_V_VALUE(const_cast<char*>(r.json.data()), r.json.size()),
          RD_KAFKA_V_HEADERS(headers.get()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
          RD_KAFKA_V_OPAQUE(&waiter_), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        (void)headers.release();  // the message owns the headers now
        return Ok{};
      }
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        const std::lock_guard<std::mutex> lock(waiter_.mutex);
        --waiter_.pending;
        return kafka_error(err, bootstrap_);
      }
      // The poller thread serves delivery reports, which makes room.
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  rd_kafka_t* rk_;
  const std::string& topic_;
  const std::string& bootstrap_;
  Waiter& waiter_;
};

class KafkaSharedAuditLog final : public SharedAuditLog {
 public:
  KafkaSharedAuditLog(std::string topic, std::string bootstrap)
      : topic_(std::move(topic)), bootstrap_(std::move(bootstrap)) {}

  ~KafkaSharedAuditLog() override {
    stop_ = true;
    if (poller_.joinable()) poller_.join();
    // Whatever a thread recorded without waiting for it still goes out.
    if (rk_) rd_kafka_flush(rk_.get(), 5000);
  }

  Status start(ConfPtr conf) {
    rd_kafka_conf_set_dr_msg_cb(conf.get(), &KafkaSharedAuditLog::on_delivery);
    auto rk = make_client(RD_KAFKA_PRODUCER, std::move(conf), bootstrap_);
    if (!rk) return rk.error();
    rk_ = std::move(*rk);
    poller_ = std::thread([this] {
      while (!stop_) rd_kafka_poll(rk_.get(), 50);
    });
    return Ok{};
  }

  std::unique_ptr<ports::AuditLog> open() override {
    const std::lock_guard<std::mutex> lock(mutex_);
    waiters_.push_back(std::make_unique<Waiter>());
    return std::make_unique<ThreadAuditLog>(rk_.get(), topic_, bootstrap_, *waiters_.back());
  }

 private:
  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* message, void*) {
    auto* waiter = static_cast<Waiter*>(message->_private);
    {
      const std::lock_guard<std::mutex> lock(waiter->mutex);
      --waiter->pending;
      if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        ++waiter->failed;
        waiter->last_error = rd_kafka_err2str(message->err);
        if (is_permanent(message->err)) waiter->permanent = message->err;
      }
    }
    waiter->done.notify_all();
  }

  const std::string topic_;
  const std::string bootstrap_;
  std::mutex mutex_;  // guards waiters_
  // Every log's waiter lives as long as the producer, so a late delivery report finds it.
  std::vector<std::unique_ptr<Waiter>> waiters_;
  std::atomic<bool> stop_{false};
  std::thread poller_;
  KafkaPtr rk_;  // declared last: destroyed first, while the waiters its callback uses live
};

}  // namespace

Result<std::unique_ptr<SharedAuditLog>> make_shared_audit_log(const KafkaConfig& config,
                                                              std::chrono::milliseconds linger) {
  Properties properties = {{"bootstrap.servers", config.bootstrap_servers},
                           {"client.id", config.client_id + "-api-audit"},
                           {"enable.idempotence", "true"},
                           {"acks", "all"},
                           {"linger.ms", std::to_string(linger.count())},
                           {"message.timeout.ms", "30000"},
                           {"message.max.bytes", std::to_string(config.max_message_bytes)}};
  properties.insert(properties.end(), config.extra.begin(), config.extra.end());
  auto conf = make_conf(properties);
  if (!conf) return conf.error();
  auto log = std::make_unique<KafkaSharedAuditLog>(config.audit_topic, config.bootstrap_servers);
  if (auto s = log->start(std::move(*conf)); !s) return s.error();
  return std::unique_ptr<SharedAuditLog>(std::move(log));
}

}  // namespace fl::kafka
