// Checks FHIR R4 JSON resources against the R4 JSON schema
// (tests/data/corpora/fhir-schema/SOURCES.md), so tests can prove that what the mapping sets
// produce is still valid R4. The checking is done by scripts/validate-fhir (Ajv 8 under node): a
// JSON-schema validator we did not write is a better judge of our output than one more C++
// validator would be.
#pragma once

#include "fl/base/result.h"

#include <string>
#include <vector>

namespace fl::testing {

struct SchemaVerdict {
  bool valid = false;
  // One "pointer: message" per problem, e.g. "/name/0/given: must be array"; the pointer is
  // "(root)" when the whole document is wrong.
  std::vector<std::string> errors;
};

// One verdict per resource, in order. Each element of `resources_json` is the JSON text of one
// resource (a Bundle counts as one). The whole batch costs one node start and one schema
// compilation (about a second), so pass everything at once rather than calling per resource.
// Fails with kUnavailable when node or node_modules/ajv is missing (scripts/install-deps
// installs both), with kInvalidInput when an element is not JSON.
Result<std::vector<SchemaVerdict>> validate_fhir_r4(const std::vector<std::string>& resources_json);

// The errors joined with "; ", for test failure messages.
std::string to_string(const SchemaVerdict& verdict);

}  // namespace fl::testing
