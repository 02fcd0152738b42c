// The syntax tree a FHIRPath expression compiles to. Built once by the parser, then only read:
// the evaluator walks it for every resource, from any number of threads.
#pragma once

#include "fl/mappings/fhirpath_value.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fl::mappings::fhirpath {

struct FunctionDef;

enum class AstKind : std::uint8_t {
  kLiteral,     // literal
  kEmpty,       // {}
  kIdentifier,  // name: an element of the focus, or a type name at the start of a path
  kMember,      // receiver.name
  kFunction,    // [receiver.]name(args)
  kIndexer,     // receiver[args[0]]
  kThis,        // $this
  kIndex,       // $index
  kTotal,       // $total
  kVariable,    // %name
  kUnary,       // op args[0], op is kAdd or kSubtract
  kBinary,      // args[0] op args[1]
  kIs,          // args[0] is type
  kAs,          // args[0] as type
};

enum class BinaryOp : std::uint8_t {
  kMultiply,
  kDivide,
  kDiv,
  kMod,
  kAdd,
  kSubtract,
  kConcatenate,
  kUnion,
  kLess,
  kLessOrEqual,
  kGreater,
  kGreaterOrEqual,
  kEqual,
  kNotEqual,
  kEquivalent,
  kNotEquivalent,
  kIn,
  kContains,
  kAnd,
  kOr,
  kXor,
  kImplies,
};

// A type named in `is`, `as`, ofType(): namespace "System" or "FHIR", resolved at compile
// time. `known` is false only for a System name that is not a System type (`System.Patient`),
// which no value is.
struct TypeSpec {
  std::string ns;
  std::string name;
  bool known = true;
  // A FHIR type no other type derives from (Reference, HumanName, Patient): an item is of it
  // exactly when its type has its name, with no walk up the hierarchy.
  bool leaf = false;
};

struct Ast {
  AstKind kind = AstKind::kEmpty;
  std::uint32_t offset = 0;  // where in the expression text this part starts
  std::uint32_t depth = 1;   // of the subtree, bounded by the parser (recursion depth)
  BinaryOp op = BinaryOp::kAdd;
  std::string name;
  std::optional<Value> literal;
  // For a literal, the one-item collection it evaluates to, built once after parsing so that
  // operators can compare against it without copying it per evaluation.
  Collection literal_items;
  // The type of `is`, `as` and ofType(); for an identifier that names a FHIR type, that type
  // (empty name otherwise).
  TypeSpec type;
  const FunctionDef* function = nullptr;  // resolved at compile time
  std::unique_ptr<Ast> receiver;          // the part before '.', or null
  std::vector<std::unique_ptr<Ast>> args;
};

}  // namespace fl::mappings::fhirpath
