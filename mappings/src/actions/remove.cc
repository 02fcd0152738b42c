// remove: deletes each selected element (with its "_name" twin); a list left empty goes too.
#include "actions/action.h"

namespace fl::mappings::actions {
namespace {

class Remove final : public Action {
 public:
  Status apply(Target& target, ApplyContext& context) const override {
    if (target.at.holder == nullptr)
      return context.fail(target, "cannot remove the resource itself");
    if (target.at.holder == &context.resource &&
        (target.at.member == "resourceType" || target.at.member == "id")) {
      return context.fail(target, "cannot remove the resource's type or id");
    }
    remove_located(target.at);
    return Ok{};
  }
};

}  // namespace

std::unique_ptr<Action> compile_remove(const rapidjson::Value&, const CompileContext&) {
  return std::make_unique<Remove>();
}

}  // namespace fl::mappings::actions
