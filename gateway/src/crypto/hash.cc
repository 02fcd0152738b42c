#include "fl/gateway/crypto/hash.h"

#include "fl/base/c_handle.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

namespace fl::gateway::crypto {
namespace {

using KdfPtr = CHandle<EVP_KDF, &EVP_KDF_free>;
using KdfCtxPtr = CHandle<EVP_KDF_CTX, &EVP_KDF_CTX_free>;

}  // namespace

Bytes sha256(ByteView data) {
  Bytes out(SHA256_DIGEST_LENGTH);
  SHA256(data.data(), data.size(), out.data());
  return out;
}

Bytes hmac_sha256(ByteView key, ByteView data) {
  Bytes out(EVP_MAX_MD_SIZE);
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), data.data(), data.size(), out.data(),
       &length);
  out.resize(length);
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

}  // namespace fl::gateway::crypto
