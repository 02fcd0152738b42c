#include "fhirpath/types.h"

#include "fhirpath/convert.h"
#include "fhirpath/model/model.h"

bool fl::mappings::fhirpath::is_of_type(const Value& item, const TypeSpec& type) {
  if (!type.known) return false;
  const TypeName actual = type_of(item);
  if (type.ns == "System") return !item.is_node() && actual.name == type.name;
  return item.is_node() && model::is_subtype(actual.name, type.name);
}

bool fl::mappings::fhirpath::is_exactly_of_type(const Value& item, const TypeSpec& type) {
  if (type.ns == "FHIR" && model::is_primitive(type.name)) {
    return item.is_node() && type_of(item).name == type.name;
  }
  return is_of_type(item, type);
}
