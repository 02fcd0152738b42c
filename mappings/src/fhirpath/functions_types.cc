// Types: is(), as() (the function forms of the operators) and type().
#include "fhirpath/convert.h"
#include "fhirpath/functions.h"
#include "fhirpath/types.h"

namespace fl::mappings::fhirpath {
namespace {

Result<Collection> is(const Call& call) {
  if (call.input().size() > 1) {
    return call.error("is() expects a single item, got " + std::to_string(call.input().size()));
  }
  if (call.input().empty()) return Collection{};
  return Collection{Value::boolean(is_of_type(call.input().front(), call.node().type))};
}

Result<Collection> as(const Call& call) {
  if (call.input().size() > 1) {
    return call.error("as() expects a single item, got " + std::to_string(call.input().size()) +
                      " (ofType() filters a collection)");
  }
  if (call.input().empty() || !is_exactly_of_type(call.input().front(), call.node().type)) {
    return Collection{};
  }
  return call.input();
}

Result<Collection> type(const Call& call) {
  Collection out;
  for (const Value& item : call.input()) out.push_back(Value::type_name(type_of(item)));
  return out;
}

constexpr FunctionDef kFunctions[] = {
    {"is", 1, 1, ArgMode::kType, is},
    {"as", 1, 1, ArgMode::kType, as},
    {"type", 0, 0, ArgMode::kEager, type},
};

}  // namespace
}  // namespace fl::mappings::fhirpath

std::span<const fl::mappings::fhirpath::FunctionDef> fl::mappings::fhirpath::type_functions() {
  return kFunctions;
}
