#include "fl/gateway/batch.h"

#include "fl/base/bytes.h"
#include "fl/gateway/crypto/hash.h"

#include <algorithm>

namespace fl::gateway {

namespace {

std::vector<ports::Hash32> sorted_distinct(std::vector<ports::Hash32> keys) {
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

}  // namespace

std::string detail_of(const Error& error) {
  return error.where.empty() ? error.message : error.message + " (at " + error.where + ")";
}

ports::DeadLetter dead_letter(const ports::SourceEvent& event, const Error& error) {
  return ports::DeadLetter{.event = event,
                           .error_code = std::string(error_code_name(error.code)),
                           .error_detail = detail_of(error),
                           .original_sha256 = to_hex(crypto::sha256(as_bytes(event.value)))};
}

void Batch::reject(std::size_t event, Error error) {
  rejected_.try_emplace(event, std::move(error));
}

void Batch::prune() {
  if (rejected_.empty()) return;
  for (const auto& [event, error] : rejected_)
    dead_.push_back(dead_letter(events.at(event), error));
  std::erase_if(items, [&](const BatchItem& item) { return rejected_.contains(item.event); });
  rejected_.clear();
}

void Batch::reject_part(std::size_t event, const Error& error) {
  dead_.push_back(dead_letter(events.at(event), error));
}

const std::vector<ports::Hash32>& Batch::patient_keys() {
  if (!patient_keys_) {
    std::vector<ports::Hash32> keys;
    for (const BatchItem& item : items) {
      if (item.pointer.patient_key != ports::Hash32{}) keys.push_back(item.pointer.patient_key);
    }
    patient_keys_ = sorted_distinct(std::move(keys));
  }
  return *patient_keys_;
}

const std::vector<ports::Hash32>& Batch::patient_and_record_keys() {
  if (!patient_and_record_keys_) {
    std::vector<ports::Hash32> keys = patient_keys();
    for (const BatchItem& item : items) {
      if (item.record_key != ports::Hash32{}) keys.push_back(item.record_key);
    }
    patient_and_record_keys_ = sorted_distinct(std::move(keys));
  }
  return *patient_and_record_keys_;
}

}  // namespace fl::gateway
