#include "fl/gateway/policy/policy_tests.h"

#include "fl/gateway/policy/policy_engine.h"
#include "fl/mappings/diagnostic.h"

#include "policy/join.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <string_view>

namespace fl::gateway::policy {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kTestsSuffix = ".tests.json";

std::string describe_obligations(const std::vector<std::string>& redact, bool pseudonymize,
                                 const std::vector<std::string>& purposes,
                                 std::optional<std::uint32_t> max_days) {
  std::vector<std::string> parts;
  if (!redact.empty()) parts.push_back("redact " + join(redact));
  if (pseudonymize) parts.emplace_back("pseudonymize identifiers");
  if (!purposes.empty()) parts.push_back("require purpose " + join(purposes));
  if (max_days) parts.push_back("at most " + std::to_string(*max_days) + " days");
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ", ") + p;
  return out;
}

// The words for a decision, from its parts, so expected and actual read alike.
std::string describe_parts(std::string_view effect, const std::vector<std::string>& rules,
                           const std::string& obligations, const std::string& region, bool audit) {
  std::string out(effect);
  out += rules.empty() ? " by default" : " by " + join(rules);
  if (!obligations.empty()) out += "; obligations: " + obligations;
  if (!region.empty()) out += "; region " + region;
  if (audit) out += "; audited";
  return out;
}

// Reads a test case's members, recording what is wrong at its JSON pointer.
class CaseReader {
 public:
  CaseReader(const rapidjson::Value& value, std::string pointer, const std::string& file,
             std::vector<mappings::Diagnostic>& diagnostics)
      : value_(value), pointer_(std::move(pointer)), file_(file), diagnostics_(diagnostics) {}

  std::optional<std::string> string(const char* name, bool required) {
    auto m = value_.FindMember(name);
    if (m == value_.MemberEnd()) {
      if (required) problem(pointer_, std::string("expected member \"") + name + "\"");
      return std::nullopt;
    }
    if (!m->value.IsString()) {
      problem(at(name), "expected a string");
      return std::nullopt;
    }
    return std::string(m->value.GetString(), m->value.GetStringLength());
  }

  bool boolean(const char* name) {
    auto m = value_.FindMember(name);
    if (m == value_.MemberEnd()) return false;
    if (!m->value.IsBool()) {
      problem(at(name), "expected true or false");
      return false;
    }
    return m->value.GetBool();
  }

  std::vector<std::string> strings(const char* name) {
    std::vector<std::string> out;
    auto m = value_.FindMember(name);
    if (m == value_.MemberEnd()) return out;
    if (!m->value.IsArray()) {
      problem(at(name), "expected an array of strings");
      return out;
    }
    for (rapidjson::SizeType i = 0; i < m->value.Size(); ++i) {
      if (!m->value[i].IsString()) {
        problem(at(name) + "/" + std::to_string(i), "expected a string");
        continue;
      }
      out.emplace_back(m->value[i].GetString(), m->value[i].GetStringLength());
    }
    return out;
  }

  const rapidjson::Value* object(const char* name) {
    auto m = value_.FindMember(name);
    if (m == value_.MemberEnd()) return nullptr;
    if (!m->value.IsObject()) {
      problem(at(name), "expected an object");
      return nullptr;
    }
    return &m->value;
  }

  std::string at(const char* name) const { return pointer_ + "/" + mappings::pointer_token(name); }
  void problem(const std::string& pointer, std::string message) {
    diagnostics_.push_back({file_, pointer, std::move(message)});
  }
  const rapidjson::Value& value() const { return value_; }
  const std::string& pointer() const { return pointer_; }

 private:
  const rapidjson::Value& value_;
  std::string pointer_;
  const std::string& file_;
  std::vector<mappings::Diagnostic>& diagnostics_;
};

struct Case {
  std::string name;
  std::string pointer;
  PolicyRequest request;
  std::optional<std::string> source;  // given directly
  JurisdictionFacts facts;
  std::string expected;
  std::optional<std::string> expected_source;
  bool compare_region = false;
};

