#include "fl/gateway/policy/policy_bundle.h"

#include <algorithm>

namespace fl::gateway::policy {

std::optional<std::size_t> country_index(std::string_view code) {
  if (code.size() != 2) return std::nullopt;
  const auto letter = [](char c) { return c >= 'A' && c <= 'Z'; };
  if (!letter(code[0]) || !letter(code[1])) return std::nullopt;
  return static_cast<std::size_t>(code[0] - 'A') * 26 + static_cast<std::size_t>(code[1] - 'A');
}

bool Obligations::empty() const {
  return redact.empty() && !pseudonymize_identifiers && require_purpose.empty() && !max_days;
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
  for (const std::string& purpose : other.require_purpose) {
    if (std::find(require_purpose.begin(), require_purpose.end(), purpose) ==
        require_purpose.end()) {
      require_purpose.push_back(purpose);
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
