// SMART on FHIR scopes as the API checks them for a system (backend service) client: which
// interactions on which resource types a token's `scope` claim allows. Both forms are
// understood: v1 (`system/Observation.read`, `system/*.write`, `system/*.*`) and v2
// (`system/Observation.rs`, `.cruds`: the permissions in that order). v1 `read` covers v2 r and
// s, `write` covers c, u and d. A v2 scope narrowed by a query
// (`system/Observation.rs?category=laboratory`) grants nothing here: the API cannot yet hold a
// request to the narrowing, and allowing more than a scope says is the worse mistake.
#pragma once

#include <string_view>

namespace fl::gateway {

// `scopes`: the claim, scopes separated by spaces; `permission`: one of c, r, u, d, s.
bool scopes_permit(std::string_view scopes, std::string_view resource_type, char permission);

// The gateway's own operations, which no FHIR scope covers: POST /fhir/Patient/{id}/$erase
// needs kAdminScope; the tools' dry runs (POST /policy/$evaluate, /mappings/$preview) need
// kToolsScope, kComplianceScope or kAdminScope. The console's data (/console/api/) needs one of
// those three; a dead letter's original event (PHI) only kAdminScope.
inline constexpr std::string_view kAdminScope = "fhir-ledger/admin";
inline constexpr std::string_view kToolsScope = "fhir-ledger/tools";
inline constexpr std::string_view kComplianceScope = "fhir-ledger/compliance";

// Whether `scope` is one of the space-separated `scopes`, exactly.
bool scopes_include(std::string_view scopes, std::string_view scope);

inline bool scopes_permit_read(std::string_view scopes, std::string_view resource_type) {
  return scopes_permit(scopes, resource_type, 'r');
}

}  // namespace fl::gateway
