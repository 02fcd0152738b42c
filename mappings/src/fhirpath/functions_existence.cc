// Existence: empty, exists, all, allTrue, anyTrue, allFalse, anyFalse, subsetOf, supersetOf,
// count, distinct, isDistinct; and not(), the Boolean negation.
#include "fhirpath/compare.h"
#include "fhirpath/convert.h"
#include "fhirpath/functions.h"
#include "fhirpath/operators.h"

namespace fl::mappings::fhirpath {
namespace {

Result<Collection> empty(const Call& call) {
  return Collection{Value::boolean(call.input().empty())};
}

Result<Collection> exists(const Call& call) {
  if (call.arg_count() == 0) return Collection{Value::boolean(!call.input().empty())};
  bool found = false;
  Status s = for_each_item(call, 0, [&](const Value&, Collection result) -> Status {
    auto b = boolean_of(result, "exists() criteria");
    if (!b) return b.error();
    found = found || b.value() == true;
    return Ok{};
  });
  if (!s) return s.error();
  return Collection{Value::boolean(found)};
}

Result<Collection> all(const Call& call) {
  bool every = true;
  Status s = for_each_item(call, 0, [&](const Value&, Collection result) -> Status {
    auto b = boolean_of(result, "all() criteria");
    if (!b) return b.error();
    every = every && b.value() == true;
    return Ok{};
  });
  if (!s) return s.error();
  return Collection{Value::boolean(every)};
}

// allTrue, anyTrue, allFalse, anyFalse: `want` is the value looked for, `every` whether all
// items must have it.
Result<Collection> booleans(const Call& call, bool want, bool every) {
  bool answer = every;
  for (const Value& item : call.input()) {
    const Value v = operand(item);
    if (v.kind() != Value::Kind::kBoolean) {
      return call.error(std::string(call.node().name) + "() expects Booleans, got " + kind_name(v));
    }
    if (every && v.as_boolean() != want) answer = false;
    if (!every && v.as_boolean() == want) answer = true;
  }
  return Collection{Value::boolean(answer)};
}

Result<Collection> all_true(const Call& call) { return booleans(call, true, true); }
Result<Collection> any_true(const Call& call) { return booleans(call, true, false); }
Result<Collection> all_false(const Call& call) { return booleans(call, false, true); }
Result<Collection> any_false(const Call& call) { return booleans(call, false, false); }

bool subset(const Collection& part, const Collection& whole) {
  for (const Value& v : part) {
    if (!contains_equal(whole, v)) return false;
  }
  return true;
}

Result<Collection> subset_of(const Call& call) {
  return Collection{Value::boolean(subset(call.input(), call.arg(0)))};
}

Result<Collection> superset_of(const Call& call) {
  return Collection{Value::boolean(subset(call.arg(0), call.input()))};
}

Result<Collection> count(const Call& call) {
  return Collection{Value::integer(static_cast<std::int64_t>(call.input().size()))};
}

Result<Collection> distinct(const Call& call) { return union_of(call.input(), {}); }

Result<Collection> is_distinct(const Call& call) {
  return Collection{Value::boolean(union_of(call.input(), {}).size() == call.input().size())};
}

Result<Collection> negation(const Call& call) {
  auto b = boolean_of(call.input(), "not()");
  if (!b) return b.error();
  if (!b.value()) return Collection{};
  return Collection{Value::boolean(!*b.value())};
}

constexpr FunctionDef kFunctions[] = {
    {"empty", 0, 0, ArgMode::kEager, empty},
    {"exists", 0, 1, ArgMode::kLazy, exists},
    {"all", 1, 1, ArgMode::kLazy, all},
    {"allTrue", 0, 0, ArgMode::kEager, all_true},
    {"anyTrue", 0, 0, ArgMode::kEager, any_true},
    {"allFalse", 0, 0, ArgMode::kEager, all_false},
    {"anyFalse", 0, 0, ArgMode::kEager, any_false},
    {"subsetOf", 1, 1, ArgMode::kEager, subset_of},
    {"supersetOf", 1, 1, ArgMode::kEager, superset_of},
    {"count", 0, 0, ArgMode::kEager, count},
    {"distinct", 0, 0, ArgMode::kEager, distinct},
    {"isDistinct", 0, 0, ArgMode::kEager, is_distinct},
    {"not", 0, 0, ArgMode::kEager, negation},
};

}  // namespace
}  // namespace fl::mappings::fhirpath

std::span<const fl::mappings::fhirpath::FunctionDef> fl::mappings::fhirpath::existence_functions() {
  return kFunctions;
}
