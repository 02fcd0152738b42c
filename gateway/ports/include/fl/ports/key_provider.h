// Keys: the key-encryption keys that protect resources and the pepper behind pseudonyms. A local
// keyring file in development (adapters/keys); a KMS later. Callers hold key material only as
// SecretBytes and only as long as they need it.
#pragma once

#include "fl/base/result.h"
#include "fl/base/secret_bytes.h"

#include <string>

namespace fl::ports {

struct KeyMaterial {
  std::string key_id;  // safe to log and to store beside ciphertext
  SecretBytes material;
};

class KeyProvider {
 public:
  virtual ~KeyProvider() = default;

  // The key new data is encrypted under.
  virtual Result<KeyMaterial> active_key() = 0;
  // Any key still readable, by id; kNotFound when retired or unknown.
  virtual Result<KeyMaterial> key(const std::string& key_id) = 0;
  // The secret for HMAC pseudonyms of resource and patient ids.
  virtual Result<KeyMaterial> pseudonym_pepper() = 0;
};

}  // namespace fl::ports
