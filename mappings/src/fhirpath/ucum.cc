#include "fhirpath/ucum.h"

#include <string>

namespace fl::mappings::fhirpath {
namespace {

// A unit atom: a base unit (dimension >= 0) or factor x definition, where the definition is
// itself a unit expression. Metric atoms take prefixes. Facts from the UCUM tables.
struct Atom {
  std::string_view code;
  bool metric;
  std::string_view factor;
  std::string_view definition;
  int dimension;
};

constexpr Atom kAtoms[] = {
    {"m", true, "1", "", 0},
    {"g", true, "1", "", 1},
    {"s", true, "1", "", 2},
    {"K", true, "1", "", 3},
    {"C", true, "1", "", 4},
    {"cd", true, "1", "", 5},
    {"mol", true, "1", "", 6},
    {"[iU]", true, "1", "", 7},
    {"[IU]", true, "1", "[iU]", -1},
    {"rad", true, "1", "1", -1},
    {"sr", true, "1", "1", -1},
    {"min", false, "60", "s", -1},
    {"h", false, "60", "min", -1},
    {"d", false, "24", "h", -1},
    {"wk", false, "7", "d", -1},
    {"a", false, "365.25", "d", -1},
    {"mo", false, "1", "a/12", -1},
    {"L", true, "1", "dm3", -1},
    {"l", true, "1", "dm3", -1},
    {"Hz", true, "1", "s-1", -1},
    {"N", true, "1", "kg.m/s2", -1},
    {"Pa", true, "1", "N/m2", -1},
    {"J", true, "1", "N.m", -1},
    {"W", true, "1", "J/s", -1},
    {"cal", true, "4.184", "J", -1},
    {"[Cal]", false, "1", "kcal", -1},
    {"bar", true, "100000", "Pa", -1},
    {"m[Hg]", true, "133.322387415", "kPa", -1},
    {"m[H2O]", true, "9.80665", "kPa", -1},
    {"[in_i]", false, "2.54", "cm", -1},
    {"[ft_i]", false, "12", "[in_i]", -1},
    {"[yd_i]", false, "3", "[ft_i]", -1},
    {"[mi_i]", false, "5280", "[ft_i]", -1},
    {"[lb_av]", false, "453.59237", "g", -1},
    {"[oz_av]", false, "0.0625", "[lb_av]", -1},
    {"[gr]", false, "64.79891", "mg", -1},
    {"%", false, "0.01", "1", -1},
    {"[ppm]", false, "0.000001", "1", -1},
    {"[ppb]", false, "0.000000001", "1", -1},
    {"eq", true, "1", "mol", -1},
    {"osm", true, "1", "mol", -1},
    {"kat", true, "1", "mol/s", -1},
    {"U", true, "1", "umol/min", -1},
    {"t", true, "1000", "kg", -1},
    {"deg", false, "0.0174532925199433", "rad", -1},
};

struct Prefix {
  std::string_view code;
  int exponent;
};

// Two-letter "da" before "d" so that the longer prefix wins.
constexpr Prefix kPrefixes[] = {
    {"da", 1}, {"Y", 24},  {"Z", 21},  {"E", 18},  {"P", 15},  {"T", 12},  {"G", 9},
    {"M", 6},  {"k", 3},   {"h", 2},   {"d", -1},  {"c", -2},  {"m", -3},  {"u", -6},
    {"n", -9}, {"p", -12}, {"f", -15}, {"a", -18}, {"z", -21}, {"y", -24},
};

constexpr CanonicalUnit kDimensionless{};

std::optional<CanonicalUnit> multiply(const CanonicalUnit& a, const CanonicalUnit& b, int sign) {
  CanonicalUnit out;
  auto factor = sign > 0 ? a.factor.multiply(b.factor) : a.factor.divide(b.factor);
  if (!factor) return std::nullopt;
  out.factor = *factor;
  for (std::size_t k = 0; k < CanonicalUnit::kDimensions; ++k) {
    out.powers[k] = a.powers[k] + sign * b.powers[k];
  }
  return out;
}

std::optional<CanonicalUnit> power(const CanonicalUnit& unit, int exponent) {
  CanonicalUnit out = kDimensionless;
  for (int k = 0; k < (exponent < 0 ? -exponent : exponent); ++k) {
    auto next = multiply(out, unit, exponent < 0 ? -1 : 1);
    if (!next) return std::nullopt;
    out = *next;
  }
  return out;
}

std::optional<CanonicalUnit> atom_unit(const Atom& atom) {
  CanonicalUnit unit;
  if (atom.dimension >= 0) {
    unit.powers[static_cast<std::size_t>(atom.dimension)] = 1;
    return unit;
  }
  auto definition = canonical_unit(atom.definition);
  auto factor = Decimal::parse(atom.factor);
  if (!definition || !factor) return std::nullopt;
  auto scaled = definition->factor.multiply(*factor);
  if (!scaled) return std::nullopt;
  definition->factor = *scaled;
  return definition;
}

const Atom* find_atom(std::string_view code) {
  for (const Atom& atom : kAtoms) {
    if (atom.code == code) return &atom;
  }
  return nullptr;
}

// One unit symbol without exponent: an atom, or a prefix and a metric atom.
std::optional<CanonicalUnit> simple_unit(std::string_view code) {
  if (const Atom* atom = find_atom(code)) return atom_unit(*atom);
  for (const Prefix& prefix : kPrefixes) {
    if (code.size() <= prefix.code.size() || code.substr(0, prefix.code.size()) != prefix.code) {
      continue;
    }
    const Atom* atom = find_atom(code.substr(prefix.code.size()));
    if (atom == nullptr || !atom->metric) continue;
    auto unit = atom_unit(*atom);
    if (!unit) return std::nullopt;
    const Decimal scale =
        prefix.exponent >= 0 ? Decimal::from_integer(1) : Decimal::from_units(1, -prefix.exponent);
    auto factor = unit->factor.multiply(scale);
    for (int k = 0; factor && k < prefix.exponent; ++k) {
      factor = factor->multiply(Decimal::from_integer(10));
    }
    if (!factor) return std::nullopt;
    unit->factor = *factor;
    return unit;
  }
  return std::nullopt;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

class UnitParser {
 public:
  explicit UnitParser(std::string_view text) : text_(text) {}

  std::optional<CanonicalUnit> parse() {
    auto unit = term();
    if (!unit || pos_ != text_.size()) return std::nullopt;
    return unit;
  }

 private:
  std::optional<CanonicalUnit> term() {
    std::optional<CanonicalUnit> unit = kDimensionless;
    int sign = 1;
    if (eat('/')) sign = -1;
    for (;;) {
      auto next = component();
      if (!next) return std::nullopt;
      unit = multiply(*unit, *next, sign);
      if (!unit) return std::nullopt;
      if (eat('.')) {
        sign = 1;
      } else if (eat('/')) {
        sign = -1;
      } else {
        return unit;
      }
    }
  }

  std::optional<CanonicalUnit> component() {
    if (eat('(')) {
      auto inner = term();
      if (!inner || !eat(')')) return std::nullopt;
      return with_exponent(*inner);
    }
    if (peek('{')) {
      skip_annotation();
      return kDimensionless;
    }
    const std::size_t start = pos_;
    int brackets = 0;
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c == '[') ++brackets;
      if (c == ']') --brackets;
      if (brackets == 0 && (c == '.' || c == '/' || c == '(' || c == ')' || c == '{')) break;
      ++pos_;
    }
    std::string_view symbol = text_.substr(start, pos_ - start);
    if (peek('{')) skip_annotation();
    return symbol_unit(symbol);
  }

