#include "fl/gateway/policy/policy_engine.h"

#include "unit/gateway/policy/policy_test_support.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fl::gateway::policy {
namespace {

using Strings = std::vector<std::string>;

constexpr std::string_view kConfidentiality =
    "http://terminology.hl7.org/CodeSystem/v3-Confidentiality";
constexpr std::string_view kActCode = "http://terminology.hl7.org/CodeSystem/v3-ActCode";

CountrySet countries(std::initializer_list<std::string_view> codes) {
  CountrySet set;
  for (std::string_view code : codes) set.set(*country_index(code));
  return set;
}

using test::fhirpath;
using test::parse;

Jurisdiction jurisdiction(std::string id, CountrySet set, std::string region) {
  Jurisdiction j;
  j.id = std::move(id);
  j.name = j.id;
  j.countries = set;
  j.region = std::move(region);
  return j;
}

// EU (DE, FR, IE; stored in eu-west), EEA (the EU and NO; no region of its own), ADEQUATE (CH,
// JP; no region), US (us-east); anything else is stored in "global".
PolicyBundle bundle() {
  PolicyBundle b;
  b.id = "test-bundle";
  b.default_region = "global";
  b.jurisdictions.push_back(jurisdiction("EU", countries({"DE", "FR", "IE"}), "eu-west"));
  b.jurisdictions.push_back(jurisdiction("EEA", countries({"DE", "FR", "IE", "NO"}), ""));
  b.jurisdictions.push_back(jurisdiction("ADEQUATE", countries({"CH", "JP"}), ""));
  b.jurisdictions.push_back(jurisdiction("US", countries({"US"}), "us-east"));
  b.jurisdiction.order = {JurisdictionSource::kPatientAddress, JurisdictionSource::kPatientRecord,
                          JurisdictionSource::kHeader, JurisdictionSource::kSourceSystem};
  b.jurisdiction.source_countries = {{"demo-ehr", "FR"}};
  for (std::size_t i = 0; i < b.hash.size(); ++i) b.hash[i] = static_cast<std::uint8_t>(i);
  return b;
}

Rule rule(std::string id, Effect effect) {
  Rule r;
  r.id = std::move(id);
  r.effect = effect;
  r.legal_basis = "basis of " + r.id;
  return r;
}

void restrict_destination(Rule& r, const Strings& ids, const PolicyBundle& b) {
  CountrySet set;
  for (const std::string& id : ids) set |= b.find_jurisdiction(id)->countries;
  r.match.destination = set;
  r.match.destination_ids = ids;
}

void restrict_source(Rule& r, const Strings& ids, const PolicyBundle& b) {
  CountrySet set;
  for (const std::string& id : ids) set |= b.find_jurisdiction(id)->countries;
  r.match.source = set;
  r.match.source_ids = ids;
}

PolicyRequest read_request(std::string source, std::string destination, std::string purpose) {
  PolicyRequest request;
  request.stage = Stage::kRead;
  request.resource_type = "Observation";
  request.source_country = std::move(source);
  request.destination_country = std::move(destination);
  request.purpose = std::move(purpose);
  return request;
}

PolicyEngine engine_of(PolicyBundle b) {
  return PolicyEngine(std::make_shared<const PolicyBundle>(std::move(b)));
}

// An Observation whose meta.security holds these system|code pairs.
rapidjson::Document with_security(
    const std::vector<std::pair<std::string_view, std::string_view>>& labels) {
  std::string json = R"({"resourceType":"Observation","meta":{"security":[)";
  for (const auto& [system, code] : labels) {
    if (json.back() == '}') json += ',';
    json += R"({"system":")" + std::string(system) + R"(","code":")" + std::string(code) + "\"}";
  }
  return parse(json + "]}}");
}

// One rule, alone in a bundle: whether it applies to `request`, and its trace.
RuleTrace trace_of(const Rule& r, const PolicyRequest& request) {
  PolicyBundle b = bundle();
  b.rules.push_back(r);
  const PolicyDecision d = engine_of(std::move(b)).evaluate(request, true);
  EXPECT_EQ(d.trace.size(), 1u);
  return d.trace.empty() ? RuleTrace{} : d.trace[0];
}

