// Evaluation semantics that are easy to get wrong: FHIR JSON conventions (choice types,
// primitive extensions), empty propagation, equality versus equivalence, decimals, quantities
// and dates with precision, strict mode, results as FHIR JSON, and compiling once for many
// resources and threads.
#include "fl/mappings/fhirpath.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <string>
#include <thread>
#include <vector>

namespace fl::mappings::fhirpath {
namespace {

constexpr const char* kObservation = R"({
  "resourceType": "Observation",
  "status": "final",
  "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
  "valueQuantity": {"value": 185, "unit": "lbs", "system": "http://unitsofmeasure.org",
                    "code": "[lb_av]"},
  "effectiveDateTime": "2016-03-28T09:30:00+02:00",
  "component": [
    {"code": {"text": "a"}, "valueString": "x"},
    {"code": {"text": "b"}, "valueBoolean": true}
  ]
})";

constexpr const char* kPatient = R"({
  "resourceType": "Patient",
  "birthDate": "1974-12-25",
  "_birthDate": {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime",
                                "valueDateTime": "1974-12-25T14:35:45-05:00"}]},
  "name": [{"given": [null, "James"], "_given": [{"extension": [{"url": "u", "valueString": "v"}]}]},
           {"family": "Windsor", "given": ["Peter"]}],
  "contained": [{"resourceType": "Organization", "id": "org1", "name": "Acme"}]
})";

rapidjson::Document parse(const char* json) {
  rapidjson::Document doc;
  doc.Parse(json);
  EXPECT_FALSE(doc.HasParseError());
  return doc;
}

// The result as FHIR JSON, or "error <where>: <message>".
std::string eval(const std::string& text, const rapidjson::Value& resource,
                 const EvaluationOptions& options = {}) {
  auto expr = compile(text);
  if (!expr) return "compile error " + expr.error().where + ": " + expr.error().message;
  auto result = expr->evaluate(resource, options);
  if (!result) return "error " + result.error().where + ": " + result.error().message;
  return to_json(*result);
}

std::string eval(const std::string& text) { return eval(text, rapidjson::Value()); }

