#include "fl/mappings/mapping_set.h"

#include "fl/mappings/canonical_json.h"
#include "fl/mappings/fhirpath.h"
#include "fl/mappings/schema_check.h"

#include "actions/action.h"
#include "fhirpath/model/model.h"
#include "fhirpath/navigation.h"
#include "mapping/json_diff.h"
#include "mapping/json_location.h"
#include "mapping/schema_text.h"

#include <rapidjson/error/en.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <set>

namespace fl::mappings {

// A rule after compiling: where it applies, what it selects, and its action.
class CompiledRule {
 public:
  std::string id;
  std::string action_name;
  std::vector<std::string> resource_types;
  std::optional<fhirpath::Expression> when;
  std::optional<fhirpath::Expression> select;  // absent: the resource itself
  // The operands of a top-level union in `select` ("a | b | c"), evaluated one by one for
  // actions that change elements: FHIRPath's '|' drops items that are equal in value, so
  // "period.start | period.end" would lose an end equal to its start and leave it unmapped.
  std::vector<fhirpath::Expression> select_operands;
  bool required = false;
  std::string message;
  std::unique_ptr<actions::Action> action;

  bool applies_to(std::string_view type) const {
    return std::find(resource_types.begin(), resource_types.end(), type) != resource_types.end();
  }
};

MappingSet::MappingSet() = default;
MappingSet::~MappingSet() = default;

bool MappingSet::covers(std::string_view resource_type) const {
  return std::find(resource_types_.begin(), resource_types_.end(), resource_type) !=
         resource_types_.end();
}

namespace {

// The operands of the top-level '|' operators of a FHIRPath expression, or nothing when there
// is none. Strings, quoted names, comments and brackets are skipped, so only a union of whole
// operands splits. '|' binds tighter than every operator that gives Booleans, so splitting an
// expression that selects elements never changes what an operand means.
std::vector<std::string> union_operands(std::string_view text) {
  std::vector<std::string> operands;
  int depth = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\'' || c == '`' || c == '"') {
      for (++i; i < text.size() && text[i] != c; ++i) {
        if (text[i] == '\\') ++i;
      }
    } else if (text.substr(i, 2) == "//") {
      i = std::min(text.find('\n', i), text.size());
    } else if (text.substr(i, 2) == "/*") {
      i = std::min(text.find("*/", i + 2), text.size()) + 1;
    } else if (c == '(' || c == '[' || c == '{') {
      ++depth;
    } else if (c == ')' || c == ']' || c == '}') {
      --depth;
    } else if (c == '|' && depth == 0) {
      operands.emplace_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  if (operands.empty()) return {};
  operands.emplace_back(text.substr(start));
  return operands;
}

constexpr std::array<std::string_view, 8> kCommonMembers{
    "id", "description", "action", "resourceTypes", "when", "select", "required", "message"};

std::string_view string_of(const rapidjson::Value& object, const char* name) {
  return actions::string_member(object, name);
}

Error rule_error(const CompiledRule& rule, std::string message, std::string where) {
  return Error{ErrorCode::kInvalidInput, "mapping rule '" + rule.id + "': " + message,
               std::move(where)};
}

// One selected element before it is resolved: where it is and how the model types it.
struct Selected {
  JsonPath path;
  std::string_view type;
  std::string_view model_key;
};

Status run_rule(const CompiledRule& rule, rapidjson::Value& resource,
                rapidjson::Document::AllocatorType& allocator) {
  fhirpath::Collection selection;
  if (rule.select) {
    const bool by_operand = rule.action->per_element() && !rule.select_operands.empty();
    const fhirpath::Expression* parts = by_operand ? rule.select_operands.data() : &*rule.select;
    const std::size_t count = by_operand ? rule.select_operands.size() : 1;
    for (std::size_t i = 0; i < count; ++i) {
      auto result = parts[i].evaluate(resource);
      if (!result) {
        return rule_error(rule,
                          "select failed: " + result.error().message + " (expression at " +
                              result.error().where + ")",
                          "");
      }
      selection.insert(selection.end(), result->begin(), result->end());
    }
  } else {
    selection.push_back(fhirpath::Value::node(fhirpath::resource_node(resource)));
  }
  if (selection.empty() && rule.required) {
    return rule_error(rule, rule.message.empty() ? "a required element is missing" : rule.message,
                      "");
  }
  actions::ApplyContext context{resource, allocator, rule.id};
  if (!rule.action->per_element()) return rule.action->check(selection, context);
  if (selection.empty()) return Ok{};

  JsonLocator locator(resource);
  std::vector<Selected> targets;
  for (const fhirpath::Value& item : selection) {
    if (!item.is_node()) {
      return rule_error(rule, "select gives values, not elements of the resource", "");
    }
    const fhirpath::Node& node = item.as_node();
    auto path = locator.path_of(node.json != nullptr ? node.json : node.extras);
    if (!path) return rule_error(rule, "select gives an element outside the resource", "");
    targets.push_back({std::move(*path), node.type, node.model_key});
  }
  // Last in document order first: removing or appending then never moves an element that is
  // still to be visited.
  std::sort(targets.begin(), targets.end(),
            [](const Selected& a, const Selected& b) { return after_in_document(a.path, b.path); });
  for (std::size_t i = 0; i < targets.size(); ++i) {
    if (i > 0 && targets[i].path == targets[i - 1].path) continue;
    auto at = resolve(resource, targets[i].path);
    if (!at) continue;  // removed together with an element visited before
    actions::Target target{.at = std::move(*at), .fhir_type = targets[i].type, .node = {}};
    target.node = fhirpath::Node{.json = target.at.value,
                                 .extras = target.at.extras,
                                 .type = targets[i].type,
                                 .model_key = targets[i].model_key};
    if (auto applied = rule.action->apply(target, context); !applied) return applied;
  }
  return Ok{};
}

}  // namespace

Result<ApplyReport> MappingSet::apply(rapidjson::Value& resource,
                                      rapidjson::Document::AllocatorType& allocator,
                                      const ApplyOptions& options) const {
  if (!resource.IsObject()) return Error{ErrorCode::kInvalidInput, "expected a resource", ""};
  const std::string type(string_of(resource, "resourceType"));
  const std::string id(string_of(resource, "id"));
  ApplyReport report;
  for (const auto& rule : rules_) {
    if (!rule->applies_to(type)) continue;
    if (rule->when) {
      auto guard = rule->when->evaluate(resource);
      if (!guard) {
        return rule_error(*rule,
                          "when failed: " + guard.error().message + " (expression at " +
                              guard.error().where + ")",
                          "");
      }
      const bool yes = guard->size() == 1 &&
                       guard->front().kind() == fhirpath::Value::Kind::kBoolean &&
                       guard->front().as_boolean();
      if (!yes) continue;
    }
    ++report.rules_run;
    rapidjson::Document before;
    if (options.record_changes) before.CopyFrom(resource, before.GetAllocator());
    if (auto ran = run_rule(*rule, resource, allocator); !ran) return ran.error();
    if (options.record_changes) {
      RuleChanges changes{rule->id, rule->action_name, {}};
      json_diff(before, resource, "", changes.changes);
      if (!changes.changes.empty()) report.rules.push_back(std::move(changes));
    }
  }
  // A mapping must not change what the ledger keys the resource by.
  if (string_of(resource, "resourceType") != type || string_of(resource, "id") != id) {
    return Error{ErrorCode::kInvalidInput,
                 "mapping set '" + id_ + "' changed the resource's type or id", ""};
  }
  return report;
}

class MappingSetCompiler {
 public:
  MappingSetCompiler(const std::string& path, const ReadFile& read_file,
                     std::vector<Diagnostic>& out)
      : path_(path), read_file_(read_file), out_(out) {}

