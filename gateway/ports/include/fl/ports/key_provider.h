// Keys: the regions' key-encryption keys (KEKs), which wrap the patients' master keys, and the
// pepper behind pseudonyms. The port is shaped like a KMS (HashiCorp Vault transit, a cloud
// KMS): KEK material never leaves the provider; the gateway hands it a key to wrap or a wrapped
// key to unwrap. A local keyring file implements it for development and small sites
// (adapters/keys). Each region has its own KEKs, exactly one of them active; older ones stay
// able to unwrap until they are retired. Safe to call from any thread.
#pragma once

#include "fl/base/bytes.h"
#include "fl/base/result.h"
#include "fl/base/secret_bytes.h"

#include <string>
#include <vector>

namespace fl::ports {

struct KeyMaterial {
  std::string key_id;  // safe to log and to store beside ciphertext
  SecretBytes material;
};

// A key wrapped by a KEK: which KEK, and the provider's opaque wrapped form.
struct WrappedKey {
  std::string kek_id;
  Bytes wrapped;

  friend bool operator==(const WrappedKey&, const WrappedKey&) = default;
};

// What an operator may see about a KEK: never its material.
struct KekInfo {
  std::string id;
  std::string region;
  std::string created;  // RFC 3339
  bool active = false;
  bool retired = false;  // kept in the file for the record, no longer used to unwrap
};

class KeyProvider {
 public:
  virtual ~KeyProvider() = default;

  // The id of the KEK new master keys of `region` are wrapped under; kNotFound when the region
  // has no active KEK.
  virtual Result<std::string> active_kek_id(const std::string& region) = 0;

  // Wraps `key` under the region's active KEK, authenticating `aad` with it.
  virtual Result<WrappedKey> wrap(const std::string& region, ByteView aad,
                                  const SecretBytes& key) = 0;

  // Unwraps with the KEK the wrapped key names. kNotFound when that KEK is unknown or retired,
  // kPermissionDenied when it belongs to another region, kIntegrity when the wrapped bytes or
  // `aad` were altered.
  virtual Result<SecretBytes> unwrap(const std::string& region, const WrappedKey& wrapped,
                                     ByteView aad) = 0;

  // The secret for HMAC pseudonyms of resource and patient ids.
  virtual Result<KeyMaterial> pseudonym_pepper() = 0;

  // Every KEK the provider knows, for `keys list` and start-up checks.
  virtual std::vector<KekInfo> keks() const = 0;
};

}  // namespace fl::ports
