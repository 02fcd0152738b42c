#include "fl/gateway/stages/record_and_report.h"

#include "fl/base/bytes.h"
#include "fl/base/log.h"
#include "fl/gateway/pointer_record.h"

#include <algorithm>

namespace fl::gateway {

std::map<std::string, std::vector<ports::PointerRecordWrite>> pointer_record_writes(
    const Batch& batch, const ports::AnchorConfirmation& confirmation) {
  std::map<std::string, std::vector<ports::PointerRecordWrite>> writes;
  for (const BatchItem& item : batch.items) {
    const auto& placement = confirmation.placements.at(item.placement);
    const auto& tx = confirmation.transactions.at(placement.tx);
    const PointerRecord record{.pointer = item.pointer,
                               .tx_hash = tx.tx_hash,
                               .block = tx.block,
                               .proof = placement.proof};
    const ports::Pointer& p = item.pointer;
    writes[p.region].push_back(
        {.resource_key = to_hex(p.resource_key),
         .version = p.version,
         .json = to_json(record),
         .patient_key = p.patient_key == ports::Hash32{} ? std::string() : to_hex(p.patient_key)});
  }
  return writes;
}

RecordAndReport::RecordAndReport(ports::BlobStore& blobs, ReportStage& report, Health& health,
                                 ports::Clock& clock, std::chrono::milliseconds backoff)
    : blobs_(blobs),
      report_(report),
      health_(health),
      clock_(clock),
      backoff_(backoff),
      thread_([this] { run(); }) {}

RecordAndReport::~RecordAndReport() {
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    quit_ = true;
  }
  quitting_.store(true);
  changed_.notify_all();
  thread_.join();
}

void RecordAndReport::add(Job& job) {
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(&job);
  }
  changed_.notify_all();
}

bool RecordAndReport::done(const Job& job, bool wait) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (wait) changed_.wait(lock, [&] { return job.finished; });
  return job.finished;
}

void RecordAndReport::resume() {
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    halted_ = false;
  }
  changed_.notify_all();
}

void RecordAndReport::run() {
  for (;;) {
    Job* job = nullptr;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait(lock, [&] { return quit_ || (!halted_ && !queue_.empty()); });
      if (quit_) return;
      job = queue_.front();
      queue_.pop_front();
    }
    work(*job);
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      job->finished = true;
      if (!job->records_kept || !job->reported) halted_ = true;
    }
    changed_.notify_all();
  }
}

void RecordAndReport::work(Job& job) {
  const Batch& batch = *job.batch;
  auto start = clock_.now();
  for (const auto& [region, records] : pointer_record_writes(batch, job.confirmation)) {
    if (auto kept = blobs_.put_pointer_records(region, records); !kept) {
      job.record_error = kept.error();
      return;  // the pipeline thread keeps them, region by region
    }
  }
  job.records_kept = true;
  auto now = clock_.now();
  job.record_seconds = std::chrono::duration<double>(now - start).count();
  start = now;

  // As Pipeline::retry does for the pipeline thread's steps.
  ReportStage::Queue queue(report_, report_.receipts(batch, job.confirmation), batch.dead_letters(),
                           batch.audits());
  auto backoff = backoff_;
  for (;;) {
    Status queued = queue.next();
    if (queued) {
      health_.recovered("report");
      break;
    }
    if (queued.error().code != ErrorCode::kUnavailable) {
      job.reported = queued;
      break;
    }
    health_.retrying("report", queued.error(), clock_.now());
    if (job.stop->load() || quitting_.load()) {
      job.reported =
          Error{ErrorCode::kUnavailable, "stopped while retrying report: " + queued.error().message,
                queued.error().where};
      break;
    }
    log::warn("pipeline.retry", {{"step", "report"},
                                 {"error", queued.error().message},
                                 {"where", queued.error().where},
                                 {"backoffMs", static_cast<std::int64_t>(backoff.count())}});
    clock_.sleep_for(backoff);
    backoff = std::min(backoff * 2, backoff_ * 16);
  }
  job.report_seconds = std::chrono::duration<double>(clock_.now() - start).count();
}

}  // namespace fl::gateway
