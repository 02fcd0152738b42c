// set: writes a fixed JSON value at an element below each selected element
// ({"element": "status", "value": "final"}), replacing it, only when absent, or appending.
#include "actions/write_element.h"

namespace fl::mappings::actions {
namespace {

class Set final : public Action {
 public:
  Set(ElementWrite write, std::string value_json)
      : write_(std::move(write)), value_json_(std::move(value_json)) {}

  Status apply(Target& target, ApplyContext& context) const override {
    rapidjson::Document parsed(&context.allocator);
    parsed.Parse(value_json_.c_str());
    std::vector<rapidjson::Value> values;
    if (write_.mode == WriteMode::kAppend && parsed.IsArray()) {
      for (auto& item : parsed.GetArray()) values.emplace_back(item, context.allocator);
    } else {
      values.emplace_back(parsed, context.allocator);
    }
    return write_element(write_, target, std::move(values), context);
  }

 private:
  ElementWrite write_;
  std::string value_json_;  // kept as text: a compiled set owns no RapidJSON allocator
};

}  // namespace

std::unique_ptr<Action> compile_set(const rapidjson::Value& rule, const CompileContext& context) {
  auto write = compile_element_write(rule, context);
  auto value = rule.FindMember("value");
  if (value == rule.MemberEnd() || value->value.IsNull()) {
    context.error("", "expected member 'value' (the JSON to write) for action set");
    return nullptr;
  }
  if (!write) return nullptr;
  return std::make_unique<Set>(std::move(*write), json_text(value->value));
}

}  // namespace fl::mappings::actions