// Checks whether `r` applies to `request` and the words its trace gives.
void expect_trace(const Rule& r, const PolicyRequest& request, bool applicable,
                  const Strings& reasons) {
  const RuleTrace t = trace_of(r, request);
  EXPECT_EQ(t.applicable, applicable)
      << request.source_country << " -> " << request.destination_country;
  EXPECT_EQ(t.reasons, reasons);
}

// --- combining ---------------------------------------------------------------------------------

TEST(PolicyEngineCombining, DenyOverridesADenyBeatsEveryPermit) {
  PolicyBundle b = bundle();
  b.rules.push_back(rule("permit-all", Effect::kPermit));
  b.rules.back().obligations.max_days = 30;
  b.rules.push_back(rule("deny-us", Effect::kDeny));
  restrict_destination(b.rules.back(), {"US"}, b);
  b.rules.push_back(rule("deny-hmarkt", Effect::kDeny));
  b.rules.back().match.purposes = {"HMARKT"};
  b.rules.push_back(rule("deny-other", Effect::kDeny));
  b.rules.back().match.purposes = {"ETREAT"};
  const PolicyEngine engine = engine_of(std::move(b));

  const PolicyDecision d = engine.evaluate(read_request("DE", "US", "HMARKT"));

  EXPECT_EQ(d.effect, Effect::kDeny);
  EXPECT_EQ(d.rule_ids, (Strings{"deny-us", "deny-hmarkt"}));
  EXPECT_FALSE(d.by_default);
  EXPECT_TRUE(d.obligations.empty());
  EXPECT_TRUE(d.trace.empty());
  EXPECT_EQ(d.policy_hash, engine.bundle().hash);
}

TEST(PolicyEngineCombining, DenyOverridesPermitsDecideTogetherWithMergedObligations) {
  PolicyBundle b = bundle();
  b.rules.push_back(rule("permit-eu", Effect::kPermit));
  restrict_destination(b.rules.back(), {"EU"}, b);
  b.rules.back().obligations.max_days = 30;
  b.rules.back().obligations.redact.push_back(fhirpath("Observation.note"));
  b.rules.back().obligations.redact_text.push_back("Observation.note");
  b.rules.push_back(rule("deny-us", Effect::kDeny));
  restrict_destination(b.rules.back(), {"US"}, b);
  b.rules.push_back(rule("permit-treat", Effect::kPermit));
  b.rules.back().match.purposes = {"TREAT"};
  b.rules.back().obligations.max_days = 7;
  b.rules.back().obligations.pseudonymize_identifiers = true;
  b.rules.back().audit = true;
  const PolicyEngine engine = engine_of(std::move(b));

  const PolicyDecision d = engine.evaluate(read_request("DE", "FR", "TREAT"));

  EXPECT_EQ(d.effect, Effect::kPermit);
  EXPECT_EQ(d.rule_ids, (Strings{"permit-eu", "permit-treat"}));
  EXPECT_EQ(d.obligations.max_days, 7u);
  EXPECT_EQ(d.obligations.redact_text, (Strings{"Observation.note"}));
  EXPECT_EQ(d.obligations.redact.size(), 1u);
  EXPECT_TRUE(d.obligations.pseudonymize_identifiers);
  EXPECT_TRUE(d.audit);
  EXPECT_FALSE(d.by_default);
}

TEST(PolicyEngineCombining, OnePermitDecidesWithItsOwnObligations) {
  PolicyBundle b = bundle();
  b.rules.push_back(rule("permit-treat", Effect::kPermit));
  b.rules.back().match.purposes = {"TREAT"};
  b.rules.back().obligations.require_purpose = {"TREAT"};
  const PolicyEngine engine = engine_of(std::move(b));

  const PolicyDecision d = engine.evaluate(read_request("DE", "FR", "TREAT"));

  EXPECT_EQ(d.effect, Effect::kPermit);
  EXPECT_EQ(d.rule_ids, (Strings{"permit-treat"}));
  EXPECT_EQ(d.obligations.require_purpose, (Strings{"TREAT"}));
  EXPECT_FALSE(d.obligations.max_days.has_value());
  EXPECT_FALSE(d.audit);
}

