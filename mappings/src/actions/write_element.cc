#include "actions/write_element.h"

#include <algorithm>

namespace fl::mappings::actions {

std::optional<ElementWrite> compile_element_write(const rapidjson::Value& rule,
                                                  const CompileContext& context) {
  auto element = context.string(rule, "element", true);
  const std::string mode = context.string(rule, "mode", false).value_or("replace");
  if (!element) return std::nullopt;
  // The schema's pattern has checked the names and dots.
  ElementWrite write;
  std::size_t start = 0;
  while (start <= element->size()) {
    const std::size_t dot = std::min(element->find('.', start), element->size());
    write.path.push_back(element->substr(start, dot - start));
    start = dot + 1;
  }
  write.mode = mode == "ifAbsent" ? WriteMode::kIfAbsent
               : mode == "append" ? WriteMode::kAppend
                                  : WriteMode::kReplace;
  return write;
}

Status write_element(const ElementWrite& write, Target& target,
                     std::vector<rapidjson::Value> values, ApplyContext& context) {
  if (values.empty()) return Ok{};
  rapidjson::Value* object = target.at.value;
  if (object == nullptr || !object->IsObject()) {
    return context.fail(target, "selects an element without children; cannot write '" +
                                    write.path.back() + "' below it");
  }
  auto& allocator = context.allocator;
  for (std::size_t i = 0; i + 1 < write.path.size(); ++i) {
    const std::string& name = write.path[i];
    auto m = object->FindMember(name.c_str());
    if (m == object->MemberEnd()) {
      set_member(*object, name, rapidjson::Value(rapidjson::kObjectType), allocator);
      m = object->FindMember(name.c_str());
    } else if (!m->value.IsObject()) {
      return context.fail(target, "cannot write below '" + name + "': it is not a single element");
    }
    object = &m->value;
  }
  const std::string& last = write.path.back();
  auto m = object->FindMember(last.c_str());
  switch (write.mode) {
    case WriteMode::kIfAbsent:
      if (m != object->MemberEnd()) return Ok{};
      [[fallthrough]];
    case WriteMode::kReplace:
      if (values.size() == 1) {
        set_member(*object, last, std::move(values.front()), allocator);
      } else {
        rapidjson::Value array(rapidjson::kArrayType);
        for (auto& v : values) array.PushBack(v, allocator);
        set_member(*object, last, std::move(array), allocator);
      }
      return Ok{};
    case WriteMode::kAppend: {
      if (m == object->MemberEnd()) {
        set_member(*object, last, rapidjson::Value(rapidjson::kArrayType), allocator);
        m = object->FindMember(last.c_str());
      }
      if (!m->value.IsArray()) {
        return context.fail(target, "cannot append to '" + last + "': it is not a list");
      }
      rapidjson::Value& array = m->value;
      for (auto& v : values) {
        // Appending what is already there would make the mapping not idempotent.
        const bool present = std::any_of(array.Begin(), array.End(),
                                         [&](const rapidjson::Value& x) { return x == v; });
        if (!present) array.PushBack(v, allocator);
      }
      return Ok{};
    }
  }
  return Ok{};
}

}  // namespace fl::mappings::actions
