#include "fhirpath/quantity.h"

#include "fhirpath/ucum.h"

#include <string>

namespace fl::mappings::fhirpath {
namespace {

std::string wrapped(std::string_view unit) {
  if (unit.find_first_of("./") == std::string_view::npos) return std::string(unit);
  return "(" + std::string(unit) + ")";
}

}  // namespace
}  // namespace fl::mappings::fhirpath

std::optional<std::pair<fl::mappings::fhirpath::Decimal, fl::mappings::fhirpath::Decimal>>
fl::mappings::fhirpath::comparable_values(const Quantity& a, const Quantity& b) {
  if (definite_unit(a.unit) == definite_unit(b.unit)) return std::pair(a.value, b.value);
  auto ua = canonical_unit(a.unit);
  auto ub = canonical_unit(b.unit);
  if (!ua || !ub || ua->powers != ub->powers) return std::nullopt;
  auto va = a.value.multiply(ua->factor);
  auto vb = b.value.multiply(ub->factor);
  if (!va || !vb) return std::nullopt;
  return std::pair(*va, *vb);
}

std::optional<int> fl::mappings::fhirpath::compare_quantities(const Quantity& a,
                                                              const Quantity& b) {
  auto values = comparable_values(a, b);
  if (!values) return std::nullopt;
  return compare(values->first, values->second);
}

std::optional<fl::mappings::fhirpath::Quantity> fl::mappings::fhirpath::add_quantities(
    const Quantity& a, const Quantity& b, int sign) {
  Decimal right = b.value;
  if (definite_unit(a.unit) != definite_unit(b.unit)) {
    auto ua = canonical_unit(a.unit);
    auto ub = canonical_unit(b.unit);
    if (!ua || !ub || ua->powers != ub->powers) return std::nullopt;
    auto scaled = b.value.multiply(ub->factor);
    if (!scaled) return std::nullopt;
    auto in_a = scaled->divide(ua->factor);
    if (!in_a) return std::nullopt;
    right = *in_a;
  }
  auto sum = sign > 0 ? a.value.add(right) : a.value.subtract(right);
  if (!sum) return std::nullopt;
  return Quantity{.value = *sum, .unit = a.unit};
}

std::optional<fl::mappings::fhirpath::Quantity> fl::mappings::fhirpath::multiply_quantities(
    const Quantity& a, const Quantity& b, int sign) {
  auto value = sign > 0 ? a.value.multiply(b.value) : a.value.divide(b.value);
  if (!value) return std::nullopt;
  const std::string_view ua = definite_unit(a.unit);
  const std::string_view ub = definite_unit(b.unit);
  std::string unit;
  if (sign < 0 && ua == ub) {
    unit = "1";
  } else if (ub == "1") {
    unit = std::string(ua);
  } else if (ua == "1") {
    unit = sign > 0 ? std::string(ub) : "/" + wrapped(ub);
  } else {
    unit = wrapped(ua) + (sign > 0 ? "." : "/") + wrapped(ub);
  }
  return Quantity{.value = *value, .unit = std::move(unit)};
}