TEST(PolicyEngineCombining, TheDefaultEffectDecidesWhenNoRuleApplies) {
  PolicyBundle b = bundle();
  b.default_effect = Effect::kPermit;
  b.rules.push_back(rule("deny-us", Effect::kDeny));
  restrict_destination(b.rules.back(), {"US"}, b);
  const PolicyEngine engine = engine_of(std::move(b));

  const PolicyDecision d = engine.evaluate(read_request("DE", "FR", "TREAT"));

  EXPECT_EQ(d.effect, Effect::kPermit);
  EXPECT_TRUE(d.by_default);
  EXPECT_TRUE(d.rule_ids.empty());
  EXPECT_TRUE(d.obligations.empty());
}

TEST(PolicyEngineCombining, FirstApplicableTheFirstRuleInOrderDecidesAlone) {
  PolicyBundle b = bundle();
  b.combining = Combining::kFirstApplicable;
  b.rules.push_back(rule("deny-hmarkt", Effect::kDeny));
  b.rules.back().match.purposes = {"HMARKT"};
  b.rules.push_back(rule("permit-eu", Effect::kPermit));
  restrict_destination(b.rules.back(), {"EU"}, b);
  b.rules.back().obligations.max_days = 30;
  b.rules.push_back(rule("deny-all", Effect::kDeny));
  b.rules.push_back(rule("permit-all", Effect::kPermit));
  b.rules.back().obligations.max_days = 1;
  const PolicyEngine engine = engine_of(std::move(b));

  const PolicyDecision eu = engine.evaluate(read_request("DE", "FR", "TREAT"));
  EXPECT_EQ(eu.effect, Effect::kPermit);
  EXPECT_EQ(eu.rule_ids, (Strings{"permit-eu"}));
  EXPECT_EQ(eu.obligations.max_days, 30u);

  const PolicyDecision us = engine.evaluate(read_request("DE", "US", "TREAT"));
  EXPECT_EQ(us.effect, Effect::kDeny);
  EXPECT_EQ(us.rule_ids, (Strings{"deny-all"}));

  const PolicyDecision marketing = engine.evaluate(read_request("DE", "FR", "HMARKT"), true);
  EXPECT_EQ(marketing.effect, Effect::kDeny);
  EXPECT_EQ(marketing.rule_ids, (Strings{"deny-hmarkt"}));
  // The trace still covers every rule, though only the first decided.
  ASSERT_EQ(marketing.trace.size(), 4u);
  EXPECT_TRUE(marketing.trace[1].applicable);
}

// --- match dimensions --------------------------------------------------------------------------

TEST(PolicyEngineMatch, Stage) {
  Rule r = rule("ingest-only", Effect::kPermit);
  r.match.stages = static_cast<std::uint8_t>(Stage::kIngest);
  PolicyRequest request = read_request("DE", "FR", "TREAT");
  expect_trace(r, request, false, {"not evaluated at read"});

  request.stage = Stage::kIngest;
  EXPECT_TRUE(trace_of(r, request).applicable);
}

TEST(PolicyEngineMatch, SourceJurisdiction) {
  PolicyBundle b = bundle();
  Rule r = rule("from-eu", Effect::kPermit);
  restrict_source(r, {"EU"}, b);

  expect_trace(r, read_request("DE", "US", "TREAT"), true, {"source DE is in EU"});

  expect_trace(r, read_request("US", "US", "TREAT"), false, {"source US is in none of EU"});
}

