#include "fl/gateway/reader.h"

#include "fl/base/assert.h"
#include "fl/gateway/pseudonyms.h"
#include "fl/gateway/stages/protect_stage.h"

#include <openssl/crypto.h>

#include <algorithm>

namespace fl::gateway {

RegionHints::RegionHints(ports::Clock& clock, std::chrono::milliseconds ttl,
                         std::size_t max_entries)
    : clock_(clock), ttl_(ttl), max_entries_(max_entries) {}

std::optional<std::string> RegionHints::find(const ports::Hash32& resource_key) const {
  const std::lock_guard lock(mutex_);
  auto it = hints_.find(resource_key);
  if (it == hints_.end() || clock_.now() - it->second.learnt >= ttl_) return std::nullopt;
  return it->second.region;
}

void RegionHints::remember(const ports::Hash32& resource_key, const std::string& region) {
  if (ttl_.count() <= 0) return;
  const auto now = clock_.now();
  const std::lock_guard lock(mutex_);
  if (hints_.size() >= max_entries_ && !hints_.contains(resource_key)) hints_.clear();
  hints_.insert_or_assign(resource_key, Hint{.region = region, .learnt = now});
}

ResourceReader::ResourceReader(ports::KeyProvider& keys, ports::BlobStore& blobs,
                               ports::MasterKeyStore& master_keys, ports::PointerLedger& ledger,
                               std::vector<std::string> regions, RegionHints* hints)
    : keys_(keys),
      blobs_(blobs),
      ledger_(ledger),
      regions_(std::move(regions)),
      hints_(hints),
      master_keys_(keys, master_keys) {
  auto sealer = crypto::Sealer::create();
  FL_ASSERT(sealer.has_value(), "OpenSSL 3 always provides HMAC-SHA256 and AES-256-GCM");
  sealer_ = std::move(*sealer);
}

ResourceReader::~ResourceReader() = default;

Result<ReadResource> ResourceReader::read(std::string_view source, std::string_view reference,
                                          std::optional<std::uint64_t> version) {
  auto key = Pseudonyms(keys_).resource_key(source, reference);
  if (!key) return key.error();
  return read_key(*key, version);
}

Result<ReadResource> ResourceReader::read_key(const ports::Hash32& resource_key,
                                              std::optional<std::uint64_t> version) {
  const std::string key_hex = to_hex(resource_key);
  std::optional<PointerRecord> found;
  if (auto hint = hints_ ? hints_->find(resource_key) : std::nullopt) {
    auto hinted = find_record(std::span(&*hint, 1), key_hex, version);
    if (!hinted) return hinted.error();
    found = std::move(*hinted);
  }
  if (!found) {
    auto anywhere = find_record(regions_, key_hex, version);
    if (!anywhere) return anywhere.error();
    found = std::move(*anywhere);
    if (found && hints_) hints_->remember(resource_key, found->pointer.region);
  }
  if (!found) {
    return Error{
        ErrorCode::kNotFound,
        version ? "no such version of this resource is stored" : "this resource is not stored",
        "0x" + key_hex};
  }
  const ports::Pointer& p = found->pointer;
  if (p.patient_key != ports::Hash32{}) {
    auto erased = ledger_.erased(std::span(&p.patient_key, 1));
    if (!erased) return erased.error();
    if (erased->front()) {
      return Error{ErrorCode::kErased, "the patient was erased: their data is no longer readable",
                   "patient key " + to_0x_hex(p.patient_key)};
    }
  }
  if (p.content_hash == ports::Hash32{} || std::all_of(p.content_hash.begin(), p.content_hash.end(),
                                                       [](std::uint8_t b) { return b == 0xff; })) {
    return Error{ErrorCode::kNotFound, "version " + std::to_string(p.version) + " is a delete",
                 "0x" + key_hex};
  }
  auto blob = blobs_.get(p.region, to_hex(p.content_hash));
  if (!blob && blob.error().code == ErrorCode::kNotFound) {
    return Error{ErrorCode::kIntegrity, "the blob the pointer names is missing from its region",
                 "region " + p.region};
  }
  if (!blob) return blob.error();
  if (sealer_->content_hash(*blob) != p.content_hash) {
    return Error{ErrorCode::kIntegrity,
                 "the stored blob does not match its anchored content hash (altered in the store)",
                 "region " + p.region};
  }
  auto master = master_keys_.for_reading(p.region, p.patient_key);
  if (!master) return master.error();
  const Bytes context =
      seal_context(p.resource_key, p.version, p.region, p.patient_key, p.policy_hash);
  auto plain =
      sealer_->open(*master, crypto::data_key_info(p.resource_key, p.version), *blob, context);
  if (!plain) return plain.error();
  ReadResource out{.record = std::move(*found), .json = std::string(as_chars(*plain))};
  OPENSSL_cleanse(plain->data(), plain->size());
  return out;
}

Result<std::optional<PointerRecord>> ResourceReader::find_record(
    std::span<const std::string> regions, const std::string& key_hex,
    std::optional<std::uint64_t> version) {
  std::optional<PointerRecord> found;
  for (const std::string& region : regions) {
    auto records = blobs_.pointer_records(region, key_hex);
    if (!records) return records.error();
    if (records->empty()) continue;
    auto it = version ? records->find(*version) : std::prev(records->end());
    if (it == records->end()) continue;
    auto record = parse_pointer_record(it->second);
    if (!record) return record.error();
    if (!found || record->pointer.version > found->pointer.version) found = std::move(*record);
  }
  return found;
}

}  // namespace fl::gateway
