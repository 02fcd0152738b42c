// The policy bundle compiler: every planted error of tests/data/policies/broken.json at its exact
// JSON pointer, a small good bundle compiled into the model the evaluator reads (with its hash
// checked against OpenSSL over a canonical form written by hand), and the shadowing analysis for
// both combining algorithms.
#include "fl/gateway/policy/policy_compiler.h"

#include "fl/gateway/mapping_files.h"

#include "support/corpus.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <map>

namespace fl::gateway::policy {
namespace {

using ::testing::HasSubstr;

// Files served from memory, so each test states its bundle in full.
mappings::ReadFile memory(std::map<std::string, std::string> files) {
  return [files = std::move(files)](const std::string& path) -> Result<std::string> {
    auto it = files.find(path);
    if (it == files.end()) return Error{ErrorCode::kNotFound, "no such file " + path, path};
    return it->second;
  };
}

CompiledPolicyBundle compile_text(const std::string& text) {
  return compile_policy_bundle("bundle.json", memory({{"bundle.json", text}}));
}

std::string all(const std::vector<mappings::Diagnostic>& diagnostics) {
  std::string out;
  for (const auto& d : diagnostics) out += mappings::to_string(d) + "\n";
  return out;
}

// The messages reported at exactly `pointer`.
std::vector<std::string> at(const std::vector<mappings::Diagnostic>& diagnostics,
                            const std::string& pointer) {
  std::vector<std::string> messages;
  for (const auto& d : diagnostics) {
    if (d.pointer == pointer) messages.push_back(d.message);
  }
  return messages;
}

// A bundle around `rules` (a JSON array), with EU = {DE, FR}, US = {US}.
std::string bundle_with(const std::string& combining, const std::string& rules) {
  return R"({"id": "t", "combining": ")" + combining + R"(", "default": "deny",
    "jurisdictions": [{"id": "EU", "countries": ["DE", "FR"], "region": "eu"},
                      {"id": "US", "countries": ["US"], "region": "us"}],
    "rules": )" +
         rules + "}";
}

TEST(PolicyCompilerTest, FindsEveryPlantedErrorOfTheBrokenExampleAtItsPointer) {
  const std::string file =
      (fl::testing::source_root() / "tests/data/policies/broken.json").string();
  const auto compiled = compile_policy_bundle(file, file_reader());
  const auto& d = compiled.diagnostics;
  EXPECT_EQ(compiled.bundle, nullptr);
  for (const auto& diagnostic : d) EXPECT_EQ(diagnostic.file, file);

  // The schema's findings come first, in document order.
  ASSERT_GE(d.size(), 3u) << all(d);
  EXPECT_EQ(d[0].pointer, "/colour");
  EXPECT_THAT(d[0].message, HasSubstr("unknown member 'colour'"));
  EXPECT_EQ(d[1].pointer, "/rules/8/id");
  EXPECT_THAT(d[1].message, HasSubstr("expected a string matching ^[a-z0-9][a-z0-9.-]*$"));
  EXPECT_EQ(d[2].pointer, "/rules/8/effect");
  EXPECT_THAT(d[2].message, HasSubstr(R"(expected one of "permit", "deny")"));

  const std::vector<std::pair<std::string, std::string>> expected = {
      {"/jurisdictions/1/countries/0",
       R"(expected an assigned ISO 3166-1 alpha-2 country code, got "UK" (the United Kingdom is GB))"},
      {"/jurisdictions/2/region", "the region is empty"},
      {"/jurisdictionSources/undetermined/country", R"(got "JP": no jurisdiction holds it)"},
      {"/rules/1", R"(unreachable: rule "eu-treat" (/rules/0) comes first)"},
      {"/rules/2/match/destination/0",
       R"(unknown jurisdiction "ATLANTIS" (expected one of: EU, SWISS, UKI))"},
      {"/rules/3/match/purposes/0", R"(expected an HL7 v3 PurposeOfUse code)"},
      {"/rules/4/match/condition", "FHIRPath does not compile: "},
      {"/rules/5/obligations", "obligations apply only to a permit"},
      {"/rules/6/match/resourceTypes/1", R"(expected a FHIR R4 resource type, got "Observations")"},
      {"/rules/7/id", R"(rule id "eu-treat" is used twice (first at /rules/0))"},
      {"/rules/9/obligations/redact/0", "FHIRPath does not compile: "},
      {"/rules/10/match/source/1", R"(unknown jurisdiction "MARS")"},
  };
  for (const auto& [pointer, message] : expected) {
    const auto messages = at(d, pointer);
    ASSERT_EQ(messages.size(), 1u) << pointer << "\n" << all(d);
    EXPECT_THAT(messages[0], HasSubstr(message)) << pointer;
  }
  // Nothing besides: the rules with errors take no part in the shadowing analysis, and the
  // malformed rule 8 gets no semantic checks.
  EXPECT_EQ(d.size(), 3 + expected.size()) << all(d);
  // FHIRPath errors say where in the expression.
  EXPECT_THAT(at(d, "/rules/4/match/condition")[0], HasSubstr("(at 1:40 of the expression)"));
}

TEST(PolicyCompilerTest, CompilesASmallBundleIntoTheModel) {
  const std::string text = R"j({
    "rules": [
      {"id": "eu-treat", "description": "EU patients, for treatment",
       "legalBasis": "GDPR Art. 9(2)(h)", "stages": ["grant", "read"],
       "match": {"source": ["EU"], "destination": ["EU", "EEA"], "purposes": ["TREAT", "BTG"],
                 "resourceTypes": ["Observation"], "consent": "required",
                 "securityLabels": ["http://terminology.hl7.org/CodeSystem/v3-ActCode|ETH"],
                 "confidentiality": ["R"], "condition": "Observation.status = 'final'"},
       "effect": "permit", "audit": true,
       "obligations": {"redact": ["Observation.note"], "pseudonymizeIdentifiers": true,
                       "requirePurpose": ["TREAT"], "maxDays": 30}}
    ],
    "id": "tiny", "combining": "first-applicable", "default": "permit",
    "defaultRegion": "default",
    "jurisdictions": [{"id": "EU", "name": "two", "countries": ["DE", "FR"], "region": "eu"},
                      {"id": "EEA", "countries": ["DE", "NO"]}],
    "jurisdictionSources": {"order": ["header", "patient-address"],
                            "sourceSystems": {"demo-ehr": "DE", "us-clinic": "US"},
                            "undetermined": {"country": "NO"}}
  })j";
  const auto compiled = compile_text(text);
  ASSERT_NE(compiled.bundle, nullptr) << all(compiled.diagnostics);
  const PolicyBundle& b = *compiled.bundle;
  EXPECT_EQ(b.id, "tiny");
  EXPECT_EQ(b.file, "bundle.json");
  EXPECT_EQ(b.combining, Combining::kFirstApplicable);
  EXPECT_EQ(b.default_effect, Effect::kPermit);
  ASSERT_EQ(b.jurisdictions.size(), 2u);
  const Jurisdiction* eu = b.find_jurisdiction("EU");
  ASSERT_NE(eu, nullptr);
  EXPECT_EQ(eu->name, "two");
  EXPECT_EQ(eu->region, "eu");
  EXPECT_EQ(eu->countries.count(), 2u);
  EXPECT_TRUE(eu->countries.test(*country_index("DE")));
  EXPECT_TRUE(eu->countries.test(*country_index("FR")));
  EXPECT_EQ(b.find_jurisdiction("US"), nullptr);

  // Residency: the first jurisdiction holding the country that has a region, else the default.
  EXPECT_EQ(b.region_for("DE"), "eu");
  EXPECT_EQ(b.region_for("NO"), "default");
  EXPECT_EQ(b.region_for("JP"), "default");
  EXPECT_EQ(b.region_for("de"), "default");
  EXPECT_EQ(b.country_of_source("us-clinic"), "US");
  EXPECT_EQ(b.country_of_source("demo-ehr"), "DE");
  EXPECT_EQ(b.country_of_source("unknown"), "");
  EXPECT_EQ(b.jurisdiction.order,
            (std::vector<JurisdictionSource>{JurisdictionSource::kHeader,
                                             JurisdictionSource::kPatientAddress}));
  EXPECT_EQ(b.jurisdiction.undetermined_country, "NO");

  ASSERT_EQ(b.rules.size(), 1u);
  const Rule& r = b.rules[0];
  EXPECT_EQ(r.id, "eu-treat");
  EXPECT_EQ(r.pointer, "/rules/0");
  EXPECT_EQ(r.legal_basis, "GDPR Art. 9(2)(h)");
  EXPECT_EQ(r.effect, Effect::kPermit);
  EXPECT_TRUE(r.audit);
  EXPECT_EQ(r.match.stages,
            static_cast<std::uint8_t>(Stage::kGrant) | static_cast<std::uint8_t>(Stage::kRead));
  ASSERT_TRUE(r.match.source && r.match.destination);
  EXPECT_EQ(*r.match.source, eu->countries);
  EXPECT_EQ(r.match.destination->count(), 3u);  // DE, FR, NO
  EXPECT_EQ(r.match.source_ids, std::vector<std::string>{"EU"});
  EXPECT_EQ(r.match.destination_ids, (std::vector<std::string>{"EU", "EEA"}));
  EXPECT_EQ(r.match.purposes, (std::vector<std::string>{"TREAT", "BTG"}));
  EXPECT_EQ(r.match.resource_types, std::vector<std::string>{"Observation"});
  EXPECT_EQ(r.match.consent, ConsentMatch::kRequired);
  ASSERT_EQ(r.match.security_labels.size(), 1u);
  EXPECT_EQ(r.match.security_labels[0],
            (Coding{"http://terminology.hl7.org/CodeSystem/v3-ActCode", "ETH"}));
  EXPECT_EQ(r.match.confidentiality, std::vector<std::string>{"R"});
  ASSERT_TRUE(r.match.condition);
  EXPECT_EQ(r.match.condition->text(), "Observation.status = 'final'");
  EXPECT_EQ(r.obligations.redact_text, std::vector<std::string>{"Observation.note"});
  ASSERT_EQ(r.obligations.redact.size(), 1u);
  EXPECT_TRUE(r.obligations.pseudonymize_identifiers);
  EXPECT_EQ(r.obligations.require_purpose, std::vector<std::string>{"TREAT"});
  EXPECT_EQ(r.obligations.max_days, 30u);
}

