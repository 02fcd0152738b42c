#include "fl/gateway/policy/policy_compiler.h"

#include "fl/base/assert.h"
#include "fl/base/bytes.h"
#include "fl/gateway/crypto/hash.h"
#include "fl/gateway/policy/policy_engine.h"
#include "fl/gateway/stages/validate_stage.h"
#include "fl/mappings/canonical_json.h"
#include "fl/mappings/fhirpath.h"
#include "fl/mappings/schema_check.h"

#include "policy/join.h"
#include "policy/policy_schema.h"

#include <rapidjson/error/en.h>

#include <algorithm>
#include <array>
#include <map>
#include <regex>
#include <set>
#include <string_view>

namespace fl::gateway::policy {
namespace {

// ISO 3166-1 alpha-2: the 249 officially assigned codes, sorted. Reserved codes ("UK", "EL",
// "EU") are not countries, so a bundle naming one is refused rather than matching nobody.

// The HL7 v3 PurposeOfUse value set (terminology.hl7.org/ValueSet/v3-PurposeOfUse: v3-ActReason
// is-a PurposeOfUse) without its root, sorted: what a request's purpose and a rule's purposes are
// spelled in. The 59 codes below the root in the FHIR R4 (4.0.1) expansion, plus MLTRAINING,
// PMTDS and TREATDS from ActReason 4.0.0 (THO): the value set is is-a, not pinned to a version,
// so systems on current THO send them, and a bundle must be able to name AI training to refuse
// it. The root is notSelectable in THO: a grouper, not a purpose a request states.
constexpr std::array<std::string_view, 62> kPurposesOfUse = {
    "BIORCH",     "BTG",         "CAREMGT",  "CLINTRCH", "CLINTRCHNPC", "CLINTRCHPC", "CLINTRL",
    "CLMATTCH",   "COC",         "COVAUTH",  "COVERAGE", "DISASTER",    "DONAT",      "DSRCH",
    "ELIGDTRM",   "ELIGVER",     "ENROLLM",  "ERTREAT",  "ETREAT",      "FAMRQT",     "FRAUD",
    "GOV",        "HACCRED",     "HCOMPL",   "HDECD",    "HDIRECT",     "HDM",        "HLEGAL",
    "HMARKT",     "HOPERAT",     "HOUTCOMS", "HPAYMT",   "HPRGRP",      "HQUALIMP",   "HRESCH",
    "HSYSADMIN",  "HTEST",       "LABELING", "MEMADMIN", "METAMGT",     "MILCDM",     "MILDCRG",
    "MLTRAINING", "PATADMIN",    "PATRQT",   "PATSFTY",  "PERFMSR",     "PMTDS",      "POARCH",
    "POPHLTH",    "PRECLINTRCH", "PUBHLTH",  "PWATRNY",  "RECORDMGT",   "REMITADV",   "SUPNWK",
    "SYSDEV",     "THREAT",      "TRAIN",    "TRANSRCH", "TREAT",       "TREATDS"};

template <std::size_t N>
constexpr bool sorted(const std::array<std::string_view, N>& table) {
  for (std::size_t i = 1; i < N; ++i) {
    if (!(table[i - 1] < table[i])) return false;
  }
  return true;
}
static_assert(sorted(kPurposesOfUse), "binary search needs the purpose table sorted");

// Codes people write for a country that ISO 3166-1 spells otherwise.
std::string country_hint(std::string_view code) {
  if (code == "UK") return " (the United Kingdom is GB)";
  if (code == "EL") return " (Greece is GR)";
  if (code == "EU") return " (the EU is a jurisdiction: list its member states)";
  return "";
}

constexpr std::array<std::pair<std::string_view, JurisdictionSource>, 4> kSources = {{
    {"patient-address", JurisdictionSource::kPatientAddress},
    {"patient-record", JurisdictionSource::kPatientRecord},
    {"header", JurisdictionSource::kHeader},
    {"source-system", JurisdictionSource::kSourceSystem},
}};

std::string_view string_of(const rapidjson::Value& object, const char* name) {
  if (!object.IsObject()) return {};
  auto m = object.FindMember(name);
  if (m == object.MemberEnd() || !m->value.IsString()) return {};
  return {m->value.GetString(), m->value.GetStringLength()};
}

const rapidjson::Value* member(const rapidjson::Value& object, const char* name) {
  if (!object.IsObject()) return nullptr;
  auto m = object.FindMember(name);
  return m == object.MemberEnd() ? nullptr : &m->value;
}

// The strings of an array member, with their indexes (non-strings were reported by the schema).
std::vector<std::pair<rapidjson::SizeType, std::string>> strings_of(const rapidjson::Value& object,
                                                                    const char* name) {
  std::vector<std::pair<rapidjson::SizeType, std::string>> out;
  const rapidjson::Value* array = member(object, name);
  if (array == nullptr || !array->IsArray()) return out;
  for (rapidjson::SizeType i = 0; i < array->Size(); ++i) {
    if ((*array)[i].IsString()) out.emplace_back(i, (*array)[i].GetString());
  }
  return out;
}

// Every value `inner` accepts, `outer` accepts too: an empty list means "any".
template <typename T>
bool list_covers(const std::vector<T>& outer, const std::vector<T>& inner) {
  if (outer.empty()) return true;
  if (inner.empty()) return false;
  return std::all_of(inner.begin(), inner.end(), [&](const T& item) {
    return std::find(outer.begin(), outer.end(), item) != outer.end();
  });
}

bool set_covers(const std::optional<CountrySet>& outer, const std::optional<CountrySet>& inner) {
  if (!outer) return true;
  if (!inner) return false;
  return (*inner & ~*outer).none();
}

// Whether every request `inner` matches is matched by `outer` as well, so that `outer` decides
// wherever `inner` would. Conditions are compared by their text: two different expressions may
// select the same resources, but the compiler cannot know, and a false "unreachable" would be
// worse than a missed one.
bool match_covers(const Match& outer, const Match& inner) {
  if ((outer.stages & inner.stages) != inner.stages) return false;
  if (!set_covers(outer.source, inner.source)) return false;
  if (!set_covers(outer.destination, inner.destination)) return false;
  if (!list_covers(outer.resource_types, inner.resource_types)) return false;
  if (!list_covers(outer.purposes, inner.purposes)) return false;
  if (!list_covers(outer.security_labels, inner.security_labels)) return false;
  if (!list_covers(outer.confidentiality, inner.confidentiality)) return false;
  if (outer.consent != ConsentMatch::kAny && outer.consent != inner.consent) return false;
  if (outer.condition) {
    return inner.condition && inner.condition->text() == outer.condition->text();
  }
  return true;
}

class Compiler {
 public:
  Compiler(const std::string& path, const mappings::ReadFile& read_file,
           std::vector<mappings::Diagnostic>& out)
      : path_(path), read_file_(read_file), out_(out) {}

