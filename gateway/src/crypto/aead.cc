#include "fl/gateway/crypto/aead.h"

#include "fl/base/c_handle.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>

namespace fl::gateway::crypto {
namespace {

using CipherPtr = CHandle<EVP_CIPHER, &EVP_CIPHER_free>;
using CipherCtxPtr = CHandle<EVP_CIPHER_CTX, &EVP_CIPHER_CTX_free>;

Error failed(const char* what) { return Error{ErrorCode::kInvalidInput, what, "aes-gcm"}; }

}  // namespace

struct AesGcm::Impl {
  CipherPtr aes128;
  CipherPtr aes192;
  CipherPtr aes256;
  CipherCtxPtr ctx;

  const EVP_CIPHER* cipher_for(std::size_t key_size) const {
    switch (key_size) {
      case 16:
        return aes128.get();
      case 24:
        return aes192.get();
      case 32:
        return aes256.get();
      default:
        return nullptr;
    }
  }

  // What the context was last set up for. Setting the cipher and nonce length costs more than
  // sealing a small resource (a provider context freed and made, parameters looked up by name),
  // so a call that needs the same three sets only key and nonce.
  const EVP_CIPHER* set_cipher = nullptr;
  std::size_t set_nonce_size = 0;
  int set_enc = -1;

  // Cipher, nonce length, key and nonce; `encrypt` picks the direction.
  Status init(ByteView key, ByteView nonce, bool encrypt) {
    const EVP_CIPHER* cipher = cipher_for(key.size());
    if (cipher == nullptr) return failed("AES-GCM key must be 16, 24 or 32 bytes");
    if (nonce.empty()) return failed("AES-GCM nonce must not be empty");
    const int enc = encrypt ? 1 : 0;
    if (cipher != set_cipher || nonce.size() != set_nonce_size || enc != set_enc) {
      set_cipher = nullptr;  // until the set-up below has succeeded
      std::size_t nonce_size = nonce.size();
      const OSSL_PARAM params[] = {
          OSSL_PARAM_construct_size_t(OSSL_CIPHER_PARAM_AEAD_IVLEN, &nonce_size),
          OSSL_PARAM_construct_end()};
      if (EVP_CipherInit_ex2(ctx.get(), cipher, nullptr, nullptr, enc, params) != 1) {
        return failed("AES-GCM initialisation failed");
      }
      set_cipher = cipher;
      set_nonce_size = nonce.size();
      set_enc = enc;
    }
    if (EVP_CipherInit_ex2(ctx.get(), nullptr, key.data(), nonce.data(), enc, nullptr) != 1) {
      set_cipher = nullptr;
      return failed("AES-GCM initialisation failed");
    }
    return Ok{};
  }

  bool add_aad(AadParts aad) {
    int unused = 0;
    for (ByteView part : aad) {
      if (!part.empty() && EVP_CipherUpdate(ctx.get(), nullptr, &unused, part.data(),
                                            static_cast<int>(part.size())) != 1) {
        return false;
      }
    }
    return true;
  }
};

AesGcm::AesGcm(Token, std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AesGcm::~AesGcm() = default;

Result<std::unique_ptr<AesGcm>> AesGcm::create() {
  auto impl = std::make_unique<Impl>();
  impl->aes128.reset(EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr));
  impl->aes192.reset(EVP_CIPHER_fetch(nullptr, "AES-192-GCM", nullptr));
  impl->aes256.reset(EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr));
  impl->ctx.reset(EVP_CIPHER_CTX_new());
  if (!impl->aes128 || !impl->aes192 || !impl->aes256 || !impl->ctx) {
    return Error{ErrorCode::kUnavailable, "OpenSSL lacks AES-GCM", "aes-gcm"};
  }
  return std::make_unique<AesGcm>(Token{}, std::move(impl));
}

Status AesGcm::seal(ByteView key, ByteView nonce, ByteView aad, ByteView plaintext,
                    std::span<std::uint8_t> out) {
  return seal(key, nonce, {aad}, plaintext, out);
}

Status AesGcm::open(ByteView key, ByteView nonce, ByteView aad, ByteView sealed,
                    std::span<std::uint8_t> out) {
  return open(key, nonce, {aad}, sealed, out);
}

Status AesGcm::seal(ByteView key, ByteView nonce, AadParts aad, ByteView plaintext,
                    std::span<std::uint8_t> out) {
  if (out.size() != plaintext.size() + kGcmTagBytes) return failed("output has the wrong size");
  if (auto s = impl_->init(key, nonce, true); !s) return s;
  EVP_CIPHER_CTX* ctx = impl_->ctx.get();
  int written = 0;
  int final_bytes = 0;
  if (!impl_->add_aad(aad) ||
      (!plaintext.empty() && EVP_EncryptUpdate(ctx, out.data(), &written, plaintext.data(),
                                               static_cast<int>(plaintext.size())) != 1) ||
      EVP_EncryptFinal_ex(ctx, out.data() + written, &final_bytes) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kGcmTagBytes, out.data() + plaintext.size()) !=
          1) {
    return failed("AES-GCM encryption failed");
  }
  return Ok{};
}

Status AesGcm::open(ByteView key, ByteView nonce, AadParts aad, ByteView sealed,
                    std::span<std::uint8_t> out) {
  const Error integrity{ErrorCode::kIntegrity, "authentication tag does not verify", "aes-gcm"};
  if (sealed.size() < kGcmTagBytes) return integrity;
  const std::size_t text_size = sealed.size() - kGcmTagBytes;
  if (out.size() != text_size) return failed("output has the wrong size");
  if (auto s = impl_->init(key, nonce, false); !s) return s;
  EVP_CIPHER_CTX* ctx = impl_->ctx.get();
  // OpenSSL reads the expected tag from a writable buffer.
  std::uint8_t tag[kGcmTagBytes];
  std::copy(sealed.end() - kGcmTagBytes, sealed.end(), tag);
  int written = 0;
  int final_bytes = 0;
  if (!impl_->add_aad(aad) ||
      (text_size > 0 && EVP_DecryptUpdate(ctx, out.data(), &written, sealed.data(),
                                          static_cast<int>(text_size)) != 1) ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kGcmTagBytes, tag) != 1) {
    OPENSSL_cleanse(out.data(), out.size());
    return failed("AES-GCM decryption failed");
  }
  if (EVP_DecryptFinal_ex(ctx, out.data() + written, &final_bytes) != 1) {
    OPENSSL_cleanse(out.data(), out.size());  // never hand out unauthenticated plaintext
    return integrity;
  }
  return Ok{};
}

Result<Bytes> aes_gcm_seal(ByteView key, ByteView nonce, ByteView aad, ByteView plaintext) {
  auto gcm = AesGcm::create();
  if (!gcm) return gcm.error();
  Bytes out(plaintext.size() + kGcmTagBytes);
  if (auto s = (*gcm)->seal(key, nonce, aad, plaintext, out); !s) return s.error();
  return out;
}

Result<Bytes> aes_gcm_open(ByteView key, ByteView nonce, ByteView aad, ByteView sealed) {
  auto gcm = AesGcm::create();
  if (!gcm) return gcm.error();
  if (sealed.size() < kGcmTagBytes) {
    return Error{ErrorCode::kIntegrity, "authentication tag does not verify", "aes-gcm"};
  }
  Bytes out(sealed.size() - kGcmTagBytes);
  if (auto s = (*gcm)->open(key, nonce, aad, sealed, out); !s) return s.error();
  return out;
}

}  // namespace fl::gateway::crypto