TEST(PolicyCompilerTest, DefaultsWhatTheFileLeavesOut) {
  const auto compiled =
      compile_text(bundle_with("deny-overrides", R"j([{"id": "a", "effect": "deny"}])j"));
  ASSERT_NE(compiled.bundle, nullptr) << all(compiled.diagnostics);
  const PolicyBundle& b = *compiled.bundle;
  EXPECT_EQ(b.combining, Combining::kDenyOverrides);
  EXPECT_EQ(b.default_region, "");
  EXPECT_EQ(b.jurisdiction.order.size(), 4u);
  EXPECT_EQ(b.jurisdiction.undetermined_country, "");
  EXPECT_EQ(b.jurisdiction.undetermined_effect, Effect::kDeny);
  EXPECT_EQ(b.rules[0].match.stages, 7);
  EXPECT_FALSE(b.rules[0].match.source);
  EXPECT_EQ(b.rules[0].match.consent, ConsentMatch::kAny);
  EXPECT_TRUE(b.rules[0].obligations.empty());
}

TEST(PolicyCompilerTest, HashIsSha256OfTheCanonicalJson) {
  // Members out of order and spaced; "jurisdictionSources" sorts before "jurisdictions" ('S' is
  // 0x53, 's' is 0x73).
  const std::string text =
      R"({ "rules": [ {"match": {"source": ["EU"]}, "id": "r", "effect": "permit"} ],
    "id": "tiny", "default": "deny", "combining": "deny-overrides",
    "jurisdictions": [ {"region": "eu", "id": "EU", "countries": ["DE"]} ],
    "jurisdictionSources": {"undetermined": {"effect": "deny"}} })";
  const std::string canonical =
      R"({"combining":"deny-overrides","default":"deny","id":"tiny",)"
      R"("jurisdictionSources":{"undetermined":{"effect":"deny"}},)"
      R"("jurisdictions":[{"countries":["DE"],"id":"EU","region":"eu"}],)"
      R"("rules":[{"effect":"permit","id":"r","match":{"source":["EU"]}}]})";
  // OpenSSL's one-shot SHA-256, not the gateway's crypto::sha256 the compiler uses.
  std::array<unsigned char, SHA256_DIGEST_LENGTH> expected{};
  SHA256(reinterpret_cast<const unsigned char*>(canonical.data()), canonical.size(),
         expected.data());

  const auto compiled = compile_text(text);
  ASSERT_NE(compiled.bundle, nullptr) << all(compiled.diagnostics);
  EXPECT_TRUE(std::equal(expected.begin(), expected.end(), compiled.bundle->hash.begin()));

  // Any change of content changes the hash; white space does not.
  const auto spaced = compile_text(text + "\n\n");
  ASSERT_NE(spaced.bundle, nullptr);
  EXPECT_EQ(spaced.bundle->hash, compiled.bundle->hash);
  std::string changed = text;
  changed.replace(changed.find("\"DE\""), 4, "\"FR\"");
  const auto other = compile_text(changed);
  ASSERT_NE(other.bundle, nullptr);
  EXPECT_NE(other.bundle->hash, compiled.bundle->hash);
}

