// The cache of verified bearer tokens in front of the verifier: a token that verified is not
// verified again until its expiry or the cache's maximum age, whichever comes first; refusals
// are never remembered; a flood of distinct tokens cannot grow it without bound.
#include "cli/token_cache.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

namespace fl::cli {
namespace {

// Accepts "Bearer good-<n>" as client n, expiring at `expires`; counts what it was asked.
class CountingVerifier final : public TokenVerifier {
 public:
  explicit CountingVerifier(std::map<std::string, int>& asked) : asked_(asked) {}
  Result<Caller> verify(std::string_view authorization, std::int64_t now) const override {
    ++asked_[std::string(authorization)];
    if (!authorization.starts_with("Bearer good-")) {
      return Error{ErrorCode::kPermissionDenied, "the token's signature does not verify", ""};
    }
    if (now >= expires) return Error{ErrorCode::kPermissionDenied, "the token has expired", ""};
    return Caller{.client_id = std::string(authorization.substr(7)),
                  .scopes = "system/*.rs",
                  .expires = expires};
  }
  std::int64_t expires = 1000;

 private:
  std::map<std::string, int>& asked_;
};

class TokenCacheTest : public ::testing::Test {
 protected:
  TokenCacheTest() {
    auto inner = std::make_unique<CountingVerifier>(asked_);
    inner_ = inner.get();
    cache_ = cache_verified_tokens(std::move(inner),
                                   TokenCacheLimits{.max_age_seconds = 60, .max_entries = 3});
  }
  std::map<std::string, int> asked_;
  CountingVerifier* inner_ = nullptr;
  std::unique_ptr<TokenVerifier> cache_;
};

TEST_F(TokenCacheTest, AVerifiedTokenIsNotVerifiedAgainWithinItsMaximumAge) {
  for (std::int64_t now = 100; now < 160; now += 10) {
    auto caller = cache_->verify("Bearer good-1", now);
    ASSERT_TRUE(caller);
    EXPECT_EQ(caller->client_id, "good-1");
  }
  EXPECT_EQ(asked_["Bearer good-1"], 1);
  ASSERT_TRUE(cache_->verify("Bearer good-1", 160));  // 60 s after it was verified
  EXPECT_EQ(asked_["Bearer good-1"], 2);
}

TEST_F(TokenCacheTest, AnExpiredTokenIsRefusedEvenThoughItWasCached) {
  ASSERT_TRUE(cache_->verify("Bearer good-1", 990));
  auto late = cache_->verify("Bearer good-1", 1000);
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().message, "the token has expired");
  EXPECT_EQ(asked_["Bearer good-1"], 2);
}

TEST_F(TokenCacheTest, RefusalsAreVerifiedEveryTime) {
  EXPECT_FALSE(cache_->verify("Bearer forged", 100));
  EXPECT_FALSE(cache_->verify("Bearer forged", 100));
  EXPECT_EQ(asked_["Bearer forged"], 2);
}

TEST_F(TokenCacheTest, DistinctTokensDoNotShareAnEntry) {
  ASSERT_TRUE(cache_->verify("Bearer good-1", 100));
  auto other = cache_->verify("Bearer good-2", 100);
  ASSERT_TRUE(other);
  EXPECT_EQ(other->client_id, "good-2");
  EXPECT_EQ(asked_["Bearer good-2"], 1);
}

TEST_F(TokenCacheTest, AFloodOfTokensIsForgottenRatherThanKept) {
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(cache_->verify("Bearer good-" + std::to_string(i), 100));
  // The fourth found the cache full of live entries and dropped them all.
  ASSERT_TRUE(cache_->verify("Bearer good-0", 101));
  EXPECT_EQ(asked_["Bearer good-0"], 2);
  ASSERT_TRUE(cache_->verify("Bearer good-3", 101));
  EXPECT_EQ(asked_["Bearer good-3"], 1);
}

}  // namespace
}  // namespace fl::cli
