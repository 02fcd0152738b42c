// translate-code: replaces or adds codings through a FHIR ConceptMap, honouring each target's
// equivalence and the group's unmapped rule. Works on CodeableConcepts, Codings and bare code
// primitives (Patient.gender), the last with the code system named by the rule.
#include "actions/action.h"

#include <algorithm>
#include <array>

namespace fl::mappings::actions {
namespace {

// Lower is better when only one target may replace the source.
int rank(Equivalence e) {
  switch (e) {
    case Equivalence::kEqual:
      return 0;
    case Equivalence::kEquivalent:
      return 1;
    case Equivalence::kWider:
      return 2;
    case Equivalence::kSubsumes:
      return 3;
    case Equivalence::kNarrower:
      return 4;
    case Equivalence::kSpecializes:
      return 5;
    case Equivalence::kInexact:
      return 6;
    case Equivalence::kRelatedTo:
      return 7;
    case Equivalence::kUnmatched:
    case Equivalence::kDisjoint:
      return 8;
  }
  return 9;
}

enum class OnUnmapped { kKeep, kFail, kRemove };

class TranslateCode final : public Action {
 public:
  TranslateCode(const ConceptMap* map, std::map<std::string, const ConceptMap*, std::less<>> all,
                std::string target_system, std::string source_system,
                std::vector<Equivalence> accept, OnUnmapped on_unmapped, bool add)
      : map_(map),
        all_(std::move(all)),
        target_system_(std::move(target_system)),
        source_system_(std::move(source_system)),
        accept_(std::move(accept)),
        on_unmapped_(on_unmapped),
        add_(add) {}

  Status apply(Target& target, ApplyContext& context) const override {
    rapidjson::Value* value = target.at.value;
    if (value == nullptr) return Ok{};
    if (value->IsString()) return translate_primitive(target, context);
    if (!value->IsObject())
      return context.fail(target, "expected a Coding, CodeableConcept or code");
    if (value->HasMember("coding") || target.fhir_type == "CodeableConcept") {
      return translate_concept(*value, target, context);
    }
    return translate_coding(target, context);
  }

 private:
  enum class Kind { kOutOfScope, kKeep, kMapped, kUnmapped };
  struct Outcome {
    Kind kind = Kind::kOutOfScope;
    std::vector<ConceptTarget> targets;
  };

  Outcome lookup(std::string_view system, std::string_view code) const {
    const ConceptMap* map = map_;
    // other-map chains are followed a few steps, then treated as unmapped.
    for (int hop = 0; hop < 4 && map != nullptr; ++hop) {
      Translation t = map->translate(system, code, hop == 0 ? target_system_ : "");
      if (!t.group_found) return {hop == 0 ? Kind::kOutOfScope : Kind::kUnmapped, {}};
      Outcome out{Kind::kMapped, {}};
      for (const ConceptTarget& c : t.targets) {
        if (c.conditional || c.code.empty()) continue;
        if (std::find(accept_.begin(), accept_.end(), c.equivalence) == accept_.end()) continue;
        out.targets.push_back(c);
      }
      if (!out.targets.empty()) {
        if (!add_) {
          auto best = std::min_element(out.targets.begin(), out.targets.end(),
                                       [](const auto& a, const auto& b) {
                                         return rank(a.equivalence) < rank(b.equivalence);
                                       });
          out.targets = {*best};
        }
        return out;
      }
      switch (t.unmapped.mode) {
        case UnmappedRule::Mode::kProvided:
          return {Kind::kKeep, {}};
        case UnmappedRule::Mode::kFixed:
          return {Kind::kMapped,
                  {ConceptTarget{.system = t.unmapped_target_system,
                                 .code = t.unmapped.code,
                                 .display = t.unmapped.display,
                                 .equivalence = Equivalence::kEquivalent}}};
        case UnmappedRule::Mode::kOtherMap: {
          auto next = all_.find(t.unmapped.url);
          map = next == all_.end() ? nullptr : next->second;
          continue;
        }
        case UnmappedRule::Mode::kNone:
          return {Kind::kUnmapped, {}};
      }
    }
    return {Kind::kUnmapped, {}};
  }