TEST(PolicyCompilerTest, FirstApplicableReportsARuleAnEarlierSupersetShadows) {
  const auto compiled = compile_text(bundle_with("first-applicable", R"j([
    {"id": "eu-any", "stages": ["read", "grant"], "match": {"source": ["EU", "US"]}, "effect": "deny"},
    {"id": "eu-obs", "stages": ["read"],
     "match": {"source": ["EU"], "resourceTypes": ["Observation"], "purposes": ["TREAT"],
               "consent": "required", "confidentiality": ["R"]},
     "effect": "permit"}])j"));
  EXPECT_EQ(compiled.bundle, nullptr);
  ASSERT_EQ(compiled.diagnostics.size(), 1u) << all(compiled.diagnostics);
  EXPECT_EQ(compiled.diagnostics[0].pointer, "/rules/1");
  EXPECT_THAT(compiled.diagnostics[0].message,
              HasSubstr(R"(unreachable: rule "eu-any" (/rules/0) comes first)"));
}

// A rule matching on every dimension, with one member of its match (or "stages") replaced by
// `value`, a JSON text; an empty `value` drops the member.
std::string rule_varying(const std::string& id, const std::string& name, const std::string& value) {
  const std::vector<std::pair<std::string, std::string>> members = {
      {"source", R"(["EU"])"},
      {"destination", R"(["EU"])"},
      {"resourceTypes", R"(["Observation"])"},
      {"purposes", R"(["TREAT"])"},
      {"securityLabels", R"(["s|ETH"])"},
      {"confidentiality", R"(["R"])"},
      {"consent", R"("required")"},
      {"condition", R"("status = 'final'")"},
  };
  std::string match;
  for (const auto& [member, text] : members) {
    const std::string& json = member == name ? value : text;
    if (json.empty()) continue;
    match += (match.empty() ? "" : ", ") + ("\"" + member + "\": ") + json;
  }
  const std::string stages = name == "stages" ? value : R"(["read"])";
  return R"({"id": ")" + id + R"(", "stages": )" + stages + R"(, "match": {)" + match +
         R"(}, "effect": "permit"})";
}

