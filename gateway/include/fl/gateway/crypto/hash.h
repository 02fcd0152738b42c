// Hashes and MACs over OpenSSL: SHA-256 for content addresses and policy hashes, HMAC-SHA256
// for pseudonyms, HKDF-SHA256 (RFC 5869) for per-version data keys. Pure functions, any thread.
#pragma once

#include "fl/base/bytes.h"
#include "fl/base/result.h"
#include "fl/base/secret_bytes.h"

#include <cstddef>

namespace fl::gateway::crypto {

Bytes sha256(ByteView data);
Bytes hmac_sha256(ByteView key, ByteView data);
Result<SecretBytes> hkdf_sha256(ByteView key, ByteView salt, ByteView info, std::size_t length);
// Cryptographically random bytes; kUnavailable if the system RNG fails.
Result<Bytes> random_bytes(std::size_t length);

}  // namespace fl::gateway::crypto
