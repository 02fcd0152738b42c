#include "fl/gateway/crypto/envelope.h"

#include "fl/base/assert.h"
#include "fl/base/c_handle.h"
#include "fl/gateway/crypto/aead.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <pthread.h>

namespace fl::gateway::crypto {
namespace {

using MacPtr = CHandle<EVP_MAC, &EVP_MAC_free>;
using MacCtxPtr = CHandle<EVP_MAC_CTX, &EVP_MAC_CTX_free>;
using MdPtr = CHandle<EVP_MD, &EVP_MD_free>;
using MdCtxPtr = CHandle<EVP_MD_CTX, &EVP_MD_CTX_free>;

constexpr std::string_view kMagic = "FLB2";
constexpr std::string_view kDataKeySalt = "fhir-ledger/data-key/v2";

Error failed(const char* what) { return Error{ErrorCode::kInvalidInput, what, "envelope"}; }
Error bad_header() {
  return Error{ErrorCode::kIntegrity, "not a sealed resource (bad header)", "envelope"};
}

// The header's size, or 0 when `blob` does not start with a well-formed one.
std::size_t header_size(ByteView blob) {
  if (blob.size() < kMagic.size() + 1 || as_chars(blob.first(kMagic.size())) != kMagic) return 0;
  const std::size_t size = kMagic.size() + 1 + blob[kMagic.size()] + kNonceBytes;
  return blob.size() < size + kGcmTagBytes ? 0 : size;
}

// Counts fork()s in this process, so that a Sealer in a child knows its buffered nonces were
// the parent's too.
std::atomic<std::uint64_t> forks{0};
void count_fork() { forks.fetch_add(1, std::memory_order_relaxed); }

// True once the child handler is in place; without it nonces are not buffered.
bool fork_counted() {
  static const bool registered = pthread_atfork(nullptr, nullptr, &count_fork) == 0;
  return registered;
}

}  // namespace

struct Sealer::Impl {
  MacPtr hmac;
  MacCtxPtr mac_ctx;  // HMAC-SHA256, re-keyed per use
  MdPtr sha256;
  MdCtxPtr md_ctx;
  std::unique_ptr<AesGcm> gcm;

  // Nonces are taken from a buffer that one RAND_bytes call fills with 340 of them: OpenSSL 3.0
  // spends about as long on one RAND_bytes call (locking, a getpid system call for its own fork
  // check) as on sealing 2 KiB. Nonces are public, so holding future ones exposes nothing; the
  // hazard is a fork, after which parent and child would hand out the same nonces, so the buffer
  // is dropped when the fork count has moved.
  bool buffer_nonces = false;
  std::array<std::uint8_t, 340 * kNonceBytes> nonces{};
  std::size_t nonces_used = nonces.size();
  std::uint64_t nonces_forks = 0;

  bool next_nonce(std::uint8_t* out) {
    if (!buffer_nonces) return RAND_bytes(out, kNonceBytes) == 1;
    const std::uint64_t seen = forks.load(std::memory_order_relaxed);
    if (nonces_used == nonces.size() || seen != nonces_forks) {
      if (RAND_bytes(nonces.data(), static_cast<int>(nonces.size())) != 1) return false;
      nonces_used = 0;
      nonces_forks = seen;
    }
    std::copy_n(nonces.begin() + static_cast<std::ptrdiff_t>(nonces_used), kNonceBytes, out);
    nonces_used += kNonceBytes;
    return true;
  }

  // HMAC-SHA256(key, parts...) into `out` (32 bytes).
  bool mac(ByteView key, std::initializer_list<ByteView> parts, std::uint8_t* out) {
    if (EVP_MAC_init(mac_ctx.get(), key.data(), key.size(), nullptr) != 1) return false;
    for (ByteView part : parts) {
      if (!part.empty() && EVP_MAC_update(mac_ctx.get(), part.data(), part.size()) != 1) {
        return false;
      }
    }
    size_t length = 0;
    return EVP_MAC_final(mac_ctx.get(), out, &length, 32) == 1 && length == 32;
  }

