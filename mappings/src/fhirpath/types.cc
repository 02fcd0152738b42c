#include "fhirpath/types.h"

#include "fhirpath/convert.h"
#include "fhirpath/model/model.h"

#include <string_view>

namespace fl::mappings::fhirpath {
namespace {

// Compared as views, which check the length first: `std::string == "System"` measured the
// literal and called memcmp, for every item ofType() tests (every node of descendants()).
bool in_namespace(const TypeSpec& type, std::string_view ns) {
  return std::string_view(type.ns) == ns;
}

}  // namespace
}  // namespace fl::mappings::fhirpath

bool fl::mappings::fhirpath::is_of_type(const Value& item, const TypeSpec& type) {
  if (!type.known) return false;
  if (in_namespace(type, "System")) return !item.is_node() && type_of(item).name == type.name;
  if (!item.is_node()) return false;
  const std::string_view actual = fhir_type_name(item.as_node());
  if (type.leaf) return actual == type.name;
  return model::is_subtype(actual, type.name);
}

bool fl::mappings::fhirpath::is_exactly_of_type(const Value& item, const TypeSpec& type) {
  if (item.is_node()) return is_exactly_of_type(item.as_node(), type);
  return !(in_namespace(type, "FHIR") && model::is_primitive(type.name)) && is_of_type(item, type);
}

bool fl::mappings::fhirpath::is_exactly_of_type(const Node& node, const TypeSpec& type) {
  if (!type.known || in_namespace(type, "System")) return false;
  const std::string_view actual = fhir_type_name(node);
  if (type.leaf || model::is_primitive(type.name)) return actual == type.name;
  return model::is_subtype(actual, type.name);
}
