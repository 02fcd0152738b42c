// Precision and boundaries (FHIRPath 2.0, used by FHIR R4 invariants): lowBoundary,
// highBoundary, precision, comparable.
#include "fhirpath/convert.h"
#include "fhirpath/functions.h"
#include "fhirpath/quantity.h"
#include "fhirpath/temporal.h"

namespace fl::mappings::fhirpath {
namespace {

using Kind = Value::Kind;
using P = TemporalPrecision;

constexpr int kDefaultDecimalPrecision = 8;

// The least (low) or greatest (high) decimal that rounds to `x` at its own scale, written with
// `digits` digits after the point. The magnitude is computed first and the sign applied after,
// so that a negative number's low boundary mirrors a positive one's high boundary.
std::optional<Decimal> decimal_boundary(const Decimal& x, int digits, bool low) {
  if (digits < 0 || digits > Decimal::kMaxScale) return std::nullopt;
  const Decimal half = Decimal::from_units(5, x.scale() + 1);
  const Decimal magnitude = x.abs();
  const bool toward_zero = low != x.is_negative();  // the side nearer to zero
  std::optional<Decimal> r;
  if (toward_zero) {
    auto d = magnitude.subtract(half);
    r = d ? d->rescale(digits, Decimal::Rounding::kTowardZero) : std::nullopt;
  } else {
    auto d = magnitude.add(half);
    r = d ? d->rescale(digits, Decimal::Rounding::kHalfAwayFromZero) : std::nullopt;
  }
  if (!r || !x.is_negative()) return r;
  return r->units() == 0 ? r->with_negative_zero() : r->negate();
}

std::optional<P> precision_of_digits(int digits, Kind kind) {
  if (kind == Kind::kTime) {
    switch (digits) {
      case 2:
        return P::kHour;
      case 4:
        return P::kMinute;
      case 6:
        return P::kSecond;
      case 9:
        return P::kMillisecond;
      default:
        return std::nullopt;
    }
  }
  switch (digits) {
    case 4:
      return P::kYear;
    case 6:
      return P::kMonth;
    case 8:
      return P::kDay;
    case 10:
      return kind == Kind::kDate ? std::nullopt : std::optional(P::kHour);
    case 12:
      return kind == Kind::kDate ? std::nullopt : std::optional(P::kMinute);
    case 14:
      return kind == Kind::kDate ? std::nullopt : std::optional(P::kSecond);
    case 17:
      return kind == Kind::kDate ? std::nullopt : std::optional(P::kMillisecond);
    default:
      return std::nullopt;
  }
}

// The earliest (low) or latest (high) instant a date/time can stand for, to `target`.
Temporal temporal_boundary(Temporal t, Kind kind, P target, bool low) {
  if (t.precision < P::kMonth) t.month = low ? 1 : 12;
  if (t.precision < P::kDay) t.day = low ? 1 : days_in_month(t.year, t.month);
  if (t.precision < P::kHour) t.hour = low ? 0 : 23;
  if (t.precision < P::kMinute) t.minute = low ? 0 : 59;
  if (t.precision < P::kSecond) t.second = low ? 0 : 59;
  if (t.precision < P::kMillisecond) t.millisecond = low ? 0 : 999;
  t.precision = target;
  if (kind == Kind::kDateTime && target >= P::kHour && !t.offset_minutes) {
    t.offset_minutes = low ? 14 * 60 : -12 * 60;  // the widest offsets in use
  }
  if (target < P::kHour) t.offset_minutes.reset();
  return t;
}

Result<Collection> boundary(const Call& call, bool low) {
  auto item = single_operand_of(call, call.input(), "()");
  if (!item) return item.error();
  if (!item.value()) return Collection{};
  std::optional<std::int64_t> digits;
  if (call.arg_count() > 0) {
    auto arg = single_operand_of(call, call.arg(0), "() precision");
    if (!arg) return arg.error();
    if (!arg.value()) return Collection{};
    if (arg.value()->kind() != Kind::kInteger) {
      return call.error(std::string(call.node().name) + "() expects an Integer precision");
    }
    digits = arg.value()->as_integer();
  }
  const Value& v = *item.value();
  switch (v.kind()) {
    case Kind::kInteger:
    case Kind::kDecimal:
    case Kind::kQuantity: {
      const Decimal x = v.kind() == Kind::kInteger   ? Decimal::from_integer(v.as_integer())
                        : v.kind() == Kind::kDecimal ? v.as_decimal()
                                                     : v.as_quantity().value;
      auto b =
          decimal_boundary(x, static_cast<int>(digits.value_or(kDefaultDecimalPrecision)), low);
      if (!b) return Collection{};
      if (v.kind() != Kind::kQuantity) return Collection{Value::decimal(*b)};
      return Collection{Value::quantity(Quantity{.value = *b, .unit = v.as_quantity().unit})};
    }
    case Kind::kDate:
    case Kind::kDateTime:
    case Kind::kTime: {
      const int fallback = v.kind() == Kind::kDate ? 8 : (v.kind() == Kind::kTime ? 9 : 17);
      auto target = precision_of_digits(static_cast<int>(digits.value_or(fallback)), v.kind());
      if (!target) return Collection{};
      const Temporal t = temporal_boundary(v.as_temporal(), v.kind(), *target, low);
      if (v.kind() == Kind::kDate) return Collection{Value::date(t)};
      if (v.kind() == Kind::kTime) return Collection{Value::time(t)};
      return Collection{Value::date_time(t)};
    }
    default:
      return call.error(std::string(call.node().name) +
                        "() expects a number, Quantity, Date, DateTime or Time");
  }
}

Result<Collection> low_boundary(const Call& call) { return boundary(call, true); }
Result<Collection> high_boundary(const Call& call) { return boundary(call, false); }

Result<Collection> precision(const Call& call) {
  auto item = single_operand(call.input(), "precision()");
  if (!item) return item.error();
  if (!item.value()) return Collection{};
  const Value& v = *item.value();
  switch (v.kind()) {
    case Kind::kInteger:
      return Collection{Value::integer(0)};
    case Kind::kDecimal:
      return Collection{Value::integer(v.as_decimal().scale())};
    case Kind::kQuantity:
      return Collection{Value::integer(v.as_quantity().value.scale())};
    case Kind::kDate:
      return Collection{Value::integer(precision_digits(v.as_temporal(), TemporalKind::kDate))};
    case Kind::kDateTime:
      return Collection{Value::integer(precision_digits(v.as_temporal(), TemporalKind::kDateTime))};
    case Kind::kTime:
      return Collection{Value::integer(precision_digits(v.as_temporal(), TemporalKind::kTime))};
    default:
      return Collection{};
  }
}

Result<Collection> comparable(const Call& call) {
  auto item = single_operand(call.input(), "comparable()");
  if (!item) return item.error();
  auto other = single_operand(call.arg(0), "comparable() argument");
  if (!other) return other.error();
  if (!item.value() || !other.value()) return Collection{};
  if (item.value()->kind() != Kind::kQuantity || other.value()->kind() != Kind::kQuantity) {
    return call.error("comparable() expects Quantities");
  }
  const bool ok =
      comparable_values(item.value()->as_quantity(), other.value()->as_quantity()).has_value();
  return Collection{Value::boolean(ok)};
}

constexpr FunctionDef kFunctions[] = {
    {"lowBoundary", 0, 1, ArgMode::kEager, low_boundary},
    {"highBoundary", 0, 1, ArgMode::kEager, high_boundary},
    {"precision", 0, 0, ArgMode::kEager, precision},
    {"comparable", 1, 1, ArgMode::kEager, comparable},
};

}  // namespace
}  // namespace fl::mappings::fhirpath

std::span<const fl::mappings::fhirpath::FunctionDef> fl::mappings::fhirpath::boundary_functions() {
  return kFunctions;
}