TEST(PolicyCompilerTest, FirstApplicableKeepsRulesThatAreNotCoveredOnEveryDimension) {
  // Each later rule escapes the first one on exactly one dimension.
  const std::vector<std::pair<std::string, std::string>> escapes = {
      {"stages", R"(["read", "ingest"])"},
      {"source", R"(["US"])"},
      {"destination", ""},
      {"resourceTypes", R"(["Observation", "Patient"])"},
      {"purposes", R"(["ETREAT"])"},
      {"securityLabels", R"(["s|PSY"])"},
      {"confidentiality", R"(["V"])"},
      {"consent", R"("any")"},
      {"condition", R"("status = 'amended'")"},
      {"condition", ""},
  };
  std::string rules = "[" + rule_varying("first", "", "");
  for (std::size_t i = 0; i < escapes.size(); ++i) {
    rules +=
        ", " + rule_varying("escape-" + std::to_string(i + 1), escapes[i].first, escapes[i].second);
  }
  rules += ", " + rule_varying("same", "", "") + "]";
  const auto compiled = compile_text(bundle_with("first-applicable", rules));
  // Only the last, identical on every dimension (the same condition text), is unreachable.
  ASSERT_EQ(compiled.diagnostics.size(), 1u) << all(compiled.diagnostics);
  EXPECT_EQ(compiled.diagnostics[0].pointer, "/rules/11");
  EXPECT_THAT(compiled.diagnostics[0].message, HasSubstr(R"(rule "first" (/rules/0))"));
}

