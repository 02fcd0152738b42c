#include "fhirpath/operators.h"

#include "fhirpath/compare.h"
#include "fhirpath/convert.h"
#include "fhirpath/quantity.h"
#include "fhirpath/temporal.h"

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace fl::mappings::fhirpath {
namespace {

using Kind = Value::Kind;

bool is_number(Kind k) { return k == Kind::kInteger || k == Kind::kDecimal; }

Decimal decimal_of(const Value& v) {
  return v.kind() == Kind::kInteger ? Decimal::from_integer(v.as_integer()) : v.as_decimal();
}

std::string_view symbol(BinaryOp op) {
  switch (op) {
    case BinaryOp::kMultiply:
      return "*";
    case BinaryOp::kDivide:
      return "/";
    case BinaryOp::kDiv:
      return "div";
    case BinaryOp::kMod:
      return "mod";
    case BinaryOp::kAdd:
      return "+";
    case BinaryOp::kSubtract:
      return "-";
    case BinaryOp::kConcatenate:
      return "&";
    default:
      return "operator";
  }
}

Error cannot_apply(BinaryOp op, const Value& x, const Value& y) {
  return eval_error("cannot apply '" + std::string(symbol(op)) + "' to " + kind_name(x) + " and " +
                    kind_name(y));
}

Result<Collection> integers(BinaryOp op, std::int64_t a, std::int64_t b) {
  std::int64_t r = 0;
  switch (op) {
    case BinaryOp::kAdd:
      if (__builtin_add_overflow(a, b, &r)) return eval_error("integer overflow");
      return Collection{Value::integer(r)};
    case BinaryOp::kSubtract:
      if (__builtin_sub_overflow(a, b, &r)) return eval_error("integer overflow");
      return Collection{Value::integer(r)};
    case BinaryOp::kMultiply:
      if (__builtin_mul_overflow(a, b, &r)) return eval_error("integer overflow");
      return Collection{Value::integer(r)};
    case BinaryOp::kDiv:
      if (b == 0 || (a == INT64_MIN && b == -1)) return Collection{};
      return Collection{Value::integer(a / b)};
    case BinaryOp::kMod:
      if (b == 0 || (a == INT64_MIN && b == -1)) return Collection{};
      return Collection{Value::integer(a % b)};
    default:
      return Collection{};
  }
}

Result<Collection> decimals(BinaryOp op, const Decimal& a, const Decimal& b) {
  std::optional<Decimal> r;
  switch (op) {
    case BinaryOp::kAdd:
      r = a.add(b);
      break;
    case BinaryOp::kSubtract:
      r = a.subtract(b);
      break;
    case BinaryOp::kMultiply:
      r = a.multiply(b);
      break;
    case BinaryOp::kDivide:
      if (b.units() == 0) return Collection{};
      r = a.divide(b);
      break;
    case BinaryOp::kDiv: {
      if (b.units() == 0) return Collection{};
      auto q = a.divide(b);
      if (!q) return eval_error("decimal overflow");
      auto whole = q->to_int64();
      if (!whole) return eval_error("integer overflow");
      return Collection{Value::integer(*whole)};
    }
    case BinaryOp::kMod: {
      if (b.units() == 0) return Collection{};
      auto q = a.divide(b);
      auto whole = q ? q->rescale(0, Decimal::Rounding::kTowardZero) : std::nullopt;
      auto product = whole ? b.multiply(*whole) : std::nullopt;
      r = product ? a.subtract(*product) : std::nullopt;
      break;
    }
    default:
      return Collection{};
  }
  if (!r) return eval_error("decimal overflow");
  return Collection{Value::decimal(*r)};
}

Result<Collection> numbers(BinaryOp op, const Value& x, const Value& y) {
  if (x.kind() == Kind::kInteger && y.kind() == Kind::kInteger && op != BinaryOp::kDivide) {
    return integers(op, x.as_integer(), y.as_integer());
  }
  return decimals(op, decimal_of(x), decimal_of(y));
}

Result<Collection> temporal_plus(BinaryOp op, const Value& t, const Quantity& q) {
  auto amount = q.value.to_int64();  // the fraction of a unit is dropped (7.7 days -> 7)
  if (!amount) return eval_error("duration too large");
  const TemporalKind kind = t.kind() == Kind::kDate       ? TemporalKind::kDate
                            : t.kind() == Kind::kDateTime ? TemporalKind::kDateTime
                                                          : TemporalKind::kTime;
  auto r = add_duration(t.as_temporal(), kind, op == BinaryOp::kAdd ? *amount : -*amount, q.unit);
  if (!r) {
    return eval_error(std::string(op == BinaryOp::kAdd ? "cannot add '" : "cannot subtract '") +
                      q.unit + "' " + (op == BinaryOp::kAdd ? "to" : "from") + " a " +
                      kind_name(t) +
                      ": use a calendar duration (year, month, week, day, hour, minute, second, "
                      "millisecond)");
  }
  if (t.kind() == Kind::kDate) return Collection{Value::date(*r)};
  if (t.kind() == Kind::kDateTime) return Collection{Value::date_time(*r)};
  return Collection{Value::time(*r)};
}

Result<Collection> quantities(BinaryOp op, const Value& x, const Value& y) {
  const bool qx = x.kind() == Kind::kQuantity;
  const bool qy = y.kind() == Kind::kQuantity;
  std::optional<Quantity> r;
  if (qx && qy) {
    if (op == BinaryOp::kAdd || op == BinaryOp::kSubtract) {
      r = add_quantities(x.as_quantity(), y.as_quantity(), op == BinaryOp::kAdd ? 1 : -1);
    } else if (op == BinaryOp::kMultiply || op == BinaryOp::kDivide) {
      if (op == BinaryOp::kDivide && y.as_quantity().value.units() == 0) return Collection{};
      r = multiply_quantities(x.as_quantity(), y.as_quantity(), op == BinaryOp::kMultiply ? 1 : -1);
    }
  } else if (qx && is_number(y.kind()) && (op == BinaryOp::kMultiply || op == BinaryOp::kDivide)) {
    const Quantity one{.value = decimal_of(y), .unit = "1"};
    if (op == BinaryOp::kDivide && one.value.units() == 0) return Collection{};
    r = multiply_quantities(x.as_quantity(), one, op == BinaryOp::kMultiply ? 1 : -1);
  } else if (qy && is_number(x.kind()) && op == BinaryOp::kMultiply) {
    r = multiply_quantities(Quantity{.value = decimal_of(x), .unit = "1"}, y.as_quantity(), 1);
  } else {
    return cannot_apply(op, x, y);
  }
  if (!r) {
    return eval_error("cannot apply '" + std::string(symbol(op)) + "' to " +
                      quantity_string(x.kind() == Kind::kQuantity ? x.as_quantity() : Quantity{}) +
                      " and " + (qy ? quantity_string(y.as_quantity()) : kind_name(y)) +
                      ": the units do not convert");
  }
  return Collection{Value::quantity(std::move(*r))};
}

// A string view without a constructor, so that an array of them on the stack is not zeroed
// first: union_of() cleared 512 bytes for every distinct().
struct Text {
  const char* data;
  std::size_t size;
  std::string_view view() const { return {data, size}; }
};

Result<Collection> concatenate(const Collection& left, const Collection& right) {
  std::string out;
  // Strings and string nodes are appended where they stand; converting each side to a Value
  // first copied its text once more.
  if (left.size() <= 1 && right.size() <= 1) {
    const auto text = [](const Collection& side) {
      return side.empty() ? std::optional<std::string_view>("") : string_in_place(side.front());
    };
    const auto l = text(left);
    const auto r = l ? text(right) : std::nullopt;
    if (l && r) {
      out.reserve(l->size() + r->size());
      out.append(*l).append(*r);
      return one_item(Value::string(std::move(out)));
    }
  }
  for (const Collection* side : {&left, &right}) {
    auto item = single_operand(*side, "'&'");
    if (!item) return item.error();
    if (!item.value()) continue;
    if (item.value()->kind() != Kind::kString) {
      return eval_error("'&' expects strings, got " + kind_name(*item.value()));
    }
    out += item.value()->as_string();
  }
  return one_item(Value::string(std::move(out)));
}

}  // namespace
}  // namespace fl::mappings::fhirpath

