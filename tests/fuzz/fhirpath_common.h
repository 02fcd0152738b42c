// What the two FHIRPath targets share: fixed evaluation options (a fixed now(), so runs
// reproduce) and a walk over a result that formats every item, as map preview and the R4 suite
// runner do.
#pragma once

#include "fl/mappings/fhirpath.h"

#include "fuzz_support.h"

namespace fl::fuzz {

inline mappings::fhirpath::EvaluationOptions evaluation_options(bool strict) {
  mappings::fhirpath::EvaluationOptions options;
  options.strict = strict;
  options.now =
      mappings::fhirpath::Temporal{.year = 2024,
                                   .month = 2,
                                   .day = 29,
                                   .hour = 23,
                                   .minute = 59,
                                   .second = 59,
                                   .millisecond = 999,
                                   .precision = mappings::fhirpath::TemporalPrecision::kMillisecond,
                                   .offset_minutes = 60};
  options.trace = [](std::string_view, const mappings::fhirpath::Collection&) {};
  return options;
}

// Evaluates and formats the result; errors are values, so only the sanitizers and the property
// that an error names where it happened can fail.
inline void evaluate_and_format(const mappings::fhirpath::Expression& expression,
                                const rapidjson::Value& resource, bool strict) {
  auto result = expression.evaluate(resource, evaluation_options(strict));
  if (!result) return;
  std::size_t total = mappings::fhirpath::to_json(*result).size();
  for (const auto& value : *result) total += mappings::fhirpath::to_literal(value).size();
  FL_FUZZ_CHECK(total > 0 || result->empty());
}

}  // namespace fl::fuzz