  Error unmapped_error(const Target& target, std::string_view system, ApplyContext& context) const {
    return context.fail(target, "a code of system '" + std::string(system) +
                                    "' has no accepted translation in ConceptMap " + map_->url());
  }

  static rapidjson::Value coding_json(const ConceptTarget& c,
                                      rapidjson::Document::AllocatorType& allocator) {
    rapidjson::Value coding(rapidjson::kObjectType);
    coding.AddMember("system", rapidjson::Value(c.system.c_str(), allocator), allocator);
    coding.AddMember("code", rapidjson::Value(c.code.c_str(), allocator), allocator);
    if (!c.display.empty()) {
      coding.AddMember("display", rapidjson::Value(c.display.c_str(), allocator), allocator);
    }
    return coding;
  }

  static bool has_coding(const rapidjson::Value& codings, const ConceptTarget& c) {
    return std::any_of(codings.Begin(), codings.End(), [&](const rapidjson::Value& x) {
      return string_member(x, "system") == c.system && string_member(x, "code") == c.code;
    });
  }

  // Overwrites a Coding with the target, keeping its id and extensions.
  static void replace_coding(rapidjson::Value& coding, const ConceptTarget& c,
                             rapidjson::Document::AllocatorType& allocator) {
    for (const char* stale : {"version", "_version", "display", "_display", "_code", "_system"}) {
      coding.RemoveMember(stale);
    }
    set_member(coding, "system", rapidjson::Value(c.system.c_str(), allocator), allocator);
    set_member(coding, "code", rapidjson::Value(c.code.c_str(), allocator), allocator);
    if (!c.display.empty()) {
      set_member(coding, "display", rapidjson::Value(c.display.c_str(), allocator), allocator);
    }
  }

  Status translate_primitive(Target& target, ApplyContext& context) const {
    if (source_system_.empty()) {
      return context.fail(target, "selects a code without a system; give the rule 'sourceSystem'");
    }
    rapidjson::Value& value = *target.at.value;
    const Outcome out = lookup(source_system_, {value.GetString(), value.GetStringLength()});
    switch (out.kind) {
      case Kind::kOutOfScope:
      case Kind::kUnmapped:
        return handle_unmapped(target, source_system_, context);
      case Kind::kKeep:
        return Ok{};
      case Kind::kMapped:
        value.SetString(out.targets.front().code.c_str(), context.allocator);
        return Ok{};
    }
    return Ok{};
  }

  Status handle_unmapped(Target& target, std::string_view system, ApplyContext& context) const {
    switch (on_unmapped_) {
      case OnUnmapped::kKeep:
        return Ok{};
      case OnUnmapped::kFail:
        return unmapped_error(target, system, context);
      case OnUnmapped::kRemove:
        remove_located(target.at);
        return Ok{};
    }
    return Ok{};
  }

  Status translate_coding(Target& target, ApplyContext& context) const {
    rapidjson::Value& coding = *target.at.value;
    const std::string system(string_member(coding, "system"));
    const Outcome out = lookup(system, string_member(coding, "code"));
    switch (out.kind) {
      case Kind::kOutOfScope:
      case Kind::kKeep:
        return Ok{};
      case Kind::kUnmapped:
        return handle_unmapped(target, system, context);
      case Kind::kMapped:
        break;
    }
    // A coding inside an array (CodeableConcept.coding) gains siblings; a lone one is replaced.
    if (add_ && target.at.index && target.at.holder != nullptr) {
      rapidjson::Value& codings = (*target.at.holder)[target.at.member.c_str()];
      for (const ConceptTarget& c : out.targets) {
        if (!has_coding(codings, c))
          codings.PushBack(coding_json(c, context.allocator), context.allocator);
      }
      return Ok{};
    }
    replace_coding(coding, out.targets.front(), context.allocator);
    return Ok{};
  }

