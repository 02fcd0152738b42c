// Hashes and MACs over OpenSSL: SHA-256 for content addresses and policy hashes, HMAC-SHA256
// for pseudonyms (KeyedHmacSha256), HKDF-SHA256 (RFC 5869) for per-version data keys. Pure
// functions, any thread, but for KeyedHmacSha256.
#pragma once

#include "fl/base/bytes.h"
#include "fl/base/result.h"
#include "fl/base/secret_bytes.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace fl::gateway::crypto {

Bytes sha256(ByteView data);
Result<SecretBytes> hkdf_sha256(ByteView key, ByteView salt, ByteView info, std::size_t length);
// Cryptographically random bytes; kUnavailable if the system RNG fails.
Result<Bytes> random_bytes(std::size_t length);

// HMAC-SHA256 under one key, set up once: OpenSSL's one-shot HMAC() fetches SHA-256 and hashes
// the key into its pads on every call, which costs as much as the MAC of a short input (the
// pipeline makes two or three pseudonyms per resource). One thread at a time.
class KeyedHmacSha256 {
 public:
  // kUnavailable if OpenSSL lacks HMAC or SHA-256.
  static Result<KeyedHmacSha256> create(ByteView key);
  KeyedHmacSha256(KeyedHmacSha256&&) noexcept;
  KeyedHmacSha256& operator=(KeyedHmacSha256&&) noexcept;
  ~KeyedHmacSha256();

  Result<std::array<std::uint8_t, 32>> mac(ByteView data);

 private:
  struct Impl;
  explicit KeyedHmacSha256(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fl::gateway::crypto
