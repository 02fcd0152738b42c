#include "fhirpath/model/model.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

namespace fl::mappings::fhirpath::model {
namespace {

// Hash indexes over the generated tables, built on first use (a function-local static, so
// thread-safe and not a static constructor). Navigation asks the model at every step of every
// path, and descendants() for every element of a resource: a binary search over ~5,000 rows,
// plus one more per base type for inherited elements, was a fifth of evaluation time.
struct OwnerName {
  std::string_view owner;
  std::string_view name;
  bool operator==(const OwnerName&) const = default;
};

// Length, first and last eight bytes: O(1) whatever the name's length. Owner paths are long
// ("ExplanationOfBenefit.item.adjudication") and a byte-by-byte hash of them cost more than the
// rare collisions this allows (the table compares keys anyway).
std::size_t quick_hash(std::string_view s) {
  std::uint64_t head = 0;
  std::uint64_t tail = 0;
  if (s.size() >= 8) {
    std::memcpy(&head, s.data(), 8);
    std::memcpy(&tail, s.data() + s.size() - 8, 8);
  } else if (!s.empty()) {  // memcpy from the null data() of an empty view is undefined
    std::memcpy(&head, s.data(), s.size());
  }
  const std::uint64_t h = head * 0x9E3779B97F4A7C15ull ^ (tail + s.size()) * 0xC2B2AE3D27D4EB4Full;
  return static_cast<std::size_t>(h ^ (h >> 29));
}

struct OwnerNameHash {
  std::size_t operator()(const OwnerName& k) const {
    return quick_hash(k.owner) * 31 + quick_hash(k.name);
  }
};

struct NameHash {
  std::size_t operator()(std::string_view s) const { return quick_hash(s); }
};

struct Index {
  // (owner, name) -> row, where owner is a backbone path or a type. For a type, the elements
  // it inherits are listed too (under the nearest base that defines them), so one lookup
  // answers what used to be a walk up the base types.
  std::unordered_map<OwnerName, const ElementRow*, OwnerNameHash> elements;
  std::unordered_map<std::string_view, const TypeRow*, NameHash> types;
  std::vector<const TypeRow*> parents;  // by position in type_rows(); null for the roots

  const TypeRow* parent(const TypeRow* row) const {
    return parents[static_cast<std::size_t>(row - type_rows().data())];
  }
};

Index build_index() {
  Index idx;
  const auto rows = element_rows();
  idx.elements.reserve(rows.size() * 2);
  for (const ElementRow& row : rows) idx.elements.emplace(OwnerName{row.owner, row.name}, &row);
  idx.types.reserve(type_rows().size());
  for (const TypeRow& row : type_rows()) idx.types.emplace(row.name, &row);
  for (const TypeRow& row : type_rows()) {
    auto parent = idx.types.find(row.parent);
    idx.parents.push_back(parent == idx.types.end() ? nullptr : parent->second);
  }
  for (const TypeRow& type : type_rows()) {
    for (const TypeRow* base = idx.parent(&type); base != nullptr; base = idx.parent(base)) {
      // Rows are sorted by owner, so a base's own elements are one run.
      auto first =
          std::lower_bound(rows.begin(), rows.end(), base->name,
                           [](const ElementRow& r, std::string_view o) { return r.owner < o; });
      for (auto it = first; it != rows.end() && it->owner == base->name; ++it) {
        idx.elements.emplace(OwnerName{type.name, it->name}, &*it);  // the nearer base wins
      }
    }
  }
  return idx;
}

const Index& index() {
  static const Index kIndex = build_index();
  return kIndex;
}

const ElementRow* lookup(std::string_view owner, std::string_view name) {
  const auto& elements = index().elements;
  auto it = elements.find(OwnerName{owner, name});
  return it == elements.end() ? nullptr : it->second;
}

}  // namespace

}  // namespace fl::mappings::fhirpath::model

const fl::mappings::fhirpath::model::ElementRow* fl::mappings::fhirpath::model::find_element(
    std::string_view key, std::string_view type, std::string_view name) {
  if (const ElementRow* row = lookup(key, name)) return row;
  // A backbone's own rows are under its path; what it inherits is under its type (whose
  // entries include its bases').
  return key == type ? nullptr : lookup(type, name);
}

const fl::mappings::fhirpath::model::TypeRow* fl::mappings::fhirpath::model::find_type(
    std::string_view name) {
  const auto& types = index().types;
  auto it = types.find(name);
  return it == types.end() ? nullptr : it->second;
}

bool fl::mappings::fhirpath::model::is_subtype(std::string_view type, std::string_view base) {
  if (type == base) return true;
  const Index& idx = index();
  auto it = idx.types.find(type);
  if (it == idx.types.end()) return false;
  for (const TypeRow* t = idx.parent(it->second); t != nullptr; t = idx.parent(t)) {
    if (t->name == base) return true;
  }
  return false;
}

std::string_view fl::mappings::fhirpath::model::choice_suffix_type(std::string_view suffix) {
  if (suffix.empty()) return {};
  if (const TypeRow* row = find_type(suffix)) return row->name;
  if (suffix[0] < 'A' || suffix[0] > 'Z') return {};
  // Primitive suffixes are capitalised (valueString -> string); lowered in a buffer, as this
  // runs for every choice element navigated. No type name is longer than the buffer.
  char lowered[64];
  if (suffix.size() > sizeof lowered) return {};
  suffix.copy(lowered, suffix.size());
  lowered[0] = static_cast<char>(lowered[0] - 'A' + 'a');
  const TypeRow* row = find_type(std::string_view(lowered, suffix.size()));
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