fl::Result<fl::mappings::fhirpath::Collection> fl::mappings::fhirpath::arithmetic(
    BinaryOp op, const Collection& left, const Collection& right) {
  if (op == BinaryOp::kConcatenate) return concatenate(left, right);
  const std::string what = "'" + std::string(symbol(op)) + "'";
  auto lhs = single_operand(left, what);
  if (!lhs) return lhs.error();
  auto rhs = single_operand(right, what);
  if (!rhs) return rhs.error();
  if (!lhs.value() || !rhs.value()) return Collection{};
  const Value& x = *lhs.value();
  const Value& y = *rhs.value();
  if (is_number(x.kind()) && is_number(y.kind())) return numbers(op, x, y);
  if (x.kind() == Kind::kString && y.kind() == Kind::kString && op == BinaryOp::kAdd) {
    return one_item(Value::string(x.as_string() + y.as_string()));
  }
  const bool temporal =
      x.kind() == Kind::kDate || x.kind() == Kind::kDateTime || x.kind() == Kind::kTime;
  if (temporal && y.kind() == Kind::kQuantity &&
      (op == BinaryOp::kAdd || op == BinaryOp::kSubtract)) {
    return temporal_plus(op, x, y.as_quantity());
  }
  if (x.kind() == Kind::kQuantity || y.kind() == Kind::kQuantity) return quantities(op, x, y);
  return cannot_apply(op, x, y);
}

