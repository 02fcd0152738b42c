#include "fhirpath/temporal.h"

#include <array>
#include <cstdlib>

namespace fl::mappings::fhirpath {
namespace {

using P = TemporalPrecision;

constexpr std::int64_t kMsPerDay = 86'400'000;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

class Cursor {
 public:
  explicit Cursor(std::string_view text) : text_(text) {}

  bool done() const { return pos_ == text_.size(); }
  bool peek(char c) const { return pos_ < text_.size() && text_[pos_] == c; }
  bool eat(char c) {
    if (!peek(c)) return false;
    ++pos_;
    return true;
  }
  // Exactly `n` digits.
  std::optional<int> digits(int n) {
    if (pos_ + static_cast<std::size_t>(n) > text_.size()) return std::nullopt;
    int value = 0;
    for (int k = 0; k < n; ++k) {
      const char c = text_[pos_ + static_cast<std::size_t>(k)];
      if (!is_digit(c)) return std::nullopt;
      value = value * 10 + (c - '0');
    }
    pos_ += static_cast<std::size_t>(n);
    return value;
  }
  // One or more digits, of which the first three count (a fraction of a second).
  std::optional<int> milliseconds() {
    int value = 0;
    int count = 0;
    while (pos_ < text_.size() && is_digit(text_[pos_])) {
      if (count < 3) value = value * 10 + (text_[pos_] - '0');
      ++count;
      ++pos_;
    }
    if (count == 0) return std::nullopt;
    for (int k = count; k < 3; ++k) value *= 10;
    return value;
  }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
};

bool parse_time_part(Cursor& in, Temporal& t) {
  auto hour = in.digits(2);
  if (!hour || *hour > 23) return false;
  t.hour = *hour;
  t.precision = P::kHour;
  if (!in.eat(':')) return true;
  auto minute = in.digits(2);
  if (!minute || *minute > 59) return false;
  t.minute = *minute;
  t.precision = P::kMinute;
  if (!in.eat(':')) return true;
  auto second = in.digits(2);
  if (!second || *second > 59) return false;
  t.second = *second;
  t.precision = P::kSecond;
  if (!in.eat('.')) return true;
  auto ms = in.milliseconds();
  if (!ms) return false;
  t.millisecond = *ms;
  t.precision = P::kMillisecond;
  return true;
}

bool parse_zone(Cursor& in, Temporal& t) {
  if (in.eat('Z')) {
    t.offset_minutes = 0;
    return true;
  }
  int sign = 0;
  if (in.eat('+')) sign = 1;
  if (sign == 0 && in.eat('-')) sign = -1;
  if (sign == 0) return true;
  auto hours = in.digits(2);
  if (!hours || *hours > 14 || !in.eat(':')) return false;
  auto minutes = in.digits(2);
  if (!minutes || *minutes > 59) return false;
  t.offset_minutes = sign * (*hours * 60 + *minutes);
  return true;
}

bool parse_date_part(Cursor& in, Temporal& t) {
  auto year = in.digits(4);
  if (!year) return false;
  t.year = *year;
  t.precision = P::kYear;
  if (!in.eat('-')) return true;
  auto month = in.digits(2);
  if (!month || *month < 1 || *month > 12) return false;
  t.month = *month;
  t.precision = P::kMonth;
  if (!in.eat('-')) return true;
  auto day = in.digits(2);
  if (!day || *day < 1 || *day > days_in_month(t.year, t.month)) return false;
  t.day = *day;
  t.precision = P::kDay;
  return true;
}

std::int64_t ms_of_day(const Temporal& t) {
  return ((static_cast<std::int64_t>(t.hour) * 60 + t.minute) * 60 + t.second) * 1000 +
         t.millisecond;
}

void set_ms_of_day(std::int64_t ms, Temporal& t) {
  t.millisecond = static_cast<int>(ms % 1000);
  t.second = static_cast<int>(ms / 1000 % 60);
  t.minute = static_cast<int>(ms / 60'000 % 60);
  t.hour = static_cast<int>(ms / 3'600'000);
}

// Moves a date-time by `ms` milliseconds, carrying into the date.
void shift(Temporal& t, std::int64_t ms) {
  std::int64_t total = days_from_civil(t.year, t.month, t.day) * kMsPerDay + ms_of_day(t) + ms;
  std::int64_t days = total / kMsPerDay;
  std::int64_t rest = total % kMsPerDay;
  if (rest < 0) {
    rest += kMsPerDay;
    --days;
  }
  civil_from_days(days, t);
  set_ms_of_day(rest, t);
}

Temporal to_utc(const Temporal& t) {
  Temporal u = t;
  shift(u, -static_cast<std::int64_t>(*t.offset_minutes) * 60'000);
  u.offset_minutes = 0;
  return u;
}

// Seconds and milliseconds are one level for comparison.
int level(P p) { return p == P::kMillisecond ? static_cast<int>(P::kSecond) : static_cast<int>(p); }

int field_at(const Temporal& t, int lvl) {
  switch (static_cast<P>(lvl)) {
    case P::kYear:
      return t.year;
    case P::kMonth:
      return t.month;
    case P::kDay:
      return t.day;
    case P::kHour:
      return t.hour;
    case P::kMinute:
      return t.minute;
    case P::kSecond:
    case P::kMillisecond:
      return t.second * 1000 + t.millisecond;
  }
  return 0;
}

void append_2(std::string& out, int v) {
  out.push_back(static_cast<char>('0' + v / 10 % 10));
  out.push_back(static_cast<char>('0' + v % 10));
}

// `v` in at least `width` characters, zero-padded, as "%0*d" writes it: by hand, because
// snprintf's format parsing cost more than the rest of toString() on a date.
void append_digits(std::string& out, int v, int width) {
  unsigned u = static_cast<unsigned>(v);
  if (v < 0) {
    out.push_back('-');
    --width;
    u = 0u - u;
  }
  char digits[12];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u > 0);
  for (int i = n; i < width; ++i) out.push_back('0');
  while (n > 0) out.push_back(digits[--n]);
}

void append_time(std::string& out, const Temporal& t) {
  append_2(out, t.hour);
  if (t.precision < P::kMinute) return;
  out.push_back(':');
  append_2(out, t.minute);
  if (t.precision < P::kSecond) return;
  out.push_back(':');
  append_2(out, t.second);
  if (t.precision < P::kMillisecond) return;
  out.push_back('.');
  append_digits(out, t.millisecond, 3);
}

}  // namespace

// Days since 1970-01-01 of a proleptic Gregorian date (the era-based civil calendar formula).
std::int64_t days_from_civil(std::int64_t y, int m, int d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const std::int64_t yoe = y - era * 400;
  const std::int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void civil_from_days(std::int64_t z, Temporal& t) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const auto d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  const auto m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  t.year = static_cast<int>(yoe + era * 400 + (m <= 2 ? 1 : 0));
  t.month = m;
  t.day = d;
}

}  // namespace fl::mappings::fhirpath

int fl::mappings::fhirpath::days_in_month(int year, int month) {
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (month == 2 && leap) return 29;
  return kDays[static_cast<std::size_t>(month - 1)];
}

std::optional<fl::mappings::fhirpath::Temporal> fl::mappings::fhirpath::parse_temporal(
    std::string_view text, TemporalKind kind) {
  Cursor in(text);
  Temporal t;
  if (kind == TemporalKind::kTime) {
    if (!parse_time_part(in, t) || !in.done()) return std::nullopt;
    return t;
  }
  if (!parse_date_part(in, t)) return std::nullopt;
  if (kind == TemporalKind::kDate) return in.done() ? std::optional(t) : std::nullopt;
  if (in.eat('T') && !in.done()) {
    if (t.precision != P::kDay || !parse_time_part(in, t) || !parse_zone(in, t)) {
      return std::nullopt;
    }
  }
  if (!in.done()) return std::nullopt;
  return t;
}

std::string fl::mappings::fhirpath::format_temporal(const Temporal& t, TemporalKind kind) {
  std::string out;
  if (kind == TemporalKind::kTime) {
    append_time(out, t);
    return out;
  }
  out.reserve(32);
  append_digits(out, t.year, 4);
  if (t.precision >= P::kMonth) {
    out.push_back('-');
    append_2(out, t.month);
  }
  if (t.precision >= P::kDay) {
    out.push_back('-');
    append_2(out, t.day);
  }
  if (kind == TemporalKind::kDate || t.precision < P::kHour) return out;
  out.push_back('T');
  append_time(out, t);
  if (t.offset_minutes) {
    const int offset = *t.offset_minutes;
    if (offset == 0) {
      out.push_back('Z');
    } else {
      out.push_back(offset < 0 ? '-' : '+');
      append_2(out, std::abs(offset) / 60);
      out.push_back(':');
      append_2(out, std::abs(offset) % 60);
    }
  }
  return out;
}

std::optional<int> fl::mappings::fhirpath::compare_temporal(const Temporal& a, const Temporal& b) {
  Temporal x = a;
  Temporal y = b;
  const bool timed = a.precision >= P::kHour && b.precision >= P::kHour;
  if (timed && a.offset_minutes.has_value() != b.offset_minutes.has_value()) return std::nullopt;
  if (timed && a.offset_minutes && b.offset_minutes) {
    x = to_utc(a);
    y = to_utc(b);
  }
  const int common = std::min(level(x.precision), level(y.precision));
  for (int lvl = 0; lvl <= common; ++lvl) {
    const int fx = field_at(x, lvl);
    const int fy = field_at(y, lvl);
    if (fx != fy) return fx < fy ? -1 : 1;
  }
  if (level(x.precision) != level(y.precision)) return std::nullopt;
  return 0;
}

bool fl::mappings::fhirpath::same_precision(const Temporal& a, const Temporal& b) {
  return level(a.precision) == level(b.precision);
}

std::optional<fl::mappings::fhirpath::Temporal> fl::mappings::fhirpath::add_duration(
    const Temporal& value, TemporalKind kind, std::int64_t amount, std::string_view unit) {
  struct UnitStep {
    std::string_view keyword;
    std::string_view ucum;
    std::int64_t months;
    std::int64_t ms;
  };
  static constexpr std::array<UnitStep, 8> kUnits = {{
      {"year", "", 12, 0},
      {"month", "", 1, 0},
      {"week", "wk", 0, 7 * kMsPerDay},
      {"day", "d", 0, kMsPerDay},
      {"hour", "h", 0, 3'600'000},
      {"minute", "min", 0, 60'000},
      {"second", "s", 0, 1000},
      {"millisecond", "ms", 0, 1},
  }};
  const UnitStep* step = nullptr;
  for (const UnitStep& u : kUnits) {
    if (unit == u.keyword ||
        (unit.size() == u.keyword.size() + 1 && unit.back() == 's' &&
         unit.substr(0, u.keyword.size()) == u.keyword) ||
        (!u.ucum.empty() && unit == u.ucum)) {
      step = &u;
    }
  }
  if (step == nullptr) return std::nullopt;
  Temporal t = value;
  if (step->months != 0) {
    if (kind == TemporalKind::kTime) return std::nullopt;
    std::int64_t months = amount * step->months;
    if (t.precision == P::kYear) months = months / 12 * 12;  // a year-only value moves by years
    const std::int64_t total = static_cast<std::int64_t>(t.year) * 12 + (t.month - 1) + months;
    t.year = static_cast<int>(total >= 0 ? total / 12 : (total - 11) / 12);
    t.month = static_cast<int>(total - static_cast<std::int64_t>(t.year) * 12) + 1;
    t.day = std::min(t.day, days_in_month(t.year, t.month));
    return t;
  }
  std::int64_t ms = amount * step->ms;
  if (kind == TemporalKind::kTime) {
    std::int64_t rest = (ms_of_day(t) + ms) % kMsPerDay;
    if (rest < 0) rest += kMsPerDay;
    set_ms_of_day(rest, t);
    return t;
  }
  if (kind == TemporalKind::kDate || t.precision <= P::kDay) {
    ms = ms / kMsPerDay * kMsPerDay;  // a date moves by whole days
  }
  shift(t, ms);
  return t;
}

int fl::mappings::fhirpath::precision_digits(const Temporal& value, TemporalKind kind) {
  static constexpr std::array<int, 7> kDateTimeDigits = {4, 6, 8, 10, 12, 14, 17};
  static constexpr std::array<int, 7> kTimeDigits = {0, 0, 0, 2, 4, 6, 9};
  const auto p = static_cast<std::size_t>(value.precision);
  return kind == TemporalKind::kTime ? kTimeDigits[p] : kDateTimeDigits[p];
}
