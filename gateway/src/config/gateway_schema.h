// The gateway JSON Schema, embedded at build time from config/schemas/gateway.schema.json so the
// binary validates exactly the schema it was built with.
#pragma once

#include <string_view>

namespace fl::gateway {
extern const std::string_view kGatewaySchemaJson;
}  // namespace fl::gateway
