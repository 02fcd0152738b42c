// Filtering and projection: where, select, repeat, ofType; and sort (FHIRPath 2.0).
#include "fhirpath/compare.h"
#include "fhirpath/convert.h"
#include "fhirpath/functions.h"
#include "fhirpath/types.h"

#include <algorithm>
#include <numeric>

namespace fl::mappings::fhirpath {
namespace {

Result<Collection> where(const Call& call) {
  Collection out;
  Status s = for_each_item(call, 0, [&](const Value& item, Collection result) -> Status {
    auto b = boolean_of(result, "where() criteria");
    if (!b) return b.error();
    if (b.value() == true) out.push_back(item);
    return Ok{};
  });
  if (!s) return s.error();
  return out;
}

Result<Collection> select(const Call& call) {
  Collection out;
  Status s = for_each_item(call, 0, [&](const Value&, Collection result) -> Status {
    out.insert(out.end(), std::make_move_iterator(result.begin()),
               std::make_move_iterator(result.end()));
    return Ok{};
  });
  if (!s) return s.error();
  return out;
}

// The projection applied to the input, then to what it returned, until nothing new appears.
Result<Collection> repeat(const Call& call) {
  Collection out;
  Collection level = call.input();
  while (!level.empty()) {
    Collection next;
    for (const Value& item : level) {
      const Collection focus{item};
      auto result = call.eval_arg(0, Frame{.focus = &focus, .total = call.frame().total});
      if (!result) return result.error();
      for (Value& v : result.value()) {
        if (contains_equal(out, v)) continue;
        out.push_back(v);
        next.push_back(std::move(v));
      }
    }
    level = std::move(next);
  }
  return out;
}

Result<Collection> of_type(const Call& call) {
  Collection out;
  for (const Value& item : call.input()) {
    if (is_exactly_of_type(item, call.node().type)) out.push_back(item);
  }
  return out;
}

// sort(key, …): ascending by each key in turn; a key written -expr sorts descending. Items
// whose key is empty come first either way.
Result<Collection> sort(const Call& call) {
  const Collection& input = call.input();
  struct Key {
    const Ast* expr;
    bool descending;
  };
  std::vector<Key> keys;
  for (const auto& arg : call.node().args) {
    const bool minus = arg->kind == AstKind::kUnary && arg->op == BinaryOp::kSubtract;
    keys.push_back(Key{.expr = minus ? arg->args[0].get() : arg.get(), .descending = minus});
  }
  // values[i][k]: key k of item i (the item itself when sort() has no keys).
  std::vector<std::vector<std::optional<Value>>> values(input.size());
  for (std::size_t i = 0; i < input.size(); ++i) {
    if (keys.empty()) {
      values[i].push_back(operand(input[i]));
      continue;
    }
    const Collection focus{input[i]};
    const Frame frame{.focus = &focus, .index = static_cast<std::int64_t>(i)};
    for (const Key& key : keys) {
      auto result = call.evaluator().eval(*key.expr, frame);
      if (!result) return result.error();
      auto v = single_operand(result.value(), "a sort key");
      if (!v) return v.error();
      values[i].push_back(std::move(v.value()));
    }
  }
  std::vector<std::size_t> order(input.size());
  std::iota(order.begin(), order.end(), 0);
  std::optional<Error> failure;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    for (std::size_t k = 0; k < values[a].size(); ++k) {
      const auto& x = values[a][k];
      const auto& y = values[b][k];
      if (!x || !y) {
        if (x.has_value() == y.has_value()) continue;
        return !x.has_value();
      }
      auto c = order_items(*x, *y);
      if (!c) {
        failure = c.error();
        return false;
      }
      if (!c.value() || *c.value() == 0) continue;
      const bool descending = !keys.empty() && keys[k].descending;
      return descending ? *c.value() > 0 : *c.value() < 0;
    }
    return false;
  });
  if (failure) return *failure;
  Collection out;
  out.reserve(input.size());
  for (std::size_t i : order) out.push_back(input[i]);
  return out;
}

constexpr FunctionDef kFunctions[] = {
    {"where", 1, 1, ArgMode::kLazy, where},   {"select", 1, 1, ArgMode::kLazy, select},
    {"repeat", 1, 1, ArgMode::kLazy, repeat}, {"ofType", 1, 1, ArgMode::kType, of_type},
    {"sort", 0, 8, ArgMode::kLazy, sort},
};

}  // namespace
}  // namespace fl::mappings::fhirpath

std::span<const fl::mappings::fhirpath::FunctionDef> fl::mappings::fhirpath::filtering_functions() {
  return kFunctions;
}
