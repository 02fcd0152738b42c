// Decimal: fixed-point arithmetic on a 128-bit count of units of 10^-scale. Overflow is
// reported as nullopt rather than wrapped, so a result is exact or absent.
#include "fl/mappings/fhirpath_value.h"

#include <array>
#include <charconv>
#include <cstdlib>
#include <string>

namespace fl::mappings::fhirpath {
namespace {

using Int = __int128;

constexpr int kMaxDigits = 38;
constexpr int kDivisionScale = 16;

constexpr std::array<Int, kMaxDigits + 1> make_powers() {
  std::array<Int, kMaxDigits + 1> p{};
  p[0] = 1;
  for (int i = 1; i <= kMaxDigits; ++i) p[i] = p[i - 1] * 10;
  return p;
}
constexpr std::array<Int, kMaxDigits + 1> kPow10 = make_powers();

std::optional<Int> scale_up(Int units, int digits) {
  if (digits < 0 || digits > kMaxDigits) return std::nullopt;
  Int out = 0;
  if (__builtin_mul_overflow(units, kPow10[digits], &out)) return std::nullopt;
  return out;
}

// units / 10^digits with the given rounding.
Int divide_rounded(Int units, Int divisor, Decimal::Rounding rounding) {
  Int q = units / divisor;
  const Int r = units % divisor;
  if (r == 0) return q;
  const bool negative = (units < 0) != (divisor < 0);
  switch (rounding) {
    case Decimal::Rounding::kTowardZero:
      return q;
    case Decimal::Rounding::kFloor:
      return negative ? q - 1 : q;
    case Decimal::Rounding::kCeiling:
      return negative ? q : q + 1;
    case Decimal::Rounding::kHalfAwayFromZero: {
      const Int twice = (r < 0 ? -r : r) * 2;
      const Int magnitude = divisor < 0 ? -divisor : divisor;
      if (twice >= magnitude) return negative ? q - 1 : q + 1;
      return q;
    }
  }
  return q;
}

std::string digits_of(Int magnitude) {
  if (magnitude == 0) return "0";
  std::string out;
  while (magnitude > 0) {
    out.push_back(static_cast<char>('0' + static_cast<int>(magnitude % 10)));
    magnitude /= 10;
  }
  return {out.rbegin(), out.rend()};
}

}  // namespace

std::optional<Decimal> Decimal::parse(std::string_view text) {
  std::size_t i = 0;
  bool negative = false;
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) {
    negative = text[i] == '-';
    ++i;
  }
  Int units = 0;
  int scale = 0;
  bool seen_digit = false;
  bool seen_point = false;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '.' && !seen_point) {
      seen_point = true;
      continue;
    }
    if (c < '0' || c > '9') return std::nullopt;
    seen_digit = true;
    if (seen_point) {
      if (scale == kMaxScale) continue;  // digits past the 28th are dropped
      ++scale;
    }
    if (__builtin_mul_overflow(units, Int{10}, &units) ||
        __builtin_add_overflow(units, Int{c - '0'}, &units)) {
      return std::nullopt;
    }
  }
  if (!seen_digit || (seen_point && text.back() == '.')) return std::nullopt;
  Decimal d = from_units(negative ? -units : units, scale);
  if (negative && units == 0) d.negative_zero_ = true;
  return d;
}

std::optional<Decimal> Decimal::from_double(double value) {
  std::array<char, 400> buffer{};
  auto [end, ec] =
      std::to_chars(buffer.data(), buffer.data() + buffer.size(), value, std::chars_format::fixed);
  if (ec != std::errc()) return std::nullopt;
  return parse(std::string_view(buffer.data(), static_cast<std::size_t>(end - buffer.data())));
}

bool Decimal::is_integer() const { return units_ % kPow10[scale_] == 0; }

