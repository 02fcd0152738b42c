// Bearer tokens verified once: a client sends the same token with every request until it expires,
// and checking an ES256 or RS256 signature costs more than the rest of a cached read (bench/
// README.md). A token that verified is remembered, by the SHA-256 of its Authorization header,
// until the earliest of its expiry and `max_age` after it was verified, so a key withdrawn from
// the configuration stops being honoured within `max_age` (the whole process restarts on a
// configuration change today; a JWKS refresh is the case this bounds). Refusals are not
// remembered: each one is verified again, and costs the caller what it costs us.
#pragma once

#include "cli/bearer_tokens.h"

#include <cstddef>
#include <cstdint>
#include <memory>

namespace fl::cli {

struct TokenCacheLimits {
  std::int64_t max_age_seconds = 60;
  std::size_t max_entries = 10000;  // beyond this, expired entries are swept, then all dropped
};

std::unique_ptr<TokenVerifier> cache_verified_tokens(std::unique_ptr<TokenVerifier> verifier,
                                                     TokenCacheLimits limits = {});

}  // namespace fl::cli
