// Every entry resource of the Synthea transaction bundles of a folder, parsed once, for the
// benchmarks: files in name order (fhirpath_js_bench.js reads them in the same order, so results
// can be compared item by item), full-precision numbers (as canonical_json.cc parses; the
// default parser may be off by one unit in the last place). A file that does not parse aborts.
#pragma once

#include <rapidjson/document.h>

#include <filesystem>
#include <memory>
#include <vector>

namespace fl::testing {

struct SyntheaCorpus {
  std::vector<std::unique_ptr<rapidjson::Document>> bundles;  // the resources point into these
  std::vector<const rapidjson::Value*> resources;
};

// Files that are not Bundles (index.json) and entries without a resource are skipped.
SyntheaCorpus load_synthea(const std::filesystem::path& dir);

}  // namespace fl::testing
