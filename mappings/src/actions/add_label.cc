// add-tag and add-security-label: add a Coding to the resource's meta.tag or meta.security
// (e.g. the source system, or a confidentiality label such as R - restricted), once.
#include "actions/action.h"

#include <algorithm>

namespace fl::mappings::actions {
namespace {

class AddLabel final : public Action {
 public:
  AddLabel(const char* list, std::string system, std::string code, std::string display)
      : list_(list),
        system_(std::move(system)),
        code_(std::move(code)),
        display_(std::move(display)) {}

  Status apply(Target& target, ApplyContext& context) const override {
    rapidjson::Value* resource = target.at.value;
    if (resource == nullptr || !resource->IsObject() || !resource->HasMember("resourceType")) {
      return context.fail(target,
                          "labels go on resources; select the resource (or leave out "
                          "\"select\")");
    }
    auto& allocator = context.allocator;
    if (!resource->HasMember("meta")) {
      set_member(*resource, "meta", rapidjson::Value(rapidjson::kObjectType), allocator);
    }
    rapidjson::Value& meta = (*resource)["meta"];
    if (!meta.IsObject()) return context.fail(target, "meta is not an object");
    if (!meta.HasMember(list_)) {
      set_member(meta, list_, rapidjson::Value(rapidjson::kArrayType), allocator);
    }
    rapidjson::Value& codings = meta[list_];
    if (!codings.IsArray())
      return context.fail(target, std::string("meta.") + list_ + " is not a list");
    const bool present = std::any_of(codings.Begin(), codings.End(), [&](const auto& c) {
      return string_member(c, "system") == system_ && string_member(c, "code") == code_;
    });
    if (present) return Ok{};
    rapidjson::Value coding(rapidjson::kObjectType);
    coding.AddMember("system", rapidjson::Value(system_.c_str(), allocator), allocator);
    coding.AddMember("code", rapidjson::Value(code_.c_str(), allocator), allocator);
    if (!display_.empty()) {
      coding.AddMember("display", rapidjson::Value(display_.c_str(), allocator), allocator);
    }
    codings.PushBack(coding, allocator);
    return Ok{};
  }

 private:
  const char* list_;
  std::string system_;
  std::string code_;
  std::string display_;
};

std::unique_ptr<Action> compile_label(const char* list, const rapidjson::Value& rule,
                                      const CompileContext& context) {
  // The schema checks the Coding's shape (system and code required).
  auto m = rule.FindMember("coding");
  if (m == rule.MemberEnd()) {
    context.error("", "expected member 'coding': {\"system\": …, \"code\": …, \"display\": …}");
    return nullptr;
  }
  if (!m->value.IsObject()) return nullptr;
  auto system = context.string(m->value, "system", false);
  auto code = context.string(m->value, "code", false);
  if (!system || !code) return nullptr;
  return std::make_unique<AddLabel>(list, *system, *code,
                                    std::string(string_member(m->value, "display")));
}

}  // namespace

std::unique_ptr<Action> compile_add_tag(const rapidjson::Value& rule,
                                        const CompileContext& context) {
  return compile_label("tag", rule, context);
}

std::unique_ptr<Action> compile_add_security_label(const rapidjson::Value& rule,
                                                   const CompileContext& context) {
  return compile_label("security", rule, context);
}

}  // namespace fl::mappings::actions
