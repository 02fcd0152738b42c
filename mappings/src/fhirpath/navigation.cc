#include "fhirpath/navigation.h"

#include "fhirpath/model/model.h"
#include "fhirpath/temporal.h"

#include <algorithm>
#include <cstring>
#include <string>

namespace fl::mappings::fhirpath {
namespace {

using Json = rapidjson::Value;

constexpr std::string_view kUcum = "http://unitsofmeasure.org";

std::string_view view(const Json& s) { return {s.GetString(), s.GetStringLength()}; }

const Json* member(const Json& object, std::string_view key) {
  const Json name(rapidjson::StringRef(key.data(), key.size()));
  auto it = object.FindMember(name);
  return it == object.MemberEnd() ? nullptr : &it->value;
}

const Json* non_null(const Json* v) { return v == nullptr || v->IsNull() ? nullptr : v; }

// An object typed by its resourceType when it has one: out of line, so that make_node's common
// path stays small enough to be inlined where nodes are appended.
[[gnu::noinline]] Node resource_typed_node(const Json* value, const Json* extras,
                                           std::string_view type, std::string_view model_key) {
  if (const Json* rt = member(*value, "resourceType"); rt != nullptr && rt->IsString()) {
    const model::TypeRow* row = model::find_type(view(*rt));
    const std::string_view resource_type = row != nullptr ? row->name : view(*rt);
    return Node{
        .json = value, .extras = nullptr, .type = resource_type, .model_key = resource_type};
  }
  return Node{.json = value, .extras = extras, .type = type, .model_key = model_key};
}

// A node of a known or unknown type; an object with a resourceType is typed by it when the
// element's type is Resource (contained, Bundle.entry.resource) or unknown.
[[gnu::always_inline]] inline Node make_node(const Json* value, const Json* extras,
                                             std::string_view type, std::string_view child_key) {
  const std::string_view model_key = child_key.empty() ? type : child_key;
  if (value != nullptr && (type.empty() || type == "Resource") && value->IsObject()) {
    return resource_typed_node(value, extras, type, model_key);
  }
  return Node{.json = value, .extras = extras, .type = type, .model_key = model_key};
}

// `key` and its "_key" twin in one pass over the members, without building "_key": this runs
// for every step of every path, so it must not allocate.
struct MemberPair {
  const Json* value = nullptr;
  const Json* extras = nullptr;
};

MemberPair member_pair(const Json& object, std::string_view key) {
  MemberPair found;
  for (const auto& m : object.GetObject()) {
    const std::size_t n = m.name.GetStringLength();
    const char* name = m.name.GetString();
    // The first byte is compared before memcmp is called: most members differ there.
    if (found.value == nullptr && n == key.size() && (n == 0 || name[0] == key[0]) &&
        std::memcmp(name, key.data(), n) == 0) {
      found.value = &m.value;
    } else if (found.extras == nullptr && n == key.size() + 1 && name[0] == '_' &&
               std::memcmp(name + 1, key.data(), key.size()) == 0) {
      found.extras = &m.value;
    }
  }
  return found;
}

// Appending a node to a result collection, or to a list of bare nodes (descendants() walks
// those, half the size of Values and copied without a visit of the variant). The Value is built
// where it is stored: a Value temporary moved in was written field by field and read back at
// once in 16-byte moves, a stalled store-to-load forward on every node.
[[gnu::always_inline]] inline void append(Collection& out, const Node& node) {
  out.emplace_back(node);
}
[[gnu::always_inline]] inline void append(std::vector<Node>& out, const Node& node) {
  out.push_back(node);
}

// The nodes of a member's value and of its "_key" twin, arrays flattened and matched by index.
template <typename Out>
void add_nodes(const Json* value, const Json* extras, std::string_view type,
               std::string_view child_key, Out& out) {
  if (value != nullptr && value->IsArray()) {
    const rapidjson::SizeType n = value->Size();
    const rapidjson::SizeType m = extras != nullptr && extras->IsArray() ? extras->Size() : 0;
    // Room for the whole array at once, growing geometrically: navigation appends one array
    // per input item, and an exact reserve per array would copy the collection each time.
    const std::size_t needed = out.size() + std::max(n, m);
    if (needed > out.capacity()) out.reserve(std::max(needed, 2 * out.capacity()));
    for (rapidjson::SizeType i = 0; i < std::max(n, m); ++i) {
      const Json* v = i < n ? non_null(&(*value)[i]) : nullptr;
      const Json* x = i < m ? non_null(&(*extras)[i]) : nullptr;
      if (v == nullptr && x == nullptr) continue;
      append(out, make_node(v, x, type, child_key));
    }
    return;
  }
  if (extras != nullptr && extras->IsArray()) {  // values absent, extensions present
    for (const Json& x : extras->GetArray()) {
      if (!x.IsNull()) append(out, make_node(nullptr, &x, type, child_key));
    }
    return;
  }
  value = non_null(value);
  extras = non_null(extras);
  if (value == nullptr && extras == nullptr) return;
  append(out, make_node(value, extras, type, child_key));
}

// The nodes of `key` in `object` and of its "_key" twin.
template <typename Out>
void add_member(const Json& object, std::string_view key, std::string_view type,
                std::string_view child_key, Out& out) {
  const MemberPair pair = member_pair(object, key);
  add_nodes(pair.value, pair.extras, type, child_key, out);
}

bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }

// The choice element `key` is an instance of (valueQuantity -> value[x]), or null.
const model::ElementRow* choice_of(const Node& parent, std::string_view key,
                                   std::string_view* suffix) {
  for (std::size_t p = 1; p < key.size(); ++p) {
    if (!is_upper(key[p])) continue;
    const model::ElementRow* row =
        model::find_element(parent.model_key, parent.type, key.substr(0, p));
    if (row != nullptr && !row->choices.empty() && model::has_choice(row->choices, key.substr(p))) {
      *suffix = key.substr(p);
      return row;
    }
  }
  return nullptr;
}

// The instances of choice element `name` present in `object` (valueQuantity for `value`).
void add_choices(const Json& object, std::string_view name, std::string_view choices,
                 Collection& out) {
  for (const auto& m : object.GetObject()) {
    const std::string_view key = view(m.name);
    if (key.size() <= name.size() || key.substr(0, name.size()) != name) continue;
    const std::string_view suffix = key.substr(name.size());
    if (!is_upper(suffix[0])) continue;
    if (!choices.empty() && !model::has_choice(choices, suffix)) continue;
    add_member(object, key, model::choice_suffix_type(suffix), "", out);
  }
}

// Every child element of `parent`, appended to `out` (children(), descendants()).
template <typename Out>
void append_children(const Node& parent, Out& out) {
  if (parent.json == nullptr || !parent.json->IsObject()) {
    if (parent.extras != nullptr && parent.extras->IsObject()) {
      add_member(*parent.extras, "id", "string", "", out);
      add_member(*parent.extras, "extension", "Extension", "", out);
    }
    return;
  }
  // Each member is read where it stands; its "_key" twin is looked for only when the object
  // has any (most have none), so children() is one pass, not a search per member.
  const Json& object = *parent.json;
  bool any_extras = false;
  for (const auto& m : object.GetObject()) {
    if (m.name.GetStringLength() > 0 && m.name.GetString()[0] == '_') any_extras = true;
  }
  for (const auto& m : object.GetObject()) {
    std::string_view key = view(m.name);
    if (key.empty() || key == "resourceType") continue;
    MemberPair pair{.value = &m.value};
    if (key[0] == '_') {
      key.remove_prefix(1);
      if (member(object, key) != nullptr) continue;  // read with its value
      pair = MemberPair{.extras = &m.value};
    } else if (any_extras) {
      pair.extras = member_pair(object, key).extras;
    }
    if (parent.type.empty()) {
      add_nodes(pair.value, pair.extras, "", "", out);
      continue;
    }
    if (const model::ElementRow* row = model::find_element(parent.model_key, parent.type, key);
        row != nullptr && row->choices.empty()) {
      add_nodes(pair.value, pair.extras, row->type, row->child_key, out);
      continue;
    }
    std::string_view suffix;
    if (choice_of(parent, key, &suffix) != nullptr) {
      add_nodes(pair.value, pair.extras, model::choice_suffix_type(suffix), "", out);
      continue;
    }
    add_nodes(pair.value, pair.extras, "", "", out);
  }
}

}  // namespace

}  // namespace fl::mappings::fhirpath

