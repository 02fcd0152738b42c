// rename: gives an element a new name. With "from", the selected elements are parents and their
// member "from" is renamed (the way to reach a member the FHIR model does not know, such as a
// misspelt "birthdate"); without it, each selected element itself is renamed. A primitive's
// "_name" twin moves with it.
#include "actions/action.h"

namespace fl::mappings::actions {
namespace {

class Rename final : public Action {
 public:
  Rename(std::string from, std::string to) : from_(std::move(from)), to_(std::move(to)) {}

  Status apply(Target& target, ApplyContext& context) const override {
    rapidjson::Value* holder = target.at.holder;
    std::string from = target.at.member;
    if (!from_.empty()) {
      holder = target.at.value;
      from = from_;
      if (holder == nullptr || !holder->IsObject()) {
        return context.fail(target, "selects an element without children; nothing to rename");
      }
    }
    if (holder == nullptr) return context.fail(target, "cannot rename the resource itself");
    if (holder == &context.resource && (from == "resourceType" || from == "id")) {
      return context.fail(target, "cannot rename the resource's type or id");
    }
    if (!holder->HasMember(from.c_str()) && !holder->HasMember(("_" + from).c_str())) return Ok{};
    if (holder->HasMember(to_.c_str()) || holder->HasMember(("_" + to_).c_str())) {
      return context.fail(target, "cannot rename '" + from + "' to '" + to_ +
                                      "': the element already has '" + to_ + "'");
    }
    rename_member(*holder, from, to_, context.allocator);
    rename_member(*holder, "_" + from, "_" + to_, context.allocator);
    return Ok{};
  }

 private:
  static void rename_member(rapidjson::Value& object, const std::string& from,
                            const std::string& to, rapidjson::Document::AllocatorType& allocator) {
    auto m = object.FindMember(from.c_str());
    if (m != object.MemberEnd()) {
      m->name.SetString(to.c_str(), static_cast<rapidjson::SizeType>(to.size()), allocator);
    }
  }

  std::string from_;
  std::string to_;
};

bool valid_member(const std::string& name) {
  return !name.empty() && name.front() != '_' && name.find_first_of("./ ") == std::string::npos;
}

}  // namespace

std::unique_ptr<Action> compile_rename(const rapidjson::Value& rule,
                                       const CompileContext& context) {
  auto to = context.string(rule, "to", true);  // the schema's pattern checks the name
  // "from" shares its schema entry with copy's expression, so its syntax is checked here.
  auto from = context.string(rule, "from", false);
  if (from && !valid_member(*from)) {
    context.error("from", "expected an element name (no '.', '/', spaces or leading '_')");
    return nullptr;
  }
  if (!to) return nullptr;
  return std::make_unique<Rename>(from.value_or(""), *to);
}

}  // namespace fl::mappings::actions
