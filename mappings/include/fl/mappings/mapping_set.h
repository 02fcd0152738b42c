// A mapping set: the ordered rules an integration engineer writes to make one source system's
// FHIR look like the network's canonical FHIR (config/mappings/<source-system>/mapping.json,
// schema config/schemas/mapping-set.schema.json, guide mappings/README.md).
//
// A set is compiled once (at start, on reload, by `map check`) into an immutable MappingSet:
// every FHIRPath expression parsed, every ConceptMap indexed, every action's options checked.
// Compiling collects all problems with file and JSON pointer. A compiled set is shared as
// std::shared_ptr<const MappingSet>, and any number of threads may apply it at once.
//
// Files are read through a callback, so the engine does no I/O of its own.
#pragma once

#include "fl/base/result.h"
#include "fl/mappings/diagnostic.h"

#include <rapidjson/document.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fl::mappings {

class CompiledRule;
class ConceptMap;

// Reads a file named in a mapping set (relative names are resolved by the caller against the
// mapping file's folder). kNotFound when it does not exist.
using ReadFile = std::function<Result<std::string>(const std::string& path)>;

// One change a rule made, for previews: an RFC 6901 pointer into the resource and the JSON text
// before and after ("" for an element that was absent).
struct Change {
  enum class Kind { kAdd, kRemove, kReplace };
  Kind kind;
  std::string path;
  std::string before;
  std::string after;
};

struct RuleChanges {
  std::string rule_id;
  std::string action;
  std::vector<Change> changes;
};

struct ApplyOptions {
  // Record what each rule changed (map preview). Costs a copy of the resource per rule.
  bool record_changes = false;
};

struct ApplyReport {
  std::size_t rules_run = 0;       // rules whose resource type and `when` matched
  std::vector<RuleChanges> rules;  // with record_changes: the rules that changed something
};

class MappingSet {
 public:
  // An empty set (no rules); compile_mapping_set() fills one in.
  MappingSet();
  ~MappingSet();
  MappingSet(const MappingSet&) = delete;
  MappingSet& operator=(const MappingSet&) = delete;

  const std::string& id() const { return id_; }
  const std::string& version() const { return version_; }
  const std::string& source() const { return source_; }
  const std::string& file() const { return file_; }
  const std::vector<std::string>& resource_types() const { return resource_types_; }
  std::size_t rule_count() const { return rules_.size(); }
  bool covers(std::string_view resource_type) const;

  // The set's mapping file and its ConceptMaps as canonical JSON (RFC 8785), in a fixed order:
  // what the gateway hashes into the mapping hash it anchors beside each pointer.
  const std::string& canonical_text() const { return canonical_text_; }

  // Runs the rules in order on `resource` (changed in place). A rule that fails the event
  // returns kInvalidInput naming the rule id, with `where` the JSON pointer of the element; the
  // resource is then partly mapped and must be discarded. Error messages carry no element
  // values, so they are safe for logs and dead-letter headers.
  Result<ApplyReport> apply(rapidjson::Value& resource,
                            rapidjson::Document::AllocatorType& allocator,
                            const ApplyOptions& options = {}) const;

 private:
  friend class MappingSetCompiler;

  std::string id_;
  std::string version_;
  std::string source_;
  std::string file_;
  std::vector<std::string> resource_types_;
  std::string canonical_text_;
  std::vector<std::unique_ptr<CompiledRule>> rules_;
  std::vector<std::unique_ptr<ConceptMap>> concept_maps_;  // the rules point into these
};

struct CompiledMappingSet {
  std::shared_ptr<const MappingSet> set;  // null when there are diagnostics
  std::vector<Diagnostic> diagnostics;
};

// Compiles the mapping file at `path` and the ConceptMaps it lists (paths relative to its
// folder). When `expected_source` is given, the file's "source" must equal it (the folder name
// under config/mappings/).
CompiledMappingSet compile_mapping_set(const std::string& path, const ReadFile& read_file,
                                       std::optional<std::string> expected_source = std::nullopt);

}  // namespace fl::mappings
