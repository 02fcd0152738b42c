// Stage 9 of the pipeline: a batch's receipts, dead letters and the AuditEvents of what the
// policy refused, queued with their producers. A batch is committed only once they are delivered
// (Pipeline::commit_reported), so a crash before that re-delivers it and it is reported again
// (at least once). Queue::next() and delivered() may be called from two threads (the pipeline's
// and RecordAndReport's): the producers are used by one at a time.
#pragma once

#include "fl/base/result.h"
#include "fl/gateway/batch.h"
#include "fl/ports/audit_log.h"
#include "fl/ports/blob_store.h"
#include "fl/ports/dead_letters.h"
#include "fl/ports/pointer_ledger.h"
#include "fl/ports/receipts.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace fl::gateway {

class ReportStage {
 public:
  // `audit` may be null (no AuditEvents); `blobs` names where each blob is stored.
  ReportStage(ports::Receipts& receipts, ports::DeadLetters& dead_letters, ports::AuditLog* audit,
              const ports::BlobStore& blobs)
      : receipts_(receipts), dead_letters_(dead_letters), audit_(audit), blobs_(blobs) {}

  // The receipt of `item` of `batch`, anchored by the transaction `tx_hash` mined in `block`
  // (with `proof`, under its merkle root).
  ports::Receipt receipt(const Batch& batch, const BatchItem& item, const std::string& tx_hash,
                         std::uint64_t block,
                         const std::optional<ports::InclusionProof>& proof) const;
  // The receipts of the batch's resources, where `confirmation` placed them.
  std::vector<ports::Receipt> receipts(const Batch& batch,
                                       const ports::AnchorConfirmation& confirmation) const;

  // What one report queues: the receipts, then the dead letters, then the AuditEvents. Each
  // message is queued once: a failed flush leaves what was not acknowledged yet queued (the
  // ports' contract), so queuing it again would publish twice what was only late, as when the
  // broker is away for a while.
  class Queue {
   public:
    Queue(ReportStage& stage, std::vector<ports::Receipt> receipts,
          std::span<const ports::DeadLetter> letters, std::span<const ports::AuditRecord> audits)
        : stage_(stage), receipts_(std::move(receipts)), letters_(letters), audits_(audits) {}
    // Queues what is not queued yet, in order; after an error the next call goes on from the
    // message refused.
    Status next();

   private:
    ReportStage& stage_;
    std::vector<ports::Receipt> receipts_;
    std::span<const ports::DeadLetter> letters_;
    std::span<const ports::AuditRecord> audits_;
    std::size_t receipts_queued_ = 0;
    std::size_t letters_queued_ = 0;
    bool audits_queued_ = false;
  };

  // Whether everything queued is delivered: flushes the receipts and the dead letters (and the
  // AuditEvents when `audits`) for up to `timeout`; kUnavailable while some are on their way.
  // A timeout of 0 is a look that does not wait: also kUnavailable while the other thread is
  // queueing a batch.
  Status delivered(bool audits, std::chrono::milliseconds timeout);

 private:
  ports::Receipts& receipts_;
  ports::DeadLetters& dead_letters_;
  ports::AuditLog* audit_;
  const ports::BlobStore& blobs_;
  std::mutex producers_;  // the producers' own state (retries, replacements) is not shared
};

}  // namespace fl::gateway
