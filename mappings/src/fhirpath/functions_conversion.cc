// Conversion: iif, and toX / convertsToX for Boolean, Integer, Decimal, String, Quantity,
// Date, DateTime and Time.
#include "fhirpath/convert.h"
#include "fhirpath/functions.h"
#include "fhirpath/temporal.h"
#include "fhirpath/ucum.h"

#include <charconv>

namespace fl::mappings::fhirpath {
namespace {

using Kind = Value::Kind;

Result<Collection> iif(const Call& call) {
  const Collection& input = call.input();
  if (input.size() > 1) {
    return call.error("iif() expects at most one input item, got " + std::to_string(input.size()));
  }
  const Frame frame{.focus = &input, .index = call.frame().index, .total = call.frame().total};
  auto criterion = call.eval_arg(0, frame);
  if (!criterion) return criterion;
  if (criterion.value().size() == 1 && call.evaluator().options().strict &&
      operand(criterion.value().front()).kind() != Kind::kBoolean) {
    return call.error("iif() criterion must be a Boolean, got " +
                      kind_name(criterion.value().front()));
  }
  auto b = boolean_of(criterion.value(), "iif() criterion");
  if (!b) return b.error();
  if (b.value() == true) return call.eval_arg(1, frame);
  if (call.arg_count() > 2) return call.eval_arg(2, frame);
  return Collection{};
}

std::string lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

bool is_integer_text(std::string_view s) {
  std::size_t i = s.size() > 0 && (s[0] == '+' || s[0] == '-') ? 1 : 0;
  if (i == s.size()) return false;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return true;
}

std::optional<Value> to_boolean(const Value& v) {
  switch (v.kind()) {
    case Kind::kBoolean:
      return v;
    case Kind::kInteger:
      if (v.as_integer() == 0 || v.as_integer() == 1) return Value::boolean(v.as_integer() == 1);
      return std::nullopt;
    case Kind::kDecimal:
      if (v.as_decimal() == Decimal::from_integer(0)) return Value::boolean(false);
      if (v.as_decimal() == Decimal::from_integer(1)) return Value::boolean(true);
      return std::nullopt;
    case Kind::kString: {
      const std::string s = lower(v.as_string());
      if (s == "true" || s == "t" || s == "yes" || s == "y" || s == "1" || s == "1.0") {
        return Value::boolean(true);
      }
      if (s == "false" || s == "f" || s == "no" || s == "n" || s == "0" || s == "0.0") {
        return Value::boolean(false);
      }
      return std::nullopt;
    }
    default:
      return std::nullopt;
  }
}

std::optional<Value> to_integer(const Value& v) {
  switch (v.kind()) {
    case Kind::kInteger:
      return v;
    case Kind::kBoolean:
      return Value::integer(v.as_boolean() ? 1 : 0);
    case Kind::kString: {
      const std::string& s = v.as_string();
      if (!is_integer_text(s)) return std::nullopt;
      std::int64_t n = 0;
      const char* begin = s.data() + (s[0] == '+' ? 1 : 0);
      auto [end, ec] = std::from_chars(begin, s.data() + s.size(), n);
      if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
      return Value::integer(n);
    }
    default:
      return std::nullopt;
  }
}

std::optional<Value> to_decimal(const Value& v) {
  switch (v.kind()) {
    case Kind::kDecimal:
      return v;
    case Kind::kInteger:
      return Value::decimal(Decimal::from_integer(v.as_integer()));
    case Kind::kBoolean:
      return Value::decimal(Decimal::from_integer(v.as_boolean() ? 1 : 0));
    case Kind::kString: {
      const std::string& s = v.as_string();
      if (s.empty() || s.back() == '.' || s.find('.') == 0) return std::nullopt;
      auto d = Decimal::parse(s);
      if (!d) return std::nullopt;
      return Value::decimal(*d);
    }
    default:
      return std::nullopt;
  }
}

std::optional<Value> to_string(const Value& v) {
  auto s = string_of(v);
  if (!s) return std::nullopt;
  return Value::string(std::move(*s));
}

// "1.5 'mg'", "4 days", "1": a number, optional white space, then a quoted UCUM unit or a
// calendar keyword.
std::optional<Quantity> parse_quantity(std::string_view s) {
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) ++i;
  auto value = Decimal::parse(s.substr(0, i));
  if (!value || s.substr(0, i).find('.') == 0) return std::nullopt;
  while (i < s.size() && s[i] == ' ') ++i;
  const std::string_view unit = s.substr(i);
  if (unit.empty()) return Quantity{.value = *value, .unit = "1"};
  if (unit.size() >= 2 && unit.front() == '\'' && unit.back() == '\'') {
    return Quantity{.value = *value, .unit = std::string(unit.substr(1, unit.size() - 2))};
  }
  if (is_calendar_keyword(unit)) return Quantity{.value = *value, .unit = std::string(unit)};
  return std::nullopt;
}

std::optional<Value> to_quantity(const Value& v) {
  switch (v.kind()) {
    case Kind::kQuantity:
      return v;
    case Kind::kInteger:
    case Kind::kDecimal:
    case Kind::kBoolean: {
      auto d = to_decimal(v);
      return Value::quantity(Quantity{.value = d->as_decimal(), .unit = "1"});
    }
    case Kind::kString: {
      auto q = parse_quantity(v.as_string());
      if (!q) return std::nullopt;
      return Value::quantity(std::move(*q));
    }
    default:
      return std::nullopt;
  }
}

std::optional<Value> to_date(const Value& v) {
  switch (v.kind()) {
    case Kind::kDate:
      return v;
    case Kind::kDateTime: {
      Temporal t = v.as_temporal();
      t.precision = std::min(t.precision, TemporalPrecision::kDay);
      t.offset_minutes.reset();
      return Value::date(t);
    }
    case Kind::kString:
      if (auto t = parse_temporal(v.as_string(), TemporalKind::kDate)) return Value::date(*t);
      return std::nullopt;
    default:
      return std::nullopt;
  }
}

std::optional<Value> to_date_time(const Value& v) {
  switch (v.kind()) {
    case Kind::kDateTime:
      return v;
    case Kind::kDate:
      return Value::date_time(v.as_temporal());
    case Kind::kString:
      if (auto t = parse_temporal(v.as_string(), TemporalKind::kDateTime)) {
        return Value::date_time(*t);
      }
      return std::nullopt;
    default:
      return std::nullopt;
  }
}

std::optional<Value> to_time(const Value& v) {
  switch (v.kind()) {
    case Kind::kTime:
      return v;
    case Kind::kString:
      if (auto t = parse_temporal(v.as_string(), TemporalKind::kTime)) return Value::time(*t);
      return std::nullopt;
    default:
      return std::nullopt;
  }
}

using Converter = std::optional<Value> (*)(const Value&);

Result<Collection> convert(const Call& call, Converter converter, bool test_only) {
  auto item = single_operand_of(call, call.input(), "()");
  if (!item) return item.error();
  if (!item.value()) return Collection{};
  std::optional<Value> converted = converter(*item.value());
  if (test_only) return Collection{Value::boolean(converted.has_value())};
  if (!converted) return Collection{};
  return one_item(std::move(*converted));
}

// toQuantity(unit): the quantity in `unit` when the units convert.
Result<Collection> to_quantity_in(const Call& call, bool test_only) {
  auto converted = convert(call, to_quantity, false);
  if (!converted || call.arg_count() == 0 || converted.value().empty()) {
    if (test_only && converted) return Collection{Value::boolean(!converted.value().empty())};
    return converted;
  }
  auto unit = single_operand(call.arg(0), "toQuantity() unit");
  if (!unit) return unit.error();
  if (!unit.value() || unit.value()->kind() != Kind::kString) return Collection{};
  const Quantity& q = converted.value().front().as_quantity();
  const std::string& target = unit.value()->as_string();
  std::optional<Quantity> result;
  if (q.unit == target) {
    result = q;
  } else if (auto from = canonical_unit(q.unit), to = canonical_unit(target);
             from && to && from->powers == to->powers) {
    auto scaled = q.value.multiply(from->factor);
    auto value = scaled ? scaled->divide(to->factor) : std::nullopt;
    if (value) result = Quantity{.value = *value, .unit = target};
  }
  if (test_only) return Collection{Value::boolean(result.has_value())};
  if (!result) return Collection{};
  return Collection{Value::quantity(std::move(*result))};
}

Result<Collection> to_boolean_fn(const Call& c) { return convert(c, to_boolean, false); }
Result<Collection> converts_to_boolean(const Call& c) { return convert(c, to_boolean, true); }
Result<Collection> to_integer_fn(const Call& c) { return convert(c, to_integer, false); }
Result<Collection> converts_to_integer(const Call& c) { return convert(c, to_integer, true); }
Result<Collection> to_decimal_fn(const Call& c) { return convert(c, to_decimal, false); }
Result<Collection> converts_to_decimal(const Call& c) { return convert(c, to_decimal, true); }
Result<Collection> to_string_fn(const Call& c) { return convert(c, to_string, false); }
Result<Collection> converts_to_string(const Call& c) { return convert(c, to_string, true); }
Result<Collection> to_quantity_fn(const Call& c) { return to_quantity_in(c, false); }
Result<Collection> converts_to_quantity(const Call& c) { return to_quantity_in(c, true); }
Result<Collection> to_date_fn(const Call& c) { return convert(c, to_date, false); }
Result<Collection> converts_to_date(const Call& c) { return convert(c, to_date, true); }
Result<Collection> to_date_time_fn(const Call& c) { return convert(c, to_date_time, false); }
Result<Collection> converts_to_date_time(const Call& c) { return convert(c, to_date_time, true); }
Result<Collection> to_time_fn(const Call& c) { return convert(c, to_time, false); }
Result<Collection> converts_to_time(const Call& c) { return convert(c, to_time, true); }

constexpr FunctionDef kFunctions[] = {
    {"iif", 2, 3, ArgMode::kLazy, iif},
    {"toBoolean", 0, 0, ArgMode::kEager, to_boolean_fn},
    {"convertsToBoolean", 0, 0, ArgMode::kEager, converts_to_boolean},
    {"toInteger", 0, 0, ArgMode::kEager, to_integer_fn},
    {"convertsToInteger", 0, 0, ArgMode::kEager, converts_to_integer},
    {"toDecimal", 0, 0, ArgMode::kEager, to_decimal_fn},
    {"convertsToDecimal", 0, 0, ArgMode::kEager, converts_to_decimal},
    {"toString", 0, 0, ArgMode::kEager, to_string_fn},
    {"convertsToString", 0, 0, ArgMode::kEager, converts_to_string},
    {"toQuantity", 0, 1, ArgMode::kEager, to_quantity_fn},
    {"convertsToQuantity", 0, 1, ArgMode::kEager, converts_to_quantity},
    {"toDate", 0, 0, ArgMode::kEager, to_date_fn},
    {"convertsToDate", 0, 0, ArgMode::kEager, converts_to_date},
    {"toDateTime", 0, 0, ArgMode::kEager, to_date_time_fn},
    {"convertsToDateTime", 0, 0, ArgMode::kEager, converts_to_date_time},
    {"toTime", 0, 0, ArgMode::kEager, to_time_fn},
    {"convertsToTime", 0, 0, ArgMode::kEager, converts_to_time},
};

}  // namespace
}  // namespace fl::mappings::fhirpath

std::span<const fl::mappings::fhirpath::FunctionDef>
fl::mappings::fhirpath::conversion_functions() {
  return kFunctions;
}
