// Stages 2 and 3 of the pipeline on an arbitrary Kafka message value: ValidateStage::run, then,
// for every resource it accepts, the shipped mapping sets (config/mappings) through
// NormalizeStage, as the pipeline runs them. The fhir-source header is derived from the input's
// last byte (acme-lab, riverside-adt, an unknown source, or none). Besides the sanitizers, it
// checks what the later stages rely on: every accepted resource has an R4 type, a valid id, a
// version >= 1 (0 for a delete without ifMatch) and, unless deleted, an object to point at.
#include "fl/gateway/mapping_files.h"
#include "fl/gateway/stages/mapping_normalizer.h"
#include "fl/gateway/stages/normalize_stage.h"
#include "fl/gateway/stages/validate_stage.h"

#include "fuzz_support.h"

#include <cstddef>
#include <cstdint>
#include <string>

namespace {

using fl::gateway::ValidateStage;

fl::gateway::MappingNormalizer& normalizer() {
  static fl::gateway::MappingNormalizer* instance = [] {
    auto compiled =
        fl::gateway::load_mapping_catalog(std::string(FL_SOURCE_DIR) + "/config/mappings");
    FL_FUZZ_CHECK(compiled.catalog != nullptr);
    static fl::gateway::MappingNormalizer n(compiled.catalog, false);
    return &n;
  }();
  return *instance;
}

constexpr const char* kSources[] = {"acme-lab", "riverside-adt", "unknown-ehr", nullptr};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const ValidateStage stage(fl::gateway::ValidationLimits{});
  fl::ports::SourceEvent event;
  event.origin = {.topic = "fhir.events", .partition = 0, .offset = 1};
  event.value.assign(fl::fuzz::as_text(data, size));
  const char* source = size == 0 ? nullptr : kSources[data[size - 1] % 4];
  if (source != nullptr) event.headers = {{"fhir-source", source}};

  auto validated = stage.run(event);
  if (!validated) {
    FL_FUZZ_CHECK(validated.error().code == fl::ErrorCode::kInvalidInput);
    return 0;
  }
  FL_FUZZ_CHECK(validated->document != nullptr);
  fl::gateway::NormalizeStage normalize(normalizer());
  for (auto& resource : validated->resources) {
    FL_FUZZ_CHECK(fl::gateway::is_r4_resource_type(resource.type));
    FL_FUZZ_CHECK(fl::gateway::is_valid_fhir_id(resource.id));
    // A delete without request.ifMatch is version 0: the tombstone follows the anchored one.
    FL_FUZZ_CHECK(resource.version >= 1 || resource.deleted);
    FL_FUZZ_CHECK(resource.patient_reference.empty() ||
                  (resource.patient_reference.starts_with("Patient/") &&
                   fl::gateway::is_valid_fhir_id(resource.patient_reference.substr(8))));
    FL_FUZZ_CHECK(resource.deleted == (resource.json == nullptr));
    if (resource.deleted) continue;
    FL_FUZZ_CHECK(resource.json->IsObject());
    auto normalized = normalize.run(validated->source_system, *resource.json,
                                    validated->document->GetAllocator());
    if (!normalized) FL_FUZZ_CHECK(normalized.error().code == fl::ErrorCode::kInvalidInput);
  }
  return 0;
}
