// Tree navigation: children() and descendants().
#include "fhirpath/functions.h"
#include "fhirpath/navigation.h"

#include <vector>

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

// Every node below the input, level by level: walked as bare nodes, then made Values once.
Result<Collection> descendants(const Call& call) {
  std::vector<Node> nodes;
  descendant_nodes(call.input(), nodes);
  Collection out;
  out.reserve(nodes.size());
  for (const Node& node : nodes) out.push_back(Value::node(node));
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