TEST(PolicyEngineMatch, DestinationJurisdiction) {
  PolicyBundle b = bundle();
  Rule r = rule("to-eea", Effect::kPermit);
  restrict_destination(r, {"EU", "EEA"}, b);

  expect_trace(r, read_request("DE", "NO", "TREAT"), true, {"destination NO is in EEA"});

  const RuleTrace fr = trace_of(r, read_request("DE", "FR", "TREAT"));
  EXPECT_EQ(fr.reasons, (Strings{"destination FR is in EU, EEA"}));

  expect_trace(r, read_request("DE", "US", "TREAT"), false,
               {"destination US is in none of EU, EEA"});
}

TEST(PolicyEngineMatch, ADimensionTheRequestLacksNeverMatches) {
  PolicyBundle b = bundle();
  Rule r = rule("to-eu", Effect::kPermit);
  restrict_destination(r, {"EU"}, b);
  PolicyRequest ingest = read_request("DE", "", "");
  ingest.stage = Stage::kIngest;

  expect_trace(r, ingest, false,
               {"the request names no destination country (the rule needs one in EU)"});

  Rule p = rule("treat", Effect::kPermit);
  p.match.purposes = {"TREAT"};
  expect_trace(p, read_request("DE", "FR", ""), false,
               {"the request states no purpose (the rule needs one of TREAT)"});
}

TEST(PolicyEngineMatch, ResourceType) {
  Rule r = rule("labs", Effect::kPermit);
  r.match.resource_types = {"Observation", "DiagnosticReport"};
  PolicyRequest request = read_request("DE", "FR", "TREAT");

  expect_trace(r, request, true,
               {"resource type Observation is one of Observation, DiagnosticReport"});

  request.resource_type = "Patient";
  expect_trace(r, request, false,
               {"resource type Patient is none of Observation, DiagnosticReport"});

  // Without a stated type, the resource's own resourceType counts.
  const rapidjson::Document resource = parse(R"({"resourceType":"DiagnosticReport"})");
  request.resource_type.clear();
  request.resource = &resource;
  EXPECT_TRUE(trace_of(r, request).applicable);

  request.resource = nullptr;
  EXPECT_FALSE(trace_of(r, request).applicable);
}

TEST(PolicyEngineMatch, PurposeOfUse) {
  Rule r = rule("treatment", Effect::kPermit);
  r.match.purposes = {"TREAT", "ETREAT"};

  expect_trace(r, read_request("DE", "FR", "TREAT"), true,
               {"purpose TREAT is one of TREAT, ETREAT"});

  expect_trace(r, read_request("DE", "FR", "HMARKT"), false,
               {"purpose HMARKT is none of TREAT, ETREAT"});
}

TEST(PolicyEngineMatch, SecurityLabels) {
  Rule r = rule("sensitive", Effect::kDeny);
  r.match.security_labels = {{std::string(kActCode), "ETH"}, {std::string(kActCode), "PSY"}};
  const rapidjson::Document labelled = with_security({{kConfidentiality, "R"}, {kActCode, "PSY"}});
  const rapidjson::Document other_system = with_security({{"http://example.org/labels", "PSY"}});
  PolicyRequest request = read_request("DE", "FR", "TREAT");

  request.resource = &labelled;
  expect_trace(r, request, true,
               {"security label http://terminology.hl7.org/CodeSystem/v3-ActCode|PSY is "
                "present"});

  request.resource = &other_system;
  expect_trace(r, request, false,
               {"none of the security labels "
                "http://terminology.hl7.org/CodeSystem/v3-ActCode|ETH, "
                "http://terminology.hl7.org/CodeSystem/v3-ActCode|PSY is present"});

  request.resource = nullptr;
  EXPECT_FALSE(trace_of(r, request).applicable);
}

TEST(PolicyEngineMatch, SecurityLabelsBeyondTheInlineCapacityAreStillSeen) {
  Rule r = rule("sensitive", Effect::kDeny);
  r.match.security_labels = {{std::string(kActCode), "ETH"}};
  std::vector<std::pair<std::string_view, std::string_view>> labels(20,
                                                                    {"http://example.org", "x"});
  labels.emplace_back(kActCode, "ETH");
  const rapidjson::Document resource = with_security(labels);
  PolicyRequest request = read_request("DE", "FR", "TREAT");
  request.resource = &resource;

  EXPECT_TRUE(trace_of(r, request).applicable);
}