fl::mappings::fhirpath::Node fl::mappings::fhirpath::resource_node(const rapidjson::Value& json) {
  return make_node(&json, nullptr, "", "");
}

fl::mappings::fhirpath::Lookup fl::mappings::fhirpath::child_nodes(const Node& parent,
                                                                   std::string_view name,
                                                                   Collection& out) {
  if (parent.json == nullptr || !parent.json->IsObject()) {
    // A primitive's children are the id and extensions of its "_name" twin.
    if (parent.extras != nullptr && parent.extras->IsObject() &&
        (name == "extension" || name == "id")) {
      add_member(*parent.extras, name, name == "id" ? "string" : "Extension", "", out);
    }
    if (name == "extension" || name == "id" || parent.type.empty()) return Lookup::kFound;
    return Lookup::kUnknownElement;
  }
  const Json& object = *parent.json;
  if (parent.type.empty()) {
    const std::size_t before = out.size();
    add_member(object, name, "", "", out);
    if (out.size() == before) add_choices(object, name, "", out);
    return Lookup::kUntyped;
  }
  const model::ElementRow* row = model::find_element(parent.model_key, parent.type, name);
  if (row == nullptr) {
    std::string_view suffix;
    if (choice_of(parent, name, &suffix) != nullptr) return Lookup::kChoiceSuffix;
    add_member(object, name, "", "", out);
    return Lookup::kUnknownElement;
  }
  if (!row->choices.empty()) {
    add_choices(object, name, row->choices, out);
  } else {
    add_member(object, name, row->type, row->child_key, out);
  }
  return Lookup::kFound;
}

