// FHIRPath's three ways of comparing: equality (=, with "unknown" when precision differs),
// equivalence (~, lenient: case, white space, precision) and ordering (<, with errors for
// values of kinds that do not order).
#pragma once

#include "fl/base/result.h"
#include "fl/mappings/fhirpath_value.h"

#include <optional>

namespace fl::mappings::fhirpath {

// a = b for single items: nullopt when it cannot be known (dates of different precision,
// quantities in units that do not convert).
std::optional<bool> items_equal(const Value& a, const Value& b);

bool items_equivalent(const Value& a, const Value& b);

// -1, 0, 1; nullopt when unknown; an error when the two kinds do not order (1 < 'a').
Result<std::optional<int>> order_items(const Value& a, const Value& b);

// a = b for collections: empty when either is empty, false when the counts differ, else the
// items pairwise in order.
std::optional<bool> collections_equal(const Collection& a, const Collection& b);

// a ~ b for collections: both empty is true; same count and each item of a has an equivalent
// in b, in any order.
bool collections_equivalent(const Collection& a, const Collection& b);

// Whether `items` holds an item equal to `item` (for union, distinct, in, contains).
bool contains_equal(const Collection& items, const Value& item);

}  // namespace fl::mappings::fhirpath
