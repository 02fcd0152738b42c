// Walks a compiled syntax tree over one resource. One Evaluator per evaluate() call; it refers
// to the call's options, %resource and %context (owned by the caller, who outlives it), and is
// used by one thread.
#pragma once

#include "fl/base/result.h"
#include "fl/mappings/fhirpath.h"
#include "fl/mappings/fhirpath_value.h"

#include "fhirpath/ast.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fl::mappings::fhirpath {

// What $this, $index and $total mean where an expression is evaluated. `focus` is the
// collection identifiers navigate from: the context at the top, one item inside where(),
// select() and the like.
struct Frame {
  const Collection* focus = nullptr;
  std::int64_t index = -1;            // $index; -1 outside an iterating function
  const Collection* total = nullptr;  // $total inside aggregate()
};

class Evaluator {
 public:
  Evaluator(std::string_view text, const EvaluationOptions& options, const Collection& resource,
            const Collection& context)
      : text_(text), options_(options), resource_(resource), context_(context) {}

  Result<Collection> eval(const Ast& node, const Frame& frame);

  const EvaluationOptions& options() const { return options_; }
  const Collection& context() const { return context_; }
  // An evaluation error with the position of `node` in the expression.
  Error error_at(const Ast& node, std::string message) const;
  // The instant of this evaluation (options.now or the clock, read once).
  const Temporal& now();

 private:
  Result<Collection> dispatch(const Ast& node, const Frame& frame);
  Result<Collection> identifier(const Ast& node, const Collection& focus);
  Result<Collection> member(const Ast& node, const Frame& frame);
  Result<Collection> function(const Ast& node, const Frame& frame);
  Result<Collection> descendants_of_type(const Ast& node, const Frame& frame);
  // What a function applies to: its receiver evaluated into `storage`, or the focus.
  Result<const Collection*> input_of(const Ast* receiver, const Frame& frame, Collection& storage);
  Result<Collection> indexer(const Ast& node, const Frame& frame);
  Result<Collection> variable(const Ast& node);
  Result<Collection> navigate(const Ast& node, const Collection& input, std::string_view name);
  Result<Collection> binary(const Ast& node, const Frame& frame);
  Status check_member_of_cast(const Ast& node) const;
  Status check_ordered(const Ast& node) const;
  Result<Collection> type_operator(const Ast& node, const Frame& frame);

  std::string_view text_;
  const EvaluationOptions& options_;
  const Collection& resource_;
  const Collection& context_;
  std::optional<Temporal> now_;
};

}  // namespace fl::mappings::fhirpath