  std::shared_ptr<const PolicyBundle> run() {
    auto text = read_file_(path_);
    if (!text) {
      report("", "cannot read the policy bundle: " + text.error().message);
      return nullptr;
    }
    rapidjson::Document doc;
    doc.Parse(text->c_str(), text->size());
    if (doc.HasParseError()) {
      report("", "not valid JSON at offset " + std::to_string(doc.GetErrorOffset()) + ": " +
                     rapidjson::GetParseError_En(doc.GetParseError()));
      return nullptr;
    }
    rapidjson::Document schema;
    schema.Parse(kPolicyBundleSchemaJson.data(), kPolicyBundleSchemaJson.size());
    FL_ASSERT(!schema.HasParseError(), "the embedded policy bundle schema is JSON");
    mappings::check_schema(schema, doc, path_, out_);
    for (const auto& d : out_) schema_errors_.push_back(d.pointer);
    if (!doc.IsObject()) return nullptr;

    auto bundle = std::make_shared<PolicyBundle>();
    bundle->file = path_;
    bundle->id = string_of(doc, "id");
    bundle->combining = string_of(doc, "combining") == "first-applicable"
                            ? Combining::kFirstApplicable
                            : Combining::kDenyOverrides;
    bundle->default_effect =
        string_of(doc, "default") == "permit" ? Effect::kPermit : Effect::kDeny;
    if (doc.HasMember("defaultRegion") && shape_ok("/defaultRegion")) {
      bundle->default_region = string_of(doc, "defaultRegion");
      check_region(bundle->default_region, "/defaultRegion");
    }
    compile_jurisdictions(doc, *bundle);
    compile_sources(doc, *bundle);
    compile_rules(doc, *bundle);
    find_unreachable_rules(*bundle);
    if (!out_.empty()) return nullptr;

    auto canonical = mappings::canonicalize(doc);
    if (!canonical) {
      report(canonical.error().where, "cannot be hashed: " + canonical.error().message);
      return nullptr;
    }
    const Bytes digest = crypto::sha256(as_bytes(*canonical));
    FL_ASSERT(digest.size() == bundle->hash.size(), "SHA-256 gives 32 bytes");
    std::copy(digest.begin(), digest.end(), bundle->hash.begin());
    return bundle;
  }

