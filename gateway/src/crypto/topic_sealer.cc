#include "fl/gateway/crypto/topic_sealer.h"

#include "fl/gateway/crypto/aead.h"
#include "fl/gateway/crypto/envelope.h"

#include <openssl/rand.h>

#include <array>
#include <mutex>
#include <optional>

namespace fl::gateway::crypto {
namespace {

constexpr std::string_view kMagic = "FLT1";
constexpr std::string_view kWrapAad = "fhir-ledger/topic-key/v1";
constexpr std::size_t kTopicKeyBytes = 32;

Error bad_form() {
  return Error{ErrorCode::kIntegrity, "not a sealed topic message (bad header)", "topic-sealer"};
}

// The header up to and including the nonce: what the AAD starts with.
Bytes header(const std::string& region, const ports::WrappedKey& wrapped, ByteView nonce) {
  Bytes out(kMagic.begin(), kMagic.end());
  out.push_back(static_cast<std::uint8_t>(region.size()));
  out.insert(out.end(), region.begin(), region.end());
  out.push_back(static_cast<std::uint8_t>(wrapped.kek_id.size()));
  out.insert(out.end(), wrapped.kek_id.begin(), wrapped.kek_id.end());
  out.push_back(static_cast<std::uint8_t>(wrapped.wrapped.size() >> 8));
  out.push_back(static_cast<std::uint8_t>(wrapped.wrapped.size() & 0xFF));
  out.insert(out.end(), wrapped.wrapped.begin(), wrapped.wrapped.end());
  out.insert(out.end(), nonce.begin(), nonce.end());
  return out;
}

struct Parsed {
  std::string region;
  ports::WrappedKey wrapped;
  ByteView header;  // through the nonce
  ByteView nonce;
  ByteView sealed;  // ciphertext | tag
};

Result<Parsed> parse(ByteView form) {
  std::size_t at = 0;
  auto take = [&](std::size_t n) -> std::optional<ByteView> {
    if (form.size() - at < n) return std::nullopt;
    ByteView out = form.subspan(at, n);
    at += n;
    return out;
  };
  auto magic = take(kMagic.size());
  if (!magic || as_chars(*magic) != kMagic) return bad_form();
  Parsed p;
  auto region_size = take(1);
  if (!region_size) return bad_form();
  auto region = take((*region_size)[0]);
  auto kek_size = region ? take(1) : std::nullopt;
  auto kek = kek_size ? take((*kek_size)[0]) : std::nullopt;
  auto wrapped_size = kek ? take(2) : std::nullopt;
  if (!wrapped_size) return bad_form();
  auto wrapped = take((std::size_t{(*wrapped_size)[0]} << 8) | (*wrapped_size)[1]);
  auto nonce = wrapped ? take(kNonceBytes) : std::nullopt;
  if (!nonce || form.size() - at < kGcmTagBytes) return bad_form();
  p.region = std::string(as_chars(*region));
  p.wrapped.kek_id = std::string(as_chars(*kek));
  p.wrapped.wrapped = Bytes(wrapped->begin(), wrapped->end());
  p.header = form.first(at);
  p.nonce = *nonce;
  p.sealed = form.subspan(at);
  return p;
}

class KekTopicSealer final : public ports::TopicSealer {
 public:
  KekTopicSealer(std::string region, ports::WrappedKey wrapped, SecretBytes key,
                 std::unique_ptr<AesGcm> gcm)
      : region_(std::move(region)),
        wrapped_(std::move(wrapped)),
        key_(std::move(key)),
        gcm_(std::move(gcm)) {}

  std::string key_id() const override { return wrapped_.kek_id; }

  std::size_t overhead() const override {
    return kMagic.size() + 1 + region_.size() + 1 + wrapped_.kek_id.size() + 2 +
           wrapped_.wrapped.size() + kNonceBytes + kGcmTagBytes;
  }

  Result<Bytes> seal(std::string_view context, ByteView plaintext) override {
    std::array<std::uint8_t, kNonceBytes> nonce{};
    if (RAND_bytes(nonce.data(), static_cast<int>(nonce.size())) != 1) {
      return Error{ErrorCode::kUnavailable, "RAND_bytes gave no nonce", "topic-sealer"};
    }
    Bytes out = header(region_, wrapped_, nonce);
    const std::size_t head = out.size();
    out.resize(head + plaintext.size() + kGcmTagBytes);
    std::lock_guard lock(mutex_);
    if (auto s = gcm_->seal(key_.view(), nonce, {ByteView(out).first(head), as_bytes(context)},
                            plaintext, std::span(out).subspan(head));
        !s) {
      return s.error();
    }
    return out;
  }

 private:
  std::string region_;
  ports::WrappedKey wrapped_;
  SecretBytes key_;
  std::mutex mutex_;  // AesGcm reuses one OpenSSL context
  std::unique_ptr<AesGcm> gcm_;
};

}  // namespace

Result<std::unique_ptr<ports::TopicSealer>> make_topic_sealer(ports::KeyProvider& keys,
                                                              const std::string& region) {
  if (region.size() > 255) {
    return Error{ErrorCode::kInvalidInput, "region name longer than 255 bytes", region};
  }
  Bytes raw(kTopicKeyBytes);
  if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1) {
    return Error{ErrorCode::kUnavailable, "RAND_bytes gave no topic key", "topic-sealer"};
  }
  SecretBytes key(std::move(raw));
  auto wrapped = keys.wrap(region, as_bytes(kWrapAad), key);
  if (!wrapped) return wrapped.error();
  if (wrapped->kek_id.size() > 255 || wrapped->wrapped.size() > 0xFFFF) {
    return Error{ErrorCode::kInvalidInput, "the key provider's wrapped key is too long to carry",
                 wrapped->kek_id};
  }
  auto gcm = AesGcm::create();
  if (!gcm) return gcm.error();
  return std::unique_ptr<ports::TopicSealer>(std::make_unique<KekTopicSealer>(
      region, std::move(*wrapped), std::move(key), std::move(*gcm)));
}

Result<Bytes> open_sealed(ports::KeyProvider& keys, std::string_view context, ByteView sealed) {
  auto parsed = parse(sealed);
  if (!parsed) return parsed.error();
  auto key = keys.unwrap(parsed->region, parsed->wrapped, as_bytes(kWrapAad));
  if (!key) return key.error();
  auto gcm = AesGcm::create();
  if (!gcm) return gcm.error();
  Bytes out(parsed->sealed.size() - kGcmTagBytes);
  if (auto s = (*gcm)->open(key->view(), parsed->nonce, {parsed->header, as_bytes(context)},
                            parsed->sealed, out);
      !s) {
    return s.error();
  }
  return out;
}

}  // namespace fl::gateway::crypto
