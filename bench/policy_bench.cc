// Policy decisions per second (issue 6, acceptance 4: at least 200,000 per core for rules
// without FHIRPath conditions). Every resource of the Synthea bundles is decided at read time
// against a hand-built bundle of 20 rules in the shape of the shipped one (EU/EEA, adequacy,
// EU->US under consent, emergency override, HIPAA, sensitive labels, in-country residency),
// with sources, destinations, purposes and consent varied across the requests so that every
// rule is reached. A second bundle adds one FHIRPath condition on lab codes.
//
//   fl_policy_bench [Google Benchmark flags]      items_per_second = decisions/s
//
// (To be switched to the shipped bundle in config/policies once it is compiled from there.)
#include "fl/gateway/policy/policy_engine.h"

#include "support/corpus.h"

#include <benchmark/benchmark.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace fl::gateway::policy {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "fl_policy_bench: %s\n", message.c_str());
  std::exit(2);
}

constexpr std::string_view kActCode = "http://terminology.hl7.org/CodeSystem/v3-ActCode";

// The bundles stay alive: the requests point into them.
struct Corpus {
  std::vector<std::unique_ptr<rapidjson::Document>> bundles;
  std::vector<const rapidjson::Value*> resources;
};

Corpus load_synthea() {
  const auto dir = testing::full_corpus_dir("synthea");
  if (!dir) die("corpus folder synthea not found in FL_CORPORA or shared/corpora");
  std::vector<fs::path> files;
  for (const auto& f : fs::directory_iterator(*dir)) {
    if (f.path().extension() == ".json") files.push_back(f.path());
  }
  std::sort(files.begin(), files.end());
  Corpus corpus;
  for (const fs::path& file : files) {
    auto doc = std::make_unique<rapidjson::Document>();
    doc->Parse(testing::read_file(file).c_str());
    if (doc->HasParseError()) die("cannot parse " + file.string());
    if (!doc->IsObject()) continue;  // index.json lists the bundles
    auto entries = doc->FindMember("entry");
    if (entries == doc->MemberEnd() || !entries->value.IsArray()) continue;
    for (const auto& entry : entries->value.GetArray()) {
      auto resource = entry.FindMember("resource");
      if (resource != entry.MemberEnd()) corpus.resources.push_back(&resource->value);
    }
    corpus.bundles.push_back(std::move(doc));
  }
  if (corpus.resources.empty()) die("no Synthea resources in " + dir->string());
  return corpus;
}

CountrySet countries(std::initializer_list<std::string_view> codes) {
  CountrySet set;
  for (std::string_view code : codes) set.set(*country_index(code));
  return set;
}

mappings::fhirpath::Expression compile(std::string_view text) {
  auto expression = mappings::fhirpath::Expression::compile(text);
  if (!expression) die(std::string(text) + ": " + expression.error().message);
  return std::move(expression).value();
}

using Ids = std::initializer_list<std::string>;

class BundleBuilder {
 public:
  BundleBuilder() {
    bundle_.id = "bench";
    bundle_.default_region = "global";
    add_jurisdiction("EU", countries({"AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI",
                                      "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU",
                                      "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"}),
                     "eu-central");
    CountrySet eea = bundle_.jurisdictions[0].countries;
    eea |= countries({"IS", "LI", "NO"});
    add_jurisdiction("EEA", eea, "eu-central");
    add_jurisdiction("ADEQUATE",
                     countries({"AD", "AR", "CA", "FO", "GG", "IL", "IM", "JP", "JE", "NZ", "KR",
                                "CH", "GB", "UY"}),
                     "");
    add_jurisdiction("US", countries({"US"}), "us-east");
    add_jurisdiction("BR", countries({"BR"}), "br-south");
  }

  // A rule at read and grant time; an empty list leaves its dimension unconstrained.
  Rule& add(std::string id, Effect effect, const Ids& sources = {}, const Ids& destinations = {},
            const Ids& purposes = {}) {
    Rule& r = bundle_.rules.emplace_back();
    r.id = std::move(id);
    r.effect = effect;
    if (sources.size() > 0) r.match.source = set_of(sources, r.match.source_ids);
    if (destinations.size() > 0)
      r.match.destination = set_of(destinations, r.match.destination_ids);
    r.match.purposes.assign(purposes.begin(), purposes.end());
    r.legal_basis = "modelled on the regulation " + r.id + " stands for";
    r.match.stages =
        static_cast<std::uint8_t>(Stage::kRead) | static_cast<std::uint8_t>(Stage::kGrant);
    return r;
  }

