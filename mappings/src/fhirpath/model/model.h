// Questions the evaluator asks of the FHIR R4 type model: what an element of a node is called
// and typed, which types derive from which, and which names are types at all.
#pragma once

#include "fhirpath/model/r4_model_data.h"

#include <string_view>

namespace fl::mappings::fhirpath::model {

// The element `name` of a node whose children are listed under `key` and whose FHIR type is
// `type` (for a backbone element, key is its path and type "BackboneElement"). Elements the
// type inherits are found through its base types. Null when the model has no such element.
const ElementRow* find_element(std::string_view key, std::string_view type, std::string_view name);

// The FHIR type named `name` (case-sensitive: "string", "Quantity", "Patient"), or null.
const TypeRow* find_type(std::string_view name);

// True when `type` is `base` or derives from it ("Age" is a "Quantity", "code" a "string").
bool is_subtype(std::string_view type, std::string_view base);

// True when some type derives from `type` (Quantity, Element, DomainResource), false for the
// leaves of the hierarchy and for names that are not types.
bool has_subtypes(std::string_view type);

// The FHIR type of a choice element's suffix: "String" -> "string", "Quantity" -> "Quantity".
// Empty when the suffix names no type.
std::string_view choice_suffix_type(std::string_view suffix);

// True when `suffix` is one of the '|'-separated choices of a choice element.
bool has_choice(std::string_view choices, std::string_view suffix);

// Primitive types are the lower-case ones (boolean, string, dateTime …). Inline: it is asked of
// every string compared or read in place.
inline bool is_primitive(std::string_view type) {
  return !type.empty() && type[0] >= 'a' && type[0] <= 'z';
}

}  // namespace fl::mappings::fhirpath::model
