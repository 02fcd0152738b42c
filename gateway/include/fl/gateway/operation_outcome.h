// FHIR R4 OperationOutcome, the body of every error the HTTP API answers: one issue with its
// severity "error", an IssueType code (`forbidden`, `not-found`, `deleted`, `conflict`, ...)
// and diagnostics for a person. Diagnostics never carry resource content.
#pragma once

#include <string>
#include <string_view>

namespace fl::gateway {

std::string operation_outcome(std::string_view issue_code, std::string_view diagnostics);

}  // namespace fl::gateway