  std::shared_ptr<const PolicyBundle> build() {
    return std::make_shared<const PolicyBundle>(bundle_);
  }

 private:
  void add_jurisdiction(std::string id, CountrySet set, std::string region) {
    Jurisdiction& j = bundle_.jurisdictions.emplace_back();
    j.id = std::move(id);
    j.name = j.id;
    j.countries = set;
    j.region = std::move(region);
  }
  CountrySet set_of(const Ids& ids, std::vector<std::string>& written) {
    CountrySet set;
    for (const std::string& id : ids) {
      for (const Jurisdiction& j : bundle_.jurisdictions) {
        if (j.id == id) set |= j.countries;
      }
      written.push_back(id);
    }
    return set;
  }

  PolicyBundle bundle_;
};

// Twenty rules in the shape of the shipped example; none has a FHIRPath condition.
BundleBuilder twenty_rules() {
  BundleBuilder b;
  Rule* r = &b.add("deny-marketing", Effect::kDeny, {}, {}, {"HMARKT", "HDIRECT"});
  r = &b.add("deny-restricted-without-consent", Effect::kDeny);
  r->match.confidentiality = {"V"};
  r->match.consent = ConsentMatch::kAbsent;
  r = &b.add("deny-sud-without-consent", Effect::kDeny);
  r->match.security_labels = {{std::string(kActCode), "ETHUD"}, {std::string(kActCode), "SUD"}};
  r->match.consent = ConsentMatch::kAbsent;
  r = &b.add("deny-hiv-psy-without-consent", Effect::kDeny);
  r->match.security_labels = {{std::string(kActCode), "HIV"}, {std::string(kActCode), "PSY"}};
  r->match.consent = ConsentMatch::kAbsent;
  r = &b.add("br-stays-in-country", Effect::kDeny, {"BR"}, {"EU", "EEA", "ADEQUATE", "US"});
  r = &b.add("eea-internal-care", Effect::kPermit, {"EEA"}, {"EEA"},
             {"TREAT", "ETREAT", "HOPERAT"});
  r = &b.add("eea-to-adequate-care", Effect::kPermit, {"EEA"}, {"ADEQUATE"}, {"TREAT", "ETREAT"});
  r->obligations.max_days = 30;
  r = &b.add("eea-to-us-consented-care", Effect::kPermit, {"EEA"}, {"US"}, {"TREAT"});
  r->match.consent = ConsentMatch::kRequired;
  r->obligations.pseudonymize_identifiers = true;
  r->obligations.max_days = 7;
  r = &b.add("eea-to-us-without-consent", Effect::kDeny, {"EEA"}, {"US"});
  r->match.consent = ConsentMatch::kAbsent;
  r = &b.add("emergency-override", Effect::kPermit, {}, {}, {"ETREAT"});
  r->audit = true;
  r = &b.add("us-hipaa-tpo", Effect::kPermit, {"US"}, {"US"}, {"TREAT", "HPAYMT", "HOPERAT"});
  r = &b.add("us-to-eea-care", Effect::kPermit, {"US"}, {"EEA", "ADEQUATE"}, {"TREAT"});
  r = &b.add("research-with-consent", Effect::kPermit, {}, {}, {"HRESCH"});
  r->match.consent = ConsentMatch::kRequired;
  r->obligations.pseudonymize_identifiers = true;
  r->obligations.redact.push_back(compile("Patient.name | Patient.address | Patient.telecom"));
  r->obligations.redact_text.push_back("Patient.name | Patient.address | Patient.telecom");
  r = &b.add("research-without-consent", Effect::kDeny, {}, {}, {"HRESCH"});
  r->match.consent = ConsentMatch::kAbsent;
  r = &b.add("payment-outside-us", Effect::kDeny, {}, {"EEA", "ADEQUATE", "BR"}, {"HPAYMT"});
  r = &b.add("patient-demographics-abroad", Effect::kPermit, {}, {"ADEQUATE"});
  r->match.resource_types = {"Patient"};
  r->obligations.pseudonymize_identifiers = true;
  r = &b.add("claims-only-for-payment", Effect::kDeny, {}, {},
             {"TREAT", "ETREAT", "HOPERAT", "HRESCH"});
  r->match.resource_types = {"Claim", "ExplanationOfBenefit"};
  r = &b.add("imaging-within-eea", Effect::kPermit, {"EEA"}, {"EEA"});
  r->match.resource_types = {"ImagingStudy", "DiagnosticReport", "Media"};
  r = &b.add("br-internal-care", Effect::kPermit, {"BR"}, {"BR"}, {"TREAT", "ETREAT"});
  r = &b.add("ingest-only-audit", Effect::kPermit);
  r->match.stages = static_cast<std::uint8_t>(Stage::kIngest);
  r->audit = true;
  return b;
}

