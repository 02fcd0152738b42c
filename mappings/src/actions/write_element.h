// Writing a value at a dotted element path below a selected element: shared by set and copy.
#pragma once

#include "actions/action.h"

#include <string>
#include <vector>

namespace fl::mappings::actions {

enum class WriteMode { kReplace, kIfAbsent, kAppend };

struct ElementWrite {
  std::vector<std::string> path;  // "meta.source" -> {"meta", "source"}
  WriteMode mode = WriteMode::kReplace;
};

// Parses the rule's "element" and "mode" members; reports problems to `context`.
std::optional<ElementWrite> compile_element_write(const rapidjson::Value& rule,
                                                  const CompileContext& context);

// Writes `values` (one value, or several for append) below `target`. Intermediate objects are
// created; a path through an array is an error.
Status write_element(const ElementWrite& write, Target& target,
                     std::vector<rapidjson::Value> values, ApplyContext& context);

}  // namespace fl::mappings::actions