TEST(FhirPathEvaluator, RegularExpressionsMatchInSingleLineModeAndReplaceWithGroups) {
  // FHIRPath strings escape a backslash as \\, so the pattern \d is written '\\d'.
  EXPECT_EQ(eval(R"('a
b'.matches('a.b'))"),
            "[true]");
  EXPECT_EQ(eval(R"('2026-11-18'.matchesFull('\\d{4}-\\d{2}-\\d{2}'))"), "[true]");
  EXPECT_EQ(eval(R"('x2026-11-18'.matchesFull('\\d{4}-\\d{2}-\\d{2}'))"), "[false]");
  EXPECT_EQ(eval(R"('11/18/2026'.replaceMatches('(\\d+)/(\\d+)/(\\d+)', '$3-$1-$2 $$ \\'))"),
            R"(["2026-11-18 $ \\"])");
  EXPECT_TRUE(eval(R"('aa'.matches('(a)\\1'))").starts_with("error"))
      << "backreferences are refused, not run by a backtracking engine";
}

// Found by the fhirpath_expression fuzzer: std::regex took over 30 s for a 40-character input
// and recursed once per character of a long one (a stack overflow, on data).
TEST(FhirPathEvaluator, APathologicalPatternOnLongDataIsAnsweredNotBacktracked) {
  EXPECT_TRUE(eval(R"('http:7 7)fh http::/ h.0.1'.matchesFull('.?????*'))").starts_with("error"))
      << "a repetition of repetitions is refused as invalid";
  const std::string long_text(200000, 'a');
  EXPECT_EQ(eval("'" + long_text + "'.matches('^(a|aa)*b$')"), "[false]");
  EXPECT_EQ(eval("'" + long_text + "'.matchesFull('(a|b)*')"), "[true]");
  EXPECT_EQ(eval("'" + long_text + "'.matchesFull('(a*)*c')"), "[false]");
}

TEST(FhirPathEvaluator, ChoiceElementsAreNamedWithoutTheirTypeSuffix) {
  const auto obs = parse(kObservation);

  EXPECT_EQ(eval("Observation.value.unit", obs), R"(["lbs"])");
  EXPECT_EQ(eval("component.value", obs), R"(["x",true])");
  EXPECT_EQ(eval("component.value.ofType(boolean)", obs), "[true]");
  EXPECT_EQ(eval("value is Quantity", obs), "[true]");
  EXPECT_EQ(eval("effective.type().name", obs), R"(["dateTime"])");
}

TEST(FhirPathEvaluator, ATypeSuffixedChoiceNameIsAnErrorThatSaysHowToWriteIt) {
  const auto obs = parse(kObservation);

  const std::string r = eval("Observation.valueQuantity.unit", obs);

  EXPECT_EQ(r.rfind("error 1:13: 'valueQuantity' is a choice element", 0), 0u) << r;
}

TEST(FhirPathEvaluator, PrimitiveExtensionsComeFromTheUnderscoreTwin) {
  const auto patient = parse(kPatient);

  EXPECT_EQ(eval("birthDate.extension.url", patient),
            R"(["http://hl7.org/fhir/StructureDefinition/patient-birthTime"])");
  EXPECT_EQ(eval("name[0].given.count()", patient), "[2]");
  EXPECT_EQ(eval("name[0].given.select($this.hasValue())", patient), "[false,true]");
  EXPECT_EQ(eval("name[0].given.first().extension.value", patient), R"(["v"])");
  EXPECT_EQ(eval("name[0].given", patient), R"([null,"James"])");
}

TEST(FhirPathEvaluator, ContainedResourcesAreTypedByResourceType) {
  const auto patient = parse(kPatient);

  EXPECT_EQ(eval("contained.ofType(Organization).name", patient), R"(["Acme"])");
  EXPECT_EQ(eval("contained.is(Organization)", patient), "[true]");
  EXPECT_EQ(eval("contained.id.type().name", patient), R"(["id"])");
}

TEST(FhirPathEvaluator, EmptyPropagatesThroughOperatorsButNotThroughLogic) {
  EXPECT_EQ(eval("{} + 1"), "[]");
  EXPECT_EQ(eval("{} = {}"), "[]");
  EXPECT_EQ(eval("{} ~ {}"), "[true]");
  EXPECT_EQ(eval("{} and false"), "[false]");
  EXPECT_EQ(eval("{} or true"), "[true]");
  EXPECT_EQ(eval("{} implies true"), "[true]");
  EXPECT_EQ(eval("'a' & {}"), R"(["a"])");
}

TEST(FhirPathEvaluator, LogicDoesNotEvaluateWhatTheLeftSideDecides) {
  EXPECT_EQ(eval("false and (1 | 2).single()"), "[false]");
  EXPECT_EQ(eval("true or (1 | 2).single()"), "[true]");
  EXPECT_EQ(eval("true and (1 | 2).single()").rfind("error 1:18: single() expects", 0), 0u);
}

// Elements a type inherits (Resource.implicitRules, BackboneElement.modifierExtension) are
// found from the type and from a backbone element's path alike; the model index folds them in.
TEST(FhirPathEvaluator, InheritedElementsAreKnownOnResourcesAndBackboneElements) {
  const auto obs = parse(kObservation);
  EvaluationOptions strict;
  strict.strict = true;

  EXPECT_EQ(eval("Observation.implicitRules", obs, strict), "[]");
  EXPECT_EQ(eval("Observation.component.modifierExtension", obs, strict), "[]");
  EXPECT_EQ(eval("Observation.component.code.text", obs, strict), R"(["a","b"])");
  EXPECT_EQ(eval("Observation.component.codes", obs, strict),
            "error 1:23: BackboneElement has no element 'codes'");
}

// Strings are compared in place (a fast path); a node typed date or dateTime still compares
// as a date, so it never equals a String.
TEST(FhirPathEvaluator, StringEqualityKeepsDatesAsDates) {
  const auto patient = parse(kPatient);
  const auto obs = parse(kObservation);

  EXPECT_EQ(eval("Observation.code.coding.where(system = 'http://loinc.org').code", obs),
            R"(["29463-7"])");
  EXPECT_EQ(eval("Observation.status = 'final'", obs), "[true]");
  EXPECT_EQ(eval("Observation.status != 'Final'", obs), "[true]");
  EXPECT_EQ(eval("Patient.birthDate = '1974-12-25'", patient), "[false]");
  EXPECT_EQ(eval("Patient.birthDate = @1974-12-25", patient), "[true]");
  EXPECT_EQ(eval("('a' | 'b' | 'a').count()"), "[2]");
}

// distinct() and | compare strings by their text, by a hash set when there are many; any other
// item sends the collection through the general comparison, where a date that does not parse
// is a String and equals one.
TEST(FhirPathEvaluator, DistinctKeepsTheFirstOfEachEqualItemInOrder) {
  const auto odd_date = parse(R"({"resourceType": "Patient", "birthDate": "not-a-date"})");
  std::string many;
  for (int i = 0; i < 40; ++i) many += (i > 0 ? "," : "") + std::string(1, "edcba"[i % 5]);

  EXPECT_EQ(eval("'b'.combine('a').combine('b').combine('a').distinct()"), R"(["b","a"])");
  EXPECT_EQ(eval("'" + many + "'.split(',').distinct()"), R"(["e","d","c","b","a"])");
  EXPECT_EQ(eval("'" + many + "'.split(',').isDistinct()"), "[false]");
  EXPECT_EQ(eval("(Patient.birthDate | 'not-a-date').count()", odd_date), "[1]");
  EXPECT_EQ(eval("('1' | 1 | 'a' | 'a').count()"), "[3]");
}

// descendants().ofType(T) walks once and keeps the nodes of T; it must give what filtering
// every descendant gives, in the same order, for leaf, primitive and derived types alike.
TEST(FhirPathEvaluator, DescendantsOfTypeIsDescendantsFiltered) {
  const auto obs = parse(kObservation);
  const auto patient = parse(kPatient);

  for (const char* type : {"Coding", "code", "string", "Quantity", "Extension", "uri"}) {
    const std::string fused = std::string("descendants().ofType(") + type + ")";
    const std::string filtered = std::string("descendants().select($this).ofType(") + type + ")";
    EXPECT_EQ(eval(fused, obs), eval(filtered, obs)) << type;
    EXPECT_EQ(eval(fused, patient), eval(filtered, patient)) << type;
  }
  EXPECT_EQ(eval("descendants().ofType(Coding).code", obs), R"(["29463-7"])");
  EXPECT_EQ(eval("component.descendants().ofType(string)", obs), R"(["x","a","b"])");
}

// String functions read a string node's text in place; dates are still not Strings.
TEST(FhirPathEvaluator, StringFunctionsReadNodesInPlaceAndCountCharacters) {
  const auto obs = parse(kObservation);
  const auto patient = parse(kPatient);

  EXPECT_EQ(eval("Observation.code.coding.system.startsWith('http://')", obs), "[true]");
  EXPECT_EQ(eval("Observation.effective.toString().substring(0, 4)", obs), R"(["2016"])");
  EXPECT_EQ(eval("Observation.effective.toString()", obs), R"(["2016-03-28T09:30:00+02:00"])");
  EXPECT_EQ(eval("'a\u00f1b\u20acc'.substring(1, 3)"), "[\"\u00f1b\u20ac\"]");
  EXPECT_EQ(eval("'a\u00f1b'.substring(3)"), "[]");
  EXPECT_EQ(eval("'a\u00f1b'.substring(1)"), "[\"\u00f1b\"]");
  EXPECT_EQ(eval("Patient.name[1].given.first() & ' ' & Patient.name[1].family", patient),
            R"(["Peter Windsor"])");
  EXPECT_EQ(eval("Patient.birthDate.startsWith('1974')", patient).rfind("error", 0), 0u);
}

TEST(FhirPathEvaluator, EqualityIsExactAndEquivalenceIsLenient) {
  EXPECT_EQ(eval("'Abc  d' = 'abc d'"), "[false]");
  EXPECT_EQ(eval("'Abc  d' ~ 'abc d'"), "[true]");
  EXPECT_EQ(eval("1.10 = 1.1"), "[true]");
  EXPECT_EQ(eval("(1.2 / 1.8) ~ 0.67"), "[true]");
  EXPECT_EQ(eval("(1 | 2) ~ (2 | 1)"), "[true]");
  EXPECT_EQ(eval("(1 | 2) = (2 | 1)"), "[false]");
}

TEST(FhirPathEvaluator, DecimalArithmeticIsExact) {
  EXPECT_EQ(eval("0.1 + 0.2 = 0.3"), "[true]");
  EXPECT_EQ(eval("1.2 * 1.8"), "[2.16]");
  EXPECT_EQ(eval("2.2 mod 1.8"), "[0.4]");
  EXPECT_EQ(eval("1 / 4"), "[0.25]");
  EXPECT_EQ(eval("1.587.lowBoundary(6)"), "[1.586500]");
  EXPECT_EQ(eval("1.58700.precision()"), "[5]");
  EXPECT_EQ(eval("9223372036854775807 + 1").rfind("error 1:21: integer overflow", 0), 0u);
}

TEST(FhirPathEvaluator, QuantitiesCompareAcrossUcumUnits) {
  const auto obs = parse(kObservation);

  EXPECT_EQ(eval("4 'g' = 4000 'mg'"), "[true]");
  EXPECT_EQ(eval("1 '[in_i]' = 2.54 'cm'"), "[true]");
  EXPECT_EQ(eval("7 days = 1 week"), "[true]");
  EXPECT_EQ(eval("1 year = 1 'a'"), "[]");
  EXPECT_EQ(eval("1 'cm' = 1 's'"), "[]");
  EXPECT_EQ(eval("5 'mg/dL' > 40 'mg/L'"), "[true]");
  EXPECT_EQ(eval("Observation.value > 80000 'g'", obs), "[true]");
  EXPECT_EQ(eval("2.0 'cm' * 2.0 'm'"),
            R"([{"value":4.00,"unit":"cm.m","system":"http://unitsofmeasure.org","code":"cm.m"}])");
}

TEST(FhirPathEvaluator, DatesCompareAtTheirCommonPrecision) {
  EXPECT_EQ(eval("@2018-03 < @2018-04-01"), "[true]");
  EXPECT_EQ(eval("@2018-03 < @2018-03-01"), "[]");
  EXPECT_EQ(eval("@2018-03-01 ~ @2018-03-01T10:00"), "[false]");
  EXPECT_EQ(eval("@2017-11-05T01:30:00.0-04:00 = @2017-11-05T00:30:00.0-05:00"), "[true]");
  EXPECT_EQ(eval("@2012-04-15T15:30:31 = @2012-04-15T15:30:31.0"), "[true]");
}

TEST(FhirPathEvaluator, DateArithmeticUsesCalendarDurations) {
  EXPECT_EQ(eval("@2024-01-31 + 1 month"), R"(["2024-02-29"])");
  EXPECT_EQ(eval("@2024-03-01T00:30:00Z - 1 hour"), R"(["2024-02-29T23:30:00Z"])");
  EXPECT_EQ(eval("@1973-12-25 + 7.7 days"), R"(["1974-01-01"])");
  EXPECT_EQ(eval("@1973-12-25 + 1 'mo'").rfind("error 1:13: cannot add 'mo' to a Date", 0), 0u);
}

TEST(FhirPathEvaluator, StrictModeReportsUnknownElementsThatLenientModeIgnores) {
  const auto patient = parse(kPatient);
  EvaluationOptions strict;
  strict.strict = true;

  EXPECT_EQ(eval("name.given1", patient), "[]");
  EXPECT_EQ(eval("name.given1", patient, strict), "error 1:6: HumanName has no element 'given1'");
  EXPECT_EQ(eval("Encounter.status", patient, strict),
            "error 1:1: the input is Patient, not Encounter");
}

TEST(FhirPathEvaluator, IterationVariablesAndAggregate) {
  EXPECT_EQ(eval("('a' | 'b' | 'c').select($index)"), "[0,1,2]");
  EXPECT_EQ(eval("(1 | 2 | 3 | 4).aggregate($total + $this, 0)"), "[10]");
  EXPECT_EQ(eval("(3 | 1 | 2).sort(-$this)"), "[3,2,1]");
}

TEST(FhirPathEvaluator, EnvironmentVariables) {
  const auto patient = parse(kPatient);
  EvaluationOptions options;
  options.variables["threshold"] = {Value::integer(2)};

  EXPECT_EQ(eval("%resource.name.count() = %threshold", patient, options), "[true]");
  EXPECT_EQ(eval("%`vs-administrative-gender`"),
            R"(["http://hl7.org/fhir/ValueSet/administrative-gender"])");
  EXPECT_EQ(eval("%nope"), "error 1:1: unknown variable %nope");
}

TEST(FhirPathEvaluator, ContextCanBeAnElementWhileResourceIsTheWhole) {
  const auto patient = parse(kPatient);
  auto names = compile("name")->evaluate(patient);
  ASSERT_TRUE(names);
  auto expr = compile("given.count() + %resource.name.count()");
  ASSERT_TRUE(expr);

  auto result = expr->evaluate({names->back()}, patient);

  ASSERT_TRUE(result);
  EXPECT_EQ(to_json(*result), "[3]");
}

TEST(FhirPathEvaluator, OneCompiledExpressionServesManyResourcesAndThreads) {
  auto expr = compile("name.where(family.exists()).family.first()");
  ASSERT_TRUE(expr);
  std::vector<std::thread> threads;
  std::vector<std::string> results(4);

  for (std::size_t t = 0; t < results.size(); ++t) {
    threads.emplace_back([&, t] {
      const auto patient = parse(kPatient);
      for (int i = 0; i < 200; ++i) {
        auto r = expr->evaluate(patient);
        results[t] = r ? to_json(*r) : r.error().message;
      }
    });
  }
  for (std::thread& t : threads) t.join();

  for (const std::string& r : results) EXPECT_EQ(r, R"(["Windsor"])");
}

TEST(FhirPathEvaluator, NowIsFixedWhenTheOptionsSayWhen) {
  EvaluationOptions options;
  options.now = Temporal{.year = 2024,
                         .month = 5,
                         .day = 6,
                         .hour = 7,
                         .minute = 8,
                         .second = 9,
                         .millisecond = 10,
                         .precision = TemporalPrecision::kMillisecond,
                         .offset_minutes = 0};

  EXPECT_EQ(eval("now()", rapidjson::Value(), options), R"(["2024-05-06T07:08:09.010Z"])");
  EXPECT_EQ(eval("today()", rapidjson::Value(), options), R"(["2024-05-06"])");
}

TEST(FhirPathEvaluator, TraceReportsToTheSinkAndPassesItsInputThrough) {
  std::vector<std::string> seen;
  EvaluationOptions options;
  options.trace = [&](std::string_view name, const Collection& items) {
    seen.push_back(std::string(name) + "=" + to_json(items));
  };

  EXPECT_EQ(eval("(1 | 2).trace('n', $this * 10).count()", rapidjson::Value(), options), "[2]");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], "n=[10,20]");
}

TEST(FhirPathEvaluator, ResultsAreWrittenAsFhirJson) {
  const auto obs = parse(kObservation);

  EXPECT_EQ(
      eval("Observation.value", obs),
      R"([{"value":185,"unit":"lbs","system":"http://unitsofmeasure.org","code":"[lb_av]"}])");
  EXPECT_EQ(eval("@2014-01-05T10:30:00.000+01:00 | @T10:30 | 1.50 | 'x' | 4 days"),
            R"(["2014-01-05T10:30:00.000+01:00","10:30",1.50,"x",)"
            R"({"value":4,"unit":"days","system":"http://unitsofmeasure.org","code":"d"}])");
  EXPECT_EQ(eval("1.type()"), R"([{"namespace":"System","name":"Integer"}])");
}

}  // namespace
}  // namespace fl::mappings::fhirpath