  Status translate_concept(rapidjson::Value& cc, Target& target, ApplyContext& context) const {
    auto m = cc.FindMember("coding");
    if (m == cc.MemberEnd() || !m->value.IsArray()) return Ok{};
    rapidjson::Value& codings = m->value;
    std::vector<ConceptTarget> additions;
    std::vector<rapidjson::SizeType> removals;
    for (rapidjson::SizeType i = 0; i < codings.Size(); ++i) {
      const std::string system(string_member(codings[i], "system"));
      const Outcome out = lookup(system, string_member(codings[i], "code"));
      if (out.kind == Kind::kOutOfScope || out.kind == Kind::kKeep) continue;
      if (out.kind == Kind::kUnmapped) {
        if (on_unmapped_ == OnUnmapped::kFail) {
          Target at = target;
          at.at.pointer += "/coding/" + std::to_string(i);
          return unmapped_error(at, system, context);
        }
        if (on_unmapped_ == OnUnmapped::kRemove) removals.push_back(i);
        continue;
      }
      if (add_) {
        additions.insert(additions.end(), out.targets.begin(), out.targets.end());
      } else {
        replace_coding(codings[i], out.targets.front(), context.allocator);
      }
    }
    for (auto it = removals.rbegin(); it != removals.rend(); ++it)
      codings.Erase(codings.Begin() + *it);
    for (const ConceptTarget& c : additions) {
      if (!has_coding(codings, c))
        codings.PushBack(coding_json(c, context.allocator), context.allocator);
    }
    if (codings.Empty()) cc.RemoveMember("coding");
    // A CodeableConcept left with nothing in it is not valid FHIR (ele-1): drop it.
    if (cc.ObjectEmpty()) remove_located(target.at);
    return Ok{};
  }

  const ConceptMap* map_;
  std::map<std::string, const ConceptMap*, std::less<>> all_;
  std::string target_system_;
  std::string source_system_;
  std::vector<Equivalence> accept_;
  OnUnmapped on_unmapped_;
  bool add_;
};

}  // namespace

std::unique_ptr<Action> compile_translate_code(const rapidjson::Value& rule,
                                               const CompileContext& context) {
  const std::size_t errors = context.error_count();
  auto url = context.string(rule, "conceptMap", true);
  const ConceptMap* map = nullptr;
  if (url) {
    map = context.concept_map(*url);
    if (map == nullptr) {
      context.error("conceptMap", "no ConceptMap with url '" + *url +
                                      "' is listed in this mapping set's \"conceptMaps\"");
    }
  }
  std::vector<Equivalence> accept{Equivalence::kEqual, Equivalence::kEquivalent,
                                  Equivalence::kWider, Equivalence::kSubsumes};
  // The schema allows only equivalences that map (not unmatched or disjoint) in "accept".
  if (auto a = rule.FindMember("accept"); a != rule.MemberEnd() && a->value.IsArray()) {
    accept.clear();
    for (const auto& item : a->value.GetArray()) {
      if (auto e = item.IsString() ? parse_equivalence(item.GetString()) : std::nullopt) {
        accept.push_back(*e);
      }
    }
  }
  const std::string unmapped = context.string(rule, "onUnmapped", false).value_or("keep");
  const std::string result = context.string(rule, "result", false).value_or("add");
  const std::string target_system = context.string(rule, "targetSystem", false).value_or("");
  const std::string source_system = context.string(rule, "sourceSystem", false).value_or("");
  if (context.error_count() != errors) return nullptr;
  const OnUnmapped on_unmapped = unmapped == "fail"     ? OnUnmapped::kFail
                                 : unmapped == "remove" ? OnUnmapped::kRemove
                                                        : OnUnmapped::kKeep;
  return std::make_unique<TranslateCode>(map, context.concept_maps(), target_system, source_system,
                                         std::move(accept), on_unmapped, result == "add");
}

}  // namespace fl::mappings::actions
