#include "fl/gateway/stages/normalize_stage.h"

#include "fl/mappings/canonical_json.h"

namespace fl::gateway {

Result<std::string> NormalizeStage::run(std::string_view source_system, rapidjson::Value& resource,
                                        rapidjson::Document::AllocatorType& allocator) {
  if (auto mapped = normalizer_.normalize(source_system, resource, allocator); !mapped) {
    return mapped.error();
  }
  return mappings::canonicalize(resource);
}

}  // namespace fl::gateway
