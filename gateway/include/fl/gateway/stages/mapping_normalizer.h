// The Normalizer that runs mapping sets: the event's `fhir-source` header picks the set, the
// set's rules rewrite the resource, and the set's SHA-256 (over its canonical mapping file and
// ConceptMaps) is anchored with the pointer so an auditor can tell which mapping version
// produced the stored bytes.
//
// The catalog is compiled before it gets here (mapping_files.h), never per event. replace()
// swaps in a recompiled catalog (reload); it may be called from any thread while the pipeline
// thread normalizes.
#pragma once

#include "fl/gateway/stages/normalize_stage.h"
#include "fl/mappings/engine.h"

#include <map>
#include <memory>
#include <mutex>

namespace fl::gateway {

class MappingNormalizer final : public Normalizer {
 public:
  // Events from a source without a mapping set pass unmapped (hash all zero), or are refused
  // as invalid input (to the dead-letter topic) when `dead_letter_unknown_source`.
  MappingNormalizer(std::shared_ptr<const mappings::MappingCatalog> catalog,
                    bool dead_letter_unknown_source);

  Result<ports::Hash32> normalize(std::string_view source_system, rapidjson::Value& resource,
                                  rapidjson::Document::AllocatorType& allocator) override;

  void replace(std::shared_ptr<const mappings::MappingCatalog> catalog);

  // The catalog in use now (the last one replace() swapped in).
  std::shared_ptr<const mappings::MappingCatalog> catalog() const { return current()->catalog; }

  // The hash anchored for resources mapped by the set of `source`, or nullopt.
  std::optional<ports::Hash32> hash_of(std::string_view source) const;

 private:
  struct Snapshot {
    std::shared_ptr<const mappings::MappingCatalog> catalog;
    std::map<std::string, ports::Hash32, std::less<>> hashes;
  };
  static std::shared_ptr<const Snapshot> snapshot(
      std::shared_ptr<const mappings::MappingCatalog> catalog);
  std::shared_ptr<const Snapshot> current() const;

  const bool dead_letter_unknown_source_;
  mutable std::mutex mutex_;
  std::shared_ptr<const Snapshot> snapshot_;
};

}  // namespace fl::gateway
