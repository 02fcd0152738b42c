// Evaluates a compiled policy bundle: one decision for one request at ingest (may this be
// stored, and where), at grant time (may this participant be granted access) or at read time
// (may this participant read this resource now, with which redactions). Pure and thread-safe:
// the engine holds only the immutable bundle.
//
// Matching: a rule applies when its stage list holds the request's stage and every dimension it
// constrains matches. A dimension the request has no value for (no destination at ingest, no
// resource at grant time) never matches a rule that constrains it: no guess.
// Combining: deny-overrides (any applicable deny decides; else the applicable permits decide
// together, their obligations merged; else the default effect) or first-applicable (the first
// applicable rule in file order decides alone).
#pragma once

#include "fl/gateway/policy/policy_bundle.h"

#include <rapidjson/document.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fl::gateway::policy {

struct PolicyRequest {
  Stage stage = Stage::kIngest;
  std::string resource_type;
  // The resource, when there is one (ingest, read); its meta.security gives labels and
  // confidentiality, and FHIRPath conditions run on it. Not owned.
  const rapidjson::Value* resource = nullptr;
  // Countries are read as iso_alpha2 reads them (alpha-2 or alpha-3, any case); one that names
  // no assigned country is none.
  std::string source_country;       // resolved by resolve_jurisdiction(); "" if undetermined
  std::string destination_country;  // the requesting participant's; "" at ingest
  std::string purpose;              // HL7 v3 PurposeOfUse code; "" when none stated
  bool consent = false;             // an active consent for this purpose and participant
};

// Why one rule did or did not apply, in words a compliance officer can read.
struct RuleTrace {
  std::string rule_id;
  bool applicable = false;
  // One per constrained dimension, in the order the rule's match lists them: "destination US is
  // in none of EU, EEA", "purpose TREAT is one of TREAT, ETREAT", "not evaluated at ingest".
  std::vector<std::string> reasons;
};

// "ingest", "grant", "read"; "permit", "deny": the words traces and `policy eval` use.
std::string_view stage_name(Stage stage);
// The stage a name ("ingest", "grant", "read") stands for; nullopt for any other.
std::optional<Stage> stage_from_name(std::string_view name);
std::string_view effect_name(Effect effect);

struct PolicyDecision {
  Effect effect = Effect::kDeny;
  // The rules that decided: all applicable denies, or all applicable permits (deny-overrides),
  // or the one first applicable rule; "undetermined-jurisdiction" when the patient's
  // jurisdiction is unknown; empty when the default effect decided.
  std::vector<std::string> rule_ids;
  // With kPermit only: the deciding permit's obligations, merged (Obligations::merge) when
  // several permits decide. A copy, so a decision outlives a bundle reload; copying a rule
  // without obligations allocates nothing, which keeps the common decision allocation-free.
  Obligations obligations;
  bool audit = false;       // a deciding rule asks for audit
  bool by_default = false;  // no rule applied
  // At ingest, for a permit: where the resource is stored (PolicyBundle::region_for of the
  // source country; the default region when the undetermined effect permits).
  std::string region;
  ports::Hash32 policy_hash{};
  std::vector<RuleTrace> trace;  // filled only when evaluate() is asked for it: one per rule
};

class PolicyEngine {
 public:
  explicit PolicyEngine(std::shared_ptr<const PolicyBundle> bundle);

  PolicyDecision evaluate(const PolicyRequest& request, bool with_trace = false) const;

  const PolicyBundle& bundle() const { return *bundle_; }

 private:
  std::shared_ptr<const PolicyBundle> bundle_;
};

// The decision, with its trace, as text for `fhir-ledger policy eval`.
std::string explain(const PolicyBundle& bundle, const PolicyRequest& request,
                    const PolicyDecision& decision);

// What is known about a resource's patient, for resolve_jurisdiction().
// Countries as they came (iso_alpha2 reads them); what names no assigned country is skipped.
struct JurisdictionFacts {
  std::string patient_address_country;  // from the Patient resource itself; "" otherwise
  std::string recorded_country;         // recorded under the patient's pseudonym; ""
  std::string header_country;           // fhir-jurisdiction; ""
  std::string source_system;
};

// The source country, as an alpha-2 code, by the bundle's order of sources: the first source
// that names an assigned country answers. "" when undetermined and the bundle names no
// jurisdiction to assume (then the caller decides with the default effect). `from` says which
// source answered ("patient-address", ..., "undetermined").
std::string resolve_jurisdiction(const PolicyBundle& bundle, const JurisdictionFacts& facts,
                                 std::string* from = nullptr);

// The first address[].country of a Patient resource that is an assigned ISO 3166-1 code, as its
// alpha-2 code ("DE", "DEU" and "deu" give "DE"; full names such as "Germany" or "Deutschland"
// are not guessed), or "".
std::string patient_address_country(const rapidjson::Value& patient);

}  // namespace fl::gateway::policy
