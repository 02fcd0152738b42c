// FHIR JSON as FHIRPath sees it: a node's children by element name, with choice elements
// (`value` reads valueQuantity, valueString …), primitive extensions from the "_name" twin, arrays
// flattened, and contained resources typed by their resourceType.
#pragma once

#include "fl/mappings/fhirpath_value.h"

#include <string_view>
#include <vector>

namespace fl::mappings::fhirpath {

// The node for a resource (typed by its "resourceType"), or for any JSON value of unknown type.
Node resource_node(const rapidjson::Value& json);

enum class Lookup : std::uint8_t {
  kFound,           // `name` is an element of the node's type (possibly absent in this resource)
  kUnknownElement,  // the model does not define `name` for the node's type
  kChoiceSuffix,    // `name` is a choice element spelled with its type (valueQuantity)
  kUntyped,         // the node's type is unknown; plain JSON navigation
};

// Appends the children of `parent` named `name` to `out` and says how the name was resolved.
// Data the model does not describe is still returned (kUnknownElement with items), so
// extensions of profiles and newer elements stay reachable in lenient mode.
Lookup child_nodes(const Node& parent, std::string_view name, Collection& out);

// Appends every child element of `parent` (children()): all elements, choice elements under
// their own type, primitives with their extensions.
void all_children(const Node& parent, Collection& out);

// Appends every node below the items of `input` (descendants()), level by level: the children
// of the input, then their children, each node's in order.
void descendant_nodes(const Collection& input, std::vector<Node>& out);

// A primitive node as its System value (Boolean, Integer, Decimal, String, Date, DateTime,
// Time); nullopt for complex nodes and for primitives with only extensions.
std::optional<Value> primitive_value(const Node& node);

// A Quantity-typed node (Quantity, Age, Duration …) as a System Quantity: the UCUM code when
// the system is UCUM, else the unit text. Nullopt when it has no value.
std::optional<Quantity> quantity_value(const Node& node);

// Whether a node is a FHIR primitive (by model type, else by its JSON form).
bool is_primitive_node(const Node& node);

// Deep equality of the JSON behind two nodes (value and extensions).
bool same_json(const Node& a, const Node& b);

}  // namespace fl::mappings::fhirpath
