// Canonical JSON per RFC 8785 (JCS): object members sorted by UTF-16 code units, numbers in
// ECMAScript's shortest round-trip form, strings with the minimal escapes, no white space. Equal
// content gives equal bytes, hence equal hashes. Input must be I-JSON: duplicate member names,
// NaN and infinities are refused (kInvalidInput with the byte offset or JSON pointer).
// Pure functions; any thread.
#pragma once

#include "fl/base/result.h"

#include <rapidjson/document.h>

#include <string>
#include <string_view>

namespace fl::mappings {

Result<std::string> canonicalize(std::string_view json);
Result<std::string> canonicalize(const rapidjson::Value& value);

// A double as ECMAScript's Number.prototype.toString writes it (the JCS number form).
Result<std::string> format_es6_number(double value);

}  // namespace fl::mappings