std::vector<PolicyRequest> requests_for(const Corpus& corpus) {
  static constexpr std::string_view kSources[] = {"DE", "FR", "US", "NO", "BR", "IE", "US"};
  static constexpr std::string_view kDestinations[] = {"FR", "US", "JP", "DE", "BR",
                                                       "CH", "CN", "US", "SE"};
  static constexpr std::string_view kPurposes[] = {"TREAT",  "ETREAT", "HPAYMT", "HOPERAT",
                                                   "HMARKT", "HRESCH", "",       "TREAT"};
  std::vector<PolicyRequest> out;
  out.reserve(corpus.resources.size());
  for (std::size_t i = 0; i < corpus.resources.size(); ++i) {
    PolicyRequest& request = out.emplace_back();
    const rapidjson::Value& resource = *corpus.resources[i];
    request.stage = Stage::kRead;
    request.resource = &resource;
    request.resource_type = resource["resourceType"].GetString();
    request.source_country = std::string(kSources[i % std::size(kSources)]);
    request.destination_country = std::string(kDestinations[i % std::size(kDestinations)]);
    request.purpose = std::string(kPurposes[i % std::size(kPurposes)]);
    request.consent = i % 3 == 0;
  }
  return out;
}

const Corpus& corpus() {
  static const Corpus loaded = load_synthea();
  return loaded;
}

void decide(benchmark::State& state, const PolicyEngine& engine, bool with_trace) {
  const std::vector<PolicyRequest> requests = requests_for(corpus());
  std::size_t permits = 0;
  for (auto _ : state) {
    for (const PolicyRequest& request : requests) {
      PolicyDecision decision = engine.evaluate(request, with_trace);
      permits += decision.effect == Effect::kPermit ? 1 : 0;
      benchmark::DoNotOptimize(decision);
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * requests.size()));
  state.counters["rules"] = static_cast<double>(engine.bundle().rules.size());
  state.counters["permit_share"] =
      static_cast<double>(permits) / static_cast<double>(state.iterations() * requests.size());
}

void BM_DecideTwentyRules(benchmark::State& state) {
  const PolicyEngine engine(twenty_rules().build());
  decide(state, engine, false);
}
BENCHMARK(BM_DecideTwentyRules)->Unit(benchmark::kMillisecond);

// The same bundle with one rule that runs FHIRPath on every Observation and DiagnosticReport
// it reaches (most of the Synthea resources).
void BM_DecideTwentyRulesOneCondition(benchmark::State& state) {
  BundleBuilder b = twenty_rules();
  Rule& r = b.add("sensitive-lab-codes", Effect::kDeny);
  r.match.resource_types = {"Observation", "DiagnosticReport"};
  r.match.condition = compile(
      "code.coding.where(system='http://loinc.org').code in ('5195-3' | '7905-3' | '29463-7')");
  const PolicyEngine engine(b.build());
  decide(state, engine, false);
}
BENCHMARK(BM_DecideTwentyRulesOneCondition)->Unit(benchmark::kMillisecond);

// With the trace (policy eval, shadow-mode diffs): words for every rule.
void BM_DecideTwentyRulesWithTrace(benchmark::State& state) {
  const PolicyEngine engine(twenty_rules().build());
  decide(state, engine, true);
}
BENCHMARK(BM_DecideTwentyRulesWithTrace)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace fl::gateway::policy