 private:
  void report(std::string pointer, std::string message) {
    out_.push_back({path_, std::move(pointer), std::move(message)});
  }

  // False when the schema found something wrong at `pointer` or below: the part's shape is not
  // what the semantic checks read, and checking it anyway would only repeat the schema's
  // complaint in other words.
  bool shape_ok(const std::string& pointer) const {
    return std::none_of(schema_errors_.begin(), schema_errors_.end(), [&](const std::string& p) {
      return p == pointer ||
             (p.size() > pointer.size() && p.compare(0, pointer.size(), pointer) == 0 &&
              p[pointer.size()] == '/');
    });
  }

  void check_country(const std::string& code, const std::string& pointer) {
    if (is_iso_country(code)) return;
    report(pointer, "expected an assigned ISO 3166-1 alpha-2 country code, got \"" + code + "\"" +
                        country_hint(code));
  }

  // Region names are keys of gateway.json's storage.regions and go to the ledger as a bytes16.
  void check_region(const std::string& region, const std::string& pointer) {
    static const std::regex kRegion("^[a-z][a-z0-9-]{0,15}$");
    if (region.empty()) {
      report(pointer,
             "the region is empty: expected a storage region name; omit \"region\" when the "
             "jurisdiction has none");
    } else if (!std::regex_match(region, kRegion)) {
      report(pointer, "expected a storage region name matching ^[a-z][a-z0-9-]{0,15}$, got \"" +
                          region + "\"");
    }
  }

  void compile_jurisdictions(const rapidjson::Value& doc, PolicyBundle& bundle) {
    const rapidjson::Value* list = member(doc, "jurisdictions");
    if (list == nullptr || !list->IsArray()) return;
    for (rapidjson::SizeType i = 0; i < list->Size(); ++i) {
      const rapidjson::Value& in = (*list)[i];
      const std::string at = "/jurisdictions/" + std::to_string(i);
      const std::string id(string_of(in, "id"));
      // Known even when malformed, so rules naming it are not reported a second time.
      if (!id.empty()) {
        auto [first, added] = jurisdiction_at_.try_emplace(id, at);
        if (!added) {
          report(at + "/id",
                 "jurisdiction id \"" + id + "\" is used twice (first at " + first->second + ")");
        }
      }
      if (!shape_ok(at)) continue;
      Jurisdiction j;
      j.id = id;
      j.name = string_of(in, "name");
      for (const auto& [k, code] : strings_of(in, "countries")) {
        check_country(code, at + "/countries/" + std::to_string(k));
        if (auto index = country_index(code)) j.countries.set(*index);
      }
      if (in.HasMember("region")) {
        j.region = string_of(in, "region");
        check_region(j.region, at + "/region");
      }
      bundle.jurisdictions.push_back(std::move(j));
    }
  }

