// Carries out a permit's obligations on the resource that is released (read time): redactions
// by FHIRPath and pseudonymized identifiers. require_purpose and max_days are checked where the
// request is made (check_purpose here; max_days caps a grant's expiry).
#pragma once

#include "fl/base/result.h"
#include "fl/gateway/policy/policy_bundle.h"

#include <rapidjson/document.h>

#include <functional>
#include <string>
#include <string_view>

namespace fl::gateway::policy {

// identifier.value -> its pseudonym (the gateway's keyed HMAC, never a plain hash).
using IdentifierPseudonym =
    std::function<std::string(std::string_view system, std::string_view value)>;

// Removes every element a redact expression selects (and its "_name" twin), then, when asked,
// replaces every Identifier.value in the resource by its pseudonym (an Identifier: an object
// with a string "value" under an element of type Identifier: "identifier", "...Identifier"
// such as masterIdentifier or preAdmissionIdentifier, and the few named otherwise, at any
// depth). A list left empty
// and an object left without members go too, since FHIR JSON allows neither. kInvalidInput,
// with the resource unchanged, when a redact expression fails to evaluate on this resource,
// gives values rather than elements, or selects the whole resource: nothing is released then.
Status apply_obligations(const Obligations& obligations, rapidjson::Document& resource,
                         const IdentifierPseudonym& pseudonym);

// kPolicyDenied when the obligations require a purpose and `purpose` is not one of them, or
// when merged permits require purposes no single one satisfies.
Status check_purpose(const Obligations& obligations, std::string_view purpose);

}  // namespace fl::gateway::policy
