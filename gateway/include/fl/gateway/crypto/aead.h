// AES-GCM over OpenSSL EVP: the one place ciphertext is made or opened. Keys of 16, 24 or 32
// bytes (the pipeline uses 32: AES-256), any non-empty nonce length OpenSSL accepts, 16-byte
// tags appended to the ciphertext. open() answers kIntegrity for any tag or length mismatch and
// never returns unauthenticated plaintext.
#pragma once

#include "fl/base/bytes.h"
#include "fl/base/result.h"

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>

namespace fl::gateway::crypto {

inline constexpr std::size_t kGcmTagBytes = 16;

// An AAD given in parts, authenticated as their concatenation, so callers need not copy a
// header and a context into one buffer.
using AadParts = std::initializer_list<ByteView>;

// The reusable form: ciphers fetched once and one EVP context reused for every call, because
// fetching and allocating cost more than sealing a small resource. Not thread-safe: one per
// thread. The free functions below run through it.
class AesGcm {
  struct Token {};

 public:
  static Result<std::unique_ptr<AesGcm>> create();
  ~AesGcm();
  AesGcm(const AesGcm&) = delete;
  AesGcm& operator=(const AesGcm&) = delete;

  // Writes ciphertext || tag into `out`, which must hold plaintext.size() + kGcmTagBytes.
  Status seal(ByteView key, ByteView nonce, ByteView aad, ByteView plaintext,
              std::span<std::uint8_t> out);
  // `sealed` is ciphertext || tag; writes the plaintext into `out`, which must hold
  // sealed.size() - kGcmTagBytes. On failure `out` is wiped.
  Status open(ByteView key, ByteView nonce, ByteView aad, ByteView sealed,
              std::span<std::uint8_t> out);
  Status seal(ByteView key, ByteView nonce, AadParts aad, ByteView plaintext,
              std::span<std::uint8_t> out);
  Status open(ByteView key, ByteView nonce, AadParts aad, ByteView sealed,
              std::span<std::uint8_t> out);

  struct Impl;
  AesGcm(Token, std::unique_ptr<Impl> impl);

 private:
  std::unique_ptr<Impl> impl_;
};

// ciphertext || tag
Result<Bytes> aes_gcm_seal(ByteView key, ByteView nonce, ByteView aad, ByteView plaintext);
// `sealed` is ciphertext || tag
Result<Bytes> aes_gcm_open(ByteView key, ByteView nonce, ByteView aad, ByteView sealed);

}  // namespace fl::gateway::crypto
