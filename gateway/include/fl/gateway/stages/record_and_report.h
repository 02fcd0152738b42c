// The end of a confirmed batch, on a thread of its own: its pointer records are kept beside its
// blobs (on a BlobStore connection of this thread's own), then its receipts, dead letters and
// AuditEvents are queued (ReportStage). Meanwhile the pipeline thread validates, decides, seals
// and sends the next batches: a load run spent a third of its time here (scripts/load 20000,
// without these two steps 16,700-20,500 resources/s instead of 13,000-13,600).
// Jobs run in the order they are handed over, so batches are reported in the order they were
// polled. A region that does not answer is not retried here: the job ends with records_kept
// false and no later job runs until resume(), so that the pipeline thread keeps those records
// itself (retrying and parking as it does for every region step) and reports them in order.
// A report that fails for good (or is still refused when stop is set) ends the job with the
// error, which stops the pipeline, and nothing behind it runs either.
// The pipeline thread does not change a batch it handed over (it may read it) until its job
// is done.
#pragma once

#include "fl/base/result.h"
#include "fl/gateway/batch.h"
#include "fl/gateway/health.h"
#include "fl/gateway/stages/report_stage.h"
#include "fl/ports/blob_store.h"
#include "fl/ports/clock.h"
#include "fl/ports/pointer_ledger.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace fl::gateway {

// The pointer record of each resource of a confirmed batch (its transaction, block and proof),
// by region, as BlobStore::put_pointer_records takes them.
std::map<std::string, std::vector<ports::PointerRecordWrite>> pointer_record_writes(
    const Batch& batch, const ports::AnchorConfirmation& confirmation);

class RecordAndReport {
 public:
  struct Job {
    const Batch* batch = nullptr;
    ports::AnchorConfirmation confirmation;
    const std::atomic<bool>* stop = nullptr;  // a report retried until it succeeds or this is set
    // Set by the thread; read once done() says so.
    bool records_kept = false;  // false: a region failed (record_error), nothing was reported
    Error record_error;
    Status reported = Ok{};  // an error that stops the pipeline, as report() would return it
    double record_seconds = 0;
    double report_seconds = 0;
    bool finished = false;  // guarded by the mutex: use done()
  };

  // `backoff` is the first wait before a report is queued again (doubling, at most 16 times).
  RecordAndReport(ports::BlobStore& blobs, ReportStage& report, Health& health, ports::Clock& clock,
                  std::chrono::milliseconds backoff);
  // Ends the job under way (a report being retried gives up) and joins the thread.
  ~RecordAndReport();
  RecordAndReport(const RecordAndReport&) = delete;
  RecordAndReport& operator=(const RecordAndReport&) = delete;

  // Queues `job` (which must stay in place until done) behind the others.
  void add(Job& job);
  // Whether `job` is done; with `wait`, blocks until it is.
  bool done(const Job& job, bool wait);
  // After a job ended with records_kept false: the jobs behind it may run.
  void resume();

 private:
  void run();
  void work(Job& job);

  ports::BlobStore& blobs_;
  ReportStage& report_;
  Health& health_;
  ports::Clock& clock_;
  std::chrono::milliseconds backoff_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Job*> queue_;
  bool halted_ = false;
  bool quit_ = false;
  std::atomic<bool> quitting_{false};
  std::thread thread_;  // last: started once everything above is in place
};

}  // namespace fl::gateway
