// Where a FHIRPath result node lives in the resource, as a path that stays meaningful while rules
// change the document. Nodes are raw pointers into RapidJSON storage, and adding a member or an
// array item can move that storage, so a rule resolves each path again just before acting.
#pragma once

#include <rapidjson/document.h>

#include <cstddef>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace fl::mappings {

// One step down from an object: a member, and an index when that member is an array.
struct PathStep {
  std::string member;
  std::optional<std::size_t> index;
  std::size_t member_position = 0;  // for document order only

  bool operator==(const PathStep&) const = default;
};

using JsonPath = std::vector<PathStep>;

// "/code/coding/0/system"
std::string to_pointer(const JsonPath& path);

// True when `a` comes after `b` in document order; a descendant comes after its ancestor.
bool after_in_document(const JsonPath& a, const JsonPath& b);

// Maps each value of a resource (and each "_name" twin of a primitive) to its path. Built once
// per rule that selected anything; valid until the document changes.
class JsonLocator {
 public:
  explicit JsonLocator(const rapidjson::Value& root);

  // The path of a value in the document (or of the primitive whose "_name" twin it is), or
  // nullopt when it is not part of the document.
  std::optional<JsonPath> path_of(const rapidjson::Value* value) const;

 private:
  struct Link {
    const rapidjson::Value* holder;  // the object the step starts from
    PathStep step;
  };
  void index(const rapidjson::Value& object);

  const rapidjson::Value* root_;
  std::unordered_map<const rapidjson::Value*, Link> links_;
};

// A located element, resolved against the current document.
struct Location {
  rapidjson::Value* value = nullptr;   // null for a primitive that has only extensions
  rapidjson::Value* extras = nullptr;  // its "_name" twin, or null
  rapidjson::Value* holder = nullptr;  // the object with `member`; null for the resource itself
  std::string member;
  std::optional<std::size_t> index;
  std::string pointer;
};

// Resolves `path`; nullopt when an earlier change removed what it leads to.
std::optional<Location> resolve(rapidjson::Value& root, const JsonPath& path);

}  // namespace fl::mappings
