#include "fl/gateway/keys/master_keys.h"

#include "fl/base/assert.h"
#include "fl/gateway/crypto/hash.h"

#include <optional>
#include <utility>
#include <vector>

namespace fl::gateway {

Bytes master_key_aad(const std::string& region, const ports::Hash32& patient,
                     const std::string& key_id) {
  static constexpr std::string_view kLabel = "fhir-ledger/master-key/v1";
  Bytes out(kLabel.begin(), kLabel.end());
  out.push_back(static_cast<std::uint8_t>(region.size()));
  out.insert(out.end(), region.begin(), region.end());
  out.insert(out.end(), patient.begin(), patient.end());
  out.push_back(static_cast<std::uint8_t>(key_id.size()));
  out.insert(out.end(), key_id.begin(), key_id.end());
  return out;
}

MasterKeys::MasterKeys(ports::KeyProvider& keks, ports::MasterKeyStore& store)
    : keks_(keks), store_(store) {
  auto sealer = crypto::Sealer::create();
  FL_ASSERT(sealer.has_value(), "OpenSSL 3 always provides HMAC-SHA256 and AES-256-GCM");
  sealer_ = std::move(*sealer);
}

MasterKeys::~MasterKeys() = default;

Result<crypto::MasterKey> MasterKeys::unwrap(const std::string& region,
                                             const ports::Hash32& patient,
                                             const ports::MasterKeyEntry& entry) {
  auto raw = keks_.unwrap(region, entry.wrapped, master_key_aad(region, patient, entry.key_id));
  if (!raw) {
    // The KEK's own message names the KEK id; never the key.
    return Error{raw.error().code,
                 "cannot unwrap master key " + entry.key_id + ": " + raw.error().message,
                 "region " + region};
  }
  return sealer_->master_key(entry.key_id, *raw);
}

Result<PatientKeys> MasterKeys::for_writing(const std::string& region,
                                            std::span<const ports::Hash32> patients) {
  PatientKeys out;
  if (patients.empty()) return out;
  auto stored = store_.master_keys(region, patients);
  if (!stored) return stored.error();

  // Create the missing ones in one round trip; the store answers with whatever is in force.
  std::vector<std::pair<ports::Hash32, ports::MasterKeyEntry>> fresh;
  std::map<ports::Hash32, ports::MasterKeyEntry> entries;
  for (std::size_t i = 0; i < patients.size(); ++i) {
    if ((*stored)[i]) {
      entries.emplace(patients[i], std::move(*(*stored)[i]));
      continue;
    }
    auto id_bytes = crypto::random_bytes(8);
    auto raw = crypto::random_bytes(crypto::kMasterKeyBytes);
    if (!id_bytes) return id_bytes.error();
    if (!raw) return raw.error();
    SecretBytes key(std::move(*raw));
    ports::MasterKeyEntry entry{.key_id = "mk-" + to_hex(*id_bytes)};
    auto wrapped = keks_.wrap(region, master_key_aad(region, patients[i], entry.key_id), key);
    if (!wrapped) return wrapped.error();
    entry.wrapped = std::move(*wrapped);
    fresh.emplace_back(patients[i], std::move(entry));
  }
  if (!fresh.empty()) {
    auto created = store_.create_master_keys(region, fresh);
    if (!created) return created.error();
    for (std::size_t i = 0; i < fresh.size(); ++i) {
      entries.insert_or_assign(fresh[i].first, std::move((*created)[i]));
    }
  }
  for (const auto& [patient, entry] : entries) {
    if (entry.erased()) {
      out.erased.insert(patient);
      continue;
    }
    auto key = unwrap(region, patient, entry);
    if (!key) return key.error();
    out.keys.emplace(patient, std::move(*key));
  }
  return out;
}

Result<crypto::MasterKey> MasterKeys::for_reading(const std::string& region,
                                                  const ports::Hash32& patient) {
  auto stored = store_.master_keys(region, std::span(&patient, 1));
  if (!stored) return stored.error();
  const auto& entry = stored->front();
  if (!entry) {
    return Error{ErrorCode::kNotFound, "no master key for this patient in region " + region,
                 "region " + region};
  }
  if (entry->erased()) {
    return Error{ErrorCode::kErased,
                 "the patient was erased on " + entry->erased_at +
                     ": their master key is destroyed and their data cannot be read",
                 "region " + region};
  }
  return unwrap(region, patient, *entry);
}

Result<RotationReport> MasterKeys::rotate(const std::string& region) {
  auto active = keks_.active_kek_id(region);
  if (!active) return active.error();
  RotationReport report{.region = region, .active_kek = *active};
  auto visited = store_.for_each_master_key(
      region, [&](const ports::Hash32& patient, const ports::MasterKeyEntry& entry) -> Status {
        if (entry.erased()) {
          ++report.erased;
          return Ok{};
        }
        if (entry.wrapped.kek_id == *active) {
          ++report.current;
          return Ok{};
        }
        const Bytes aad = master_key_aad(region, patient, entry.key_id);
        auto raw = keks_.unwrap(region, entry.wrapped, aad);
        if (!raw) {
          return Error{raw.error().code,
                       "cannot unwrap master key " + entry.key_id + ": " + raw.error().message,
                       "region " + region};
        }
        auto wrapped = keks_.wrap(region, aad, *raw);
        if (!wrapped) return wrapped.error();
        ports::MasterKeyEntry replacement{.key_id = entry.key_id, .wrapped = std::move(*wrapped)};
        auto replaced = store_.replace_master_key(region, patient, entry, replacement);
        if (!replaced) return replaced.error();
        ++(*replaced ? report.rewrapped : report.raced);
        return Ok{};
      });
  if (!visited) return visited.error();
  return report;
}

Result<bool> MasterKeys::erase(const std::string& region, const ports::Hash32& patient,
                               const std::string& erased_at) {
  return store_.erase_master_key(region, patient, erased_at);
}

}  // namespace fl::gateway