TEST(PolicyCompilerTest, DenyOverridesReportsAPermitThatADenyAnywhereCovers) {
  const auto compiled = compile_text(bundle_with("deny-overrides", R"j([
    {"id": "eu-treat", "match": {"source": ["EU"], "purposes": ["TREAT"]}, "effect": "permit"},
    {"id": "eu-obs", "match": {"source": ["EU"], "resourceTypes": ["Observation"]}, "effect": "permit"},
    {"id": "no-eu", "match": {"source": ["EU"]}, "effect": "deny"}])j"));
  ASSERT_EQ(compiled.diagnostics.size(), 2u) << all(compiled.diagnostics);
  EXPECT_EQ(compiled.diagnostics[0].pointer, "/rules/0");
  EXPECT_THAT(compiled.diagnostics[0].message,
              HasSubstr(R"(unreachable: deny rule "no-eu" (/rules/2) matches everything)"));
  EXPECT_EQ(compiled.diagnostics[1].pointer, "/rules/1");
}

TEST(PolicyCompilerTest, DenyOverridesKeepsAPermitTheDenyDoesNotCover) {
  // A condition on the deny narrows it; two permits never shadow each other; a deny is never
  // reported for a later deny.
  const auto compiled = compile_text(bundle_with("deny-overrides", R"j([
    {"id": "eu-treat", "match": {"source": ["EU"], "purposes": ["TREAT"]}, "effect": "permit"},
    {"id": "eu-any", "match": {"source": ["EU"]}, "effect": "permit"},
    {"id": "eu-sensitive", "match": {"source": ["EU"], "condition": "meta.security.exists()"},
     "effect": "deny"},
    {"id": "us", "match": {"source": ["US"]}, "effect": "deny"},
    {"id": "us-obs", "match": {"source": ["US"], "resourceTypes": ["Observation"]},
     "effect": "deny"}])j"));
  EXPECT_NE(compiled.bundle, nullptr) << all(compiled.diagnostics);
}

TEST(PolicyCompilerTest, AConditionOnTheEarlierRuleMakesTheLaterOneReachable) {
  const auto compiled = compile_text(bundle_with("first-applicable", R"j([
    {"id": "final-only", "match": {"source": ["EU"], "condition": "status = 'final'"},
     "effect": "permit"},
    {"id": "eu", "match": {"source": ["EU"]}, "effect": "deny"}])j"));
  EXPECT_NE(compiled.bundle, nullptr) << all(compiled.diagnostics);
}

TEST(PolicyCompilerTest, ReportsWhatTheSchemaCannotSayAboutSources) {
  const std::string text = R"({"id": "t", "combining": "deny-overrides", "default": "deny",
    "jurisdictions": [{"id": "EU", "countries": ["DE"]}, {"id": "EU", "countries": ["XK"]}],
    "jurisdictionSources": {"order": ["header", "header"], "sourceSystems": {"a/b": "ZZ"},
                            "undetermined": {"effect": "deny", "country": "DE"}},
    "rules": []})";
  const auto d = compile_text(text).diagnostics;
  EXPECT_THAT(at(d, "/jurisdictions/1/id"), ::testing::ElementsAre(HasSubstr("used twice")));
  EXPECT_THAT(at(d, "/jurisdictions/1/countries/0"),
              ::testing::ElementsAre(HasSubstr(R"(got "XK")")));
  EXPECT_THAT(at(d, "/jurisdictionSources/order/1"),
              ::testing::ElementsAre(HasSubstr("listed twice")));
  EXPECT_THAT(at(d, "/jurisdictionSources/sourceSystems/a~1b"),
              ::testing::ElementsAre(HasSubstr(R"(got "ZZ")")));
  EXPECT_THAT(at(d, "/jurisdictionSources/undetermined"),
              ::testing::ElementsAre(HasSubstr("exactly one of")));
  EXPECT_EQ(d.size(), 5u) << all(d);
}

TEST(PolicyCompilerTest, ReportsFileAndJsonProblemsWithoutAPointer) {
  const auto missing = compile_policy_bundle("nowhere.json", memory({}));
  ASSERT_EQ(missing.diagnostics.size(), 1u);
  EXPECT_EQ(missing.diagnostics[0].file, "nowhere.json");
  EXPECT_THAT(missing.diagnostics[0].message, HasSubstr("cannot read the policy bundle"));
  const auto bad = compile_text("{\"id\": ");
  ASSERT_EQ(bad.diagnostics.size(), 1u);
  EXPECT_EQ(bad.diagnostics[0].pointer, "");
  EXPECT_THAT(bad.diagnostics[0].message, HasSubstr("not valid JSON at offset 7"));
}

