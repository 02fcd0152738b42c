// A compiled policy bundle: the jurisdiction rules a compliance officer writes in
// config/policies/<name>.json (format: config/policies/README.md, schema:
// config/schemas/policy-bundle.schema.json), in the form the engine evaluates quickly. Built only
// by compile_policy_bundle() (policy_compiler.h), so every reference in it is known to resolve.
//
// Countries are ISO 3166-1 alpha-2 codes (what arrives from outside as alpha-3 is read as its
// alpha-2 code: iso_alpha2); a jurisdiction is a named set of them, and rules match on
// jurisdiction ids: a country matches a rule's list when it belongs to any jurisdiction listed.
// A country may belong to several jurisdictions (DE is in "EU" and in "EEA").
#pragma once

#include "fl/mappings/fhirpath.h"
#include "fl/ports/pointer_ledger.h"

#include <bitset>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fl::gateway::policy {

// A country code "DE" as an index 0..675 ((c0 - 'A') * 26 + (c1 - 'A')).
using CountrySet = std::bitset<26 * 26>;
// nullopt unless `code` is two upper-case ASCII letters.
std::optional<std::size_t> country_index(std::string_view code);
// True for the assigned ISO 3166-1 alpha-2 codes, in upper case: how a bundle names countries
// ("GB"; not "UK", "EU", "gb" or "GBR").
bool is_iso_country(std::string_view code);
// The assigned alpha-2 code that a country code from outside the bundle stands for: an assigned
// ISO 3166-1 alpha-2 or alpha-3 code (FHIR R4's Address.country allows both) in any letter case,
// "NL", "nl", "NLD", "nld" and "Nld" all give "NL". nullopt for anything else, which is then no
// country: codes that are not assigned ("UK", "EU", "XKX", "XXX"), names ("Netherlands", not
// guessed), codes with spaces around them. The view is into a static table. Every country the
// gateway reads (a Patient's address, the recorded country, the fhir-jurisdiction header, a
// request's source and destination) goes through here, so everything after it sees alpha-2.
std::optional<std::string_view> iso_alpha2(std::string_view code);

enum class Stage : std::uint8_t { kIngest = 1, kGrant = 2, kRead = 4 };
enum class Effect : std::uint8_t { kPermit, kDeny };
enum class Combining : std::uint8_t { kDenyOverrides, kFirstApplicable };
// Where a resource's (source) jurisdiction comes from, tried in the bundle's order.
enum class JurisdictionSource : std::uint8_t {
  kPatientAddress,  // a Patient's own address[].country (the first that names a known country)
  kPatientRecord,   // the country recorded under the patient's pseudonym when the Patient came
  kHeader,          // the event's fhir-jurisdiction header
  kSourceSystem,    // the source system's configured country
};
// Whether a rule needs an active consent for the purpose and participant.
enum class ConsentMatch : std::uint8_t { kAny, kRequired, kAbsent };

struct Jurisdiction {
  std::string id;  // "EU"
  std::string name;
  CountrySet countries;
  std::string region;  // storage region for residency; "" when it has none
};

// "system|code", e.g. "http://terminology.hl7.org/CodeSystem/v3-ActCode|ETH".
struct Coding {
  std::string system;
  std::string code;
  bool operator==(const Coding&) const = default;
};

struct Obligations {
  std::vector<mappings::fhirpath::Expression> redact;  // elements removed from what is released
  std::vector<std::string> redact_text;                // the expressions as written, for traces
  bool pseudonymize_identifiers = false;               // identifier values replaced by pseudonyms
  std::vector<std::string> require_purpose;            // the request must state one of these
  bool purpose_unsatisfiable = false;     // merged permits require disjoint purposes: none will do
  std::optional<std::uint32_t> max_days;  // access (a grant) limited to this many days

  bool empty() const;
  // Adds `other`'s obligations: redactions and pseudonyms are joined, purpose requirements
  // intersect (each permit's must hold), the smaller max_days wins.
  void merge(const Obligations& other);
};

struct Match {
  std::uint8_t stages = 7;                   // Stage bits; default all three
  std::optional<CountrySet> source;          // of the resource's patient
  std::optional<CountrySet> destination;     // the requesting participant's country
  std::vector<std::string> resource_types;   // empty: any
  std::vector<std::string> purposes;         // HL7 v3 PurposeOfUse codes; empty: any
  std::vector<Coding> security_labels;       // any of them in meta.security; empty: any
  std::vector<std::string> confidentiality;  // v3-Confidentiality codes; empty: any
  ConsentMatch consent = ConsentMatch::kAny;
  std::optional<mappings::fhirpath::Expression> condition;  // FHIRPath, true on the resource
  // The lists as written (jurisdiction ids), for traces and `policy eval`.
  std::vector<std::string> source_ids;
  std::vector<std::string> destination_ids;
};

struct Rule {
  std::string id;
  std::string description;
  std::string legal_basis;
  Match match;
  Effect effect = Effect::kDeny;
  Obligations obligations;  // only with kPermit
  bool audit = false;       // decisions by this rule are flagged for audit (e.g. break-glass)
  std::string pointer;      // where the rule is in its file, "/rules/3"
};

struct JurisdictionPolicy {
  std::vector<JurisdictionSource> order;
  std::vector<std::pair<std::string, std::string>> source_countries;  // source system, country
  // When no source answers: the patient is taken to be of this country, or, when "", the
  // request is decided by `undetermined_effect` (rule id "undetermined-jurisdiction").
  std::string undetermined_country;
  Effect undetermined_effect = Effect::kDeny;
};

struct PolicyBundle {
  std::string id;
  std::string file;  // as compiled, for messages
  Combining combining = Combining::kDenyOverrides;
  Effect default_effect = Effect::kDeny;
  std::string default_region;  // residency when the patient's jurisdictions name no region
  std::vector<Jurisdiction> jurisdictions;
  JurisdictionPolicy jurisdiction;
  std::vector<Rule> rules;
  // SHA-256 of the bundle file's canonical JSON (RFC 8785): anchored with every pointer.
  ports::Hash32 hash{};

  const Jurisdiction* find_jurisdiction(std::string_view id) const;
  // The storage region for a patient of `country` (an alpha-2 code, as iso_alpha2 gives it): the
  // region of the first jurisdiction (file order) that holds the country and has one, else
  // default_region; "" when neither.
  std::string region_for(std::string_view country) const;
  // The configured country of a source system, or "".
  std::string country_of_source(std::string_view source_system) const;
};

}  // namespace fl::gateway::policy
