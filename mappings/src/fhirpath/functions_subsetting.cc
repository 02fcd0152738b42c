// Subsetting: single, first, last, tail, skip, take, intersect, exclude. (The indexer [n] is an
// operator, in the evaluator.)
#include "fhirpath/compare.h"
#include "fhirpath/convert.h"
#include "fhirpath/functions.h"
#include "fhirpath/operators.h"

namespace fl::mappings::fhirpath {
namespace {

Result<Collection> single(const Call& call) {
  if (call.input().size() > 1) {
    return call.error("single() expects at most one item, got " +
                      std::to_string(call.input().size()));
  }
  return call.input();
}

Result<Collection> first(const Call& call) {
  if (call.input().empty()) return Collection{};
  return Collection{call.input().front()};
}

Result<Collection> last(const Call& call) {
  if (call.input().empty()) return Collection{};
  return Collection{call.input().back()};
}

Result<Collection> tail(const Call& call) {
  if (call.input().empty()) return Collection{};
  return Collection(call.input().begin() + 1, call.input().end());
}

// The Integer argument of skip() and take(); nullopt when it is empty.
Result<std::optional<std::int64_t>> count_argument(const Call& call) {
  auto n = single_operand_of(call, call.arg(0), "()");
  if (!n) return n.error();
  if (!n.value()) return std::optional<std::int64_t>();
  if (n.value()->kind() != Value::Kind::kInteger) {
    return call.error(std::string(call.node().name) + "() expects an Integer, got " +
                      kind_name(*n.value()));
  }
  return std::optional<std::int64_t>(n.value()->as_integer());
}

Result<Collection> skip(const Call& call) {
  auto n = count_argument(call);
  if (!n) return n.error();
  const Collection& input = call.input();
  if (!n.value()) return input;
  const std::int64_t k = std::max<std::int64_t>(0, *n.value());
  if (static_cast<std::size_t>(k) >= input.size()) return Collection{};
  return Collection(input.begin() + k, input.end());
}

Result<Collection> take(const Call& call) {
  auto n = count_argument(call);
  if (!n) return n.error();
  const Collection& input = call.input();
  if (!n.value()) return Collection{};
  const std::int64_t k = std::max<std::int64_t>(0, *n.value());
  if (static_cast<std::size_t>(k) >= input.size()) return input;
  return Collection(input.begin(), input.begin() + k);
}

Result<Collection> intersect(const Call& call) {
  Collection out;
  for (const Value& v : call.input()) {
    if (contains_equal(call.arg(0), v) && !contains_equal(out, v)) out.push_back(v);
  }
  return out;
}

Result<Collection> exclude(const Call& call) {
  Collection out;
  for (const Value& v : call.input()) {
    if (!contains_equal(call.arg(0), v)) out.push_back(v);
  }
  return out;
}

constexpr FunctionDef kFunctions[] = {
    {"single", 0, 0, ArgMode::kEager, single},       {"first", 0, 0, ArgMode::kEager, first},
    {"last", 0, 0, ArgMode::kEager, last},           {"tail", 0, 0, ArgMode::kEager, tail},
    {"skip", 1, 1, ArgMode::kEager, skip},           {"take", 1, 1, ArgMode::kEager, take},
    {"intersect", 1, 1, ArgMode::kEager, intersect}, {"exclude", 1, 1, ArgMode::kEager, exclude},
};

}  // namespace
}  // namespace fl::mappings::fhirpath

std::span<const fl::mappings::fhirpath::FunctionDef>
fl::mappings::fhirpath::subsetting_functions() {
  return kFunctions;
}
