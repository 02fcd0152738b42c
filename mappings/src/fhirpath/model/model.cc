#include "fhirpath/model/model.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

namespace fl::mappings::fhirpath::model {
namespace {

// Hash indexes over the generated tables, built on first use (a function-local static, so
// thread-safe and not a static constructor). Navigation asks the model at every step of every
// path, and descendants() for every element of a resource: a binary search over ~5,000 rows,
// plus one more per base type for inherited elements, was a fifth of evaluation time.

// Length, first and last eight bytes: O(1) whatever the name's length. Owner paths are long
// ("ExplanationOfBenefit.item.adjudication") and a byte-by-byte hash of them cost more than the
// rare collisions this allows (the table compares keys anyway).
std::size_t quick_hash(std::string_view s) {
  std::uint64_t head = 0;
  std::uint64_t tail = 0;
  const char* p = s.data();
  const std::size_t n = s.size();
  // Fixed-size copies only: a copy of n < 8 bytes was a call to libc's memcpy on every lookup.
  if (n >= 8) {
    std::memcpy(&head, p, 8);
    std::memcpy(&tail, p + n - 8, 8);
  } else if (n >= 4) {
    std::uint32_t a = 0;
    std::uint32_t b = 0;
    std::memcpy(&a, p, 4);
    std::memcpy(&b, p + n - 4, 4);
    head = (std::uint64_t{b} << 32) | a;
  } else if (n > 0) {  // the null data() of an empty view must not be read
    head = static_cast<unsigned char>(p[0]) | static_cast<unsigned char>(p[n / 2]) << 8 |
           static_cast<unsigned char>(p[n - 1]) << 16;
  }
  const std::uint64_t h = head * 0x9E3779B97F4A7C15ull ^ (tail + n) * 0xC2B2AE3D27D4EB4Full;
  return static_cast<std::size_t>(h ^ (h >> 29));
}

std::uint64_t owner_name_hash(std::string_view owner, std::string_view name) {
  return quick_hash(owner) * 31 + quick_hash(name);
}

// Equality of two names without a call into libc: a hit compares a JSON member's name with a
// row's, so memcmp ran for every element navigated. Names up to 16 bytes (nearly all) are
// compared as two overlapping words; a key the node carries is often the very bytes of a row.
bool same(std::string_view a, std::string_view b) {
  const std::size_t n = a.size();
  if (n != b.size()) return false;
  if (a.data() == b.data()) return true;
  const char* x = a.data();
  const char* y = b.data();
  const auto word = [](const char* p) {
    std::uint64_t w = 0;
    std::memcpy(&w, p, 8);
    return w;
  };
  const auto half = [](const char* p) {
    std::uint32_t w = 0;
    std::memcpy(&w, p, 4);
    return w;
  };
  if (n >= 8 && n <= 16) return word(x) == word(y) && word(x + n - 8) == word(y + n - 8);
  if (n >= 4 && n < 8) return half(x) == half(y) && half(x + n - 4) == half(y + n - 4);
  if (n < 4) {
    for (std::size_t i = 0; i < n; ++i) {
      if (x[i] != y[i]) return false;
    }
    return true;
  }
  return std::memcmp(x, y, n) == 0;
}

// An open-addressing table over (owner, name) keys, built once and then only read; a row's
// name is its key's name. std::unordered_map cost a division per probe (prime bucket counts)
// and a node per entry; this is one multiply, a power-of-two mask and a run of 16-byte slots
// (the element table stays small enough for the caches), each with the full hash so that a
// probe reads the key's strings only when the hashes agree.
template <typename Row>
class FlatTable {
 public:
  void reserve(std::size_t n) {
    std::size_t capacity = 16;
    while (capacity < n * 2) capacity *= 2;
    slots_.assign(capacity, Slot{});
    owners_.assign(capacity, std::string_view());
    shift_ = 64;
    for (std::size_t c = capacity; c > 1; c /= 2) --shift_;
  }

  // Keeps the first row given for a key (the nearer base wins).
  void insert(std::string_view owner, const Row* row) {
    const std::uint64_t h = owner_name_hash(owner, row->name);
    for (std::size_t i = start(h);; i = next(i)) {
      if (slots_[i].row == nullptr) {
        slots_[i] = Slot{.hash = h, .row = row};
        owners_[i] = owner;
        return;
      }
      if (matches(i, h, owner, row->name)) return;
    }
  }

