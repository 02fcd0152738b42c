#include "actions/action.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>

namespace fl::mappings::actions {

Error ApplyContext::fail(const Target& target, std::string_view message) const {
  return fail(target.at.pointer, message);
}

Error ApplyContext::fail(std::string_view where, std::string_view message) const {
  return Error{ErrorCode::kInvalidInput, "mapping rule '" + rule_id + "': " + std::string(message),
               std::string(where)};
}

Status Action::apply(Target&, ApplyContext&) const { return Ok{}; }

Status Action::check(const fhirpath::Collection&, ApplyContext&) const { return Ok{}; }

void CompileContext::error(std::string_view member, std::string message) const {
  std::string pointer = rule_pointer_;
  // `member` is a relative pointer whose tokens the caller escaped ("units/mg~1dL").
  if (!member.empty()) pointer += "/" + std::string(member);
  diagnostics_.push_back({file_, std::move(pointer), std::move(message)});
}

const ConceptMap* CompileContext::concept_map(std::string_view url) const {
  auto it = concept_maps_.find(url);
  return it == concept_maps_.end() ? nullptr : it->second;
}

std::optional<std::string> CompileContext::string(const rapidjson::Value& rule, const char* member,
                                                  bool required) const {
  auto m = rule.FindMember(member);
  if (m == rule.MemberEnd()) {
    if (required) error("", std::string("expected member '") + member + "' for this action");
    return std::nullopt;
  }
  if (!m->value.IsString() || m->value.GetStringLength() == 0) return std::nullopt;
  return std::string(m->value.GetString(), m->value.GetStringLength());
}

std::optional<bool> CompileContext::boolean(const rapidjson::Value& rule,
                                            const char* member) const {
  auto m = rule.FindMember(member);
  if (m == rule.MemberEnd() || !m->value.IsBool()) return std::nullopt;
  return m->value.GetBool();
}

std::vector<std::pair<std::string, std::string>> CompileContext::string_table(
    const rapidjson::Value& rule, const char* member) const {
  std::vector<std::pair<std::string, std::string>> table;
  auto m = rule.FindMember(member);
  if (m == rule.MemberEnd() || !m->value.IsObject()) return table;
  for (const auto& entry : m->value.GetObject()) {
    if (!entry.value.IsString()) continue;
    table.emplace_back(std::string(entry.name.GetString(), entry.name.GetStringLength()),
                       std::string(entry.value.GetString(), entry.value.GetStringLength()));
  }
  return table;
}

void set_member(rapidjson::Value& object, std::string_view name, rapidjson::Value value,
                rapidjson::Document::AllocatorType& allocator) {
  auto m = object.FindMember(rapidjson::Value(
      rapidjson::StringRef(name.data(), static_cast<rapidjson::SizeType>(name.size()))));
  if (m != object.MemberEnd()) {
    m->value = std::move(value);
    return;
  }
  rapidjson::Value key(name.data(), static_cast<rapidjson::SizeType>(name.size()), allocator);
  object.AddMember(key, value, allocator);
}

std::string json_text(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return {buffer.GetString(), buffer.GetSize()};
}

std::string_view string_member(const rapidjson::Value& object, const char* name) {
  if (!object.IsObject()) return {};
  auto m = object.FindMember(name);
  if (m == object.MemberEnd() || !m->value.IsString()) return {};
  return {m->value.GetString(), m->value.GetStringLength()};
}

namespace {

// Removes item `index` of `holder[name]` (or the member itself when not indexed); drops the
// member when its array becomes empty or holds only nulls.
void remove_entry(rapidjson::Value& holder, const std::string& name,
                  std::optional<std::size_t> index) {
  auto m = holder.FindMember(name.c_str());
  if (m == holder.MemberEnd()) return;
  if (!index) {
    holder.RemoveMember(m);
    return;
  }
  rapidjson::Value& array = m->value;
  if (!array.IsArray() || *index >= array.Size()) return;
  array.Erase(array.Begin() + static_cast<std::ptrdiff_t>(*index));
  const bool only_nulls =
      std::all_of(array.Begin(), array.End(), [](const rapidjson::Value& v) { return v.IsNull(); });
  if (only_nulls) holder.RemoveMember(m);
}

}  // namespace

void remove_located(const Location& at) {
  if (at.holder == nullptr) return;
  // Keep a primitive array and its "_name" twin aligned: both lose the same index.
  remove_entry(*at.holder, at.member, at.index);
  remove_entry(*at.holder, "_" + at.member, at.index);
}

}  // namespace fl::mappings::actions
