// The official FHIRPath R4 test suite (FHIR/fhir-test-cases tests-fhir-r4.xml, 937 cases) run
// against the engine over the JSON forms of its input resources. Prints passed / failed /
// skipped by group and requires at least 85% of all cases to pass (issue 4, acceptance 1).
// Every skip is in kSkips below with the reason; a case that crashes fails the whole binary.
#include "fl/mappings/fhirpath.h"

#include "support/corpus.h"

#include <Poco/AutoPtr.h>
#include <Poco/DOM/DOMParser.h>
#include <Poco/DOM/Document.h>
#include <Poco/DOM/Element.h>
#include <Poco/DOM/NodeList.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace fl::mappings::fhirpath {
namespace {

constexpr std::string_view kCorpus = "fhirpath/";

struct SkipReason {
  std::string_view test;
  std::string_view reason;
};

// Cases the engine does not run, each with why. Keep this short: a skip is a known gap.
constexpr SkipReason kSkips[] = {
    {"HighBoundaryDateTimeMillisecond1",
     "expects @2014-01-01T08:00:59.999-12:00 for an hour-precision date-time: minutes 00 but "
     "seconds 59.999; the engine fills every missing part with its greatest value "
     "(08:59:59.999), as highBoundary() is specified"},
    {"HighBoundaryDateTimeMillisecond3", "the same case as HighBoundaryDateTimeMillisecond1"},
};

struct Output {
  std::string type;  // empty when the suite gives none
  std::string text;
};

struct Case {
  std::string group;
  std::string name;
  std::string input_file;
  std::string expression;
  std::string invalid;  // "syntax", "semantic", "execution" or empty
  bool strict = false;
  bool predicate = false;
  bool unordered = false;
  std::vector<Output> outputs;
};

std::string attribute(const Poco::XML::Element& e, const std::string& name) {
  return e.hasAttribute(name) ? e.getAttribute(name) : std::string();
}

std::vector<Case> load_cases() {
  const std::string xml =
      testing::read_file(testing::corpus_path(std::string(kCorpus) + "tests-fhir-r4.xml"));
  Poco::XML::DOMParser parser;
  Poco::AutoPtr<Poco::XML::Document> doc = parser.parseString(xml);
  std::vector<Case> cases;
  Poco::AutoPtr<Poco::XML::NodeList> groups = doc->documentElement()->getElementsByTagName("group");
  for (unsigned long g = 0; g < groups->length(); ++g) {
    auto* group = static_cast<Poco::XML::Element*>(groups->item(g));
    Poco::AutoPtr<Poco::XML::NodeList> tests = group->getElementsByTagName("test");
    for (unsigned long t = 0; t < tests->length(); ++t) {
      auto* test = static_cast<Poco::XML::Element*>(tests->item(t));
      Poco::XML::Element* expression = test->getChildElement("expression");
      Case c{.group = attribute(*group, "name"),
             .name = attribute(*test, "name"),
             .input_file = attribute(*test, "inputfile"),
             .expression = expression != nullptr ? expression->innerText() : "",
             .invalid = expression != nullptr ? attribute(*expression, "invalid") : "",
             .strict = attribute(*test, "mode") == "strict" ||
                       (expression != nullptr && attribute(*expression, "mode") == "strict"),
             .predicate = attribute(*test, "predicate") == "true",
             .unordered = attribute(*test, "ordered") == "false"};
      Poco::AutoPtr<Poco::XML::NodeList> outputs = test->getElementsByTagName("output");
      for (unsigned long o = 0; o < outputs->length(); ++o) {
        auto* output = static_cast<Poco::XML::Element*>(outputs->item(o));
        c.outputs.push_back({attribute(*output, "type"), output->innerText()});
      }
      cases.push_back(std::move(c));
    }
  }
  return cases;
}

// The suite names XML inputs; input-map.json names the JSON form of each.
class Inputs {
 public:
  Inputs() {
    map_.Parse(
        testing::read_file(testing::corpus_path(std::string(kCorpus) + "input-map.json")).c_str());
  }

  const rapidjson::Value& get(const std::string& input_file) {
    if (input_file.empty()) return null_;
    auto it = docs_.find(input_file);
    if (it != docs_.end()) return *it->second;
    auto doc = std::make_unique<rapidjson::Document>();
    const std::string path = map_[input_file.c_str()]["json"].GetString();
    doc->Parse(testing::read_file(testing::corpus_path(std::string(kCorpus) + path)).c_str());
    return *docs_.emplace(input_file, std::move(doc)).first->second;
  }

