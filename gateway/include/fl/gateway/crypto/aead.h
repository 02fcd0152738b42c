// AES-GCM over OpenSSL EVP: the one place ciphertext is made or opened. Keys of 16, 24 or 32
// bytes (the pipeline uses 32: AES-256), any non-empty nonce length OpenSSL accepts, 16-byte
// tags appended to the ciphertext. open() answers kIntegrity for any tag or length mismatch and
// never returns unauthenticated plaintext.
#pragma once

#include "fl/base/bytes.h"
#include "fl/base/result.h"

namespace fl::gateway::crypto {

inline constexpr std::size_t kGcmTagBytes = 16;

// ciphertext || tag
Result<Bytes> aes_gcm_seal(ByteView key, ByteView nonce, ByteView aad, ByteView plaintext);
// `sealed` is ciphertext || tag
Result<Bytes> aes_gcm_open(ByteView key, ByteView nonce, ByteView aad, ByteView sealed);

}  // namespace fl::gateway::crypto
