// The operators' semantics on evaluated operands: empty propagation, singleton checks, number
// promotion, date arithmetic with quantities, and FHIRPath's three-valued logic.
#pragma once

#include "fl/base/result.h"
#include "fl/mappings/fhirpath_value.h"

#include "fhirpath/ast.h"

#include <optional>

namespace fl::mappings::fhirpath {

// * / div mod + - &
Result<Collection> arithmetic(BinaryOp op, const Collection& left, const Collection& right);

// Unary + and - (op is kAdd or kSubtract).
Result<Collection> polarity(BinaryOp op, const Collection& operand);

// < <= > >=
Result<Collection> ordering(BinaryOp op, const Collection& left, const Collection& right);

// = != ~ !~
Collection equality(BinaryOp op, const Collection& left, const Collection& right);

// in, contains
Result<Collection> membership(BinaryOp op, const Collection& left, const Collection& right);

// left | right: the items of both, without duplicates.
Collection union_of(const Collection& left, const Collection& right);

// and, or, xor, implies on three-valued Booleans (nullopt is "unknown", the empty collection).
std::optional<bool> logic(BinaryOp op, std::optional<bool> left, std::optional<bool> right);

// A Boolean (or unknown) as a collection.
Collection boolean_result(std::optional<bool> value);

}  // namespace fl::mappings::fhirpath
