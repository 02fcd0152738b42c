// Combining: union (duplicates removed, like the | operator) and combine (kept).
#include "fhirpath/functions.h"
#include "fhirpath/operators.h"

namespace fl::mappings::fhirpath {
namespace {

Result<Collection> union_function(const Call& call) { return union_of(call.input(), call.arg(0)); }

Result<Collection> combine(const Call& call) {
  Collection out = call.input();
  out.insert(out.end(), call.arg(0).begin(), call.arg(0).end());
  return out;
}

constexpr FunctionDef kFunctions[] = {
    {"union", 1, 1, ArgMode::kEager, union_function},
    {"combine", 1, 1, ArgMode::kEager, combine},
};

}  // namespace
}  // namespace fl::mappings::fhirpath

std::span<const fl::mappings::fhirpath::FunctionDef> fl::mappings::fhirpath::combining_functions() {
  return kFunctions;
}
