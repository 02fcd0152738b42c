// Stage 4 of the pipeline: the policy decision for storing a resource: may it be stored, in
// which region, under which rules. The jurisdiction engine (issue 6) plugs in behind
// PolicyEngine; until then PermitAllPolicy stores everything in the default region. Every
// decision names its rule ids and the policy bundle's hash, which is anchored with the pointer.
#pragma once

#include "fl/base/result.h"
#include "fl/ports/pointer_ledger.h"

#include <string>
#include <string_view>
#include <vector>

namespace fl::gateway {

struct IngestRequest {
  std::string_view resource_type;
  std::string_view source_system;
  std::string_view jurisdiction_header;  // fhir-jurisdiction, may be empty
};

struct Decision {
  bool permit = false;
  std::string region;
  std::vector<std::string> rule_ids;
  ports::Hash32 policy_hash{};
};

class PolicyEngine {
 public:
  virtual ~PolicyEngine() = default;
  virtual Result<Decision> decide_ingest(const IngestRequest& request) = 0;
};

// Permits everything into one region. Its policy hash is the SHA-256 of the canonical JSON of
// the bundle it stands for, so pointers anchored under it are still attributable.
class PermitAllPolicy final : public PolicyEngine {
 public:
  explicit PermitAllPolicy(std::string region);
  Result<Decision> decide_ingest(const IngestRequest& request) override;

  // The canonical JSON whose hash is the policy hash.
  static std::string bundle_json(const std::string& region);

 private:
  std::string region_;
  ports::Hash32 hash_{};
};

}  // namespace fl::gateway
