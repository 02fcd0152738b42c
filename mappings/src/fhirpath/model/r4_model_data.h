// The FHIR R4 type model as generated tables (r4_model_data.cc, written by
// mappings/tools/generate_r4_model.py). Read through model.h, not directly.
#pragma once

#include <span>
#include <string_view>

namespace fl::mappings::fhirpath::model {

// An element `name` of `owner` (a type such as "HumanName", or a backbone element's path such
// as "Patient.contact"). `type` is its FHIR type; `child_key` is where its own elements are
// listed when that is not `type` (backbone elements); `choices` lists the type suffixes of a
// choice element ("Quantity|CodeableConcept|String"), whose `type` is then empty. Rows are
// sorted by (owner, name). Elements a type inherits (id, extension, meta …) are listed once,
// under the base type that defines them.
struct ElementRow {
  std::string_view owner;
  std::string_view name;
  std::string_view type;
  std::string_view child_key;
  std::string_view choices;
};

// A FHIR type and its base type, sorted by name. `resource` is true for Resource and the
// types derived from it.
struct TypeRow {
  std::string_view name;
  std::string_view parent;
  bool resource;
};

std::span<const ElementRow> element_rows();
std::span<const TypeRow> type_rows();

}  // namespace fl::mappings::fhirpath::model