  std::shared_ptr<const MappingSet> run(const std::optional<std::string>& expected_source) {
    auto text = read_file_(path_);
    if (!text) {
      report(path_, "", "cannot read the mapping file: " + text.error().message);
      return nullptr;
    }
    rapidjson::Document doc;
    if (!parse(path_, *text, doc)) return nullptr;
    rapidjson::Document schema;
    schema.Parse(kMappingSetSchemaJson.data(), kMappingSetSchemaJson.size());
    check_schema(schema, doc, path_, out_);
    if (!doc.IsObject()) return nullptr;

    auto set = std::make_shared<MappingSet>();
    set->file_ = path_;
    set->id_ = string_of(doc, "id");
    set->version_ = string_of(doc, "version");
    set->source_ = string_of(doc, "source");
    if (expected_source && !set->source_.empty() && set->source_ != *expected_source) {
      report(path_, "/source",
             "expected \"" + *expected_source +
                 "\": the folder name under config/mappings/ is "
                 "the source system the set is for");
    }
    compile_resource_types(doc, "/resourceTypes", set->resource_types_);
    std::vector<rapidjson::Document> map_docs;
    compile_concept_maps(doc, map_docs);
    compile_rules(doc, *set);
    if (!out_.empty()) return nullptr;

    auto canonical = canonicalize(doc);
    set->canonical_text_ = canonical ? *canonical : std::string();
    for (const auto& m : map_docs) {
      auto c = canonicalize(m);
      set->canonical_text_ += "\n";
      if (c) set->canonical_text_ += *c;
    }
    set->concept_maps_ = std::move(concept_maps_);
    return set;
  }

