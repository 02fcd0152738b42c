#include "fl/gateway/policy/policy_bundle.h"

#include <algorithm>
#include <array>
#include <string_view>

namespace fl::gateway::policy {
namespace {

// The assigned ISO 3166-1 alpha-2 codes, sorted.
constexpr std::array<std::string_view, 249> kIsoCountries = {
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW"};

constexpr bool sorted_table() {
  for (std::size_t i = 1; i < kIsoCountries.size(); ++i) {
    if (!(kIsoCountries[i - 1] < kIsoCountries[i])) return false;
  }
  return true;
}
static_assert(sorted_table(), "binary search needs the country table sorted");

}  // namespace

bool is_iso_country(std::string_view code) {
  return std::binary_search(kIsoCountries.begin(), kIsoCountries.end(), code);
}

std::optional<std::size_t> country_index(std::string_view code) {
  if (code.size() != 2) return std::nullopt;
  const auto letter = [](char c) { return c >= 'A' && c <= 'Z'; };
  if (!letter(code[0]) || !letter(code[1])) return std::nullopt;
  return static_cast<std::size_t>(code[0] - 'A') * 26 + static_cast<std::size_t>(code[1] - 'A');
}

bool Obligations::empty() const {
  return redact.empty() && !pseudonymize_identifiers && require_purpose.empty() &&
         !purpose_unsatisfiable && !max_days;
}

void Obligations::merge(const Obligations& other) {
  // Redactions are compared by their text: two rules naming the same element remove it once.
  for (std::size_t i = 0; i < other.redact.size(); ++i) {
    const std::string& text = other.redact[i].text();
    const bool known = std::any_of(redact.begin(), redact.end(), [&](const auto& expression) {
      return expression.text() == text;
    });
    if (known) continue;
    redact.push_back(other.redact[i]);
    redact_text.push_back(text);
  }
  pseudonymize_identifiers = pseudonymize_identifiers || other.pseudonymize_identifiers;
  // Every deciding permit's purpose requirement must hold: the lists intersect (an empty list
  // requires nothing). Disjoint requirements leave no purpose that satisfies them all.
  purpose_unsatisfiable = purpose_unsatisfiable || other.purpose_unsatisfiable;
  if (!other.require_purpose.empty()) {
    if (require_purpose.empty() && !purpose_unsatisfiable) {
      require_purpose = other.require_purpose;
    } else {
      std::erase_if(require_purpose, [&](const std::string& purpose) {
        return std::find(other.require_purpose.begin(), other.require_purpose.end(), purpose) ==
               other.require_purpose.end();
      });
      if (require_purpose.empty()) purpose_unsatisfiable = true;
    }
  }
  if (other.max_days && (!max_days || *other.max_days < *max_days)) max_days = other.max_days;
}

const Jurisdiction* PolicyBundle::find_jurisdiction(std::string_view jurisdiction_id) const {
  for (const Jurisdiction& j : jurisdictions) {
    if (j.id == jurisdiction_id) return &j;
  }
  return nullptr;
}

std::string PolicyBundle::region_for(std::string_view country) const {
  const auto index = country_index(country);
  if (index) {
    for (const Jurisdiction& j : jurisdictions) {
      if (!j.region.empty() && j.countries.test(*index)) return j.region;
    }
  }
  return default_region;
}

std::string PolicyBundle::country_of_source(std::string_view source_system) const {
  for (const auto& [source, country] : jurisdiction.source_countries) {
    if (source == source_system) return country;
  }
  return "";
}

}  // namespace fl::gateway::policy
