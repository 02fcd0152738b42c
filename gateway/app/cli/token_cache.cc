#include "cli/token_cache.h"

#include "fl/gateway/crypto/hash.h"

#include <algorithm>
#include <array>
#include <mutex>
#include <string>
#include <unordered_map>

namespace fl::cli {
namespace {

using Digest = std::array<std::uint8_t, 32>;

struct DigestHash {
  std::size_t operator()(const Digest& d) const noexcept {
    std::size_t h = 0;
    for (std::size_t i = 0; i < sizeof(h); ++i) h = (h << 8) | d[i];
    return h;  // already uniformly spread: the first bytes of a SHA-256
  }
};

Digest sha256(std::string_view text) {
  const Bytes hash = gateway::crypto::sha256(as_bytes(text));
  Digest out{};
  std::copy_n(hash.begin(), out.size(), out.begin());
  return out;
}

class CachingTokenVerifier final : public TokenVerifier {
 public:
  CachingTokenVerifier(std::unique_ptr<TokenVerifier> inner, TokenCacheLimits limits)
      : inner_(std::move(inner)), limits_(limits) {}

  Result<Caller> verify(std::string_view authorization, std::int64_t now) const override {
    const Digest key = sha256(authorization);
    {
      const std::lock_guard lock(mutex_);
      auto it = entries_.find(key);
      if (it != entries_.end()) {
        if (now < it->second.valid_until) return it->second.caller;
        entries_.erase(it);
      }
    }
    auto caller = inner_->verify(authorization, now);
    if (!caller) return caller;
    const std::int64_t until = std::min(caller->expires, now + limits_.max_age_seconds);
    if (now >= until) return caller;
    const std::lock_guard lock(mutex_);
    if (entries_.size() >= limits_.max_entries) sweep(now);
    entries_.insert_or_assign(key, Entry{.caller = *caller, .valid_until = until});
    return caller;
  }

 private:
  struct Entry {
    Caller caller;
    std::int64_t valid_until = 0;  // Unix seconds, exclusive
  };

  // Expired entries first; when every entry is live (a flood of distinct valid tokens), all of
  // them: they are only a saving, and each is verified again on its next use.
  void sweep(std::int64_t now) const {
    std::erase_if(entries_, [&](const auto& e) { return now >= e.second.valid_until; });
    if (entries_.size() >= limits_.max_entries) entries_.clear();
  }

  std::unique_ptr<TokenVerifier> inner_;
  const TokenCacheLimits limits_;
  mutable std::mutex mutex_;
  mutable std::unordered_map<Digest, Entry, DigestHash> entries_;
};

}  // namespace

std::unique_ptr<TokenVerifier> cache_verified_tokens(std::unique_ptr<TokenVerifier> verifier,
                                                     TokenCacheLimits limits) {
  return std::make_unique<CachingTokenVerifier>(std::move(verifier), limits);
}

}  // namespace fl::cli