TEST(PolicyEngineMatch, Confidentiality) {
  Rule r = rule("restricted", Effect::kDeny);
  r.match.confidentiality = {"R", "V"};
  const rapidjson::Document restricted = with_security({{kConfidentiality, "R"}});
  const rapidjson::Document normal = with_security({{kConfidentiality, "N"}});
  const rapidjson::Document wrong_system =
      with_security({{"http://example.org/confidentiality", "R"}});
  PolicyRequest request = read_request("DE", "FR", "TREAT");

  request.resource = &restricted;
  expect_trace(r, request, true, {"confidentiality R is one of R, V"});

  request.resource = &normal;
  expect_trace(r, request, false, {"confidentiality N is none of R, V"});

  request.resource = &wrong_system;
  expect_trace(r, request, false,
               {"the resource has no confidentiality code (the rule needs one of R, V)"});
}

TEST(PolicyEngineMatch, ConsentRequiredAndAbsent) {
  Rule required = rule("with-consent", Effect::kPermit);
  required.match.consent = ConsentMatch::kRequired;
  Rule absent = rule("without-consent", Effect::kDeny);
  absent.match.consent = ConsentMatch::kAbsent;
  PolicyRequest request = read_request("DE", "US", "TREAT");

  request.consent = true;
  expect_trace(required, request, true, {"an active consent for this purpose and participant"});
  EXPECT_FALSE(trace_of(absent, request).applicable);

  request.consent = false;
  expect_trace(required, request, false, {"no active consent for this purpose and participant"});
  expect_trace(absent, request, true,
               {"no active consent for this purpose and participant (the rule "
                "applies only without one)"});
}

