// The items of a FHIRPath result collection (fl/mappings/fhirpath.h): System values (Boolean,
// Integer, Decimal, String, Date, DateTime, Time, Quantity), type descriptions from type(), and
// nodes that point into the FHIR JSON resource being evaluated, with their FHIR type.
//
// A Node borrows: it points into the rapidjson document and into the engine's static type
// model, so a result collection is valid only while the document it came from is alive and
// unchanged. Everything else is an owned value. Values are immutable; any thread may read them.
#pragma once

#include <rapidjson/document.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace fl::mappings::fhirpath {

// A FHIRPath Decimal: a fixed-point number that keeps its scale (the digits after the point),
// so 1.50 stays 1.50, 0.1 + 0.2 = 0.3 exactly, and precision() and the boundary functions can
// answer. Up to 38 significant digits; operations that would need more return nullopt.
class Decimal {
 public:
  static constexpr int kMaxScale = 28;

  constexpr Decimal() = default;
  static constexpr Decimal from_integer(std::int64_t value) { return from_units(value, 0); }
  // units * 10^-scale; scale is 0..kMaxScale.
  static constexpr Decimal from_units(__int128 units, int scale) {
    Decimal d;
    d.units_ = units;
    d.scale_ = scale;
    return d;
  }
  // A FHIRPath or JSON number: optional '-', digits, optional '.' and digits. No exponent.
  static std::optional<Decimal> parse(std::string_view text);
  // The shortest decimal that reads back as `value` (a JSON number parsed as a double).
  static std::optional<Decimal> from_double(double value);

  __int128 units() const { return units_; }
  int scale() const { return scale_; }
  bool is_negative() const { return units_ < 0 || negative_zero_; }
  bool is_integer() const;

  // "12.50", "-0.0": every digit of the scale is written.
  std::string to_string() const;
  double to_double() const;

  std::optional<Decimal> add(const Decimal& other) const;
  std::optional<Decimal> subtract(const Decimal& other) const;
  std::optional<Decimal> multiply(const Decimal& other) const;
  // Quotient to 16 digits after the point, trailing zeros removed; nullopt for division by 0.
  std::optional<Decimal> divide(const Decimal& other) const;
  Decimal negate() const;
  Decimal abs() const;

  enum class Rounding { kHalfAwayFromZero, kTowardZero, kFloor, kCeiling };
  // The same number with exactly `scale` digits after the point (rounded when fewer).
  std::optional<Decimal> rescale(int scale, Rounding rounding = Rounding::kHalfAwayFromZero) const;
  // Without trailing zeros after the point (1.500 -> 1.5, 2.0 -> 2).
  Decimal trimmed() const;
  // The integer part toward zero when it fits 64 bits.
  std::optional<std::int64_t> to_int64() const;
  // Marks a zero as negative so that it writes as "-0.0" (the boundary functions need it).
  Decimal with_negative_zero() const;

  // Numeric comparison: 1.10 and 1.1 are equal.
  friend int compare(const Decimal& a, const Decimal& b);
  friend bool operator==(const Decimal& a, const Decimal& b) { return compare(a, b) == 0; }

 private:
  __int128 units_ = 0;
  int scale_ = 0;
  bool negative_zero_ = false;
};

// Date, DateTime and Time share one shape; the Value's kind says which. Fields below the
// precision are 0 (or 1 for month and day) and mean nothing.
enum class TemporalPrecision : std::uint8_t {
  kYear,
  kMonth,
  kDay,
  kHour,
  kMinute,
  kSecond,
  kMillisecond,
};

struct Temporal {
  int year = 0;
  int month = 1;
  int day = 1;
  int hour = 0;
  int minute = 0;
  int second = 0;
  int millisecond = 0;
  TemporalPrecision precision = TemporalPrecision::kYear;
  std::optional<int> offset_minutes;  // the time-zone offset, when one was given
};

// A UCUM unit ("mg", "[lb_av]", "1") or a calendar duration keyword ("week", "days").
struct Quantity {
  Decimal value;
  std::string unit = "1";
};

// An element of the FHIR JSON resource: its value and, for primitives, the matching "_name"
// object that carries id and extensions. Either pointer may be null (a primitive with only
// extensions has no value). `type` is the FHIR type ("HumanName", "code", "Patient"), empty when
// the model does not know the element; `model_key` is where the model lists its children (the
// type, or the path of a backbone element such as "Patient.contact").
struct Node {
  const rapidjson::Value* json = nullptr;
  const rapidjson::Value* extras = nullptr;
  std::string_view type;
  std::string_view model_key;
};

// What type() returns: a namespace ("System" or "FHIR") and a name.
struct TypeName {
  std::string_view ns;
  std::string_view name;
};

class Value {
 public:
  enum class Kind : std::uint8_t {
    kBoolean,
    kInteger,
    kDecimal,
    kString,
    kDate,
    kDateTime,
    kTime,
    kQuantity,
    kNode,
    kTypeName,
  };

  static Value boolean(bool value) { return Value(Kind::kBoolean, value); }
  static Value integer(std::int64_t value) { return Value(Kind::kInteger, value); }
  static Value decimal(Decimal value) { return Value(Kind::kDecimal, value); }
  static Value string(std::string value) { return Value(Kind::kString, std::move(value)); }
  static Value date(Temporal value) { return Value(Kind::kDate, value); }
  static Value date_time(Temporal value) { return Value(Kind::kDateTime, value); }
  static Value time(Temporal value) { return Value(Kind::kTime, value); }
  static Value quantity(Quantity value) { return Value(Kind::kQuantity, std::move(value)); }
  static Value node(Node value) { return Value(Kind::kNode, value); }
  // The same as node(value), for building a node item where it is stored
  // (collection.emplace_back(node)) rather than moving a temporary there: navigation makes one
  // per element it reads.
  explicit Value(const Node& value) : kind_(Kind::kNode), data_(std::in_place_type<Node>, value) {}
  static Value type_name(TypeName value) { return Value(Kind::kTypeName, value); }

  Kind kind() const { return kind_; }
  bool is_node() const { return kind_ == Kind::kNode; }

  bool as_boolean() const { return std::get<bool>(data_); }
  std::int64_t as_integer() const { return std::get<std::int64_t>(data_); }
  const Decimal& as_decimal() const { return std::get<Decimal>(data_); }
  const std::string& as_string() const { return std::get<std::string>(data_); }
  const Temporal& as_temporal() const { return std::get<Temporal>(data_); }
  const Quantity& as_quantity() const { return std::get<Quantity>(data_); }
  const Node& as_node() const { return std::get<Node>(data_); }
  const TypeName& as_type_name() const { return std::get<TypeName>(data_); }

 private:
  using Data =
      std::variant<bool, std::int64_t, Decimal, std::string, Temporal, Quantity, Node, TypeName>;
  template <typename T>
  Value(Kind kind, T&& data)
      : kind_(kind), data_(std::in_place_type<std::decay_t<T>>, std::forward<T>(data)) {}

  Kind kind_;
  Data data_;
};

using Collection = std::vector<Value>;

}  // namespace fl::mappings::fhirpath
