#include "fl/gateway/crypto/sealer.h"

#include "fl/base/c_handle.h"
#include "fl/gateway/crypto/aead.h"
#include "fl/gateway/crypto/envelope.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>

namespace fl::gateway::crypto {
namespace {

using MacPtr = CHandle<EVP_MAC, &EVP_MAC_free>;
using MacCtxPtr = CHandle<EVP_MAC_CTX, &EVP_MAC_CTX_free>;
using CipherPtr = CHandle<EVP_CIPHER, &EVP_CIPHER_free>;
using CipherCtxPtr = CHandle<EVP_CIPHER_CTX, &EVP_CIPHER_CTX_free>;

constexpr std::string_view kMagic = "FLB1";
constexpr std::size_t kNonceBytes = 12;
constexpr std::string_view kDataKeySalt = "fhir-ledger/data-key/v1";

Error failed(const char* what) { return Error{ErrorCode::kInvalidInput, what, "sealer"}; }

}  // namespace

struct Sealer::Impl {
  MacPtr hmac;
  MacCtxPtr hmac_sha256;  // a template with the digest set; duplicated per use
  CipherPtr aes_gcm;

  // HMAC-SHA256(key, parts...) into `out` (32 bytes).
  bool mac(ByteView key, std::initializer_list<ByteView> parts, std::uint8_t* out) {
    MacCtxPtr ctx(EVP_MAC_CTX_dup(hmac_sha256.get()));
    if (!ctx || EVP_MAC_init(ctx.get(), key.data(), key.size(), nullptr) != 1) return false;
    for (ByteView part : parts) {
      if (!part.empty() && EVP_MAC_update(ctx.get(), part.data(), part.size()) != 1) return false;
    }
    size_t length = 0;
    return EVP_MAC_final(ctx.get(), out, &length, 32) == 1 && length == 32;
  }

  // RFC 5869 with one output block: PRK = HMAC(salt, kek); key = HMAC(PRK, info | 0x01).
  bool data_key(const SecretBytes& kek, ByteView context, std::uint8_t* out) {
    std::uint8_t prk[32];
    static constexpr std::uint8_t kCounter[] = {0x01};
    const bool ok = mac(as_bytes(kDataKeySalt), {kek.view()}, prk) &&
                    mac(ByteView(prk, 32), {context, ByteView(kCounter, 1)}, out);
    OPENSSL_cleanse(prk, sizeof prk);
    return ok;
  }

  bool gcm(bool encrypt, ByteView key, ByteView nonce, ByteView aad, ByteView in, std::uint8_t* out,
           std::uint8_t* tag) {
    CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
    int written = 0;
    int unused = 0;
    const int enc = encrypt ? 1 : 0;
    if (!ctx ||
        EVP_CipherInit_ex2(ctx.get(), aes_gcm.get(), key.data(), nonce.data(), enc, nullptr) != 1) {
      return false;
    }
    if (!aad.empty() && EVP_CipherUpdate(ctx.get(), nullptr, &unused, aad.data(),
                                         static_cast<int>(aad.size())) != 1) {
      return false;
    }
    if (!in.empty() &&
        EVP_CipherUpdate(ctx.get(), out, &written, in.data(), static_cast<int>(in.size())) != 1) {
      return false;
    }
    if (!encrypt && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kGcmTagBytes, tag) != 1) {
      return false;
    }
    if (EVP_CipherFinal_ex(ctx.get(), out + written, &unused) != 1) return false;
    return !encrypt || EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kGcmTagBytes, tag) == 1;
  }
};

Sealer::Sealer(Token, std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Sealer::~Sealer() = default;

Result<std::unique_ptr<Sealer>> Sealer::create() {
  auto impl = std::make_unique<Impl>();
  impl->hmac.reset(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  impl->aes_gcm.reset(EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr));
  if (!impl->hmac || !impl->aes_gcm) {
    return Error{ErrorCode::kUnavailable, "OpenSSL lacks HMAC or AES-256-GCM", "sealer"};
  }
  impl->hmac_sha256.reset(EVP_MAC_CTX_new(impl->hmac.get()));
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_construct_end()};
  if (!impl->hmac_sha256 || EVP_MAC_CTX_set_params(impl->hmac_sha256.get(), params) != 1) {
    return Error{ErrorCode::kUnavailable, "cannot set up HMAC-SHA256", "sealer"};
  }
  return std::make_unique<Sealer>(Token{}, std::move(impl));
}

