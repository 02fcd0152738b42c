// Math: abs, ceiling, exp, floor, ln, log, power, round, sqrt, truncate. Exact decimal
// arithmetic where the result is exact; the transcendental ones go through double.
#include "fhirpath/convert.h"
#include "fhirpath/functions.h"

#include <cmath>

namespace fl::mappings::fhirpath {
namespace {

using Kind = Value::Kind;

Decimal decimal_of(const Value& v) {
  return v.kind() == Kind::kInteger ? Decimal::from_integer(v.as_integer()) : v.as_decimal();
}

// The input as a single number (or Quantity when allowed); nullopt when empty.
Result<std::optional<Value>> number_input(const Call& call, bool quantity_ok = false) {
  auto item = single_operand_of(call, call.input(), "()");
  if (!item) return item;
  if (!item.value()) return item;
  const Kind k = item.value()->kind();
  if (k == Kind::kInteger || k == Kind::kDecimal || (quantity_ok && k == Kind::kQuantity)) {
    return item;
  }
  return call.error(std::string(call.node().name) + "() expects a number, got " +
                    kind_name(*item.value()));
}

Result<std::optional<Value>> number_arg(const Call& call, std::size_t i) {
  auto item = single_operand_of(call, call.arg(i), "() argument");
  if (!item || !item.value()) return item;
  const Kind k = item.value()->kind();
  if (k != Kind::kInteger && k != Kind::kDecimal) {
    return call.error(std::string(call.node().name) + "() expects a number argument");
  }
  return item;
}

Collection from_double(double d) {
  if (!std::isfinite(d)) return {};
  auto decimal = Decimal::from_double(d);
  if (!decimal) return {};
  return {Value::decimal(*decimal)};
}

Result<Collection> abs(const Call& call) {
  auto n = number_input(call, true);
  if (!n || !n.value()) return n ? Result<Collection>(Collection{}) : n.error();
  const Value& v = *n.value();
  if (v.kind() == Kind::kInteger) {
    if (v.as_integer() == INT64_MIN) return call.error("integer overflow");
    return Collection{Value::integer(std::llabs(v.as_integer()))};
  }
  if (v.kind() == Kind::kDecimal) return Collection{Value::decimal(v.as_decimal().abs())};
  Quantity q = v.as_quantity();
  q.value = q.value.abs();
  return Collection{Value::quantity(std::move(q))};
}

Result<Collection> to_whole(const Call& call, Decimal::Rounding rounding) {
  auto n = number_input(call);
  if (!n || !n.value()) return n ? Result<Collection>(Collection{}) : n.error();
  if (n.value()->kind() == Kind::kInteger) return Collection{*n.value()};
  auto whole = n.value()->as_decimal().rescale(0, rounding);
  auto i = whole ? whole->to_int64() : std::nullopt;
  if (!i) return call.error("integer overflow");
  return Collection{Value::integer(*i)};
}

Result<Collection> ceiling(const Call& call) { return to_whole(call, Decimal::Rounding::kCeiling); }
Result<Collection> floor(const Call& call) { return to_whole(call, Decimal::Rounding::kFloor); }
Result<Collection> truncate(const Call& call) {
  return to_whole(call, Decimal::Rounding::kTowardZero);
}

template <typename Fn>
Result<Collection> via_double(const Call& call, Fn&& fn) {
  auto n = number_input(call);
  if (!n || !n.value()) return n ? Result<Collection>(Collection{}) : n.error();
  return from_double(fn(decimal_of(*n.value()).to_double()));
}

Result<Collection> exp(const Call& call) {
  return via_double(call, [](double x) { return std::exp(x); });
}
Result<Collection> ln(const Call& call) {
  return via_double(call, [](double x) { return x > 0 ? std::log(x) : std::nan(""); });
}
Result<Collection> sqrt(const Call& call) {
  return via_double(call, [](double x) { return x >= 0 ? std::sqrt(x) : std::nan(""); });
}

Result<Collection> log(const Call& call) {
  auto base = number_arg(call, 0);
  if (!base) return base.error();
  if (!base.value()) return Collection{};
  const double b = decimal_of(*base.value()).to_double();
  return via_double(call, [b](double x) {
    if (x <= 0 || b <= 0 || b == 1) return std::nan("");
    if (b == 10) return std::log10(x);
    if (b == 2) return std::log2(x);
    return std::log(x) / std::log(b);
  });
}

Result<Collection> power(const Call& call) {
  auto n = number_input(call);
  if (!n) return n.error();
  auto e = number_arg(call, 0);
  if (!e) return e.error();
  if (!n.value() || !e.value()) return Collection{};
  const Value& x = *n.value();
  const Value& y = *e.value();
  if (y.kind() == Kind::kInteger && y.as_integer() >= 0 && y.as_integer() <= 128) {
    // Exact: repeated multiplication keeps Integer Integer and Decimal digits.
    if (x.kind() == Kind::kInteger) {
      std::int64_t r = 1;
      for (std::int64_t k = 0; k < y.as_integer(); ++k) {
        if (__builtin_mul_overflow(r, x.as_integer(), &r)) return call.error("integer overflow");
      }
      return Collection{Value::integer(r)};
    }
    std::optional<Decimal> r = Decimal::from_integer(1);
    for (std::int64_t k = 0; r && k < y.as_integer(); ++k) r = r->multiply(x.as_decimal());
    if (r) return Collection{Value::decimal(*r)};
  }
  return from_double(std::pow(decimal_of(x).to_double(), decimal_of(y).to_double()));
}

Result<Collection> round(const Call& call) {
  auto n = number_input(call);
  if (!n || !n.value()) return n ? Result<Collection>(Collection{}) : n.error();
  std::int64_t digits = 0;
  if (call.arg_count() > 0) {
    auto p = number_arg(call, 0);
    if (!p) return p.error();
    if (!p.value()) return Collection{};
    if (p.value()->kind() != Kind::kInteger || p.value()->as_integer() < 0) {
      return call.error("round() expects a precision that is a non-negative Integer");
    }
    digits = p.value()->as_integer();
  }
  if (n.value()->kind() == Kind::kInteger) return Collection{*n.value()};
  auto r = n.value()->as_decimal().rescale(
      static_cast<int>(std::min<std::int64_t>(digits, Decimal::kMaxScale)));
  if (!r) return call.error("decimal overflow");
  return Collection{Value::decimal(*r)};
}

constexpr FunctionDef kFunctions[] = {
    {"abs", 0, 0, ArgMode::kEager, abs},     {"ceiling", 0, 0, ArgMode::kEager, ceiling},
    {"exp", 0, 0, ArgMode::kEager, exp},     {"floor", 0, 0, ArgMode::kEager, floor},
    {"ln", 0, 0, ArgMode::kEager, ln},       {"log", 1, 1, ArgMode::kEager, log},
    {"power", 1, 1, ArgMode::kEager, power}, {"round", 0, 1, ArgMode::kEager, round},
    {"sqrt", 0, 0, ArgMode::kEager, sqrt},   {"truncate", 0, 0, ArgMode::kEager, truncate},
};

}  // namespace
}  // namespace fl::mappings::fhirpath

std::span<const fl::mappings::fhirpath::FunctionDef> fl::mappings::fhirpath::math_functions() {
  return kFunctions;
}