 private:
  void report(const std::string& file, std::string pointer, std::string message) {
    out_.push_back({file, std::move(pointer), std::move(message)});
  }

  bool parse(const std::string& file, const std::string& text, rapidjson::Document& doc) {
    doc.Parse(text.c_str(), text.size());
    if (!doc.HasParseError()) return true;
    report(file, "",
           std::string("not valid JSON at offset ") + std::to_string(doc.GetErrorOffset()) + ": " +
               rapidjson::GetParseError_En(doc.GetParseError()));
    return false;
  }

  void compile_resource_types(const rapidjson::Value& object, const std::string& pointer,
                              std::vector<std::string>& types) {
    auto m = object.FindMember("resourceTypes");
    if (m == object.MemberEnd() || !m->value.IsArray()) return;
    for (rapidjson::SizeType i = 0; i < m->value.Size(); ++i) {
      if (!m->value[i].IsString()) continue;
      const std::string type = m->value[i].GetString();
      const auto* row = fhirpath::model::find_type(type);
      if (row == nullptr || !row->resource) {
        report(path_, pointer + "/" + std::to_string(i),
               "expected a FHIR R4 resource type, got \"" + type + "\"");
        continue;
      }
      types.push_back(type);
    }
  }

  void compile_concept_maps(const rapidjson::Value& doc, std::vector<rapidjson::Document>& docs) {
    auto m = doc.FindMember("conceptMaps");
    if (m == doc.MemberEnd() || !m->value.IsArray()) return;
    const std::filesystem::path folder = std::filesystem::path(path_).parent_path();
    for (rapidjson::SizeType i = 0; i < m->value.Size(); ++i) {
      if (!m->value[i].IsString()) continue;
      const std::string pointer = "/conceptMaps/" + std::to_string(i);
      const std::string file = (folder / m->value[i].GetString()).lexically_normal().string();
      auto text = read_file_(file);
      if (!text) {
        report(path_, pointer, "cannot read ConceptMap file " + file + ": " + text.error().message);
        continue;
      }
      rapidjson::Document map_doc;
      if (!parse(file, *text, map_doc)) continue;
      auto map = ConceptMap::compile(map_doc, file, out_);
      if (!map) continue;
      if (by_url_.contains(map->url())) {
        report(path_, pointer, "a second ConceptMap with url " + map->url());
        continue;
      }
      concept_maps_.push_back(std::make_unique<ConceptMap>(std::move(*map)));
      by_url_.emplace(concept_maps_.back()->url(), concept_maps_.back().get());
      docs.push_back(std::move(map_doc));
    }
  }

