// FHIR R4 ConceptMap resources, compiled for lookups: (source system, code) -> the targets the
// map lists, each with its equivalence, and what the group says to do with unmapped codes.
// A mapping set loads the ConceptMaps its translate-code rules name; the map is immutable after
// compiling, so any thread may translate at once.
#pragma once

#include "fl/mappings/diagnostic.h"

#include <rapidjson/document.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fl::mappings {

// R4 ConceptMap.group.element.target.equivalence
// (http://hl7.org/fhir/R4/valueset-concept-map-equivalence.html).
enum class Equivalence {
  kRelatedTo,
  kEquivalent,
  kEqual,
  kWider,
  kSubsumes,
  kNarrower,
  kSpecializes,
  kInexact,
  kUnmatched,
  kDisjoint,
};

std::optional<Equivalence> parse_equivalence(std::string_view code);
std::string_view equivalence_name(Equivalence equivalence);

struct ConceptTarget {
  std::string system;
  std::string code;
  std::string display;
  Equivalence equivalence = Equivalence::kEquivalent;
  // A target with dependsOn/product applies only in a context the rule cannot see, so the
  // translator never picks it (see mappings/README.md).
  bool conditional = false;
};

// ConceptMap.group.unmapped: what a group says about codes it does not list.
struct UnmappedRule {
  enum class Mode { kNone, kProvided, kFixed, kOtherMap };
  Mode mode = Mode::kNone;
  std::string code;     // fixed
  std::string display;  // fixed
  std::string url;      // other-map: the canonical URL of another ConceptMap
};

struct Translation {
  bool group_found = false;            // some group maps from this source system
  std::vector<ConceptTarget> targets;  // every target listed for the code, in file order
  UnmappedRule unmapped;               // of the first matching group, when no element matched
  std::string unmapped_target_system;  // that group's target system (for kFixed)
};

class ConceptMap {
 public:
  // Compiles a ConceptMap resource; problems are added to `diagnostics` with `file` and JSON
  // pointers, and the result is empty when there were any.
  static std::optional<ConceptMap> compile(const rapidjson::Value& resource,
                                           const std::string& file,
                                           std::vector<Diagnostic>& diagnostics);

  const std::string& url() const { return url_; }
  const std::string& version() const { return version_; }
  const std::string& file() const { return file_; }

  // What the map says about `code` from `source_system`. When `target_system` is non-empty only
  // groups with that target count.
  Translation translate(std::string_view source_system, std::string_view code,
                        std::string_view target_system) const;

 private:
  struct Group {
    std::string source;
    std::string target;
    std::map<std::string, std::vector<ConceptTarget>, std::less<>> elements;
    UnmappedRule unmapped;
  };

  std::string url_;
  std::string version_;
  std::string file_;
  std::vector<Group> groups_;
};

}  // namespace fl::mappings