  std::optional<CanonicalUnit> with_exponent(const CanonicalUnit& unit) {
    const std::size_t start = pos_;
    if (peek('+') || peek('-')) ++pos_;
    while (pos_ < text_.size() && is_digit(text_[pos_])) ++pos_;
    if (pos_ == start) return unit;
    return power(unit, std::stoi(std::string(text_.substr(start, pos_ - start))));
  }

  static std::optional<CanonicalUnit> symbol_unit(std::string_view symbol) {
    if (symbol.empty()) return std::nullopt;
    bool all_digits = true;
    for (char c : symbol) all_digits = all_digits && is_digit(c);
    if (all_digits) {
      if (symbol.size() > 18) return std::nullopt;
      CanonicalUnit unit;
      unit.factor = Decimal::from_integer(std::stoll(std::string(symbol)));
      return unit;
    }
    if (symbol.size() > 3 && symbol.substr(0, 2) == "10" &&
        (symbol[2] == '*' || symbol[2] == '^')) {
      auto exponent = symbol_exponent(symbol.substr(3));
      if (!exponent) return std::nullopt;
      return power(ten(), *exponent);
    }
    // A trailing signed integer is the exponent: "m2", "s-1".
    std::size_t end = symbol.size();
    while (end > 0 && is_digit(symbol[end - 1])) --end;
    if (end > 0 && end < symbol.size() && (symbol[end - 1] == '-' || symbol[end - 1] == '+')) --end;
    if (end == 0 || symbol[end - 1] == ']' || end == symbol.size()) {
      return simple_unit(symbol);
    }
    auto base = simple_unit(symbol.substr(0, end));
    auto exponent = symbol_exponent(symbol.substr(end));
    if (!base || !exponent) return std::nullopt;
    return power(*base, *exponent);
  }