  void compile_sources(const rapidjson::Value& doc, PolicyBundle& bundle) {
    const std::string at = "/jurisdictionSources";
    const rapidjson::Value* in = member(doc, "jurisdictionSources");
    JurisdictionPolicy& policy = bundle.jurisdiction;
    if (in == nullptr || !in->IsObject() || !in->HasMember("order")) {
      for (const auto& [name, source] : kSources) policy.order.push_back(source);
    }
    if (in == nullptr || !shape_ok(at)) return;
    for (const auto& [k, name] : strings_of(*in, "order")) {
      for (const auto& [known, source] : kSources) {
        if (known != name) continue;
        if (std::find(policy.order.begin(), policy.order.end(), source) != policy.order.end()) {
          report(at + "/order/" + std::to_string(k), "\"" + name + "\" is listed twice");
        }
        policy.order.push_back(source);
      }
    }
    if (const rapidjson::Value* systems = member(*in, "sourceSystems")) {
      for (auto m = systems->MemberBegin(); m != systems->MemberEnd(); ++m) {
        const std::string name(m->name.GetString(), m->name.GetStringLength());
        const std::string country = m->value.GetString();
        check_country(country, at + "/sourceSystems/" + mappings::pointer_token(name));
        policy.source_countries.emplace_back(name, country);
      }
    }
    const rapidjson::Value* undetermined = member(*in, "undetermined");
    if (undetermined == nullptr) return;
    const bool has_effect = undetermined->HasMember("effect");
    const bool has_country = undetermined->HasMember("country");
    if (has_effect == has_country) {
      report(at + "/undetermined",
             "expected exactly one of \"effect\" (permit or deny) and \"country\" (the country "
             "to assume)");
      return;
    }
    if (has_effect) {
      policy.undetermined_effect =
          string_of(*undetermined, "effect") == "permit" ? Effect::kPermit : Effect::kDeny;
      return;
    }
    policy.undetermined_country = string_of(*undetermined, "country");
    const std::string pointer = at + "/undetermined/country";
    if (!is_iso_country(policy.undetermined_country)) {
      check_country(policy.undetermined_country, pointer);
      return;
    }
    const auto index = country_index(policy.undetermined_country);
    const bool in_a_jurisdiction =
        std::any_of(bundle.jurisdictions.begin(), bundle.jurisdictions.end(),
                    [&](const Jurisdiction& j) { return j.countries.test(*index); });
    if (!in_a_jurisdiction) {
      report(pointer, "expected a country of one of the bundle's jurisdictions, got \"" +
                          policy.undetermined_country +
                          "\": no jurisdiction holds it, so no rule naming a jurisdiction could "
                          "match such a patient");
    }
  }

  // The countries of the jurisdictions a rule names; false when one is unknown.
  bool jurisdictions_of(const rapidjson::Value& match, const char* name, const std::string& at,
                        const PolicyBundle& bundle, std::optional<CountrySet>& set,
                        std::vector<std::string>& ids) {
    if (!match.HasMember(name)) return true;
    bool ok = true;
    set.emplace();
    for (const auto& [k, id] : strings_of(match, name)) {
      ids.push_back(id);
      if (const Jurisdiction* j = bundle.find_jurisdiction(id)) {
        *set |= j->countries;
      } else if (!jurisdiction_at_.contains(id)) {
        std::vector<std::string> known;
        for (const auto& [known_id, where] : jurisdiction_at_) known.push_back(known_id);
        report(at + "/" + name + "/" + std::to_string(k),
               "unknown jurisdiction \"" + id + "\" (expected one of: " + join(known) + ")");
        ok = false;
      } else {
        ok = false;  // malformed; the schema check reported it
      }
    }
    return ok;
  }

