// The API's composition: its token verifier from /api/keys, the policy bundles, and one
// worker per request thread, each with its own Redis, ledger and audit connections.
#pragma once

#include "fl/base/result.h"
#include "fl/gateway/config.h"

#include "cli/api_server.h"

#include <functional>
#include <memory>

namespace fl::cli {

// What serve shares with the API: its metrics (and their exposition, for the console), and the
// mapping sets it runs now.
struct ApiHooks {
  ports::Metrics* metrics = nullptr;
  std::function<std::string()> exposition;
  std::function<std::shared_ptr<const mappings::MappingCatalog>()> mappings;
  // The mapping hash anchored for what the set of a source maps (MappingNormalizer::hash_of).
  std::function<std::optional<ports::Hash32>(std::string_view source)> mapping_hash;
};

// Starts the API when /api/port is set; null when it is not.
Result<std::unique_ptr<ApiServer>> start_configured_api(const gateway::GatewayConfig& config,
                                                        ApiHooks hooks = {});

}  // namespace fl::cli
