// require: fails the event (to the dead-letter topic, naming the rule) when the selection is
// empty or is the single value false: "Observation.subject.exists() and
// Observation.effective.exists()".
#include "actions/action.h"

namespace fl::mappings::actions {
namespace {

class Require final : public Action {
 public:
  explicit Require(std::string message) : message_(std::move(message)) {}

  bool per_element() const override { return false; }

  Status check(const fhirpath::Collection& selection, ApplyContext& context) const override {
    const bool is_false = selection.size() == 1 &&
                          selection.front().kind() == fhirpath::Value::Kind::kBoolean &&
                          !selection.front().as_boolean();
    if (selection.empty() || is_false) return context.fail("", message_);
    return Ok{};
  }

 private:
  std::string message_;
};

}  // namespace

std::unique_ptr<Action> compile_require(const rapidjson::Value& rule,
                                        const CompileContext& context) {
  auto message = context.string(rule, "message", false);
  return std::make_unique<Require>(message.value_or("a required element is missing"));
}

}  // namespace fl::mappings::actions
