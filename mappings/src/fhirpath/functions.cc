// The function table: every section of the library, in the specification's order. A name is
// looked up here once, when an expression is compiled.
#include "fhirpath/functions.h"

#include <array>

const fl::mappings::fhirpath::FunctionDef* fl::mappings::fhirpath::find_function(
    std::string_view name) {
  using Section = std::span<const FunctionDef> (*)();
  static constexpr std::array<Section, 11> kSections = {
      existence_functions,  filtering_functions, subsetting_functions, combining_functions,
      conversion_functions, string_functions,    math_functions,       tree_functions,
      utility_functions,    type_functions,      boundary_functions,
  };
  for (Section section : kSections) {
    for (const FunctionDef& def : section()) {
      if (def.name == name) return &def;
    }
  }
  return nullptr;
}
