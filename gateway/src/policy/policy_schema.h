// The policy bundle JSON Schema, embedded at build time from
// config/schemas/policy-bundle.schema.json so `policy check` and the gateway check bundles
// against exactly the schema they were built with.
#pragma once

#include <string_view>

namespace fl::gateway::policy {
extern const std::string_view kPolicyBundleSchemaJson;
}  // namespace fl::gateway::policy
