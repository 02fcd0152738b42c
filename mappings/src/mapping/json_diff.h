// What changed between two versions of a resource, as RFC 6901 paths: the preview's "rule id ->
// JSON paths". Arrays are compared item by item.
#pragma once

#include "fl/mappings/mapping_set.h"

#include <rapidjson/document.h>

#include <string>
#include <vector>

namespace fl::mappings {

void json_diff(const rapidjson::Value& before, const rapidjson::Value& after,
               const std::string& path, std::vector<Change>& changes);

}  // namespace fl::mappings
