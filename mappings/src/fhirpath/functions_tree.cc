// Tree navigation: children() and descendants().
#include "fhirpath/functions.h"
#include "fhirpath/navigation.h"

namespace fl::mappings::fhirpath {
namespace {

Collection children_of(const Collection& input) {
  Collection out;
  for (const Value& item : input) {
    if (item.is_node()) all_children(item.as_node(), out);
  }
  return out;
}

Result<Collection> children(const Call& call) { return children_of(call.input()); }

// Every node below the input, level by level.
Result<Collection> descendants(const Call& call) {
  Collection out;
  Collection level = children_of(call.input());
  while (!level.empty()) {
    Collection next = children_of(level);
    out.insert(out.end(), std::make_move_iterator(level.begin()),
               std::make_move_iterator(level.end()));
    level = std::move(next);
  }
  return out;
}

constexpr FunctionDef kFunctions[] = {
    {"children", 0, 0, ArgMode::kEager, children},
    {"descendants", 0, 0, ArgMode::kEager, descendants},
};

}  // namespace
}  // namespace fl::mappings::fhirpath

std::span<const fl::mappings::fhirpath::FunctionDef> fl::mappings::fhirpath::tree_functions() {
  return kFunctions;
}
