// Compiles a policy bundle file (config/policies/<name>.json) into a PolicyBundle, or lists every
// problem with the file, the JSON pointer and what was expected: the schema's checks
// (config/schemas/policy-bundle.schema.json), then what a schema cannot say: unknown
// jurisdiction ids, unknown country codes, unknown purposes of use, FHIRPath that does not
// compile, duplicate rule ids, obligations on a deny, and rules that can never decide because an
// earlier rule shadows them.
#pragma once

#include "fl/gateway/policy/policy_bundle.h"
#include "fl/mappings/diagnostic.h"
#include "fl/mappings/mapping_set.h"

#include <memory>
#include <string>
#include <vector>

namespace fl::gateway::policy {

struct CompiledPolicyBundle {
  std::shared_ptr<const PolicyBundle> bundle;  // null when there are errors
  std::vector<mappings::Diagnostic> diagnostics;
};

CompiledPolicyBundle compile_policy_bundle(const std::string& path,
                                           const mappings::ReadFile& read_file);

// The HL7 v3 PurposeOfUse codes (http://terminology.hl7.org/CodeSystem/v3-ActReason) the
// compiler accepts.
bool is_purpose_of_use(std::string_view code);

}  // namespace fl::gateway::policy