TEST(PolicyEngineMatch, FhirPathCondition) {
  constexpr std::string_view kCondition =
      "code.coding.where(system='http://loinc.org').code = '1234-5'";
  Rule r = rule("sensitive-lab", Effect::kDeny);
  r.match.condition = fhirpath(kCondition);
  const rapidjson::Document sensitive = parse(
      R"({"resourceType":"Observation","code":{"coding":[{"system":"http://loinc.org","code":"1234-5"}]}})");
  const rapidjson::Document other = parse(
      R"({"resourceType":"Observation","code":{"coding":[{"system":"http://loinc.org","code":"9999-9"}]}})");
  PolicyRequest request = read_request("DE", "FR", "TREAT");

  request.resource = &sensitive;
  expect_trace(r, request, true, {"condition `" + std::string(kCondition) + "` is true"});

  request.resource = &other;
  expect_trace(r, request, false, {"condition `" + std::string(kCondition) + "` is false"});

  request.resource = nullptr;
  EXPECT_FALSE(trace_of(r, request).applicable);
}

TEST(PolicyEngineMatch, AConditionThatCannotBeJudgedAppliesToADenyNotToAPermit) {
  // Fails closed: malformed input must not slip past a deny rule's condition.
  const rapidjson::Document two_codes =
      parse(R"({"resourceType":"Observation","code":{"coding":[{"code":"1"},{"code":"2"}]}})");
  PolicyRequest request = read_request("DE", "FR", "TREAT");
  request.resource = &two_codes;
  for (const char* condition : {"code.coding.code.startsWith('1')", "code.coding.code"}) {
    Rule deny = rule("one-code", Effect::kDeny);
    deny.match.condition = fhirpath(condition);
    Rule permit = rule("one-code", Effect::kPermit);
    permit.match.condition = fhirpath(condition);

    const RuleTrace denied = trace_of(deny, request);
    const RuleTrace permitted = trace_of(permit, request);

    EXPECT_TRUE(denied.applicable) << condition;
    ASSERT_EQ(denied.reasons.size(), 1u);
    EXPECT_TRUE(
        denied.reasons[0].ends_with("; a deny rule applies when its condition cannot be judged"))
        << denied.reasons[0];
    EXPECT_FALSE(permitted.applicable) << condition;
  }
  Rule deny = rule("one-code", Effect::kDeny);
  deny.match.condition = fhirpath("code.coding.code.startsWith('1')");
  const RuleTrace t = trace_of(deny, request);
  EXPECT_TRUE(t.reasons[0].starts_with(
      "condition `code.coding.code.startsWith('1')` could not be evaluated: "))
      << t.reasons[0];
  // No value is not an error: the rule does not apply.
  deny.match.condition = fhirpath("code.text = 'x'");
  EXPECT_FALSE(trace_of(deny, request).applicable);
}

TEST(PolicyEngineResidency, ASourceThatIsNoAssignedCountryCodeIsUndetermined) {
  PolicyBundle b = bundle();
  b.rules.push_back(rule("permit-all", Effect::kPermit));
  const PolicyEngine engine = engine_of(std::move(b));
  // Lower case and alpha-3 codes are countries ("de", "DEU"); these are not.
  for (const char* source : {"UK", "EU", "D", "XKX", "Germany"}) {
    PolicyRequest request;
    request.stage = Stage::kIngest;
    request.source_country = source;
    const PolicyDecision d = engine.evaluate(request);
    EXPECT_EQ(d.effect, Effect::kDeny) << source;
    EXPECT_EQ(d.rule_ids, (Strings{"undetermined-jurisdiction"})) << source;
  }
}

TEST(PolicyEngineMatch, TheTraceListsEveryConstrainedDimension) {
  PolicyBundle b = bundle();
  Rule r = rule("eu-treatment", Effect::kPermit);
  restrict_destination(r, {"EU", "EEA"}, b);
  r.match.purposes = {"TREAT", "ETREAT"};
  r.match.consent = ConsentMatch::kRequired;

  const RuleTrace t = trace_of(r, read_request("DE", "US", "TREAT"));

  EXPECT_FALSE(t.applicable);
  EXPECT_EQ(t.rule_id, "eu-treatment");
  EXPECT_EQ(t.reasons, (Strings{"destination US is in none of EU, EEA",
                                "purpose TREAT is one of TREAT, ETREAT",
                                "no active consent for this purpose and participant"}));
}

// --- jurisdiction and residency ----------------------------------------------------------------

TEST(PolicyEngineResidency, AtIngestAPermitIsStoredInTheSourceJurisdictionsRegion) {
  PolicyBundle b = bundle();
  b.rules.push_back(rule("store", Effect::kPermit));
  b.rules.back().match.stages = static_cast<std::uint8_t>(Stage::kIngest);
  const PolicyEngine engine = engine_of(std::move(b));
  PolicyRequest request;
  request.stage = Stage::kIngest;
  request.resource_type = "Observation";

  request.source_country = "DE";
  EXPECT_EQ(engine.evaluate(request).region, "eu-west");
  request.source_country = "NO";  // EEA has no region; nothing else holds NO
  EXPECT_EQ(engine.evaluate(request).region, "global");
  request.source_country = "US";
  EXPECT_EQ(engine.evaluate(request).region, "us-east");

  // No region outside ingest.
  PolicyRequest read = read_request("DE", "FR", "TREAT");
  EXPECT_EQ(engine.evaluate(read).region, "");
}

TEST(PolicyEngineResidency, ADeniedIngestHasNoRegion) {
  PolicyBundle b = bundle();
  b.rules.push_back(rule("deny-us", Effect::kDeny));
  restrict_source(b.rules.back(), {"US"}, b);
  const PolicyEngine engine = engine_of(std::move(b));
  PolicyRequest request;
  request.stage = Stage::kIngest;
  request.source_country = "US";

  const PolicyDecision d = engine.evaluate(request);

  EXPECT_EQ(d.effect, Effect::kDeny);
  EXPECT_EQ(d.rule_ids, (Strings{"deny-us"}));
  EXPECT_EQ(d.region, "");
}

TEST(PolicyEngineResidency, AnUndeterminedJurisdictionDecidesByTheConfiguredEffect) {
  PolicyBundle b = bundle();
  b.rules.push_back(rule("permit-all", Effect::kPermit));
  b.jurisdiction.undetermined_effect = Effect::kDeny;
  PolicyBundle permitting = b;
  permitting.jurisdiction.undetermined_effect = Effect::kPermit;
  PolicyRequest request;
  request.stage = Stage::kIngest;
  request.source_country = "";

  const PolicyDecision denied = engine_of(std::move(b)).evaluate(request, true);
  EXPECT_EQ(denied.effect, Effect::kDeny);
  EXPECT_EQ(denied.rule_ids, (Strings{"undetermined-jurisdiction"}));
  EXPECT_FALSE(denied.by_default);
  EXPECT_EQ(denied.region, "");
  ASSERT_EQ(denied.trace.size(), 1u);
  EXPECT_FALSE(denied.trace[0].applicable);

  const PolicyDecision permitted = engine_of(std::move(permitting)).evaluate(request);
  EXPECT_EQ(permitted.effect, Effect::kPermit);
  EXPECT_EQ(permitted.rule_ids, (Strings{"undetermined-jurisdiction"}));
  EXPECT_EQ(permitted.region, "global");
}

TEST(ResolveJurisdiction, FollowsTheBundlesOrderAndSkipsWhatIsNotACountryCode) {
  const PolicyBundle b = bundle();
  JurisdictionFacts facts;
  facts.patient_address_country = "Germany";  // a name, not a code: not guessed
  facts.recorded_country = "IE";
  facts.header_country = "US";
  facts.source_system = "demo-ehr";
  std::string from;

  EXPECT_EQ(resolve_jurisdiction(b, facts, &from), "IE");
  EXPECT_EQ(from, "patient-record");

  facts.patient_address_country = "DE";
  EXPECT_EQ(resolve_jurisdiction(b, facts, &from), "DE");
  EXPECT_EQ(from, "patient-address");

  facts.patient_address_country.clear();
  facts.recorded_country.clear();
  EXPECT_EQ(resolve_jurisdiction(b, facts, &from), "US");
  EXPECT_EQ(from, "header");

  facts.header_country.clear();
  EXPECT_EQ(resolve_jurisdiction(b, facts, &from), "FR");
  EXPECT_EQ(from, "source-system");

  PolicyBundle header_first = bundle();
  header_first.jurisdiction.order = {JurisdictionSource::kHeader,
                                     JurisdictionSource::kPatientAddress};
  facts.header_country = "JP";
  facts.patient_address_country = "DE";
  EXPECT_EQ(resolve_jurisdiction(header_first, facts, &from), "JP");
  EXPECT_EQ(from, "header");
}

TEST(ResolveJurisdiction, AssumesTheConfiguredCountryElseIsUndetermined) {
  PolicyBundle b = bundle();
  JurisdictionFacts facts;
  facts.source_system = "unknown-ehr";
  std::string from;

  EXPECT_EQ(resolve_jurisdiction(b, facts, &from), "");
  EXPECT_EQ(from, "undetermined");

  b.jurisdiction.undetermined_country = "IE";
  EXPECT_EQ(resolve_jurisdiction(b, facts, &from), "IE");
  EXPECT_EQ(from, "assumed");

  // The assumed country is then decided like any other, and stored in its region.
  b.rules.push_back(rule("store", Effect::kPermit));
  PolicyRequest request;
  request.stage = Stage::kIngest;
  request.source_country = resolve_jurisdiction(b, facts);
  const PolicyDecision d = engine_of(std::move(b)).evaluate(request);
  EXPECT_EQ(d.rule_ids, (Strings{"store"}));
  EXPECT_EQ(d.region, "eu-west");
}

TEST(PatientAddressCountry, TheFirstAddressThatNamesACountryCode) {
  const rapidjson::Document patient = parse(
      R"({"resourceType":"Patient","address":[{"city":"Boston"},{"country":"Germany"},
          {"country":"DE"},{"country":"FR"}]})");
  const rapidjson::Document none =
      parse(R"({"resourceType":"Patient","address":[{"country":"United States"}]})");
  // Alpha-3 codes (FHIR R4 allows them), in any case, are read as their alpha-2 code.
  const rapidjson::Document alpha3 =
      parse(R"({"resourceType":"Patient","address":[{"country":"Nederland"},{"country":"nld"}]})");
  // "UK" has the shape of a code but is not an assigned one (the United Kingdom is GB).
  const rapidjson::Document uk =
      parse(R"({"resourceType":"Patient","address":[{"country":"UK"},{"country":"GB"}]})");

  EXPECT_EQ(patient_address_country(patient), "DE");
  EXPECT_EQ(patient_address_country(none), "");
  EXPECT_EQ(patient_address_country(uk), "GB");
  EXPECT_EQ(patient_address_country(alpha3), "NL");
}

