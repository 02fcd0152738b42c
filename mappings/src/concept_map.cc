#include "fl/mappings/concept_map.h"

#include <algorithm>
#include <array>
#include <utility>

namespace fl::mappings {
namespace {

constexpr std::array<std::pair<std::string_view, Equivalence>, 10> kEquivalences{{
    {"relatedto", Equivalence::kRelatedTo},
    {"equivalent", Equivalence::kEquivalent},
    {"equal", Equivalence::kEqual},
    {"wider", Equivalence::kWider},
    {"subsumes", Equivalence::kSubsumes},
    {"narrower", Equivalence::kNarrower},
    {"specializes", Equivalence::kSpecializes},
    {"inexact", Equivalence::kInexact},
    {"unmatched", Equivalence::kUnmatched},
    {"disjoint", Equivalence::kDisjoint},
}};

std::string text(const rapidjson::Value& object, const char* name) {
  auto m = object.FindMember(name);
  if (m == object.MemberEnd() || !m->value.IsString()) return {};
  return {m->value.GetString(), m->value.GetStringLength()};
}

}  // namespace

std::optional<Equivalence> parse_equivalence(std::string_view code) {
  for (const auto& [name, value] : kEquivalences) {
    if (name == code) return value;
  }
  return std::nullopt;
}

std::string_view equivalence_name(Equivalence equivalence) {
  for (const auto& [name, value] : kEquivalences) {
    if (value == equivalence) return name;
  }
  return "?";
}

std::optional<ConceptMap> ConceptMap::compile(const rapidjson::Value& resource,
                                              const std::string& file,
                                              std::vector<Diagnostic>& diagnostics) {
  const std::size_t before = diagnostics.size();
  auto error = [&](std::string pointer, std::string message) {
    diagnostics.push_back({file, std::move(pointer), std::move(message)});
  };
  if (!resource.IsObject() || text(resource, "resourceType") != "ConceptMap") {
    error("/resourceType", "expected a FHIR R4 ConceptMap resource");
    return std::nullopt;
  }
  ConceptMap map;
  map.file_ = file;
  map.url_ = text(resource, "url");
  map.version_ = text(resource, "version");
  if (map.url_.empty()) error("/url", "expected the ConceptMap's canonical url (rules name it)");
  auto groups = resource.FindMember("group");
  if (groups == resource.MemberEnd() || !groups->value.IsArray() || groups->value.Empty()) {
    error("/group", "expected at least one group");
    return std::nullopt;
  }
  for (rapidjson::SizeType g = 0; g < groups->value.Size(); ++g) {
    const rapidjson::Value& in = groups->value[g];
    const std::string at = "/group/" + std::to_string(g);
    if (!in.IsObject()) {
      error(at, "expected an object");
      continue;
    }
    Group group;
    group.source = text(in, "source");
    group.target = text(in, "target");
    if (group.source.empty()) error(at + "/source", "expected the source code system");
    auto elements = in.FindMember("element");
    if (elements != in.MemberEnd() && !elements->value.IsArray()) {
      error(at + "/element", "expected an array");
    } else if (elements != in.MemberEnd()) {
      for (rapidjson::SizeType e = 0; e < elements->value.Size(); ++e) {
        const rapidjson::Value& element = elements->value[e];
        const std::string eat = at + "/element/" + std::to_string(e);
        const std::string code = element.IsObject() ? text(element, "code") : "";
        if (code.empty()) {
          error(eat + "/code", "expected the source code");
          continue;
        }
        std::vector<ConceptTarget>& targets = group.elements[code];
        auto ts = element.FindMember("target");
        if (ts == element.MemberEnd()) continue;
        if (!ts->value.IsArray()) {
          error(eat + "/target", "expected an array");
          continue;
        }
        for (rapidjson::SizeType t = 0; t < ts->value.Size(); ++t) {
          const rapidjson::Value& target = ts->value[t];
          const std::string tat = eat + "/target/" + std::to_string(t);
          if (!target.IsObject()) {
            error(tat, "expected an object");
            continue;
          }
          auto equivalence = parse_equivalence(text(target, "equivalence"));
          if (!equivalence) {
            error(tat + "/equivalence",
                  "expected an R4 equivalence (relatedto, equivalent, equal, wider, subsumes, "
                  "narrower, specializes, inexact, unmatched, disjoint)");
            continue;
          }
          const std::string target_code = text(target, "code");
          if (target_code.empty() && *equivalence != Equivalence::kUnmatched &&
              *equivalence != Equivalence::kDisjoint) {
            error(tat + "/code", "expected the target code");
            continue;
          }
          targets.push_back(
              {.system = group.target,
               .code = target_code,
               .display = text(target, "display"),
               .equivalence = *equivalence,
               .conditional = target.HasMember("dependsOn") || target.HasMember("product")});
        }
      }
    }
    if (auto u = in.FindMember("unmapped"); u != in.MemberEnd()) {
      const std::string mode = u->value.IsObject() ? text(u->value, "mode") : "";
      if (mode == "provided") {
        group.unmapped.mode = UnmappedRule::Mode::kProvided;
      } else if (mode == "fixed") {
        group.unmapped.mode = UnmappedRule::Mode::kFixed;
        group.unmapped.code = text(u->value, "code");
        group.unmapped.display = text(u->value, "display");
        if (group.unmapped.code.empty()) error(at + "/unmapped/code", "expected the fixed code");
      } else if (mode == "other-map") {
        group.unmapped.mode = UnmappedRule::Mode::kOtherMap;
        group.unmapped.url = text(u->value, "url");
        if (group.unmapped.url.empty()) {
          error(at + "/unmapped/url", "expected the canonical url of the other map");
        }
      } else {
        error(at + "/unmapped/mode", "expected provided, fixed or other-map");
      }
    }
    map.groups_.push_back(std::move(group));
  }
  if (diagnostics.size() != before) return std::nullopt;
  return map;
}

Translation ConceptMap::translate(std::string_view source_system, std::string_view code,
                                  std::string_view target_system) const {
  Translation out;
  for (const Group& group : groups_) {
    if (group.source != source_system) continue;
    if (!target_system.empty() && group.target != target_system) continue;
    if (!out.group_found) {
      out.unmapped = group.unmapped;
      out.unmapped_target_system = group.target;
    }
    out.group_found = true;
    if (auto it = group.elements.find(code); it != group.elements.end()) {
      out.targets.insert(out.targets.end(), it->second.begin(), it->second.end());
    }
  }
  // The unmapped rule applies when no group maps the code; "unmatched" and "disjoint" targets
  // say explicitly that it has no match.
  const bool mapped = std::any_of(out.targets.begin(), out.targets.end(), [](const auto& t) {
    return t.equivalence != Equivalence::kUnmatched && t.equivalence != Equivalence::kDisjoint;
  });
  if (mapped) out.unmapped = {};
  return out;
}

}  // namespace fl::mappings