void fl::mappings::fhirpath::all_children(const Node& parent, Collection& out) {
  append_children(parent, out);
}

void fl::mappings::fhirpath::descendant_nodes(const Collection& input, std::vector<Node>& out) {
  for (const Value& item : input) {
    if (item.is_node()) append_children(item.as_node(), out);
  }
  // The list is its own work queue: each node's children are appended behind the level being
  // read, which is the level-by-level order with no collection per level.
  for (std::size_t i = 0; i < out.size(); ++i) {
    const Node parent = out[i];  // a copy: appending may move the list
    append_children(parent, out);
  }
}

std::optional<fl::mappings::fhirpath::Value> fl::mappings::fhirpath::primitive_value(
    const Node& node) {
  if (node.json == nullptr) return std::nullopt;
  const Json& v = *node.json;
  const std::string_view type = node.type;
  if (v.IsBool()) return Value::boolean(v.GetBool());
  if (v.IsNumber()) {
    if (v.IsInt64() && type != "decimal") return Value::integer(v.GetInt64());
    auto d = v.IsInt64() ? std::optional(Decimal::from_integer(v.GetInt64()))
                         : Decimal::from_double(v.GetDouble());
    if (!d) return std::nullopt;
    return Value::decimal(*d);
  }
  if (!v.IsString()) return std::nullopt;
  const std::string_view text = view(v);
  if (type == "date") {
    if (auto t = parse_temporal(text, TemporalKind::kDate)) return Value::date(*t);
  } else if (type == "dateTime" || type == "instant") {
    if (auto t = parse_temporal(text, TemporalKind::kDateTime)) return Value::date_time(*t);
  } else if (type == "time") {
    if (auto t = parse_temporal(text, TemporalKind::kTime)) return Value::time(*t);
  }
  return Value::string(std::string(text));
}

std::optional<fl::mappings::fhirpath::Quantity> fl::mappings::fhirpath::quantity_value(
    const Node& node) {
  if (node.json == nullptr || !node.json->IsObject()) return std::nullopt;
  if (!node.type.empty() && !model::is_subtype(node.type, "Quantity")) return std::nullopt;
  const Json* value = member(*node.json, "value");
  if (value == nullptr || !value->IsNumber()) return std::nullopt;
  auto number = value->IsInt64() ? std::optional(Decimal::from_integer(value->GetInt64()))
                                 : Decimal::from_double(value->GetDouble());
  if (!number) return std::nullopt;
  Quantity q{.value = *number};
  const Json* system = member(*node.json, "system");
  const Json* code = member(*node.json, "code");
  const Json* unit = member(*node.json, "unit");
  if (system != nullptr && system->IsString() && view(*system) == kUcum && code != nullptr &&
      code->IsString()) {
    q.unit = std::string(view(*code));
  } else if (unit != nullptr && unit->IsString()) {
    q.unit = std::string(view(*unit));
  } else if (code != nullptr && code->IsString()) {
    q.unit = std::string(view(*code));
  }
  return q;
}

bool fl::mappings::fhirpath::is_primitive_node(const Node& node) {
  if (!node.type.empty()) return model::is_primitive(node.type);
  return node.json == nullptr || !node.json->IsObject();
}

bool fl::mappings::fhirpath::same_json(const Node& a, const Node& b) {
  const auto same = [](const Json* x, const Json* y) {
    if (x == y) return true;
    return x != nullptr && y != nullptr && *x == *y;
  };
  return same(a.json, b.json) && same(a.extras, b.extras);
}
