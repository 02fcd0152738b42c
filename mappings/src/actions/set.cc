// set: writes a fixed JSON value at an element below each selected element
// ({"element": "status", "value": "final"}), replacing it, only when absent, or appending.
#include "actions/write_element.h"

namespace fl::mappings::actions {
namespace {

class Set final : public Action {
 public:
  Set(ElementWrite write, const rapidjson::Value& value) : write_(std::move(write)) {
    value_.CopyFrom(value, value_.GetAllocator());
  }

  Status apply(Target& target, ApplyContext& context) const override {
    // Deep copies into the event's document; value_ is only read, so threads may share it.
    std::vector<rapidjson::Value> values;
    if (write_.mode == WriteMode::kAppend && value_.IsArray()) {
      for (const auto& item : value_.GetArray()) values.emplace_back(item, context.allocator);
    } else {
      values.emplace_back(value_, context.allocator);
    }
    return write_element(write_, target, std::move(values), context);
  }

 private:
  ElementWrite write_;
  rapidjson::Document value_;  // owns its allocator, so it outlives the mapping file's document
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
  return std::make_unique<Set>(std::move(*write), value->value);
}

}  // namespace fl::mappings::actions
