// The function library: one table (functions.cc) of every FHIRPath function the engine knows,
// with its argument count and how its arguments are evaluated. The implementations live in the
// functions_*.cc files, one per section of the specification.
#pragma once

#include "fl/base/result.h"
#include "fl/mappings/fhirpath_value.h"

#include "fhirpath/ast.h"
#include "fhirpath/convert.h"
#include "fhirpath/evaluator.h"

#include <span>
#include <string>
#include <string_view>

namespace fl::mappings::fhirpath {

enum class ArgMode : std::uint8_t {
  kEager,  // arguments are evaluated once, at the call site, before the call
  kLazy,   // the function evaluates its arguments itself (per item, with $this, or not at all)
  kType,   // the single argument is a type name, resolved at compile time (node.type)
};

// What a function receives: its input collection, the call's syntax node, and either its
// evaluated arguments (kEager) or the means to evaluate them (kLazy).
class Call {
 public:
  Call(Evaluator& evaluator, const Ast& node, const Collection& input, const Frame& frame,
       std::span<const Collection* const> args)
      : evaluator_(evaluator), node_(node), input_(input), frame_(frame), args_(args) {}

  const Collection& input() const { return input_; }
  const Ast& node() const { return node_; }
  const Frame& frame() const { return frame_; }
  Evaluator& evaluator() const { return evaluator_; }
  std::size_t arg_count() const { return node_.args.size(); }
  // kEager: the value of argument i.
  const Collection& arg(std::size_t i) const { return *args_[i]; }
  // kLazy: evaluates argument i in `frame`.
  Result<Collection> eval_arg(std::size_t i, const Frame& frame) const {
    return evaluator_.eval(*node_.args[i], frame);
  }
  // An evaluation error at this call.
  Error error(std::string message) const { return evaluator_.error_at(node_, std::move(message)); }

 private:
  Evaluator& evaluator_;
  const Ast& node_;
  const Collection& input_;
  const Frame& frame_;
  std::span<const Collection* const> args_;
};

using FunctionImpl = Result<Collection> (*)(const Call& call);

// No kEager function takes more arguments than this (the evaluator keeps them on its stack).
inline constexpr std::size_t kMaxEagerArgs = 2;

struct FunctionDef {
  std::string_view name;
  int min_args;
  int max_args;
  ArgMode mode;
  FunctionImpl impl;
};

// Evaluates argument `arg` once per input item, with $this the item and $index its position,
// and hands each item and its result to `fn` (a Status-returning callable).
template <typename Fn>
Status for_each_item(const Call& call, std::size_t arg, Fn&& fn) {
  const Collection& input = call.input();
  // One focus collection, refilled per item: nothing keeps it past its iteration, and a fresh
  // one per item was an allocation per item.
  Collection focus;
  focus.reserve(1);
  for (std::size_t i = 0; i < input.size(); ++i) {
    focus.clear();
    focus.push_back(input[i]);
    const Frame frame{
        .focus = &focus, .index = static_cast<std::int64_t>(i), .total = call.frame().total};
    auto result = call.eval_arg(arg, frame);
    if (!result) return result.error();
    if (Status s = fn(input[i], std::move(result.value())); !s) return s;
  }
  return Ok{};
}

// single_operand() of a function's input or argument, named "<function><suffix>" in the error.
// The name is built only when there is an error: building it per call cost an allocation on
// every evaluation.
inline Result<std::optional<Value>> single_operand_of(const Call& call, const Collection& items,
                                                      std::string_view suffix) {
  if (items.size() <= 1) return single_operand(items, {});
  return single_operand(items, std::string(call.node().name) + std::string(suffix));
}

// The function named `name`, or null.
const FunctionDef* find_function(std::string_view name);

// Each section's functions (functions_<section>.cc), gathered by functions.cc.
std::span<const FunctionDef> existence_functions();
std::span<const FunctionDef> filtering_functions();
std::span<const FunctionDef> subsetting_functions();
std::span<const FunctionDef> combining_functions();
std::span<const FunctionDef> conversion_functions();
std::span<const FunctionDef> string_functions();
std::span<const FunctionDef> math_functions();
std::span<const FunctionDef> tree_functions();
std::span<const FunctionDef> utility_functions();
std::span<const FunctionDef> type_functions();
std::span<const FunctionDef> boundary_functions();

}  // namespace fl::mappings::fhirpath