  std::optional<mappings::fhirpath::Expression> expression(const std::string& text,
                                                           const std::string& pointer) {
    auto compiled = mappings::fhirpath::Expression::compile(text);
    if (!compiled) {
      report(pointer, "FHIRPath does not compile: " + compiled.error().message + " (at " +
                          compiled.error().where + " of the expression)");
      return std::nullopt;
    }
    return std::move(*compiled);
  }

  bool check_purposes(const rapidjson::Value& object, const char* name, const std::string& at,
                      std::vector<std::string>& purposes) {
    bool ok = true;
    for (const auto& [k, code] : strings_of(object, name)) {
      if (!is_purpose_of_use(code)) {
        report(at + "/" + name + "/" + std::to_string(k),
               "expected an HL7 v3 PurposeOfUse code (TREAT, ETREAT, HPAYMT, HOPERAT, HRESCH, "
               "PUBHLTH, BTG, ...), got \"" +
                   code + "\"");
        ok = false;
      }
      purposes.push_back(code);
    }
    return ok;
  }

  // Compiles the match of one rule; false when something in it is wrong.
  bool compile_match(const rapidjson::Value& in, const std::string& at, const PolicyBundle& bundle,
                     Match& match) {
    bool ok = true;
    if (const rapidjson::Value* stages = member(in, "stages")) {
      match.stages = 0;
      for (const auto& item : stages->GetArray()) {
        const std::string_view stage(item.GetString(), item.GetStringLength());
        // The schema admits only the three names.
        const Stage bit = stage_from_name(stage).value_or(Stage::kRead);
        match.stages |= static_cast<std::uint8_t>(bit);
      }
    }
    const rapidjson::Value* m = member(in, "match");
    if (m == nullptr) return ok;
    const std::string mat = at + "/match";
    ok = jurisdictions_of(*m, "source", mat, bundle, match.source, match.source_ids) && ok;
    ok = jurisdictions_of(*m, "destination", mat, bundle, match.destination,
                          match.destination_ids) &&
         ok;
    for (const auto& [k, type] : strings_of(*m, "resourceTypes")) {
      if (!is_r4_resource_type(type)) {
        report(mat + "/resourceTypes/" + std::to_string(k),
               "expected a FHIR R4 resource type, got \"" + type + "\"");
        ok = false;
      }
      match.resource_types.push_back(type);
    }
    ok = check_purposes(*m, "purposes", mat, match.purposes) && ok;
    for (const auto& [k, label] : strings_of(*m, "securityLabels")) {
      const std::size_t bar = label.find('|');
      match.security_labels.push_back({label.substr(0, bar), label.substr(bar + 1)});
    }
    for (const auto& [k, code] : strings_of(*m, "confidentiality")) {
      match.confidentiality.push_back(code);
    }
    const std::string_view consent = string_of(*m, "consent");
    match.consent = consent == "required" ? ConsentMatch::kRequired
                    : consent == "absent" ? ConsentMatch::kAbsent
                                          : ConsentMatch::kAny;
    if (m->HasMember("condition")) {
      match.condition = expression(std::string(string_of(*m, "condition")), mat + "/condition");
      ok = match.condition.has_value() && ok;
    }
    return ok;
  }

  bool compile_obligations(const rapidjson::Value& in, const std::string& at, Rule& rule) {
    const rapidjson::Value* o = member(in, "obligations");
    if (o == nullptr) return true;
    bool ok = true;
    const std::string oat = at + "/obligations";
    if (rule.effect == Effect::kDeny) {
      report(oat,
             "obligations apply only to a permit: a deny releases nothing to redact, "
             "pseudonymize or limit (move them to a permit rule, or drop them)");
      ok = false;
    }
    Obligations& out = rule.obligations;
    for (const auto& [k, text] : strings_of(*o, "redact")) {
      auto compiled = expression(text, oat + "/redact/" + std::to_string(k));
      if (!compiled) {
        ok = false;
        continue;
      }
      out.redact.push_back(std::move(*compiled));
      out.redact_text.push_back(text);
    }
    if (const rapidjson::Value* p = member(*o, "pseudonymizeIdentifiers")) {
      out.pseudonymize_identifiers = p->GetBool();
    }
    ok = check_purposes(*o, "requirePurpose", oat, out.require_purpose) && ok;
    if (const rapidjson::Value* days = member(*o, "maxDays")) {
      out.max_days = static_cast<std::uint32_t>(days->GetUint());
    }
    return ok;
  }

