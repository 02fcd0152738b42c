// The FHIRPath evaluator on an arbitrary resource: the input is read as the gateway reads an
// event (ValidateStage, default limits) and a fixed set of expressions that touch every kind of
// value is evaluated on each resource it holds, lenient and strict. Expressions are trusted
// configuration; resources come from source systems, so this is the evaluator's attack surface.
// distinct(), isDistinct(), union() and repeat() compare items pairwise (quadratic), so they run
// on small collections only; over descendants() they would measure that, not find bugs.
// Seeds: corpus/fhirpath_resource and, at run time, the R4 suite's inputs and the spec examples.
#include "fl/gateway/stages/validate_stage.h"

#include "fhirpath_common.h"

#include <rapidjson/document.h>

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace {

constexpr const char* kExpressions[] = {
    "descendants()",
    "descendants().select($this.toString())",
    "descendants().select(toInteger() | toDecimal() | toBoolean() | toDate() | toDateTime())",
    "descendants().select(toTime() | toQuantity() | convertsToQuantity() | convertsToDateTime())",
    "descendants().ofType(string).select(length() + indexOf('a') + lower().length())",
    "descendants().ofType(string).select(substring(1, 3) & upper() & replace('a', 'b'))",
    "descendants().ofType(string).where(matches('^[0-9]+$') or startsWith('urn:'))",
    "descendants().ofType(string).select(replaceMatches('([a-z])\\\\1', '$1').toChars().count())",
    "descendants().where($this is date or $this is dateTime or $this is instant)"
    ".select($this < @2020-01-01 | $this >= @2020-01-01T10:00:00Z | $this + 1 month)",
    "descendants().ofType(decimal).select($this * 2.5 | $this / 3 | $this div 2 | $this mod 7)",
    "descendants().ofType(integer).select($this + 1 | -$this | $this.abs() | $this.power(2))",
    "descendants().ofType(decimal).select(round(2) | ceiling() | floor() | truncate() | sqrt())",
    "descendants().ofType(decimal).select(precision() | lowBoundary() | highBoundary())",
    "descendants().ofType(Quantity).select(value * 2 'mg' | $this + 1 'mg' | $this = 1 'g')",
    "descendants().ofType(Quantity).where(comparator.exists() or unit = 'mg/dL')",
    "descendants().ofType(Coding).where(system = 'http://loinc.org').code",
    "descendants().ofType(CodeableConcept).coding.select(code & '|' & display)",
    "descendants().ofType(Reference).reference.select(split('/').last())",
    "descendants().ofType(Period).select(start <= end)",
    "descendants().ofType(HumanName).select(given.first() + ' ' + family)",
    "descendants().extension.where(url.startsWith('http')).value",
    "descendants().children().count() + children().distinct().count() + name.given.isDistinct()",
    "repeat(item).linkId | repeat(contained).id | repeat(part).name",
    "name.given | name.family | telecom.value | address.country | birthDate.extension",
    "value.as(Quantity).unit | value.ofType(string) | value is Quantity | effective.as(dateTime)",
    "component.value.as(Quantity).value.aggregate($this + $total, 0)",
    "subject.reference | patient.reference | meta.versionId | meta.security.code",
    "contained.ofType(Patient).id | entry.resource.ofType(Observation).status",
    "iif(id.exists(), id.length(), 0) + (descendants().count() div 10)",
    "descendants().ofType(string).take(20).sort($this).skip(1).tail().union(descendants().ofType("
    "code).take(20)).exclude('final')",
    "descendants().ofType(string).combine(descendants().ofType(uri)).count()",
    "descendants().select(type().name).combine(descendants().ofType(Element).id)",
    "now() - 1 year > birthDate | today() - 18 years >= birthDate | timeOfDay() < @T12:00",
    "all($this.descendants().exists()) and (descendants().empty() xor true) implies false",
    "descendants().where($this ~ 'a' or $this != 1 or $this in ('x' | 1)).trace('t').count()",
};

std::vector<fl::mappings::fhirpath::Expression> compile_all() {
  std::vector<fl::mappings::fhirpath::Expression> out;
  for (const char* text : kExpressions) {
    auto expression = fl::mappings::fhirpath::compile(text);
    if (!expression) {
      std::fprintf(stderr, "fuzz: %s does not compile: %s at %s\n", text,
                   expression.error().message.c_str(), expression.error().where.c_str());
      std::abort();
    }
    out.push_back(std::move(*expression));
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto expressions = compile_all();
  static const fl::gateway::ValidateStage stage(fl::gateway::ValidationLimits{});
  fl::ports::SourceEvent event;
  event.value.assign(fl::fuzz::as_text(data, size));
  auto validated = stage.run(event);
  if (!validated) return 0;
  for (const auto& resource : validated->resources) {
    if (resource.json == nullptr) continue;  // a delete
    for (const auto& expression : expressions) {
      fl::fuzz::evaluate_and_format(expression, *resource.json, false);
      fl::fuzz::evaluate_and_format(expression, *resource.json, true);
    }
  }
  return 0;
}
