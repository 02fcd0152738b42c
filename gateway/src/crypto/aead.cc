#include "fl/gateway/crypto/aead.h"

#include "fl/base/c_handle.h"

#include <openssl/evp.h>

namespace fl::gateway::crypto {
namespace {

using CipherCtxPtr = CHandle<EVP_CIPHER_CTX, &EVP_CIPHER_CTX_free>;

const EVP_CIPHER* cipher_for(std::size_t key_size) {
  switch (key_size) {
    case 16:
      return EVP_aes_128_gcm();
    case 24:
      return EVP_aes_192_gcm();
    case 32:
      return EVP_aes_256_gcm();
    default:
      return nullptr;
  }
}

Error failed(const char* what) { return Error{ErrorCode::kInvalidInput, what, "aes-gcm"}; }

// Sets cipher, nonce length, key and nonce; `encrypt` picks the direction.
Result<CipherCtxPtr> init(ByteView key, ByteView nonce, bool encrypt) {
  const EVP_CIPHER* cipher = cipher_for(key.size());
  if (cipher == nullptr) return failed("AES-GCM key must be 16, 24 or 32 bytes");
  if (nonce.empty()) return failed("AES-GCM nonce must not be empty");
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return Error{ErrorCode::kUnavailable, "out of memory", "aes-gcm"};
  const int enc = encrypt ? 1 : 0;
  if (EVP_CipherInit_ex(ctx.get(), cipher, nullptr, nullptr, nullptr, enc) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(nonce.size()),
                          nullptr) != 1 ||
      EVP_CipherInit_ex(ctx.get(), nullptr, nullptr, key.data(), nonce.data(), enc) != 1) {
    return failed("AES-GCM initialisation failed");
  }
  return ctx;
}

bool add_aad(EVP_CIPHER_CTX* ctx, ByteView aad) {
  int unused = 0;
  return aad.empty() ||
         EVP_CipherUpdate(ctx, nullptr, &unused, aad.data(), static_cast<int>(aad.size())) == 1;
}

}  // namespace

Result<Bytes> aes_gcm_seal(ByteView key, ByteView nonce, ByteView aad, ByteView plaintext) {
  auto ctx = init(key, nonce, true);
  if (!ctx) return ctx.error();
  Bytes out(plaintext.size() + kGcmTagBytes);
  int written = 0;
  int final_bytes = 0;
  if (!add_aad(ctx->get(), aad) ||
      EVP_EncryptUpdate(ctx->get(), out.data(), &written, plaintext.data(),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx->get(), out.data() + written, &final_bytes) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx->get(), EVP_CTRL_GCM_GET_TAG, kGcmTagBytes,
                          out.data() + plaintext.size()) != 1) {
    return failed("AES-GCM encryption failed");
  }
  return out;
}

Result<Bytes> aes_gcm_open(ByteView key, ByteView nonce, ByteView aad, ByteView sealed) {
  const Error integrity{ErrorCode::kIntegrity, "authentication tag does not verify", "aes-gcm"};
  if (sealed.size() < kGcmTagBytes) return integrity;
  auto ctx = init(key, nonce, false);
  if (!ctx) return ctx.error();
  const std::size_t text_size = sealed.size() - kGcmTagBytes;
  Bytes tag(sealed.begin() + static_cast<std::ptrdiff_t>(text_size), sealed.end());
  Bytes out(text_size);
  int written = 0;
  int final_bytes = 0;
  if (!add_aad(ctx->get(), aad) ||
      EVP_DecryptUpdate(ctx->get(), out.data(), &written, sealed.data(),
                        static_cast<int>(text_size)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx->get(), EVP_CTRL_GCM_SET_TAG, kGcmTagBytes, tag.data()) != 1) {
    return failed("AES-GCM decryption failed");
  }
  if (EVP_DecryptFinal_ex(ctx->get(), out.data() + written, &final_bytes) != 1) {
    OPENSSL_cleanse(out.data(), out.size());  // never hand out unauthenticated plaintext
    return integrity;
  }
  return out;
}

}  // namespace fl::gateway::crypto
