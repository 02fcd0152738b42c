// Checks a JSON document against a JSON Schema (the draft-04 keywords our config schemas use:
// type, properties, additionalProperties, required, enum, pattern, minLength, minItems, items,
// minimum, maximum, local $ref) and reports every violation with its JSON pointer. RapidJSON's
// validator stops at the first one; `map check` and `policy check` must list them all. A schema
// keyword outside that list is an error in the schema, reported once, so nothing is silently
// ignored.
#pragma once

#include "fl/mappings/diagnostic.h"

#include <rapidjson/document.h>

#include <string>
#include <vector>

namespace fl::mappings {

void check_schema(const rapidjson::Value& schema, const rapidjson::Value& document,
                  const std::string& file, std::vector<Diagnostic>& diagnostics);

}  // namespace fl::mappings
