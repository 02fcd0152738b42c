// Stage 4 of the pipeline: the policy decision for storing one resource: may it be stored, in
// which region, under which rules. BundlePolicy evaluates a policy bundle's jurisdiction rules
// (gateway/policy, config/policies/), with an optional candidate bundle in shadow mode;
// PermitAllPolicy stores everything in one region (tests, and deployments without a bundle).
// Every decision names its rule ids and the policy bundle's hash, which is anchored with the
// pointer.
#pragma once

#include "fl/base/result.h"
#include "fl/gateway/policy/policy_engine.h"
#include "fl/ports/audit_log.h"
#include "fl/ports/clock.h"
#include "fl/ports/pointer_ledger.h"

#include <rapidjson/document.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace fl::gateway {

struct IngestRequest {
  std::string_view resource_type;
  const rapidjson::Value* resource = nullptr;  // the normalized resource; null for a delete
  std::string_view source_system;
  std::string_view jurisdiction_header;  // fhir-jurisdiction, may be empty
  // The patient's country as recorded when its Patient was ingested (the directory, or a
  // Patient earlier in the same batch); empty when unknown.
  std::string_view recorded_country;
  ports::Hash32 resource_key{};  // the pseudonym, for shadow-mode audit records
};

struct Decision {
  bool permit = false;
  std::string region;
  std::vector<std::string> rule_ids;
  ports::Hash32 policy_hash{};
  // The patient's country the decision was made for ("" when undetermined), and, for a
  // Patient, its own address country: what the pipeline records in the directory (never a
  // header's, a source system's or an assumed country, which are not facts about the patient).
  std::string country;
  std::string patient_address_country;
  // Why a permit of the bundle cannot be carried out (then `permit` is false); "" otherwise.
  std::string refusal;
};

class IngestPolicy {
 public:
  virtual ~IngestPolicy() = default;
  virtual Result<Decision> decide_ingest(const IngestRequest& request) = 0;
};

// Permits everything into one region. Its policy hash is the SHA-256 of the canonical JSON of
// the bundle it stands for, so pointers anchored under it are still attributable.
class PermitAllPolicy final : public IngestPolicy {
 public:
  explicit PermitAllPolicy(std::string region);
  Result<Decision> decide_ingest(const IngestRequest& request) override;

  // The canonical JSON whose hash is the policy hash.
  static std::string bundle_json(const std::string& region);

 private:
  std::string region_;
  ports::Hash32 hash_{};
};

// What shadow mode has seen: decisions the candidate bundle would have made differently.
struct ShadowStats {
  std::uint64_t decisions = 0;
  std::uint64_t differences = 0;
  std::uint64_t audit_failures = 0;  // differences the audit log refused (they were logged)
};

// The jurisdiction rules of a compiled bundle. With a candidate, every decision is also made
// under the candidate, which is never enforced: a difference (effect, deciding rules or region)
// is counted, logged, and, given an audit log, recorded there as a FHIR AuditEvent
// ("policy-shadow-difference") naming both policy hashes, effects and rule ids. Records are
// queued, not flushed per event: the owner of the audit log flushes it (serve does at exit).
class BundlePolicy final : public IngestPolicy {
 public:
  explicit BundlePolicy(std::shared_ptr<const policy::PolicyBundle> active,
                        std::shared_ptr<const policy::PolicyBundle> candidate = nullptr,
                        ports::AuditLog* audit = nullptr,
                        ports::Clock& clock = ports::real_clock());
  Result<Decision> decide_ingest(const IngestRequest& request) override;

  const ShadowStats& shadow_stats() const { return shadow_; }

 private:
  void record_difference(const IngestRequest& request, const policy::PolicyDecision& active,
                         const policy::PolicyDecision& candidate);

  policy::PolicyEngine active_;
  std::unique_ptr<policy::PolicyEngine> candidate_;
  ports::AuditLog* audit_ = nullptr;  // not owned; null: differences are only logged
  ports::Clock& clock_;
  ShadowStats shadow_;
};

}  // namespace fl::gateway
