#include "fl/gateway/stages/decide_stage.h"

#include "fl/base/log.h"
#include "fl/gateway/audit_event.h"
#include "fl/gateway/crypto/hash.h"

#include "policy/join.h"

#include <algorithm>
#include <ctime>

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
  Decision d;
  d.permit = true;
  d.region = region_;
  d.rule_ids = {"permit-all"};
  d.policy_hash = hash_;
  return d;
}

BundlePolicy::BundlePolicy(std::shared_ptr<const policy::PolicyBundle> active,
                           std::shared_ptr<const policy::PolicyBundle> candidate,
                           ports::AuditLog* audit, ports::Clock& clock)
    : active_(std::move(active)), audit_(audit), clock_(clock) {
  if (candidate) candidate_ = std::make_unique<policy::PolicyEngine>(std::move(candidate));
}

void BundlePolicy::record_difference(const IngestRequest& request,
                                     const policy::PolicyDecision& active,
                                     const policy::PolicyDecision& candidate) {
  audit::Common common;
  common.recorded = audit::rfc3339_utc(ports::unix_seconds(clock_.wall()));
  common.agents.push_back(audit::Agent{
      .address = "", .jurisdiction = "", .display = "fhir-ledger pipeline", .requestor = true});
  auto active_facts = audit::facts_of(active);
  auto candidate_facts = audit::facts_of(candidate);
  // Residency is part of an ingest decision: a candidate that would store elsewhere differs.
  common.details = {{"region", active.region.empty() ? "none" : active.region},
                    {"candidate-region", candidate.region.empty() ? "none" : candidate.region}};
  const std::string key = to_0x_hex(request.resource_key);
  const ports::AuditRecord record{.key = key,
                                  .json = audit::shadow_difference_event(
                                      common, "ingest", key, std::string(request.resource_type),
                                      active_facts, candidate_facts)};
  // A refused record must not stop ingest: shadow mode never changes what is enforced. The
  // log line above already holds the difference.
  if (auto s = audit_->record(std::span(&record, 1)); !s) {
    ++shadow_.audit_failures;
    log::warn("policy.shadow_audit_failed", {{"error", s.error().message}});
  }
}

Result<Decision> BundlePolicy::decide_ingest(const IngestRequest& request) {
  const policy::PolicyBundle& bundle = active_.bundle();
  policy::JurisdictionFacts facts;
  if (request.resource != nullptr && request.resource_type == "Patient") {
    facts.patient_address_country = policy::patient_address_country(*request.resource);
  }
  facts.recorded_country = std::string(request.recorded_country);
  facts.header_country = std::string(request.jurisdiction_header);
  facts.source_system = std::string(request.source_system);

  policy::PolicyRequest ask;
  ask.stage = policy::Stage::kIngest;
  ask.resource_type = std::string(request.resource_type);
  ask.resource = request.resource;
  ask.source_country = policy::resolve_jurisdiction(bundle, facts);
  const policy::PolicyDecision decided = active_.evaluate(ask);

  Decision d;
  d.permit = decided.effect == policy::Effect::kPermit;
  d.region = decided.region;
  d.rule_ids = decided.rule_ids;
  d.policy_hash = decided.policy_hash;
  d.country = ask.source_country;
  d.patient_address_country = facts.patient_address_country;
  if (d.permit && d.region.empty()) {
    // Permitted, but the bundle names no region for the patient's country and has no default:
    // nothing may be stored without a place, so the permit cannot be carried out.
    d.permit = false;
    d.rule_ids = {"no-storage-region"};
    d.refusal = "the bundle permits, but names no storage region for the patient's country";
  }

  if (candidate_) {
    ++shadow_.decisions;
    policy::PolicyRequest shadow_ask = ask;
    shadow_ask.source_country = policy::resolve_jurisdiction(candidate_->bundle(), facts);
    const policy::PolicyDecision shadow = candidate_->evaluate(shadow_ask);
    if (shadow.effect != decided.effect || shadow.rule_ids != decided.rule_ids ||
        shadow.region != decided.region) {
      ++shadow_.differences;
      // The audit record of a difference: pseudonymous key, rules and hashes, never content.
      log::info("policy.shadow_difference",
                {{"stage", "ingest"},
                 {"resourceKey", to_0x_hex(request.resource_key)},
                 {"resourceType", std::string(request.resource_type)},
                 {"effect", policy::effect_name(decided.effect)},
                 {"rules", policy::join(decided.rule_ids)},
                 {"region", decided.region},
                 {"policyHash", to_0x_hex(decided.policy_hash)},
                 {"candidateEffect", policy::effect_name(shadow.effect)},
                 {"candidateRules", policy::join(shadow.rule_ids)},
                 {"candidateRegion", shadow.region},
                 {"candidatePolicyHash", to_0x_hex(shadow.policy_hash)}});
      if (audit_ != nullptr) record_difference(request, decided, shadow);
    }
  }
  return d;
}

}  // namespace fl::gateway