std::optional<Case> read_case(const rapidjson::Value& value, const std::string& pointer,
                              const rapidjson::Value* resources, const std::string& file,
                              std::vector<mappings::Diagnostic>& diagnostics) {
  const std::size_t before = diagnostics.size();
  if (!value.IsObject()) {
    diagnostics.push_back({file, pointer, "expected a test case object"});
    return std::nullopt;
  }
  CaseReader in(value, pointer, file, diagnostics);
  Case c;
  c.pointer = pointer;
  c.name = in.string("name", true).value_or("");
  const auto stage_text = in.string("stage", true);
  if (stage_text) {
    if (auto stage = stage_from_name(*stage_text)) {
      c.request.stage = *stage;
    } else {
      in.problem(in.at("stage"), "expected \"ingest\", \"grant\" or \"read\"");
    }
  }
  if (auto r = value.FindMember("resource"); r != value.MemberEnd()) {
    if (r->value.IsString()) {
      const std::string name = r->value.GetString();
      const rapidjson::Value* named = nullptr;
      if (resources != nullptr) {
        if (auto found = resources->FindMember(name.c_str()); found != resources->MemberEnd()) {
          named = &found->value;
        }
      }
      if (named == nullptr) {
        in.problem(in.at("resource"), "no resource named \"" + name + "\" in /resources");
      } else if (!named->IsObject()) {
        in.problem(in.at("resource"), "/resources/" + mappings::pointer_token(name) +
                                          " is not a resource (a JSON object)");
        named = nullptr;
      }
      c.request.resource = named;
    } else if (r->value.IsObject()) {
      c.request.resource = &r->value;
    } else {
      in.problem(in.at("resource"), "expected a resource name from /resources or a resource");
    }
  }
  if (c.request.resource != nullptr) {
    auto type = c.request.resource->FindMember("resourceType");
    if (type == c.request.resource->MemberEnd() || !type->value.IsString()) {
      in.problem(in.at("resource"), "the resource has no resourceType");
    } else {
      c.request.resource_type = type->value.GetString();
    }
  } else if (!value.HasMember("resource")) {
    c.request.resource_type = in.string("resourceType", true).value_or("");
  }
  c.source = in.string("source", false);
  if (const rapidjson::Value* facts = in.object("jurisdiction")) {
    CaseReader f(*facts, in.at("jurisdiction"), file, diagnostics);
    c.facts.recorded_country = f.string("recorded", false).value_or("");
    c.facts.header_country = f.string("header", false).value_or("");
    c.facts.source_system = f.string("sourceSystem", false).value_or("");
    if (c.source) in.problem(in.at("jurisdiction"), "give either \"source\" or \"jurisdiction\"");
  } else if (!c.source) {
    in.problem(pointer, "expected \"source\" (a country) or \"jurisdiction\" (the facts)");
  }
  c.request.destination_country = in.string("destination", false).value_or("");
  c.request.purpose = in.string("purpose", false).value_or("");
  c.request.consent = in.boolean("consent");

  const rapidjson::Value* expect = in.object("expect");
  if (expect == nullptr) {
    in.problem(pointer, "expected member \"expect\"");
    return std::nullopt;
  }
  CaseReader e(*expect, in.at("expect"), file, diagnostics);
  const auto effect = e.string("effect", true);
  if (effect && *effect != "permit" && *effect != "deny") {
    e.problem(e.at("effect"), "expected \"permit\" or \"deny\"");
  }
  std::string obligations;
  if (const rapidjson::Value* o = e.object("obligations")) {
    CaseReader ob(*o, e.at("obligations"), file, diagnostics);
    std::optional<std::uint32_t> max_days;
    if (auto m = o->FindMember("maxDays"); m != o->MemberEnd()) {
      if (m->value.IsUint()) {
        max_days = m->value.GetUint();
      } else {
        ob.problem(ob.at("maxDays"), "expected a whole number of days");
      }
    }
    obligations = describe_obligations(ob.strings("redact"), ob.boolean("pseudonymizeIdentifiers"),
                                       ob.strings("requirePurpose"), max_days);
  }
  const auto region = e.string("region", false);
  c.compare_region = region.has_value();
  c.expected = describe_parts(effect.value_or("?"), e.strings("rules"), obligations,
                              region.value_or(""), e.boolean("audit"));
  c.expected_source = e.string("source", false);
  if (diagnostics.size() != before) return std::nullopt;
  return c;
}

}  // namespace

