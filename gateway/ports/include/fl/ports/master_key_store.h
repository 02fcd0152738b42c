// Where the patients' master keys live: wrapped by the region's KEK, in the region's own store
// beside that patient's blobs (adapters/redis), never in clear and never on chain. One entry per
// patient pseudonym and region: the wrapped key, or, once the patient is erased, a mark that
// stands in its place for good, so a later event cannot quietly create a fresh key. Every
// change that could race an erasure (creation, re-wrapping) is a compare-and-set in the store.
// Called from one thread per instance.
#pragma once

#include "fl/base/result.h"
#include "fl/ports/key_provider.h"
#include "fl/ports/pointer_ledger.h"

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace fl::ports {

struct MasterKeyEntry {
  std::string key_id;     // the master key's own id: random, named in each blob's header
  WrappedKey wrapped;     // empty once erased
  std::string erased_at;  // RFC 3339; empty while the key exists

  bool erased() const { return !erased_at.empty(); }
  friend bool operator==(const MasterKeyEntry&, const MasterKeyEntry&) = default;
};

class MasterKeyStore {
 public:
  virtual ~MasterKeyStore() = default;

  // One answer per patient key, in order; nullopt when the region holds no entry for it.
  virtual Result<std::vector<std::optional<MasterKeyEntry>>> master_keys(
      const std::string& region, std::span<const Hash32> patient_keys) = 0;

  // Stores `entry` for each patient that has none; answers with the entry in force for each
  // (the one given, or the one another writer stored first, or an erasure mark).
  virtual Result<std::vector<MasterKeyEntry>> create_master_keys(
      const std::string& region, std::span<const std::pair<Hash32, MasterKeyEntry>> entries) = 0;

  // Replaces the entry only if it still equals `expected` (rotation must not undo an erasure);
  // false when it changed meanwhile.
  virtual Result<bool> replace_master_key(const std::string& region, const Hash32& patient_key,
                                          const MasterKeyEntry& expected,
                                          const MasterKeyEntry& replacement) = 0;

  // Puts the erasure mark in place of the patient's key, whatever was there; true when a key
  // was destroyed, false when there was none or it was already erased.
  virtual Result<bool> erase_master_key(const std::string& region, const Hash32& patient_key,
                                        const std::string& erased_at) = 0;

  // Visits every entry of the region (for rotation and audits); stops at the first error the
  // visitor returns.
  virtual Status for_each_master_key(
      const std::string& region,
      const std::function<Status(const Hash32&, const MasterKeyEntry&)>& visit) = 0;
};

}  // namespace fl::ports
