// Redaction works on addresses: every redact expression is evaluated first, on the unchanged
// resource, and the JSON values it selects are collected. One walk then removes them, deepest
// first: removing inside a child never moves the members of its parent, so the addresses of a
// level stay valid until that level is handled.
#include "fl/gateway/policy/obligations.h"

#include "policy/join.h"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

namespace fl::gateway::policy {
namespace {

using Selection = std::vector<const rapidjson::Value*>;  // sorted

bool selected(const Selection& selection, const rapidjson::Value* value) {
  return std::binary_search(selection.begin(), selection.end(), value);
}

std::string_view view(const rapidjson::Value& value) {
  return {value.GetString(), value.GetStringLength()};
}

// One removal at an object's level: the member named `name` (and its "_name" twin), whole or
// one array item.
struct Cut {
  std::string name;
  std::optional<rapidjson::SizeType> index;
};

bool only_nulls(const rapidjson::Value& array) {
  return std::all_of(array.Begin(), array.End(),
                     [](const rapidjson::Value& v) { return v.IsNull(); });
}

// Removes `cut` from `object[name]`: the member, or its array item (the member too when the
// array is left empty or holding only nulls, which FHIR JSON does not allow).
void remove_from(rapidjson::Value& object, const std::string& name,
                 std::optional<rapidjson::SizeType> index) {
  auto m = object.FindMember(name.c_str());
  if (m == object.MemberEnd()) return;
  if (index) {
    rapidjson::Value& array = m->value;
    if (!array.IsArray() || *index >= array.Size()) return;
    array.Erase(array.Begin() + *index);
    if (!only_nulls(array)) return;
  }
  object.EraseMember(m);  // keeps the order of the other members
}

// Returns true when `object` had members and redaction left it with none: an empty object is
// not valid FHIR JSON, so the caller removes it as well.
bool redact_in(rapidjson::Value& object, const Selection& selection) {
  if (object.MemberCount() == 0) return false;
  Selection emptied;  // children left empty; removed like the selected ones
  for (auto& m : object.GetObject()) {
    if (m.value.IsObject()) {
      if (redact_in(m.value, selection)) emptied.push_back(&m.value);
    } else if (m.value.IsArray()) {
      for (rapidjson::Value& item : m.value.GetArray()) {
        if (item.IsObject() && redact_in(item, selection)) emptied.push_back(&item);
      }
    }
  }
  auto hit = [&](const rapidjson::Value* v) {
    return selected(selection, v) || std::find(emptied.begin(), emptied.end(), v) != emptied.end();
  };

  std::vector<Cut> cuts;
  for (auto& m : object.GetObject()) {
    std::string_view name = view(m.name);
    // "_given" carries the ids and extensions of "given": both go together.
    if (name.size() > 1 && name[0] == '_') name.remove_prefix(1);
    if (m.value.IsArray()) {
      for (rapidjson::SizeType i = 0; i < m.value.Size(); ++i) {
        if (hit(&m.value[i])) cuts.push_back({std::string(name), i});
      }
    } else if (hit(&m.value)) {
      cuts.push_back({std::string(name), std::nullopt});
    }
  }
  if (cuts.empty()) return false;

  // Whole members first, then array items from the last index down, so an earlier removal never
  // shifts an index still to be removed.
  std::sort(cuts.begin(), cuts.end(), [](const Cut& a, const Cut& b) {
    if (a.name != b.name) return a.name < b.name;
    if (a.index.has_value() != b.index.has_value()) return !a.index.has_value();
    return a.index.value_or(0) > b.index.value_or(0);
  });
  for (std::size_t i = 0; i < cuts.size(); ++i) {
    const Cut& cut = cuts[i];
    if (i > 0 && cuts[i - 1].name == cut.name &&
        (!cuts[i - 1].index || cuts[i - 1].index == cut.index)) {
      continue;  // already removed: the whole member, or this very item through its twin
    }
    remove_from(object, cut.name, cut.index);
    remove_from(object, "_" + cut.name, cut.index);
  }
  return object.MemberCount() == 0;
}

void pseudonymize_identifier(rapidjson::Value& identifier, rapidjson::Document::AllocatorType& a,
                             const IdentifierPseudonym& pseudonym) {
  if (!identifier.IsObject()) return;
  auto value = identifier.FindMember("value");
  if (value == identifier.MemberEnd() || !value->value.IsString()) return;
  std::string_view system;
  auto s = identifier.FindMember("system");
  if (s != identifier.MemberEnd() && s->value.IsString()) system = view(s->value);
  const std::string replaced = pseudonym(system, view(value->value));
  value->value.SetString(replaced.data(), static_cast<rapidjson::SizeType>(replaced.size()), a);
}

// The R4 elements of type Identifier: "identifier", every "...Identifier" (masterIdentifier,
// preAdmissionIdentifier, valueIdentifier in extensions, ...), and the few named otherwise
// (fhirpath.js's R4 model, path2Type.json). Names that are Identifiers only in some resources
// and something else in most (component, element, reference, target) are left out.
bool is_identifier_element(std::string_view name) {
  static constexpr std::string_view kSuffix = "Identifier";
  static constexpr std::string_view kOthers[] = {"authorisationReferenceNumber",
                                                 "cTerminalModificationId",
                                                 "crossReference",
                                                 "immediatePackaging",
                                                 "nTerminalModificationId",
                                                 "organismId",
                                                 "outerPackaging",
                                                 "parentSubstanceId",
                                                 "predecessor",
                                                 "requisition"};
  return name == "identifier" || name.ends_with(kSuffix) ||
         std::find(std::begin(kOthers), std::end(kOthers), name) != std::end(kOthers);
}

// Every Identifier under `object`, at any depth (an assigner's identifier, a contained
// resource's), a list or one.
void pseudonymize_in(rapidjson::Value& object, rapidjson::Document::AllocatorType& a,
                     const IdentifierPseudonym& pseudonym) {
  for (auto& m : object.GetObject()) {
    const bool is_identifier = is_identifier_element(view(m.name));
    if (m.value.IsObject()) {
      if (is_identifier) pseudonymize_identifier(m.value, a, pseudonym);
      pseudonymize_in(m.value, a, pseudonym);
    } else if (m.value.IsArray()) {
      for (rapidjson::Value& item : m.value.GetArray()) {
        if (!item.IsObject()) continue;
        if (is_identifier) pseudonymize_identifier(item, a, pseudonym);
        pseudonymize_in(item, a, pseudonym);
      }
    }
  }
}

}  // namespace

Status apply_obligations(const Obligations& obligations, rapidjson::Document& resource,
                         const IdentifierPseudonym& pseudonym) {
  if (!resource.IsObject()) return Error{ErrorCode::kInvalidInput, "expected a resource", ""};
  if (!obligations.redact.empty()) {
    Selection selection;
    for (const mappings::fhirpath::Expression& expression : obligations.redact) {
      auto result = expression.evaluate(resource);
      if (!result) {
        return Error{ErrorCode::kInvalidInput,
                     "redact `" + expression.text() + "` failed: " + result.error().message,
                     result.error().where};
      }
      for (const mappings::fhirpath::Value& item : *result) {
        if (!item.is_node()) {
          return Error{ErrorCode::kInvalidInput,
                       "redact `" + expression.text() + "` gives values, not elements",
                       expression.text()};
        }
        const mappings::fhirpath::Node& node = item.as_node();
        if (node.json == &resource) {
          return Error{ErrorCode::kInvalidInput,
                       "redact `" + expression.text() + "` selects the whole resource",
                       expression.text()};
        }
        if (node.json != nullptr) selection.push_back(node.json);
        if (node.extras != nullptr) selection.push_back(node.extras);
      }
    }
    std::sort(selection.begin(), selection.end());
    selection.erase(std::unique(selection.begin(), selection.end()), selection.end());
    if (!selection.empty()) redact_in(resource, selection);
  }
  if (obligations.pseudonymize_identifiers) {
    pseudonymize_in(resource, resource.GetAllocator(), pseudonym);
  }
  return Ok{};
}

Status check_purpose(const Obligations& obligations, std::string_view purpose) {
  if (obligations.purpose_unsatisfiable) {
    return Error{ErrorCode::kPolicyDenied,
                 "the permitting rules require purposes that no single purpose satisfies", ""};
  }
  if (obligations.require_purpose.empty()) return Ok{};
  for (const std::string& allowed : obligations.require_purpose) {
    if (allowed == purpose) return Ok{};
  }
  const std::string stated = purpose.empty() ? "no purpose" : "purpose " + std::string(purpose);
  return Error{ErrorCode::kPolicyDenied,
               "the request states " + stated + "; the policy requires one of " +
                   join(obligations.require_purpose),
               ""};
}

}  // namespace fl::gateway::policy
