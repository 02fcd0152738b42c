// MasterKeys: the patients' master keys, as the pipeline, readers and the key tools need them.
// A master key is 32 random bytes, created the first time a patient's data reaches a region,
// wrapped by that region's active KEK (the KeyProvider) and kept wrapped in that region's
// MasterKeyStore beside the data. The wrap authenticates the region, the patient pseudonym and
// the master key id, so a wrapped key copied to another patient or region does not unwrap.
// Resources without a patient share the region's key under the all-zero patient key.
//
// Erasure replaces the wrapped key with a mark; from then on the patient's blobs cannot be
// opened and no new key is created for them. Rotation re-wraps under the region's new active
// KEK; blobs are untouched, since they name the master key, not the KEK.
//
// Unwrapped keys live only as long as the caller holds them (SecretBytes). One thread per
// instance.
#pragma once

#include "fl/base/result.h"
#include "fl/gateway/crypto/envelope.h"
#include "fl/ports/key_provider.h"
#include "fl/ports/master_key_store.h"

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>

namespace fl::gateway {

struct PatientKeys {
  std::map<ports::Hash32, crypto::MasterKey> keys;  // ready to seal
  std::set<ports::Hash32> erased;                   // no key, ever again
};

struct RotationReport {
  std::string region;
  std::string active_kek;
  std::uint64_t rewrapped = 0;
  std::uint64_t current = 0;  // already under the active KEK
  std::uint64_t erased = 0;   // erasure marks, nothing to wrap
  std::uint64_t raced = 0;    // changed while being re-wrapped (run rotate again)
};

class MasterKeys {
 public:
  MasterKeys(ports::KeyProvider& keks, ports::MasterKeyStore& store);
  ~MasterKeys();

  // The keys of `patients` in `region`, creating (and storing) the missing ones.
  Result<PatientKeys> for_writing(const std::string& region,
                                  std::span<const ports::Hash32> patients);

  // One patient's existing key: kErased once erased, kNotFound when the region never had one.
  Result<crypto::MasterKey> for_reading(const std::string& region, const ports::Hash32& patient);

  // Re-wraps every master key of `region` that is not under the region's active KEK.
  Result<RotationReport> rotate(const std::string& region);

  // Destroys the patient's key in `region`; true when a key was destroyed.
  Result<bool> erase(const std::string& region, const ports::Hash32& patient,
                     const std::string& erased_at);

 private:
  Result<crypto::MasterKey> unwrap(const std::string& region, const ports::Hash32& patient,
                                   const ports::MasterKeyEntry& entry);

  ports::KeyProvider& keks_;
  ports::MasterKeyStore& store_;
  std::unique_ptr<crypto::Sealer> sealer_;  // for the HKDF extract of each unwrapped key
};

// What the KEK authenticates with a wrapped master key.
Bytes master_key_aad(const std::string& region, const ports::Hash32& patient,
                     const std::string& key_id);

}  // namespace fl::gateway
