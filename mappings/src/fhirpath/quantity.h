// Quantity comparison and arithmetic with unit conversion (through ucum.h).
#pragma once

#include "fl/mappings/fhirpath_value.h"

#include <optional>
#include <utility>

namespace fl::mappings::fhirpath {

// Both values in the same unit (the canonical one), or nullopt when the units are unknown or
// measure different things (cm and s; a calendar year and UCUM 'a').
std::optional<std::pair<Decimal, Decimal>> comparable_values(const Quantity& a, const Quantity& b);

// -1, 0, 1, or nullopt when not comparable.
std::optional<int> compare_quantities(const Quantity& a, const Quantity& b);

// a + b or a - b (sign -1) in a's unit; nullopt when not comparable.
std::optional<Quantity> add_quantities(const Quantity& a, const Quantity& b, int sign);

// a * b or a / b (sign -1): values multiplied, units combined ("cm.m", "g/m", "1").
std::optional<Quantity> multiply_quantities(const Quantity& a, const Quantity& b, int sign);

}  // namespace fl::mappings::fhirpath
