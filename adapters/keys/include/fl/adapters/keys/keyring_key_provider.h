// KeyProvider over a local keyring file, for development and small sites:
//   {"comment": "...", "pepper": {"id": "...", "material": "<64 hex>"},
//    "keys": [{"id": "...", "created": "<RFC 3339>", "active": true, "material": "<64 hex>"}]}
// Exactly one key is active (new data is sealed under it); inactive keys stay readable. Loaded
// once at start; errors name the file and the JSON pointer, never key material. A KMS adapter
// (Vault transit, cloud KMS) implements the same port later. Safe for concurrent reads.
#pragma once

#include "fl/base/result.h"
#include "fl/ports/key_provider.h"

#include <memory>
#include <string>

namespace fl::keys {

Result<std::unique_ptr<ports::KeyProvider>> make_keyring_key_provider(const std::string& path);

}  // namespace fl::keys
