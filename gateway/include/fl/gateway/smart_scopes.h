// SMART on FHIR scopes as the API checks them for a system (backend service) client: which
// resource types a token's `scope` claim lets it read. Both forms are understood: v1
// (`system/Observation.read`, `system/*.read`) and v2 (`system/Observation.rs`, `.cruds`: the
// permissions in that order, read among them). A v2 scope narrowed by a query
// (`system/Observation.rs?category=laboratory`) grants nothing here: the API cannot yet hold a
// read to the narrowing, and reading more than a scope allows is the worse mistake.
#pragma once

#include <string_view>

namespace fl::gateway {

// `scopes`: the claim, scopes separated by spaces.
bool scopes_permit_read(std::string_view scopes, std::string_view resource_type);

}  // namespace fl::gateway
