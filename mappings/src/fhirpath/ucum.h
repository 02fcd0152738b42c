// Enough of UCUM (https://ucum.org) to compare and convert the quantities clinical data uses:
// metric prefixes, the SI base units and common derived ones, time (min, h, d, wk, mo, a), the
// customary units labs send ([lb_av], [in_i], …), '%', arbitrary units ([iU]), powers ("m2",
// "s-1"), products and quotients ("g/dL", "mg.kg-1"), annotations ("{cells}") and the
// FHIRPath calendar keywords (week, days, …). A unit outside this subset is "unknown", which
// FHIRPath treats as not comparable.
#pragma once

#include "fl/mappings/fhirpath_value.h"

#include <array>
#include <optional>
#include <string_view>

namespace fl::mappings::fhirpath {

// A unit as a factor times a product of base-unit powers (m, g, s, K, C, cd, mol, and one
// dimension per arbitrary or non-linear unit family, which only compares with itself).
struct CanonicalUnit {
  static constexpr std::size_t kDimensions = 9;
  Decimal factor = Decimal::from_integer(1);
  std::array<int, kDimensions> powers{};
};

std::optional<CanonicalUnit> canonical_unit(std::string_view unit);

// FHIRPath's calendar duration keywords (year, months, week, …). Years and months are
// calendar lengths and do not convert to UCUM 'a' and 'mo'.
bool is_calendar_keyword(std::string_view unit);

// The UCUM code a calendar keyword stands for when it is a definite duration ("days" -> "d");
// the unit itself otherwise.
std::string_view definite_unit(std::string_view unit);

}  // namespace fl::mappings::fhirpath