std::size_t PolicyTestRun::failed() const {
  return static_cast<std::size_t>(
      std::count_if(results.begin(), results.end(), [](const auto& r) { return !r.passed; }));
}

namespace {

// The words for a decision; the region only when `with_region` (a case that does not state one
// does not compare it).
std::string describe(const PolicyDecision& decision, bool with_region) {
  const Obligations& o = decision.obligations;
  return describe_parts(effect_name(decision.effect), decision.rule_ids,
                        describe_obligations(o.redact_text, o.pseudonymize_identifiers,
                                             o.require_purpose, o.max_days),
                        with_region ? decision.region : std::string(), decision.audit);
}

}  // namespace

std::string describe(const PolicyDecision& decision) { return describe(decision, true); }

PolicyTestRun run_policy_tests(const std::string& path, const mappings::ReadFile& read_file) {
  PolicyTestRun run;
  std::string tests_file = path;
  if (!std::string_view(path).ends_with(kTestsSuffix)) {
    tests_file =
        (fs::path(path).parent_path() / fs::path(path).stem()).string() + std::string(kTestsSuffix);
  }
  auto text = read_file(tests_file);
  if (!text) {
    run.diagnostics.push_back({tests_file, "", text.error().message});
    return run;
  }
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseFullPrecisionFlag>(text->c_str());
  if (doc.HasParseError() || !doc.IsObject()) {
    run.diagnostics.push_back({tests_file, "", "not a JSON object"});
    return run;
  }
  CaseReader top(doc, "", tests_file, run.diagnostics);
  const auto bundle_name = top.string("bundle", true);
  const rapidjson::Value* resources = top.object("resources");
  auto tests = doc.FindMember("tests");
  if (tests == doc.MemberEnd() || !tests->value.IsArray()) {
    top.problem("/tests", "expected an array of test cases");
  }
  if (!bundle_name || !run.diagnostics.empty()) return run;

  run.bundle_file = (fs::path(tests_file).parent_path() / *bundle_name).string();
  CompiledPolicyBundle compiled = compile_policy_bundle(run.bundle_file, read_file);
  if (!compiled.bundle) {
    run.diagnostics = std::move(compiled.diagnostics);
    return run;
  }
  run.bundle_id = compiled.bundle->id;
  run.policy_hash = compiled.bundle->hash;

  std::vector<Case> cases;
  for (rapidjson::SizeType i = 0; i < tests->value.Size(); ++i) {
    if (auto c = read_case(tests->value[i], "/tests/" + std::to_string(i), resources, tests_file,
                           run.diagnostics)) {
      cases.push_back(std::move(*c));
    }
  }
  if (!run.diagnostics.empty()) return run;

  const PolicyEngine engine(compiled.bundle);
  for (Case& c : cases) {
    std::string from;
    if (c.source) {
      // Read as the gateway reads a country ("nld" is NL), so `expect.source` compares alpha-2.
      const auto alpha2 = iso_alpha2(*c.source);
      c.request.source_country = alpha2 ? std::string(*alpha2) : *c.source;
    } else {
      if (c.request.resource != nullptr && c.request.resource_type == "Patient") {
        c.facts.patient_address_country = patient_address_country(*c.request.resource);
      }
      c.request.source_country = resolve_jurisdiction(*compiled.bundle, c.facts, &from);
    }
    const PolicyDecision decision = engine.evaluate(c.request);
    PolicyTestResult result;
    result.name = c.name;
    result.pointer = c.pointer;
    result.expected = c.expected;
    result.actual = describe(decision, c.compare_region);
    result.passed = result.actual == result.expected;
    if (c.expected_source) {
      result.expected += "; source " + *c.expected_source;
      result.actual += "; source " + c.request.source_country;
      result.passed = result.passed && c.request.source_country == *c.expected_source;
    }
    run.results.push_back(std::move(result));
  }
  return run;
}

}  // namespace fl::gateway::policy