fl::Result<fl::mappings::fhirpath::Collection> fl::mappings::fhirpath::polarity(
    BinaryOp op, const Collection& operand) {
  auto item = single_operand(operand, op == BinaryOp::kSubtract ? "unary '-'" : "unary '+'");
  if (!item) return item.error();
  if (!item.value()) return Collection{};
  const Value& x = *item.value();
  const bool negate = op == BinaryOp::kSubtract;
  switch (x.kind()) {
    case Kind::kInteger:
      if (negate && x.as_integer() == INT64_MIN) return eval_error("integer overflow");
      return Collection{Value::integer(negate ? -x.as_integer() : x.as_integer())};
    case Kind::kDecimal:
      return Collection{Value::decimal(negate ? x.as_decimal().negate() : x.as_decimal())};
    case Kind::kQuantity: {
      Quantity q = x.as_quantity();
      if (negate) q.value = q.value.negate();
      return Collection{Value::quantity(std::move(q))};
    }
    default:
      return eval_error(std::string(negate ? "unary '-'" : "unary '+'") +
                        " expects a number or a Quantity, got " + kind_name(x));
  }
}

fl::Result<fl::mappings::fhirpath::Collection> fl::mappings::fhirpath::ordering(
    BinaryOp op, const Collection& left, const Collection& right) {
  auto lhs = single_operand(left, "comparison");
  if (!lhs) return lhs.error();
  auto rhs = single_operand(right, "comparison");
  if (!rhs) return rhs.error();
  if (!lhs.value() || !rhs.value()) return Collection{};
  auto order = order_items(*lhs.value(), *rhs.value());
  if (!order) return order.error();
  if (!order.value()) return Collection{};
  const int c = *order.value();
  switch (op) {
    case BinaryOp::kLess:
      return boolean_result(c < 0);
    case BinaryOp::kLessOrEqual:
      return boolean_result(c <= 0);
    case BinaryOp::kGreater:
      return boolean_result(c > 0);
    default:
      return boolean_result(c >= 0);
  }
}

