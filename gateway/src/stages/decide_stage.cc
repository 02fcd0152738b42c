#include "fl/gateway/stages/decide_stage.h"

#include "fl/gateway/crypto/hash.h"

#include <algorithm>

namespace fl::gateway {

std::string PermitAllPolicy::bundle_json(const std::string& region) {
  // Already in RFC 8785 form: sorted keys, no white space.
  return R"({"default":"permit","id":"permit-all","region":")" + region + R"(","rules":[]})";
}

PermitAllPolicy::PermitAllPolicy(std::string region) : region_(std::move(region)) {
  const Bytes digest = crypto::sha256(as_bytes(bundle_json(region_)));
  std::copy_n(digest.begin(), hash_.size(), hash_.begin());
}

Result<Decision> PermitAllPolicy::decide_ingest(const IngestRequest&) {
  return Decision{
      .permit = true, .region = region_, .rule_ids = {"permit-all"}, .policy_hash = hash_};
}

}  // namespace fl::gateway
