#include "fl/gateway/stages/report_stage.h"

#include "fl/base/assert.h"
#include "fl/base/bytes.h"
#include "fl/gateway/pointer_record.h"

namespace fl::gateway {

ports::Receipt ReportStage::receipt(const Batch& batch, const BatchItem& item,
                                    const std::string& tx_hash, std::uint64_t block,
                                    const std::optional<ports::InclusionProof>& proof) const {
  const ports::Pointer& p = item.pointer;
  const std::string key = to_hex(p.content_hash);
  ports::Receipt receipt{.source = item.source,
                         .reference = item.reference,
                         .resource_key = to_0x_hex(p.resource_key),
                         .version = p.version,
                         .content_hash = "0x" + key,
                         .redis_key = item.deleted ? "" : blobs_.storage_key(key),
                         .region = p.region,
                         .tx_hash = tx_hash,
                         .block = block,
                         .origin = batch.events.at(item.event).origin,
                         .anchor_mode = std::string(anchor_mode_name(p.mode)),
                         .deleted = item.deleted};
  if (proof) {
    receipt.merkle_root = to_0x_hex(proof->root);
    receipt.merkle_index = proof->index;
    receipt.merkle_leaf_count = proof->leaf_count;
    receipt.merkle_proof.reserve(proof->siblings.size());
    for (const auto& h : proof->siblings) receipt.merkle_proof.push_back(to_0x_hex(h));
  }
  return receipt;
}

std::vector<ports::Receipt> ReportStage::receipts(
    const Batch& batch, const ports::AnchorConfirmation& confirmation) const {
  std::vector<ports::Receipt> out;
  out.reserve(batch.items.size());
  for (const BatchItem& item : batch.items) {
    const auto& placement = confirmation.placements.at(item.placement);
    const auto& tx = confirmation.transactions.at(placement.tx);
    out.push_back(receipt(batch, item, tx.tx_hash, tx.block, placement.proof));
  }
  return out;
}

Status ReportStage::Queue::next() {
  const std::lock_guard<std::mutex> lock(stage_.producers_);
  for (; receipts_queued_ < receipts_.size(); ++receipts_queued_) {
    if (auto sent = stage_.receipts_.publish(receipts_[receipts_queued_]); !sent) return sent;
  }
  for (; letters_queued_ < letters_.size(); ++letters_queued_) {
    if (auto sent = stage_.dead_letters_.send(letters_[letters_queued_]); !sent) return sent;
  }
  if (!audits_queued_ && !audits_.empty()) {
    FL_ASSERT(stage_.audit_ != nullptr, "AuditEvents to report without an audit log");
    if (auto sent = stage_.audit_->record(audits_); !sent) return sent;
  }
  audits_queued_ = true;
  return Ok{};
}

Status ReportStage::delivered(bool audits, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(producers_, std::defer_lock);
  if (timeout.count() > 0) {
    lock.lock();
  } else if (!lock.try_lock()) {
    // The recording thread is queueing a batch (a few ms for 400 receipts): the pipeline's
    // thread looks again after its next batch rather than wait here.
    return Error{ErrorCode::kUnavailable, "the producers are queueing a batch", "report"};
  }
  if (auto r = receipts_.flush(timeout); !r) return r.error();
  if (audits && audit_ != nullptr) {
    if (auto r = audit_->flush(timeout); !r) return r.error();
  }
  return dead_letters_.flush(timeout);
}

}  // namespace fl::gateway
