// What a mapping rule does to the elements its selector picks. Each kind of action is one file
// in this folder with a compile function that checks the rule's options and returns an
// immutable Action; builtin_actions.cc lists every kind in one table.
#pragma once

#include "fl/base/result.h"
#include "fl/mappings/concept_map.h"
#include "fl/mappings/diagnostic.h"
#include "fl/mappings/fhirpath_value.h"
#include "fl/mappings/mapping_set.h"

#include "mapping/json_location.h"

#include <rapidjson/document.h>

#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace fl::mappings::actions {

// One selected element, resolved just before the action runs.
struct Target {
  Location at;
  std::string_view fhir_type;  // the element's FHIR type per the model; "" when unknown
  // The element as a FHIRPath node over the resolved location, for expressions an action
  // evaluates per element (copy's "from").
  fhirpath::Node node;
};

struct ApplyContext {
  rapidjson::Value& resource;
  rapidjson::Document::AllocatorType& allocator;
  const std::string& rule_id;

  // A data error that fails the event: the rule id leads the message, `where` is the element.
  Error fail(const Target& target, std::string_view message) const;
  Error fail(std::string_view where, std::string_view message) const;
};

class Action {
 public:
  virtual ~Action() = default;

  // True when the action runs once per selected element (most); false when it judges the
  // selection as a whole (require).
  virtual bool per_element() const { return true; }

  // Changes one element. Errors fail the event; their messages never quote element values.
  virtual Status apply(Target& target, ApplyContext& context) const;

  // Judges the whole selection (per_element() == false).
  virtual Status check(const fhirpath::Collection& selection, ApplyContext& context) const;
};

// What an action's compile function sees: the rule's JSON, where it is, the ConceptMaps of the
// set by canonical URL, and where to report problems.
class CompileContext {
 public:
  CompileContext(const std::string& file, std::string rule_pointer,
                 std::vector<Diagnostic>& diagnostics,
                 const std::map<std::string, const ConceptMap*, std::less<>>& concept_maps,
                 const ReadFile& read_file)
      : file_(file),
        rule_pointer_(std::move(rule_pointer)),
        diagnostics_(diagnostics),
        concept_maps_(concept_maps),
        read_file_(read_file) {}

  // Reports a problem at `member`, a pointer relative to the rule with escaped tokens ("units",
  // "units/mg~1dl"; "" for the rule itself).
  void error(std::string_view member, std::string message) const;
  const ConceptMap* concept_map(std::string_view url) const;
  const std::map<std::string, const ConceptMap*, std::less<>>& concept_maps() const {
    return concept_maps_;
  }
  // Reads a file the action needs (a time zone); the mapping set's reader.
  const ReadFile& read_file() const { return read_file_; }
  std::size_t error_count() const { return diagnostics_.size(); }

  // Reading a rule's options. The schema (config/schemas/mapping-set.schema.json) has already
  // judged every member's type, pattern and allowed values and reported what is wrong, so these
  // return nothing for a member of the wrong shape rather than report it a second time. Only
  // what the schema cannot say is reported: a member this action requires.
  std::optional<std::string> string(const rapidjson::Value& rule, const char* member,
                                    bool required) const;
  std::optional<bool> boolean(const rapidjson::Value& rule, const char* member) const;
  // An object of strings ({"mg/dl": "mg/dL"}) as (member name, value) pairs.
  std::vector<std::pair<std::string, std::string>> string_table(const rapidjson::Value& rule,
                                                                const char* member) const;

 private:
  const std::string& file_;
  std::string rule_pointer_;
  std::vector<Diagnostic>& diagnostics_;
  const std::map<std::string, const ConceptMap*, std::less<>>& concept_maps_;
  const ReadFile& read_file_;
};

using CompileFunction = std::unique_ptr<Action> (*)(const rapidjson::Value& rule,
                                                    const CompileContext& context);

struct ActionKind {
  std::string_view name;
  CompileFunction compile;
  // The rule members this kind accepts besides the common ones (id, description, resourceTypes,
  // when, select, required, message, action); anything else is reported by map check.
  std::span<const std::string_view> options;
};

std::span<const ActionKind> builtin_actions();
const ActionKind* find_action(std::string_view name);

// The compile function of each kind (one file each).
std::unique_ptr<Action> compile_translate_code(const rapidjson::Value&, const CompileContext&);
std::unique_ptr<Action> compile_set(const rapidjson::Value&, const CompileContext&);
std::unique_ptr<Action> compile_copy(const rapidjson::Value&, const CompileContext&);
std::unique_ptr<Action> compile_remove(const rapidjson::Value&, const CompileContext&);
std::unique_ptr<Action> compile_rename(const rapidjson::Value&, const CompileContext&);
std::unique_ptr<Action> compile_normalize_system(const rapidjson::Value&, const CompileContext&);
std::unique_ptr<Action> compile_normalize_date(const rapidjson::Value&, const CompileContext&);
std::unique_ptr<Action> compile_normalize_unit(const rapidjson::Value&, const CompileContext&);
std::unique_ptr<Action> compile_add_tag(const rapidjson::Value&, const CompileContext&);
std::unique_ptr<Action> compile_add_security_label(const rapidjson::Value&, const CompileContext&);
std::unique_ptr<Action> compile_require(const rapidjson::Value&, const CompileContext&);

// Shared by several actions.
// A JSON value as compact text.
std::string json_text(const rapidjson::Value& value);
// Sets `object[name]` to `value` (moved), replacing what was there.
void set_member(rapidjson::Value& object, std::string_view name, rapidjson::Value value,
                rapidjson::Document::AllocatorType& allocator);
// A string member of an object, or "" when absent or not a string.
std::string_view string_member(const rapidjson::Value& object, const char* name);
// Removes the located element (and its "_name" twin entry) from its holder; an array left
// empty is removed too.
void remove_located(const Location& at);

}  // namespace fl::mappings::actions