  // RFC 5869 expand with one output block: key = HMAC(PRK, info | 0x01).
  bool data_key(const MasterKey& key, ByteView info, std::uint8_t* out) {
    static constexpr std::uint8_t kCounter[] = {0x01};
    return mac(key.prk.view(), {info, ByteView(kCounter, 1)}, out);
  }
};

Sealer::Sealer(Token, std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Sealer::~Sealer() = default;

Result<std::unique_ptr<Sealer>> Sealer::create() {
  auto impl = std::make_unique<Impl>();
  impl->hmac.reset(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  impl->sha256.reset(EVP_MD_fetch(nullptr, "SHA256", nullptr));
  impl->md_ctx.reset(EVP_MD_CTX_new());
  auto gcm = AesGcm::create();
  if (!impl->hmac || !impl->sha256 || !impl->md_ctx || !gcm) {
    return Error{ErrorCode::kUnavailable, "OpenSSL lacks HMAC, SHA-256 or AES-256-GCM", "sealer"};
  }
  impl->gcm = std::move(*gcm);
  impl->buffer_nonces = fork_counted();
  impl->mac_ctx.reset(EVP_MAC_CTX_new(impl->hmac.get()));
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_construct_end()};
  if (!impl->mac_ctx || EVP_MAC_CTX_set_params(impl->mac_ctx.get(), params) != 1) {
    return Error{ErrorCode::kUnavailable, "cannot set up HMAC-SHA256", "sealer"};
  }
  return std::make_unique<Sealer>(Token{}, std::move(impl));
}

Result<MasterKey> Sealer::master_key(std::string id, const SecretBytes& raw) const {
  if (raw.size() != kMasterKeyBytes) return failed("a master key is 32 bytes");
  if (id.empty() || id.size() > 64 ||
      !std::all_of(id.begin(), id.end(), [](char c) { return c > 0x20 && c < 0x7f; })) {
    return failed("a master key id is 1..64 printable characters");
  }
  Bytes prk(32);
  if (!impl_->mac(as_bytes(kDataKeySalt), {raw.view()}, prk.data())) {
    OPENSSL_cleanse(prk.data(), prk.size());
    return failed("HKDF extract failed");
  }
  return MasterKey{std::move(id), SecretBytes(std::move(prk))};
}

Result<Bytes> Sealer::seal(const MasterKey& key, ByteView info, ByteView context,
                           ByteView plaintext) {
  const std::size_t header = kMagic.size() + 1 + key.id.size() + kNonceBytes;
  Bytes blob(header + plaintext.size() + kGcmTagBytes);
  std::copy(kMagic.begin(), kMagic.end(), blob.begin());
  blob[kMagic.size()] = static_cast<std::uint8_t>(key.id.size());
  std::copy(key.id.begin(), key.id.end(), blob.begin() + kMagic.size() + 1);
  std::uint8_t* nonce = blob.data() + header - kNonceBytes;
  if (!impl_->next_nonce(nonce)) {
    return Error{ErrorCode::kUnavailable, "the system random generator failed", "envelope"};
  }
  std::uint8_t data_key[32];
  Status sealed = failed("data key derivation failed");
  if (impl_->data_key(key, info, data_key)) {
    sealed = impl_->gcm->seal(ByteView(data_key, 32), ByteView(nonce, kNonceBytes),
                              {ByteView(blob.data(), header), context}, plaintext,
                              std::span(blob).subspan(header));
  }
  OPENSSL_cleanse(data_key, sizeof data_key);
  if (!sealed) return sealed.error();
  return blob;
}

Result<Bytes> Sealer::open(const MasterKey& key, ByteView info, ByteView blob, ByteView context) {
  const std::size_t header = header_size(blob);
  if (header == 0) return bad_header();
  const std::string_view named = as_chars(blob.subspan(kMagic.size() + 1, blob[kMagic.size()]));
  if (named != key.id) {
    return Error{ErrorCode::kIntegrity, "the blob is sealed under another master key", "envelope"};
  }
  Bytes plain(blob.size() - header - kGcmTagBytes);
  std::uint8_t data_key[32];
  Status opened = failed("data key derivation failed");
  if (impl_->data_key(key, info, data_key)) {
    opened =
        impl_->gcm->open(ByteView(data_key, 32), blob.subspan(header - kNonceBytes, kNonceBytes),
                         {blob.first(header), context}, blob.subspan(header), plain);
  }
  OPENSSL_cleanse(data_key, sizeof data_key);
  if (!opened) return opened.error();
  return plain;
}

Digest Sealer::content_hash(ByteView blob) {
  Digest out{};
  unsigned int length = 0;
  const bool ok = EVP_DigestInit_ex2(impl_->md_ctx.get(), impl_->sha256.get(), nullptr) == 1 &&
                  EVP_DigestUpdate(impl_->md_ctx.get(), blob.data(), blob.size()) == 1 &&
                  EVP_DigestFinal_ex(impl_->md_ctx.get(), out.data(), &length) == 1;
  FL_ASSERT(ok && length == out.size(), "SHA-256 over memory cannot fail");
  return out;
}

Bytes data_key_info(const Digest& resource_key, std::uint64_t version) {
  Bytes out(resource_key.begin(), resource_key.end());
  for (int shift = 56; shift >= 0; shift -= 8) {
    out.push_back(static_cast<std::uint8_t>(version >> shift));
  }
  return out;
}

Result<std::string> sealed_key_id(ByteView blob) {
  if (header_size(blob) == 0) return bad_header();
  return std::string(as_chars(blob.subspan(kMagic.size() + 1, blob[kMagic.size()])));
}

}  // namespace fl::gateway::crypto