TEST(ResolveJurisdiction, ReadsAlpha3AndLowerCaseCodesAsAlpha2) {
  const PolicyBundle b = bundle();
  JurisdictionFacts facts;
  facts.recorded_country = "irl";
  facts.header_country = "USA";
  std::string from;

  EXPECT_EQ(resolve_jurisdiction(b, facts, &from), "IE");
  EXPECT_EQ(from, "patient-record");

  facts.recorded_country = "XKX";  // not assigned: the next source answers
  EXPECT_EQ(resolve_jurisdiction(b, facts, &from), "US");
  EXPECT_EQ(from, "header");
}

TEST(PolicyEngineResidency, AnAlpha3SourceIsStoredLikeItsAlpha2Code) {
  PolicyBundle b = bundle();
  b.rules.push_back(rule("store", Effect::kPermit));
  restrict_source(b.rules.back(), {"EU"}, b);
  const PolicyEngine engine = engine_of(std::move(b));
  PolicyRequest request;
  request.stage = Stage::kIngest;

  for (const char* source : {"DE", "DEU", "deu", "de"}) {
    request.source_country = source;
    const PolicyDecision d = engine.evaluate(request, true);
    EXPECT_EQ(d.rule_ids, (Strings{"store"})) << source;
    EXPECT_EQ(d.region, "eu-west") << source;
  }
  request.source_country = "DEU";
  EXPECT_EQ(engine.evaluate(request, true).trace[0].reasons, (Strings{"source DEU (DE) is in EU"}));
}