Result<Bytes> Sealer::seal(const SecretBytes& kek, std::string_view key_id, ByteView context,
                           ByteView plaintext) {
  if (key_id.empty() || key_id.size() > 255) return failed("key id must be 1..255 bytes");
  std::uint8_t key[32];
  if (!impl_->data_key(kek, context, key)) return failed("data key derivation failed");

  const std::size_t header_size = kMagic.size() + 1 + key_id.size() + kNonceBytes;
  Bytes blob(header_size + plaintext.size() + kGcmTagBytes);
  std::copy(kMagic.begin(), kMagic.end(), blob.begin());
  blob[kMagic.size()] = static_cast<std::uint8_t>(key_id.size());
  std::copy(key_id.begin(), key_id.end(), blob.begin() + kMagic.size() + 1);
  std::uint8_t nonce[32];
  static constexpr std::string_view kNonceLabel = "nonce";
  bool ok = impl_->mac(ByteView(key, 32), {as_bytes(kNonceLabel), plaintext}, nonce);
  std::copy_n(nonce, kNonceBytes,
              blob.begin() + static_cast<std::ptrdiff_t>(header_size - kNonceBytes));

  Bytes aad(blob.begin(), blob.begin() + static_cast<std::ptrdiff_t>(header_size));
  aad.insert(aad.end(), context.begin(), context.end());
  ok = ok && impl_->gcm(true, ByteView(key, 32), ByteView(nonce, kNonceBytes), aad, plaintext,
                        blob.data() + header_size, blob.data() + header_size + plaintext.size());
  OPENSSL_cleanse(key, sizeof key);
  if (!ok) return failed("AES-GCM encryption failed");
  return blob;
}

Result<Bytes> Sealer::open(const SecretBytes& kek, ByteView blob, ByteView context) {
  const Error bad{ErrorCode::kIntegrity, "not a sealed resource (bad header)", "envelope"};
  if (blob.size() < kMagic.size() + 1 || as_chars(blob.first(kMagic.size())) != kMagic) return bad;
  const std::size_t header_size = kMagic.size() + 1 + blob[kMagic.size()] + kNonceBytes;
  if (blob.size() < header_size + kGcmTagBytes) return bad;
  std::uint8_t key[32];
  if (!impl_->data_key(kek, context, key)) return failed("data key derivation failed");
  Bytes aad(blob.begin(), blob.begin() + static_cast<std::ptrdiff_t>(header_size));
  aad.insert(aad.end(), context.begin(), context.end());
  const std::size_t text_size = blob.size() - header_size - kGcmTagBytes;
  Bytes plain(text_size);
  Bytes tag(blob.end() - kGcmTagBytes, blob.end());
  const bool ok =
      impl_->gcm(false, ByteView(key, 32), blob.subspan(header_size - kNonceBytes, kNonceBytes),
                 aad, blob.subspan(header_size, text_size), plain.data(), tag.data());
  OPENSSL_cleanse(key, sizeof key);
  if (!ok) {
    OPENSSL_cleanse(plain.data(), plain.size());
    return Error{ErrorCode::kIntegrity, "authentication tag does not verify", "aes-gcm"};
  }
  return plain;
}

Result<Bytes> seal_resource(const SecretBytes& kek, std::string_view key_id, ByteView context,
                            ByteView plaintext) {
  auto sealer = Sealer::create();
  if (!sealer) return sealer.error();
  return (*sealer)->seal(kek, key_id, context, plaintext);
}

Result<Bytes> open_resource(const SecretBytes& kek, ByteView blob, ByteView context) {
  auto sealer = Sealer::create();
  if (!sealer) return sealer.error();
  return (*sealer)->open(kek, blob, context);
}

Result<std::string> sealed_key_id(ByteView blob) {
  if (blob.size() < kMagic.size() + 1 || as_chars(blob.first(kMagic.size())) != kMagic ||
      blob.size() < kMagic.size() + 1 + blob[kMagic.size()] + kNonceBytes + kGcmTagBytes) {
    return Error{ErrorCode::kIntegrity, "not a sealed resource (bad header)", "envelope"};
  }
  return std::string(as_chars(blob.subspan(kMagic.size() + 1, blob[kMagic.size()])));
}

}  // namespace fl::gateway::crypto