  void compile_rules(const rapidjson::Value& doc, PolicyBundle& bundle) {
    const rapidjson::Value* list = member(doc, "rules");
    if (list == nullptr || !list->IsArray()) return;
    std::map<std::string, std::string, std::less<>> rule_at;
    for (rapidjson::SizeType i = 0; i < list->Size(); ++i) {
      const rapidjson::Value& in = (*list)[i];
      const std::string at = "/rules/" + std::to_string(i);
      const std::string id(string_of(in, "id"));
      bool ok = true;
      if (!id.empty()) {
        auto [first, added] = rule_at.try_emplace(id, at);
        if (!added) {
          report(at + "/id",
                 "rule id \"" + id + "\" is used twice (first at " + first->second + ")");
          ok = false;
        }
      }
      if (!shape_ok(at)) continue;
      Rule rule;
      rule.id = id;
      rule.pointer = at;
      rule.description = string_of(in, "description");
      rule.legal_basis = string_of(in, "legalBasis");
      rule.effect = string_of(in, "effect") == "permit" ? Effect::kPermit : Effect::kDeny;
      if (const rapidjson::Value* audit = member(in, "audit")) rule.audit = audit->GetBool();
      ok = compile_match(in, at, bundle, rule.match) && ok;
      ok = compile_obligations(in, at, rule) && ok;
      // Only rules that compiled cleanly take part in the shadowing analysis: a rule with an
      // unknown jurisdiction matches less than written, and would give false reports.
      comparable_.push_back(ok);
      bundle.rules.push_back(std::move(rule));
    }
  }

  void find_unreachable_rules(const PolicyBundle& bundle) {
    const auto& rules = bundle.rules;
    for (std::size_t j = 0; j < rules.size(); ++j) {
      if (!comparable_[j]) continue;
      for (std::size_t i = 0; i < rules.size(); ++i) {
        if (i == j || !comparable_[i]) continue;
        if (bundle.combining == Combining::kFirstApplicable) {
          if (i > j || !match_covers(rules[i].match, rules[j].match)) continue;
          report(rules[j].pointer,
                 "unreachable: rule \"" + rules[i].id + "\" (" + rules[i].pointer +
                     ") comes first and matches everything this rule matches, so under "
                     "first-applicable this rule never decides");
          break;
        }
        if (rules[j].effect != Effect::kPermit || rules[i].effect != Effect::kDeny ||
            !match_covers(rules[i].match, rules[j].match)) {
          continue;
        }
        report(rules[j].pointer,
               "unreachable: deny rule \"" + rules[i].id + "\" (" + rules[i].pointer +
                   ") matches everything this permit matches, and under deny-overrides the "
                   "deny wins, so this rule never decides");
        break;
      }
    }
  }

  const std::string& path_;
  const mappings::ReadFile& read_file_;
  std::vector<mappings::Diagnostic>& out_;
  std::vector<std::string> schema_errors_;
  std::map<std::string, std::string, std::less<>> jurisdiction_at_;  // id -> pointer
  std::vector<bool> comparable_;                                     // per compiled rule
};

}  // namespace

bool is_purpose_of_use(std::string_view code) {
  return std::binary_search(kPurposesOfUse.begin(), kPurposesOfUse.end(), code);
}

CompiledPolicyBundle compile_policy_bundle(const std::string& path,
                                           const mappings::ReadFile& read_file) {
  CompiledPolicyBundle out;
  out.bundle = Compiler(path, read_file, out.diagnostics).run();
  if (!out.diagnostics.empty()) out.bundle.reset();
  return out;
}

}  // namespace fl::gateway::policy
