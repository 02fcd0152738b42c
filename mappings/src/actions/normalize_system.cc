// normalize-system: rewrites code and identifier system URIs, typically OIDs to the URLs FHIR
// uses ("urn:oid:2.16.840.1.113883.6.1" -> "http://loinc.org"). Works on anything with a
// "system" (Coding, Identifier, Quantity), on CodeableConcepts (each coding) and on bare uri
// primitives. The rule's "systems" table comes first; "wellKnown" (default true) adds the OIDs
// HL7 registers for the code systems FHIR names by URL.
#include "actions/action.h"

#include <array>
#include <utility>

namespace fl::mappings::actions {
namespace {

// From the HL7 OID registry and FHIR R4's terminology pages ("Using Codes", "Identifier
// systems"): the OIDs of code and identifier systems that FHIR names by URL.
constexpr std::array<std::pair<std::string_view, std::string_view>, 14> kWellKnown{{
    {"2.16.840.1.113883.6.1", "http://loinc.org"},
    {"2.16.840.1.113883.6.96", "http://snomed.info/sct"},
    {"2.16.840.1.113883.6.88", "http://www.nlm.nih.gov/research/umls/rxnorm"},
    {"2.16.840.1.113883.6.8", "http://unitsofmeasure.org"},
    {"2.16.840.1.113883.6.90", "http://hl7.org/fhir/sid/icd-10-cm"},
    {"2.16.840.1.113883.6.3", "http://hl7.org/fhir/sid/icd-10"},
    {"2.16.840.1.113883.6.103", "http://hl7.org/fhir/sid/icd-9-cm"},
    {"2.16.840.1.113883.12.292", "http://hl7.org/fhir/sid/cvx"},
    {"2.16.840.1.113883.6.69", "http://hl7.org/fhir/sid/ndc"},
    {"2.16.840.1.113883.6.12", "http://www.ama-assn.org/go/cpt"},
    {"2.16.840.1.113883.4.1", "http://hl7.org/fhir/sid/us-ssn"},
    {"2.16.840.1.113883.4.6", "http://hl7.org/fhir/sid/us-npi"},
    {"2.16.840.1.113883.5.1", "http://terminology.hl7.org/CodeSystem/v3-AdministrativeGender"},
    {"2.16.840.1.113883.5.2", "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus"},
}};

class NormalizeSystem final : public Action {
 public:
  NormalizeSystem(std::map<std::string, std::string, std::less<>> systems, bool well_known,
                  bool fail_on_oid)
      : systems_(std::move(systems)), well_known_(well_known), fail_on_oid_(fail_on_oid) {}

  Status apply(Target& target, ApplyContext& context) const override {
    rapidjson::Value* value = target.at.value;
    if (value == nullptr) return Ok{};
    if (value->IsString()) return rewrite(*value, target, target.at.pointer, context);
    if (!value->IsObject()) return Ok{};
    if (auto c = value->FindMember("coding"); c != value->MemberEnd() && c->value.IsArray()) {
      for (rapidjson::SizeType i = 0; i < c->value.Size(); ++i) {
        auto s = c->value[i].FindMember("system");
        if (s == c->value[i].MemberEnd()) continue;
        const std::string where = target.at.pointer + "/coding/" + std::to_string(i) + "/system";
        if (auto r = rewrite(s->value, target, where, context); !r) return r;
      }
    }
    if (auto s = value->FindMember("system"); s != value->MemberEnd()) {
      return rewrite(s->value, target, target.at.pointer + "/system", context);
    }
    return Ok{};
  }

 private:
  std::string_view lookup(std::string_view system) const {
    if (auto it = systems_.find(system); it != systems_.end()) return it->second;
    if (!well_known_) return {};
    std::string_view oid = system;
    if (oid.starts_with("urn:oid:")) oid.remove_prefix(8);
    for (const auto& [known, url] : kWellKnown) {
      if (known == oid) return url;
    }
    return {};
  }

  Status rewrite(rapidjson::Value& system, const Target& target, const std::string& where,
                 ApplyContext& context) const {
    if (!system.IsString()) return Ok{};
    const std::string_view current(system.GetString(), system.GetStringLength());
    if (const std::string_view url = lookup(current); !url.empty()) {
      system.SetString(url.data(), static_cast<rapidjson::SizeType>(url.size()), context.allocator);
      return Ok{};
    }
    if (fail_on_oid_ && current.starts_with("urn:oid:")) {
      (void)target;
      return context.fail(
          where, "system '" + std::string(current) + "' is an OID the rule has no URL for");
    }
    return Ok{};
  }

  std::map<std::string, std::string, std::less<>> systems_;
  bool well_known_;
  bool fail_on_oid_;
};

}  // namespace

std::unique_ptr<Action> compile_normalize_system(const rapidjson::Value& rule,
                                                 const CompileContext& context) {
  const auto table = context.string_table(rule, "systems");
  std::map<std::string, std::string, std::less<>> systems(table.begin(), table.end());
  const bool well_known = context.boolean(rule, "wellKnown").value_or(true);
  const std::string unknown = context.string(rule, "onUnknownOid", false).value_or("keep");
  return std::make_unique<NormalizeSystem>(std::move(systems), well_known, unknown == "fail");
}

}  // namespace fl::mappings::actions
