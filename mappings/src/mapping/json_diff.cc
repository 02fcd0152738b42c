#include "mapping/json_diff.h"

#include "actions/action.h"

namespace fl::mappings {

void json_diff(const rapidjson::Value& before, const rapidjson::Value& after,
               const std::string& path, std::vector<Change>& changes) {
  if (before == after) return;
  if (before.IsObject() && after.IsObject()) {
    for (auto m = before.MemberBegin(); m != before.MemberEnd(); ++m) {
      const std::string child =
          path + "/" + pointer_token({m->name.GetString(), m->name.GetStringLength()});
      auto a = after.FindMember(m->name);
      if (a == after.MemberEnd()) {
        changes.push_back({Change::Kind::kRemove, child, actions::json_text(m->value), ""});
      } else {
        json_diff(m->value, a->value, child, changes);
      }
    }
    for (auto m = after.MemberBegin(); m != after.MemberEnd(); ++m) {
      if (before.HasMember(m->name)) continue;
      const std::string child =
          path + "/" + pointer_token({m->name.GetString(), m->name.GetStringLength()});
      changes.push_back({Change::Kind::kAdd, child, "", actions::json_text(m->value)});
    }
    return;
  }
  if (before.IsArray() && after.IsArray()) {
    const rapidjson::SizeType common = std::min(before.Size(), after.Size());
    for (rapidjson::SizeType i = 0; i < common; ++i) {
      json_diff(before[i], after[i], path + "/" + std::to_string(i), changes);
    }
    for (rapidjson::SizeType i = common; i < before.Size(); ++i) {
      changes.push_back({Change::Kind::kRemove, path + "/" + std::to_string(i),
                         actions::json_text(before[i]), ""});
    }
    for (rapidjson::SizeType i = common; i < after.Size(); ++i) {
      changes.push_back(
          {Change::Kind::kAdd, path + "/" + std::to_string(i), "", actions::json_text(after[i])});
    }
    return;
  }
  changes.push_back(
      {Change::Kind::kReplace, path, actions::json_text(before), actions::json_text(after)});
}

}  // namespace fl::mappings