std::string Decimal::to_string() const {
  const Int magnitude = units_ < 0 ? -units_ : units_;
  std::string digits = digits_of(magnitude);
  if (static_cast<int>(digits.size()) <= scale_) {
    digits.insert(0, static_cast<std::size_t>(scale_ + 1) - digits.size(), '0');
  }
  std::string out = is_negative() ? "-" : "";
  out += digits.substr(0, digits.size() - static_cast<std::size_t>(scale_));
  if (scale_ > 0) out += "." + digits.substr(digits.size() - static_cast<std::size_t>(scale_));
  return out;
}

double Decimal::to_double() const { return std::strtod(to_string().c_str(), nullptr); }

std::optional<Decimal> Decimal::add(const Decimal& other) const {
  const int scale = std::max(scale_, other.scale_);
  auto a = scale_up(units_, scale - scale_);
  auto b = scale_up(other.units_, scale - other.scale_);
  Int sum = 0;
  if (!a || !b || __builtin_add_overflow(*a, *b, &sum)) return std::nullopt;
  return from_units(sum, scale);
}

std::optional<Decimal> Decimal::subtract(const Decimal& other) const { return add(other.negate()); }

std::optional<Decimal> Decimal::multiply(const Decimal& other) const {
  Decimal a = *this;
  Decimal b = other;
  if (a.scale_ + b.scale_ > kMaxScale) {  // trailing zeros carry no value; drop them first
    a = a.trimmed();
    b = b.trimmed();
  }
  Int product = 0;
  if (__builtin_mul_overflow(a.units_, b.units_, &product)) return std::nullopt;
  const Decimal exact = from_units(product, a.scale_ + b.scale_);
  if (exact.scale_ <= kMaxScale) return exact;
  return exact.rescale(kMaxScale);
}

std::optional<Decimal> Decimal::divide(const Decimal& other) const {
  if (other.units_ == 0) return std::nullopt;
  for (int scale = kDivisionScale; scale >= 0; --scale) {
    const int shift = scale - scale_ + other.scale_;
    Int numerator = units_;
    Int denominator = other.units_;
    if (shift >= 0) {
      auto n = scale_up(units_, shift);
      if (!n) continue;
      numerator = *n;
    } else {
      auto d = scale_up(other.units_, -shift);
      if (!d) continue;
      denominator = *d;
    }
    return from_units(divide_rounded(numerator, denominator, Rounding::kHalfAwayFromZero), scale)
        .trimmed();
  }
  return std::nullopt;
}

Decimal Decimal::negate() const { return from_units(-units_, scale_); }

Decimal Decimal::abs() const { return from_units(units_ < 0 ? -units_ : units_, scale_); }

std::optional<Decimal> Decimal::rescale(int scale, Rounding rounding) const {
  if (scale < 0 || scale > kMaxScale) return std::nullopt;
  if (scale >= scale_) {
    auto units = scale_up(units_, scale - scale_);
    if (!units) return std::nullopt;
    return from_units(*units, scale);
  }
  return from_units(divide_rounded(units_, kPow10[scale_ - scale], rounding), scale);
}

Decimal Decimal::trimmed() const {
  Decimal d = *this;
  while (d.scale_ > 0 && d.units_ % 10 == 0) {
    d.units_ /= 10;
    --d.scale_;
  }
  d.negative_zero_ = false;
  return d;
}

std::optional<std::int64_t> Decimal::to_int64() const {
  const Int whole = units_ / kPow10[scale_];
  if (whole > INT64_MAX || whole < INT64_MIN) return std::nullopt;
  return static_cast<std::int64_t>(whole);
}

Decimal Decimal::with_negative_zero() const {
  Decimal d = *this;
  d.negative_zero_ = units_ == 0;
  return d;
}

int compare(const Decimal& a, const Decimal& b) {
  const int scale = std::max(a.scale_, b.scale_);
  auto x = scale_up(a.units_, scale - a.scale_);
  auto y = scale_up(b.units_, scale - b.scale_);
  if (!x || !y) {  // too large to align exactly: the magnitudes differ by far
    const double dx = a.to_double();
    const double dy = b.to_double();
    return dx < dy ? -1 : (dx > dy ? 1 : 0);
  }
  return *x < *y ? -1 : (*x > *y ? 1 : 0);
}

}  // namespace fl::mappings::fhirpath
