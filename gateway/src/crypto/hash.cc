#include "fl/gateway/crypto/hash.h"

#include "fl/base/c_handle.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <utility>

namespace fl::gateway::crypto {
namespace {

using KdfPtr = CHandle<EVP_KDF, &EVP_KDF_free>;
using KdfCtxPtr = CHandle<EVP_KDF_CTX, &EVP_KDF_CTX_free>;
using MacPtr = CHandle<EVP_MAC, &EVP_MAC_free>;
using MacCtxPtr = CHandle<EVP_MAC_CTX, &EVP_MAC_CTX_free>;

}  // namespace

Bytes sha256(ByteView data) {
  Bytes out(SHA256_DIGEST_LENGTH);
  SHA256(data.data(), data.size(), out.data());
  return out;
}

Result<SecretBytes> hkdf_sha256(ByteView key, ByteView salt, ByteView info, std::size_t length) {
  KdfPtr kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
  if (!kdf) return Error{ErrorCode::kUnavailable, "OpenSSL has no HKDF", "crypto"};
  KdfCtxPtr ctx(EVP_KDF_CTX_new(kdf.get()));
  if (!ctx) return Error{ErrorCode::kUnavailable, "out of memory", "crypto"};
  char digest[] = "SHA256";
  // OpenSSL's parameter API takes non-const pointers but does not write through them.
  auto* k = const_cast<std::uint8_t*>(key.data());
  auto* s = const_cast<std::uint8_t*>(salt.data());
  auto* i = const_cast<std::uint8_t*>(info.data());
  // An empty salt or info is left out: OpenSSL refuses empty octet strings, and RFC 5869 treats
  // a missing salt as HashLen zero bytes, which is what OpenSSL then uses.
  OSSL_PARAM params[5];
  std::size_t n = 0;
  params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
  params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, k, key.size());
  if (!salt.empty()) {
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, s, salt.size());
  }
  if (!info.empty()) {
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, i, info.size());
  }
  params[n] = OSSL_PARAM_construct_end();
  Bytes out(length);
  if (EVP_KDF_derive(ctx.get(), out.data(), out.size(), params) != 1) {
    return Error{ErrorCode::kInvalidInput, "HKDF derivation failed", "crypto"};
  }
  return SecretBytes(std::move(out));
}

Result<Bytes> random_bytes(std::size_t length) {
  Bytes out(length);
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) {
    return Error{ErrorCode::kUnavailable, "the system random generator failed", "crypto"};
  }
  return out;
}

struct KeyedHmacSha256::Impl {
  MacCtxPtr ctx;  // keyed: each MAC starts again from the key's pads
};

KeyedHmacSha256::KeyedHmacSha256(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KeyedHmacSha256::KeyedHmacSha256(KeyedHmacSha256&&) noexcept = default;
KeyedHmacSha256& KeyedHmacSha256::operator=(KeyedHmacSha256&&) noexcept = default;
KeyedHmacSha256::~KeyedHmacSha256() = default;

Result<KeyedHmacSha256> KeyedHmacSha256::create(ByteView key) {
  MacPtr hmac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  if (!hmac) return Error{ErrorCode::kUnavailable, "OpenSSL has no HMAC", "crypto"};
  auto impl = std::make_unique<Impl>();
  impl->ctx.reset(EVP_MAC_CTX_new(hmac.get()));
  if (!impl->ctx) return Error{ErrorCode::kUnavailable, "out of memory", "crypto"};
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_construct_end()};
  // An empty key is still a key (RFC 2104 pads it with zeros); OpenSSL reads a null pointer as
  // "keep the key you have", so it is given one it can read.
  static constexpr std::uint8_t kNone = 0;
  if (EVP_MAC_init(impl->ctx.get(), key.empty() ? &kNone : key.data(), key.size(), params) != 1) {
    return Error{ErrorCode::kUnavailable, "cannot set up HMAC-SHA256", "crypto"};
  }
  return KeyedHmacSha256(std::move(impl));
}

Result<std::array<std::uint8_t, 32>> KeyedHmacSha256::mac(ByteView data) {
  std::array<std::uint8_t, 32> out{};
  std::size_t length = 0;
  // A null key restarts from the key set at create (OpenSSL keeps its prepared pads).
  if (EVP_MAC_init(impl_->ctx.get(), nullptr, 0, nullptr) != 1 ||
      (!data.empty() && EVP_MAC_update(impl_->ctx.get(), data.data(), data.size()) != 1) ||
      EVP_MAC_final(impl_->ctx.get(), out.data(), &length, out.size()) != 1 || length != 32) {
    return Error{ErrorCode::kUnavailable, "HMAC-SHA256 failed", "crypto"};
  }
  return out;
}

}  // namespace fl::gateway::crypto