  const Row* find(std::string_view owner, std::string_view name) const {
    const std::uint64_t h = owner_name_hash(owner, name);
    for (std::size_t i = start(h);; i = next(i)) {
      if (slots_[i].row == nullptr) return nullptr;
      if (matches(i, h, owner, name)) return slots_[i].row;
    }
  }

 private:
  struct Slot {
    std::uint64_t hash = 0;
    const Row* row = nullptr;
  };

  bool matches(std::size_t i, std::uint64_t h, std::string_view owner,
               std::string_view name) const {
    return slots_[i].hash == h && same(slots_[i].row->name, name) && same(owners_[i], owner);
  }
  std::size_t start(std::uint64_t h) const {
    return static_cast<std::size_t>((h * 0x9E3779B97F4A7C15ull) >> shift_);
  }
  std::size_t next(std::size_t i) const { return (i + 1) & (slots_.size() - 1); }

  std::vector<Slot> slots_;
  std::vector<std::string_view> owners_;  // by slot; read only when the hashes agree
  int shift_ = 60;
};

struct Index {
  // (owner, name) -> row, where owner is a backbone path or a type. For a type, the elements
  // it inherits are listed too (under the nearest base that defines them), so one lookup
  // answers what used to be a walk up the base types.
  FlatTable<ElementRow> elements;
  FlatTable<TypeRow> types;             // ("", name) -> type
  std::vector<const TypeRow*> parents;  // by position in type_rows(); null for the roots
  std::vector<bool> derived_from;       // by position in type_rows(): some type has it as base

  const TypeRow* parent(const TypeRow* row) const {
    return parents[static_cast<std::size_t>(row - type_rows().data())];
  }
  const TypeRow* type(std::string_view name) const { return types.find({}, name); }
};

// The rows a type defines itself (not inherited): one run, as rows are sorted by owner.
std::span<const ElementRow> own_rows(std::string_view owner) {
  const auto rows = element_rows();
  const auto [first, last] =
      std::equal_range(rows.begin(), rows.end(), owner, [](const auto& a, const auto& b) {
        if constexpr (std::is_same_v<std::decay_t<decltype(a)>, ElementRow>) {
          return a.owner < b;
        } else {
          return a < b.owner;
        }
      });
  return {first, last};
}

Index build_index() {
  Index idx;
  const auto rows = element_rows();
  idx.types.reserve(type_rows().size());
  for (const TypeRow& row : type_rows()) idx.types.insert({}, &row);
  for (const TypeRow& row : type_rows()) idx.parents.push_back(idx.type(row.parent));
  idx.derived_from.assign(type_rows().size(), false);
  for (const TypeRow* parent : idx.parents) {
    if (parent != nullptr)
      idx.derived_from[static_cast<std::size_t>(parent - type_rows().data())] = true;
  }
  // Counted first so that the table is sized once.
  std::size_t inherited = 0;
  for (const TypeRow& type : type_rows()) {
    for (const TypeRow* base = idx.parent(&type); base != nullptr; base = idx.parent(base)) {
      inherited += own_rows(base->name).size();
    }
  }
  idx.elements.reserve(rows.size() + inherited);
  for (const ElementRow& row : rows) idx.elements.insert(row.owner, &row);
  for (const TypeRow& type : type_rows()) {
    for (const TypeRow* base = idx.parent(&type); base != nullptr; base = idx.parent(base)) {
      for (const ElementRow& row : own_rows(base->name)) {
        idx.elements.insert(type.name, &row);  // the nearer base wins
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
  return index().elements.find(owner, name);
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
  return index().type(name);
}

bool fl::mappings::fhirpath::model::is_subtype(std::string_view type, std::string_view base) {
  if (type == base) return true;
  const Index& idx = index();
  const TypeRow* row = idx.type(type);
  if (row == nullptr) return false;
  for (const TypeRow* t = idx.parent(row); t != nullptr; t = idx.parent(t)) {
    if (same(t->name, base)) return true;
  }
  return false;
}

bool fl::mappings::fhirpath::model::has_subtypes(std::string_view type) {
  const Index& idx = index();
  const TypeRow* row = idx.type(type);
  return row != nullptr && idx.derived_from[static_cast<std::size_t>(row - type_rows().data())];
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