 private:
  rapidjson::Document map_;
  std::map<std::string, std::unique_ptr<rapidjson::Document>> docs_;
  rapidjson::Value null_;
};

// Date and time literals compare without their '@' and the 'T' that marks a date-time.
std::string normalized(std::string text) {
  if (!text.empty() && text[0] == '@') text.erase(0, 1);
  if (!text.empty() && text[0] == 'T') text.erase(0, 1);
  if (!text.empty() && text.back() == 'T') text.pop_back();
  return text;
}

bool matches(const Value& actual, const Output& expected) {
  const std::string text = to_literal(actual);
  const Value::Kind kind = actual.is_node() ? Value::Kind::kNode : actual.kind();
  if (expected.type == "boolean" && kind != Value::Kind::kBoolean) return false;
  if (expected.type == "integer" && kind != Value::Kind::kInteger) return false;
  if (expected.type == "decimal") {
    auto a = Decimal::parse(text);
    auto b = Decimal::parse(expected.text);
    return a && b && *a == *b;
  }
  return normalized(text) == normalized(expected.text);
}

bool outputs_match(const Collection& actual, const Case& c) {
  if (actual.size() != c.outputs.size()) return false;
  if (!c.unordered) {
    for (std::size_t i = 0; i < actual.size(); ++i) {
      if (!matches(actual[i], c.outputs[i])) return false;
    }
    return true;
  }
  std::vector<bool> used(actual.size(), false);
  for (const Output& o : c.outputs) {
    bool found = false;
    for (std::size_t i = 0; i < actual.size() && !found; ++i) {
      if (!used[i] && matches(actual[i], o)) used[i] = found = true;
    }
    if (!found) return false;
  }
  return true;
}

std::string describe(const Collection& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + to_literal(items[i]);
  return out + "]";
}

std::string describe(const std::vector<Output>& outputs) {
  std::string out = "[";
  for (std::size_t i = 0; i < outputs.size(); ++i) out += (i ? ", " : "") + outputs[i].text;
  return out + "]";
}

enum class Outcome { kPassed, kFailed, kSkipped };

// Runs one case; `why` says what went wrong when it failed.
Outcome run(const Case& c, Inputs& inputs, std::string& why) {
  for (const SkipReason& s : kSkips) {
    if (s.test == c.name) {
      why = s.reason;
      return Outcome::kSkipped;
    }
  }
  auto expr = compile(c.expression);
  if (!expr) {
    why = "compile error at " + expr.error().where + ": " + expr.error().message;
    return c.invalid.empty() ? Outcome::kFailed : Outcome::kPassed;
  }
  EvaluationOptions options;
  options.strict = c.strict;
  auto result = expr->evaluate(inputs.get(c.input_file), options);
  if (!result) {
    why = "evaluation error at " + result.error().where + ": " + result.error().message;
    return c.invalid.empty() ? Outcome::kFailed : Outcome::kPassed;
  }
  if (!c.invalid.empty()) {
    why = "expected a " + c.invalid + " error, got " + describe(result.value());
    return Outcome::kFailed;
  }
  Collection actual = result.value();
  if (c.predicate) actual = {Value::boolean(!actual.empty())};
  if (outputs_match(actual, c)) return Outcome::kPassed;
  why = "expected " + describe(c.outputs) + ", got " + describe(actual);
  return Outcome::kFailed;
}

TEST(FhirPathR4Suite, AtLeast85PercentOfTheOfficialCasesPass) {
  const std::vector<Case> cases = load_cases();
  // The file has 937 <test> elements; two sit inside XML comments (testMatchesUnicodeCharacters
  // and a testDollarResource draft), so 935 run. The bar is still 85% of 937.
  ASSERT_EQ(cases.size(), 935u) << "the vendored suite changed";
  Inputs inputs;

  struct Tally {
    int passed = 0;
    int failed = 0;
    int skipped = 0;
  };
  std::vector<std::pair<std::string, Tally>> groups;
  Tally total;
  std::vector<std::string> failures;
  std::vector<std::string> skips;
  std::vector<std::string> expected_errors;  // printed so a reader can check each is the right one
  for (const Case& c : cases) {
    if (groups.empty() || groups.back().first != c.group) groups.push_back({c.group, {}});
    std::string why;
    const Outcome outcome = run(c, inputs, why);
    Tally& g = groups.back().second;
    if (outcome == Outcome::kPassed) {
      ++g.passed;
      ++total.passed;
      if (!c.invalid.empty()) {
        expected_errors.push_back(c.name + " (" + c.invalid + "): " + c.expression + " -> " + why);
      }
    } else if (outcome == Outcome::kFailed) {
      ++g.failed;
      ++total.failed;
      failures.push_back(c.group + "/" + c.name + ": " + c.expression + " -> " + why);
    } else {
      ++g.skipped;
      ++total.skipped;
      skips.push_back(c.group + "/" + c.name + ": " + why);
    }
  }

  std::printf("%-34s %6s %6s %7s\n", "group", "passed", "failed", "skipped");
  for (const auto& [name, t] : groups) {
    std::printf("%-34s %6d %6d %7d\n", name.c_str(), t.passed, t.failed, t.skipped);
  }
  constexpr int kIssueCount = 937;  // as issue 4 counts them, commented-out cases included
  std::printf("%-34s %6d %6d %7d   (%.1f%% of %d, %.1f%% of the %zu that run)\n", "total",
              total.passed, total.failed, total.skipped, 100.0 * total.passed / kIssueCount,
              kIssueCount, 100.0 * total.passed / static_cast<double>(cases.size()), cases.size());
  for (const std::string& e : expected_errors) std::printf("error    %s\n", e.c_str());
  for (const std::string& s : skips) std::printf("skipped  %s\n", s.c_str());
  for (const std::string& f : failures) std::printf("failed   %s\n", f.c_str());

  EXPECT_GE(total.passed * 100, 85 * kIssueCount);
}

TEST(FhirPathR4Suite, EverySkipNamesACaseOfTheSuite) {
  const std::vector<Case> cases = load_cases();
  for (const SkipReason& s : kSkips) {
    const bool known =
        std::any_of(cases.begin(), cases.end(), [&](const Case& c) { return c.name == s.test; });
    EXPECT_TRUE(known) << s.test << " is not in the suite";
    EXPECT_FALSE(s.reason.empty()) << s.test;
  }
}

}  // namespace
}  // namespace fl::mappings::fhirpath