fl::mappings::fhirpath::Collection fl::mappings::fhirpath::equality(BinaryOp op,
                                                                    const Collection& left,
                                                                    const Collection& right) {
  switch (op) {
    case BinaryOp::kEqual:
      return boolean_result(collections_equal(left, right));
    case BinaryOp::kNotEqual: {
      auto eq = collections_equal(left, right);
      return boolean_result(eq ? std::optional(!*eq) : std::nullopt);
    }
    case BinaryOp::kEquivalent:
      return boolean_result(collections_equivalent(left, right));
    default:
      return boolean_result(!collections_equivalent(left, right));
  }
}

fl::Result<fl::mappings::fhirpath::Collection> fl::mappings::fhirpath::membership(
    BinaryOp op, const Collection& left, const Collection& right) {
  const Collection& element = op == BinaryOp::kIn ? left : right;
  const Collection& container = op == BinaryOp::kIn ? right : left;
  if (element.empty()) return Collection{};
  if (element.size() > 1) {
    return eval_error(std::string(op == BinaryOp::kIn ? "'in'" : "'contains'") +
                      " expects a single item to look for, got " + std::to_string(element.size()));
  }
  return boolean_result(contains_equal(container, element.front()));
}

fl::mappings::fhirpath::Collection fl::mappings::fhirpath::union_of(const Collection& left,
                                                                    const Collection& right) {
  Collection out;
  const std::size_t total = left.size() + right.size();
  out.reserve(total);
  // Strings and string nodes (codes, systems, ids: what distinct() and | mostly see) are equal
  // exactly when their texts are, so they are deduplicated on their texts, read once, instead
  // of converting both sides of every pair: on the stack for a few, by a hash set for many.
  // Anything else can equal a string in ways text does not show (a date node that does not
  // parse is a String), so a collection with any other item takes the general path.
  constexpr std::size_t kOnStack = 32;
  Text stack_texts[kOnStack];  // not zeroed: only what is written is read
  std::vector<Text> heap_texts(total > kOnStack ? total : 0);
  Text* const texts = total > kOnStack ? heap_texts.data() : stack_texts;
  std::size_t n = 0;
  for (const Collection* side : {&left, &right}) {
    for (const Value& v : *side) {
      const auto text = string_in_place(v);
      if (!text) break;
      texts[n++] = Text{.data = text->data(), .size = text->size()};
    }
  }
  if (n == total) {
    std::unordered_set<std::string_view> seen;
    std::size_t kept = 0;  // texts[0, kept) are the distinct ones so far
    std::size_t i = 0;
    for (const Collection* side : {&left, &right}) {
      for (const Value& v : *side) {
        const Text text = texts[i++];
        // Codes of one system share a length, so their ends are compared before memcmp is.
        const auto same = [&](const Text& other) {
          return other.size == text.size &&
                 (text.size == 0 || (other.data[0] == text.data[0] &&
                                     other.data[text.size - 1] == text.data[text.size - 1] &&
                                     other.view() == text.view()));
        };
        const bool fresh = total > kOnStack ? seen.insert(text.view()).second
                                            : std::none_of(texts, texts + kept, same);
        if (!fresh) continue;
        texts[kept++] = text;
        out.push_back(v);
      }
    }
    return out;
  }
  for (const Collection* side : {&left, &right}) {
    for (const Value& v : *side) {
      if (!contains_equal(out, v)) out.push_back(v);
    }
  }
  return out;
}

std::optional<bool> fl::mappings::fhirpath::logic(BinaryOp op, std::optional<bool> l,
                                                  std::optional<bool> r) {
  switch (op) {
    case BinaryOp::kAnd:
      if (l == false || r == false) return false;
      if (l == true && r == true) return true;
      return std::nullopt;
    case BinaryOp::kOr:
      if (l == true || r == true) return true;
      if (l == false && r == false) return false;
      return std::nullopt;
    case BinaryOp::kXor:
      if (!l || !r) return std::nullopt;
      return *l != *r;
    default:  // implies
      if (l == false) return true;
      if (l == true) return r;
      if (r == true) return true;
      return std::nullopt;
  }
}

fl::mappings::fhirpath::Collection fl::mappings::fhirpath::boolean_result(
    std::optional<bool> value) {
  if (!value) return {};
  return {Value::boolean(*value)};
}