// --- explain -----------------------------------------------------------------------------------

TEST(PolicyEngineExplain, NamesTheDecidingRulesTheirLegalBasisAndThePolicyHash) {
  PolicyBundle b = bundle();
  b.rules.push_back(rule("eu-adequacy", Effect::kPermit));
  restrict_destination(b.rules.back(), {"ADEQUATE"}, b);
  b.rules.back().legal_basis = "GDPR Art. 45 adequacy decision";
  b.rules.back().obligations.max_days = 14;
  b.rules.push_back(rule("deny-us", Effect::kDeny));
  restrict_destination(b.rules.back(), {"US"}, b);
  const PolicyEngine engine = engine_of(std::move(b));
  const PolicyRequest request = read_request("DE", "JP", "TREAT");

  const PolicyDecision d = engine.evaluate(request, true);
  const std::string text = explain(engine.bundle(), request, d);

  EXPECT_NE(text.find("Decision: permit"), std::string::npos) << text;
  EXPECT_NE(text.find("by eu-adequacy (legal basis: GDPR Art. 45 adequacy decision)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("  eu-adequacy: applies\n    - destination JP is in ADEQUATE\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("  deny-us: does not apply\n    - destination JP is in none of US\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("access for at most 14 days"), std::string::npos) << text;
  EXPECT_NE(text.find("policy hash: 000102030405060708090a0b0c0d0e0f10111213141516171819"
                      "1a1b1c1d1e1f"),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace fl::gateway::policy