  static std::optional<int> symbol_exponent(std::string_view digits) {
    if (digits.empty() || digits.size() > 4) return std::nullopt;
    std::size_t k = (digits[0] == '-' || digits[0] == '+') ? 1 : 0;
    if (k == digits.size()) return std::nullopt;
    for (std::size_t j = k; j < digits.size(); ++j) {
      if (!is_digit(digits[j])) return std::nullopt;
    }
    return std::stoi(std::string(digits));
  }

  static CanonicalUnit ten() {
    CanonicalUnit unit;
    unit.factor = Decimal::from_integer(10);
    return unit;
  }

  void skip_annotation() {
    while (pos_ < text_.size() && text_[pos_] != '}') ++pos_;
    if (pos_ < text_.size()) ++pos_;
  }
  bool peek(char c) const { return pos_ < text_.size() && text_[pos_] == c; }
  bool eat(char c) {
    if (!peek(c)) return false;
    ++pos_;
    return true;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

struct Keyword {
  std::string_view singular;
  std::string_view ucum;  // empty for the calendar lengths year and month
};

constexpr Keyword kKeywords[] = {
    {"year", ""},  {"month", ""},     {"week", "wk"},  {"day", "d"},
    {"hour", "h"}, {"minute", "min"}, {"second", "s"}, {"millisecond", "ms"},
};

const Keyword* find_keyword(std::string_view unit) {
  for (const Keyword& k : kKeywords) {
    if (unit == k.singular) return &k;
    if (unit.size() == k.singular.size() + 1 && unit.back() == 's' &&
        unit.substr(0, k.singular.size()) == k.singular) {
      return &k;
    }
  }
  return nullptr;
}

}  // namespace

}  // namespace fl::mappings::fhirpath

bool fl::mappings::fhirpath::is_calendar_keyword(std::string_view unit) {
  return find_keyword(unit) != nullptr;
}

std::string_view fl::mappings::fhirpath::definite_unit(std::string_view unit) {
  const Keyword* k = find_keyword(unit);
  return k != nullptr && !k->ucum.empty() ? k->ucum : unit;
}

std::optional<fl::mappings::fhirpath::CanonicalUnit> fl::mappings::fhirpath::canonical_unit(
    std::string_view unit) {
  if (const Keyword* k = find_keyword(unit)) {
    if (!k->ucum.empty()) return canonical_unit(k->ucum);
    CanonicalUnit calendar;  // months, in a dimension of their own
    calendar.powers[8] = 1;
    if (k->singular == "year") calendar.factor = Decimal::from_integer(12);
    return calendar;
  }
  if (unit.empty()) return std::nullopt;
  return UnitParser(unit).parse();
}
