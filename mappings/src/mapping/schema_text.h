// The mapping-set JSON Schema, embedded at build time from config/schemas/mapping-set.schema.json
// so that the binary checks exactly the schema it was built with.
#pragma once

#include <string_view>

namespace fl::mappings {
extern const std::string_view kMappingSetSchemaJson;
}  // namespace fl::mappings
