// Type tests for `is`, `as` and ofType(): System values against System types, nodes against
// the FHIR type hierarchy.
#pragma once

#include "fl/mappings/fhirpath_value.h"

#include "fhirpath/ast.h"

namespace fl::mappings::fhirpath {

// `is`: the item is of `type` or of a type derived from it (an Age is a Quantity, a code is a
// string).
bool is_of_type(const Value& item, const TypeSpec& type);

// `as` and ofType(): as is_of_type(), except that a primitive type must match exactly (a code
// is not returned as a string), as the FHIR R4 test suite expects.
bool is_exactly_of_type(const Value& item, const TypeSpec& type);

// is_exactly_of_type() of a node, without making it a Value first.
bool is_exactly_of_type(const Node& node, const TypeSpec& type);

}  // namespace fl::mappings::fhirpath
