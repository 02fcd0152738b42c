// The mapping sets the gateway runs, one per source system (the Kafka header `fhir-source`),
// compiled together from config/mappings/<source-system>/mapping.json. Immutable: a reload
// compiles a new catalog and swaps the shared pointer, so events in flight finish with the old
// one. Any number of threads may look up and apply at once.
#pragma once

#include "fl/mappings/mapping_set.h"

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace fl::mappings {

class MappingCatalog {
 public:
  // The set for a source system, or null when none is configured.
  const MappingSet* find(std::string_view source) const;
  const std::map<std::string, std::shared_ptr<const MappingSet>, std::less<>>& sets() const {
    return sets_;
  }
  // Used while compiling, before the catalog is shared as const.
  void add(std::shared_ptr<const MappingSet> set) { sets_.emplace(set->source(), std::move(set)); }

 private:
  std::map<std::string, std::shared_ptr<const MappingSet>, std::less<>> sets_;
};

struct CompiledCatalog {
  std::shared_ptr<const MappingCatalog> catalog;  // null when there are diagnostics
  std::vector<Diagnostic> diagnostics;
};

// Compiles every mapping file; each must sit in a folder named for its source system
// (config/mappings/acme-lab/mapping.json has "source": "acme-lab"). Every problem in every file
// is reported.
CompiledCatalog compile_catalog(const std::vector<std::string>& mapping_files,
                                const ReadFile& read_file);

}  // namespace fl::mappings
