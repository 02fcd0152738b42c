// Parses a FHIRPath expression into its syntax tree and resolves what can be resolved once:
// function names and argument counts, and the types named by is/as/ofType. Errors name the
// position and what was expected there.
#pragma once

#include "fl/base/result.h"

#include "fhirpath/ast.h"

#include <memory>
#include <string_view>

namespace fl::mappings::fhirpath {

Result<std::unique_ptr<Ast>> parse(std::string_view text);

}  // namespace fl::mappings::fhirpath
