#include "mapping/json_location.h"

#include "fl/mappings/diagnostic.h"

#include <algorithm>

namespace fl::mappings {

std::string to_pointer(const JsonPath& path) {
  std::string out;
  for (const PathStep& step : path) {
    out += '/';
    out += pointer_token(step.member);
    if (step.index) {
      out += '/';
      out += std::to_string(*step.index);
    }
  }
  return out;
}

bool after_in_document(const JsonPath& a, const JsonPath& b) {
  const std::size_t n = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    if (a[i].member_position != b[i].member_position) {
      return a[i].member_position > b[i].member_position;
    }
    const std::size_t ai = a[i].index.value_or(0);
    const std::size_t bi = b[i].index.value_or(0);
    if (ai != bi) return ai > bi;
  }
  return a.size() > b.size();
}

JsonLocator::JsonLocator(const rapidjson::Value& root) : root_(&root) {
  if (root.IsObject()) index(root);
}

void JsonLocator::index(const rapidjson::Value& object) {
  std::size_t position = 0;
  for (auto m = object.MemberBegin(); m != object.MemberEnd(); ++m, ++position) {
    std::string name(m->name.GetString(), m->name.GetStringLength());
    // "_given" carries the ids and extensions of "given": it is located as "given".
    if (name.size() > 1 && name[0] == '_') name.erase(0, 1);
    const rapidjson::Value& value = m->value;
    if (value.IsArray()) {
      for (rapidjson::SizeType i = 0; i < value.Size(); ++i) {
        links_.emplace(&value[i], Link{&object, {name, i, position}});
        if (value[i].IsObject()) index(value[i]);
      }
    } else {
      links_.emplace(&value, Link{&object, {name, std::nullopt, position}});
      if (value.IsObject()) index(value);
    }
  }
}

std::optional<JsonPath> JsonLocator::path_of(const rapidjson::Value* value) const {
  JsonPath path;
  while (value != root_) {
    auto it = links_.find(value);
    if (it == links_.end()) return std::nullopt;
    path.push_back(it->second.step);
    value = it->second.holder;
  }
  std::reverse(path.begin(), path.end());
  return path;
}

std::optional<Location> resolve(rapidjson::Value& root, const JsonPath& path) {
  Location at;
  at.value = &root;
  for (const PathStep& step : path) {
    rapidjson::Value* holder = at.value;
    if (holder == nullptr || !holder->IsObject()) return std::nullopt;
    at.holder = holder;
    at.member = step.member;
    at.index = step.index;
    const std::string twin = "_" + step.member;
    auto m = holder->FindMember(step.member.c_str());
    auto e = holder->FindMember(twin.c_str());
    rapidjson::Value* value = m == holder->MemberEnd() ? nullptr : &m->value;
    rapidjson::Value* extras = e == holder->MemberEnd() ? nullptr : &e->value;
    if (step.index) {
      const auto i = static_cast<rapidjson::SizeType>(*step.index);
      value = value != nullptr && value->IsArray() && i < value->Size() ? &(*value)[i] : nullptr;
      extras =
          extras != nullptr && extras->IsArray() && i < extras->Size() ? &(*extras)[i] : nullptr;
    }
    if (value != nullptr && value->IsNull()) value = nullptr;
    if (extras != nullptr && extras->IsNull()) extras = nullptr;
    if (value == nullptr && extras == nullptr) return std::nullopt;
    at.value = value;
    at.extras = extras;
  }
  at.pointer = to_pointer(path);
  return at;
}

}  // namespace fl::mappings