  std::optional<fhirpath::Expression> expression(const rapidjson::Value& rule,
                                                 const std::string& at, const char* member) {
    auto m = rule.FindMember(member);
    if (m == rule.MemberEnd() || !m->value.IsString()) return std::nullopt;
    auto compiled = fhirpath::compile(m->value.GetString());
    if (!compiled) {
      report(path_, at + "/" + member,
             compiled.error().message + " (at " + compiled.error().where + " of the expression)");
      return std::nullopt;
    }
    return std::move(*compiled);
  }

  void compile_rules(const rapidjson::Value& doc, MappingSet& set) {
    auto rules = doc.FindMember("rules");
    if (rules == doc.MemberEnd() || !rules->value.IsArray()) return;
    std::set<std::string, std::less<>> ids;
    for (rapidjson::SizeType i = 0; i < rules->value.Size(); ++i) {
      const rapidjson::Value& in = rules->value[i];
      const std::string at = "/rules/" + std::to_string(i);
      if (!in.IsObject()) continue;  // the schema check reported it
      auto rule = std::make_unique<CompiledRule>();
      rule->id = string_of(in, "id");
      if (!rule->id.empty() && !ids.insert(rule->id).second) {
        report(path_, at + "/id", "rule id \"" + rule->id + "\" is used twice");
      }
      rule->action_name = string_of(in, "action");
      const actions::ActionKind* kind = actions::find_action(rule->action_name);
      if (kind != nullptr) {
        for (auto m = in.MemberBegin(); m != in.MemberEnd(); ++m) {
          const std::string_view name(m->name.GetString(), m->name.GetStringLength());
          const bool common =
              std::find(kCommonMembers.begin(), kCommonMembers.end(), name) != kCommonMembers.end();
          const bool option =
              std::find(kind->options.begin(), kind->options.end(), name) != kind->options.end();
          if (!common && !option) {
            report(path_, at + "/" + pointer_token(std::string(name)),
                   "'" + std::string(name) + "' does not apply to action " + rule->action_name);
          }
        }
      }
      if (in.HasMember("resourceTypes")) {
        const std::size_t before = out_.size();
        compile_resource_types(in, at + "/resourceTypes", rule->resource_types);
        for (std::size_t t = 0; t < rule->resource_types.size() && out_.size() == before; ++t) {
          if (!set.covers(rule->resource_types[t])) {
            report(path_, at + "/resourceTypes/" + std::to_string(t),
                   "\"" + rule->resource_types[t] + "\" is not one of the set's resourceTypes");
          }
        }
      } else {
        rule->resource_types = set.resource_types_;
      }
      rule->when = expression(in, at, "when");
      rule->select = expression(in, at, "select");
      if (rule->select) {
        for (const std::string& operand : union_operands(rule->select->text())) {
          auto compiled = fhirpath::compile(operand);
          // Each operand of a valid expression is one; should one not be, keep the whole.
          if (!compiled) {
            rule->select_operands.clear();
            break;
          }
          rule->select_operands.push_back(std::move(*compiled));
        }
      }
      rule->required =
          in.HasMember("required") && in["required"].IsBool() && in["required"].GetBool();
      rule->message = string_of(in, "message");
      if (rule->action_name == "require" && !in.HasMember("select")) {
        report(path_, at, "action require needs \"select\": what must be present");
      }
      if (kind == nullptr) continue;  // the schema check named the allowed actions
      actions::CompileContext context(path_, at, out_, by_url_, read_file_);
      rule->action = kind->compile(in, context);
      if (rule->action) set.rules_.push_back(std::move(rule));
    }
  }

  const std::string& path_;
  const ReadFile& read_file_;
  std::vector<Diagnostic>& out_;
  std::vector<std::unique_ptr<ConceptMap>> concept_maps_;
  std::map<std::string, const ConceptMap*, std::less<>> by_url_;
};

CompiledMappingSet compile_mapping_set(const std::string& path, const ReadFile& read_file,
                                       std::optional<std::string> expected_source) {
  CompiledMappingSet out;
  out.set = MappingSetCompiler(path, read_file, out.diagnostics).run(expected_source);
  if (!out.diagnostics.empty()) out.set.reset();
  return out;
}

}  // namespace fl::mappings
