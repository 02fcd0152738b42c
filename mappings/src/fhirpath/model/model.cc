#include "fhirpath/model/model.h"

#include <algorithm>
#include <string>

namespace fl::mappings::fhirpath::model {
namespace {

const ElementRow* lookup(std::string_view owner, std::string_view name) {
  const auto rows = element_rows();
  auto it = std::lower_bound(
      rows.begin(), rows.end(), std::pair(owner, name),
      [](const ElementRow& row, const auto& key) { return std::pair(row.owner, row.name) < key; });
  if (it == rows.end() || it->owner != owner || it->name != name) return nullptr;
  return &*it;
}

std::string_view parent_of(std::string_view type) {
  const TypeRow* row = find_type(type);
  return row == nullptr ? std::string_view() : row->parent;
}

}  // namespace

}  // namespace fl::mappings::fhirpath::model

const fl::mappings::fhirpath::model::ElementRow* fl::mappings::fhirpath::model::find_element(
    std::string_view key, std::string_view type, std::string_view name) {
  if (const ElementRow* row = lookup(key, name)) return row;
  // A backbone's own rows are under its path; what it inherits is under its type.
  for (std::string_view t = key == type ? parent_of(type) : type; !t.empty(); t = parent_of(t)) {
    if (const ElementRow* row = lookup(t, name)) return row;
  }
  return nullptr;
}

const fl::mappings::fhirpath::model::TypeRow* fl::mappings::fhirpath::model::find_type(
    std::string_view name) {
  const auto rows = type_rows();
  auto it = std::lower_bound(rows.begin(), rows.end(), name,
                             [](const TypeRow& row, std::string_view n) { return row.name < n; });
  if (it == rows.end() || it->name != name) return nullptr;
  return &*it;
}

bool fl::mappings::fhirpath::model::is_subtype(std::string_view type, std::string_view base) {
  for (std::string_view t = type; !t.empty(); t = parent_of(t)) {
    if (t == base) return true;
  }
  return false;
}

std::string_view fl::mappings::fhirpath::model::choice_suffix_type(std::string_view suffix) {
  if (suffix.empty()) return {};
  if (const TypeRow* row = find_type(suffix)) return row->name;
  if (suffix[0] < 'A' || suffix[0] > 'Z') return {};
  std::string lowered(suffix);
  lowered[0] = static_cast<char>(lowered[0] - 'A' + 'a');
  const TypeRow* row = find_type(lowered);
  return row == nullptr ? std::string_view() : row->name;
}

bool fl::mappings::fhirpath::model::has_choice(std::string_view choices, std::string_view suffix) {
  while (!choices.empty()) {
    const std::size_t bar = choices.find('|');
    if (choices.substr(0, bar) == suffix) return true;
    if (bar == std::string_view::npos) break;
    choices.remove_prefix(bar + 1);
  }
  return false;
}

bool fl::mappings::fhirpath::model::is_primitive(std::string_view type) {
  return !type.empty() && type[0] >= 'a' && type[0] <= 'z';
}
