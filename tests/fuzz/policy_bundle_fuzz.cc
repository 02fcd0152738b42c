// The policy-bundle compiler (compile_policy_bundle) on an arbitrary bundle file; every bundle
// that compiles is then asked for decisions at ingest, grant and read time (with traces and the
// `policy eval` explanation) about a fixed Patient and Observation, and resolves jurisdictions.
// Seeds: corpus/policy_bundle and, at run time, config/policies/*.json.
#include "fl/gateway/policy/policy_compiler.h"
#include "fl/gateway/policy/policy_engine.h"

#include "fuzz_support.h"

#include <rapidjson/document.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

namespace {

using namespace fl::gateway::policy;

constexpr const char* kPatient = R"({"resourceType":"Patient","id":"p1",
  "meta":{"security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-Confidentiality",
                       "code":"R"},
                      {"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode",
                       "code":"HIV"}]},
  "address":[{"country":"DE"}],"birthDate":"1970-01-01","gender":"female"})";
constexpr const char* kObservation = R"({"resourceType":"Observation","id":"o1",
  "status":"final","subject":{"reference":"Patient/p1"},
  "code":{"coding":[{"system":"http://loinc.org","code":"2345-7"}]},
  "valueQuantity":{"value":5.4,"unit":"mmol/L"}})";

void decide(const PolicyEngine& engine, const PolicyRequest& request) {
  const PolicyDecision decision = engine.evaluate(request, true);
  FL_FUZZ_CHECK(decision.trace.size() == engine.bundle().rules.size());
  const std::string text = explain(engine.bundle(), request, decision);
  FL_FUZZ_CHECK(!text.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto documents = [] {
    std::pair<rapidjson::Document, rapidjson::Document> docs;
    docs.first.Parse(kPatient);
    docs.second.Parse(kObservation);
    FL_FUZZ_CHECK(docs.first.IsObject() && docs.second.IsObject());
    return docs;
  }();
  const std::string text(fl::fuzz::as_text(data, size));
  const fl::mappings::ReadFile read = [&](const std::string& path) -> fl::Result<std::string> {
    if (path == "/fuzz/policies/bundle.json") return text;
    return fl::Error{fl::ErrorCode::kNotFound, "no such file", path};
  };
  const auto compiled = compile_policy_bundle("/fuzz/policies/bundle.json", read);
  FL_FUZZ_CHECK((compiled.bundle == nullptr) != compiled.diagnostics.empty());
  if (!compiled.bundle) return 0;

  const PolicyEngine engine(compiled.bundle);
  for (const char* country : {"DE", "US", ""}) {
    const JurisdictionFacts facts{
        .patient_address_country = patient_address_country(documents.first),
        .recorded_country = "",
        .header_country = country,
        .source_system = "acme-lab"};
    std::string from;
    const std::string source_country = resolve_jurisdiction(*compiled.bundle, facts, &from);
    for (const rapidjson::Document* resource : {&documents.first, &documents.second}) {
      const std::string type = (*resource)["resourceType"].GetString();
      decide(engine, {.stage = Stage::kIngest,
                      .resource_type = type,
                      .resource = resource,
                      .source_country = source_country});
      decide(engine, {.stage = Stage::kRead,
                      .resource_type = type,
                      .resource = resource,
                      .source_country = source_country,
                      .destination_country = country,
                      .purpose = "TREAT",
                      .consent = true});
    }
    decide(engine, {.stage = Stage::kGrant,
                    .source_country = source_country,
                    .destination_country = country,
                    .purpose = "HRESCH"});
  }
  return 0;
}
