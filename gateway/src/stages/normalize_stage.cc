#include "fl/gateway/stages/normalize_stage.h"

#include "fl/mappings/canonical_json.h"

namespace fl::gateway {

Result<Normalized> NormalizeStage::run(std::string_view source_system, rapidjson::Value& resource,
                                       rapidjson::Document::AllocatorType& allocator) {
  auto hash = normalizer_.normalize(source_system, resource, allocator);
  if (!hash) return hash.error();
  auto canonical = mappings::canonicalize(resource);
  if (!canonical) return canonical.error();
  return Normalized{std::move(*canonical), *hash};
}

}  // namespace fl::gateway
