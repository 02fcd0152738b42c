#include "fl/mappings/engine.h"

#include <filesystem>

namespace fl::mappings {

const MappingSet* MappingCatalog::find(std::string_view source) const {
  auto it = sets_.find(source);
  return it == sets_.end() ? nullptr : it->second.get();
}

CompiledCatalog compile_catalog(const std::vector<std::string>& mapping_files,
                                const ReadFile& read_file) {
  CompiledCatalog out;
  auto catalog = std::make_shared<MappingCatalog>();
  for (const std::string& file : mapping_files) {
    const std::string folder = std::filesystem::path(file).parent_path().filename().string();
    CompiledMappingSet compiled = compile_mapping_set(file, read_file, folder);
    out.diagnostics.insert(out.diagnostics.end(), compiled.diagnostics.begin(),
                           compiled.diagnostics.end());
    if (compiled.set) catalog->add(compiled.set);
  }
  if (out.diagnostics.empty()) out.catalog = std::move(catalog);
  return out;
}

}  // namespace fl::mappings
