#include "fl/gateway/reader.h"

#include "fl/base/assert.h"
#include "fl/gateway/pseudonyms.h"
#include "fl/gateway/stages/protect_stage.h"

#include <openssl/crypto.h>

#include <algorithm>

namespace fl::gateway {

ResourceReader::ResourceReader(ports::KeyProvider& keys, ports::BlobStore& blobs,
                               ports::MasterKeyStore& master_keys, ports::PointerLedger& ledger,
                               std::vector<std::string> regions)
    : keys_(keys),
      blobs_(blobs),
      ledger_(ledger),
      regions_(std::move(regions)),
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
  // The record of the asked (or latest) version, from whichever region holds it.
  std::optional<PointerRecord> found;
  for (const std::string& region : regions_) {
    auto records = blobs_.pointer_records(region, key_hex);
    if (!records) return records.error();
    if (records->empty()) continue;
    auto it = version ? records->find(*version) : std::prev(records->end());
    if (it == records->end()) continue;
    auto record = parse_pointer_record(it->second);
    if (!record) return record.error();
    if (!found || record->pointer.version > found->pointer.version) found = std::move(*record);
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

}  // namespace fl::gateway
