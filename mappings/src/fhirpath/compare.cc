#include "fhirpath/compare.h"

#include "fhirpath/convert.h"
#include "fhirpath/navigation.h"
#include "fhirpath/quantity.h"
#include "fhirpath/temporal.h"

#include <algorithm>
#include <string>
#include <vector>

namespace fl::mappings::fhirpath {
namespace {

using Kind = Value::Kind;

bool is_number(Kind k) { return k == Kind::kInteger || k == Kind::kDecimal; }
bool is_date_like(Kind k) { return k == Kind::kDate || k == Kind::kDateTime; }

Decimal decimal_of(const Value& v) {
  return v.kind() == Kind::kInteger ? Decimal::from_integer(v.as_integer()) : v.as_decimal();
}

std::optional<bool> equal_from_order(std::optional<int> order) {
  if (!order) return std::nullopt;
  return *order == 0;
}

// Lower case, runs of white space as one space, trimmed: what string equivalence ignores.
std::string normalized(const std::string& s) {
  std::string out;
  bool space = false;
  for (char c : s) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  return out;
}

// Decimals are equivalent when equal at the precision of the less precise one.
bool decimals_equivalent(const Decimal& a, const Decimal& b) {
  const int scale = std::min(a.scale(), b.scale());
  auto x = a.rescale(scale);
  auto y = b.rescale(scale);
  return x && y && *x == *y;
}

std::optional<bool> system_equal(const Value& x, const Value& y) {
  if (is_number(x.kind()) && is_number(y.kind())) return decimal_of(x) == decimal_of(y);
  if (is_date_like(x.kind()) && is_date_like(y.kind())) {
    return equal_from_order(compare_temporal(x.as_temporal(), y.as_temporal()));
  }
  if (x.kind() != y.kind()) return false;
  switch (x.kind()) {
    case Kind::kBoolean:
      return x.as_boolean() == y.as_boolean();
    case Kind::kString:
      return x.as_string() == y.as_string();
    case Kind::kTime:
      return equal_from_order(compare_temporal(x.as_temporal(), y.as_temporal()));
    case Kind::kQuantity:
      return equal_from_order(compare_quantities(x.as_quantity(), y.as_quantity()));
    case Kind::kTypeName:
      return x.as_type_name().ns == y.as_type_name().ns &&
             x.as_type_name().name == y.as_type_name().name;
    case Kind::kNode:
      return same_json(x.as_node(), y.as_node());
    default:
      return false;
  }
}

bool system_equivalent(const Value& x, const Value& y) {
  if (is_number(x.kind()) && is_number(y.kind())) {
    return decimals_equivalent(decimal_of(x), decimal_of(y));
  }
  const bool temporal = (is_date_like(x.kind()) && is_date_like(y.kind())) ||
                        (x.kind() == Kind::kTime && y.kind() == Kind::kTime);
  if (temporal) {
    return compare_temporal(x.as_temporal(), y.as_temporal()) == 0 &&
           same_precision(x.as_temporal(), y.as_temporal());
  }
  if (x.kind() != y.kind()) return false;
  switch (x.kind()) {
    case Kind::kString:
      return normalized(x.as_string()) == normalized(y.as_string());
    case Kind::kQuantity: {
      auto values = comparable_values(x.as_quantity(), y.as_quantity());
      return values && decimals_equivalent(values->first, values->second);
    }
    default:
      return system_equal(x, y).value_or(false);
  }
}

}  // namespace
}  // namespace fl::mappings::fhirpath

std::optional<bool> fl::mappings::fhirpath::items_equal(const Value& a, const Value& b) {
  // String against string (system = '…', code = '…', distinct() of codes) is most of what
  // rules compare; it is answered on the text in place, without converting either side.
  if (auto x = string_in_place(a)) {
    if (auto y = string_in_place(b)) return *x == *y;
  }
  const Value x = operand(a);
  const Value y = operand(b);
  if (x.is_node() != y.is_node()) return false;
  return system_equal(x, y);
}

bool fl::mappings::fhirpath::items_equivalent(const Value& a, const Value& b) {
  const Value x = operand(a);
  const Value y = operand(b);
  if (x.is_node() != y.is_node()) return false;
  return system_equivalent(x, y);
}

fl::Result<std::optional<int>> fl::mappings::fhirpath::order_items(const Value& a, const Value& b) {
  const Value x = operand(a);
  const Value y = operand(b);
  if (is_number(x.kind()) && is_number(y.kind())) {
    return std::optional<int>(compare(decimal_of(x), decimal_of(y)));
  }
  if (x.kind() == Kind::kString && y.kind() == Kind::kString) {
    const int c = x.as_string().compare(y.as_string());
    return std::optional<int>(c < 0 ? -1 : (c > 0 ? 1 : 0));
  }
  if ((is_date_like(x.kind()) && is_date_like(y.kind())) ||
      (x.kind() == Kind::kTime && y.kind() == Kind::kTime)) {
    return compare_temporal(x.as_temporal(), y.as_temporal());
  }
  if (x.kind() == Kind::kQuantity && y.kind() == Kind::kQuantity) {
    return compare_quantities(x.as_quantity(), y.as_quantity());
  }
  return eval_error("cannot compare " + kind_name(x) + " with " + kind_name(y));
}

std::optional<bool> fl::mappings::fhirpath::collections_equal(const Collection& a,
                                                              const Collection& b) {
  if (a.empty() || b.empty()) return std::nullopt;
  if (a.size() != b.size()) return false;
  bool unknown = false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const std::optional<bool> eq = items_equal(a[i], b[i]);
    if (eq.has_value() && !*eq) return false;
    unknown = unknown || !eq.has_value();
  }
  if (unknown) return std::nullopt;
  return true;
}

bool fl::mappings::fhirpath::collections_equivalent(const Collection& a, const Collection& b) {
  if (a.size() != b.size()) return false;
  std::vector<bool> used(b.size(), false);
  for (const Value& x : a) {
    bool found = false;
    for (std::size_t j = 0; j < b.size() && !found; ++j) {
      if (!used[j] && items_equivalent(x, b[j])) {
        used[j] = true;
        found = true;
      }
    }
    if (!found) return false;
  }
  return true;
}

bool fl::mappings::fhirpath::contains_equal(const Collection& items, const Value& item) {
  return std::any_of(items.begin(), items.end(),
                     [&](const Value& v) { return items_equal(v, item).value_or(false); });
}
