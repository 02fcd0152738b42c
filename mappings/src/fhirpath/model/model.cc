#include "fhirpath/model/model.h"

#include <functional>
#include <string>
#include <unordered_map>

namespace fl::mappings::fhirpath::model {
namespace {

// Hash indexes over the generated tables, built on first use (a function-local static, so
// thread-safe and not a static constructor). Navigation asks the model at every step of every
// path; a binary search over ~5,000 rows compared strings a dozen times per question.
struct OwnerName {
  std::string_view owner;
  std::string_view name;
  bool operator==(const OwnerName&) const = default;
};

struct OwnerNameHash {
  std::size_t operator()(const OwnerName& k) const {
    const std::hash<std::string_view> h;
    return h(k.owner) * 31 + h(k.name);
  }
};

struct Index {
  std::unordered_map<OwnerName, const ElementRow*, OwnerNameHash> elements;
  std::unordered_map<std::string_view, const TypeRow*> types;
};

const Index& index() {
  static const Index kIndex = [] {
    Index idx;
    idx.elements.reserve(element_rows().size());
    for (const ElementRow& row : element_rows())
      idx.elements.emplace(OwnerName{row.owner, row.name}, &row);
    idx.types.reserve(type_rows().size());
    for (const TypeRow& row : type_rows()) idx.types.emplace(row.name, &row);
    return idx;
  }();
  return kIndex;
}

const ElementRow* lookup(std::string_view owner, std::string_view name) {
  const auto& elements = index().elements;
  auto it = elements.find(OwnerName{owner, name});
  return it == elements.end() ? nullptr : it->second;
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
  const auto& types = index().types;
  auto it = types.find(name);
  return it == types.end() ? nullptr : it->second;
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
