// Reads the mapping sets from disk: config/mappings/<source-system>/mapping.json and the
// ConceptMaps each lists. The one compile path for `serve` (start and reload) and
// `fhir-ledger map check`, so the tool and the service cannot disagree.
#pragma once

#include "fl/mappings/engine.h"

#include <string>
#include <vector>

namespace fl::gateway {

// <dir>/*/mapping.json, sorted; empty when `dir` does not exist.
std::vector<std::string> find_mapping_files(const std::string& dir);

// Reads a whole file; kNotFound when it cannot be opened.
mappings::ReadFile file_reader();

// Compiles every mapping set under `dir`; every problem of every file is in the diagnostics.
mappings::CompiledCatalog load_mapping_catalog(const std::string& dir);

}  // namespace fl::gateway