// Codes from every branch of the R4 (4.0.1) expansion of v3-PurposeOfUse, down to its deepest
// (HTEST under SYSDEV, CLINTRCHNPC under CLINTRCH, BTG under ETREAT, MILDCRG under COVERAGE), and
// the three ActReason 4.0.0 (THO) added; refused: the notSelectable root, ActReason codes outside
// the set (the privacy reasons MARKT, OPERAT, SYSADMN and the override OVRER), the NHIN spellings
// and a v3 ActCode.
TEST(PolicyCompilerTest, KnowsThePurposeOfUseCodes) {
  for (const char* code :
       {"TREAT",       "ETREAT",   "BTG",      "ERTREAT",   "CLINTRL",    "COC",      "POPHLTH",
        "HPAYMT",      "CLMATTCH", "COVAUTH",  "COVERAGE",  "ELIGVER",    "MILDCRG",  "REMITADV",
        "HOPERAT",     "CAREMGT",  "HDM",      "HSYSADMIN", "LABELING",   "METAMGT",  "SYSDEV",
        "HTEST",       "TRAIN",    "MILCDM",   "HRESCH",    "BIORCH",     "CLINTRCH", "CLINTRCHNPC",
        "PRECLINTRCH", "DSRCH",    "TRANSRCH", "PUBHLTH",   "DISASTER",   "THREAT",   "PATRQT",
        "FAMRQT",      "PWATRNY",  "SUPNWK",   "HMARKT",    "MLTRAINING", "PMTDS",    "TREATDS"}) {
    EXPECT_TRUE(is_purpose_of_use(code)) << code;
  }
  for (const char* code : {"", "treat", "TREATMENT", "TRAINING", "PurposeOfUse", "_PurposeOfUse",
                           "MARKT", "OPERAT", "SYSADMN", "OVRER", "ETH", "mltraining", "TREAT "}) {
    EXPECT_FALSE(is_purpose_of_use(code)) << code;
  }
}

TEST(PolicyCompilerTest, CountryIndexTakesTwoUpperCaseLetters) {
  EXPECT_EQ(country_index("AA"), 0u);
  EXPECT_EQ(country_index("DE"), 3u * 26 + 4);
  EXPECT_EQ(country_index("ZZ"), 26u * 26 - 1);
  EXPECT_FALSE(country_index("de"));
  EXPECT_FALSE(country_index("D"));
  EXPECT_FALSE(country_index("DEU"));
  EXPECT_FALSE(country_index("D1"));
}

TEST(PolicyCompilerTest, MergedObligationsJoinRedactionsIntersectPurposesTakeTheShortestWindow) {
  const auto compiled = compile_text(bundle_with("deny-overrides", R"j([
    {"id": "a", "match": {"purposes": ["TREAT"]}, "effect": "permit",
     "obligations": {"redact": ["Patient.telecom"], "requirePurpose": ["TREAT"], "maxDays": 30}},
    {"id": "b", "match": {"purposes": ["ETREAT"]}, "effect": "permit",
     "obligations": {"redact": ["Patient.telecom", "Patient.address"],
                     "pseudonymizeIdentifiers": true, "requirePurpose": ["ETREAT"],
                     "maxDays": 7}}])j"));
  ASSERT_NE(compiled.bundle, nullptr) << all(compiled.diagnostics);
  Obligations merged = compiled.bundle->rules[0].obligations;
  merged.merge(compiled.bundle->rules[1].obligations);
  EXPECT_EQ(merged.redact_text, (std::vector<std::string>{"Patient.telecom", "Patient.address"}));
  EXPECT_EQ(merged.redact.size(), 2u);
  EXPECT_TRUE(merged.pseudonymize_identifiers);
  // Each permit's purpose requirement must hold: TREAT and ETREAT leave no purpose that does.
  EXPECT_TRUE(merged.require_purpose.empty());
  EXPECT_TRUE(merged.purpose_unsatisfiable);
  EXPECT_EQ(merged.max_days, 7u);
  EXPECT_FALSE(merged.empty());
}

}  // namespace
}  // namespace fl::gateway::policy
