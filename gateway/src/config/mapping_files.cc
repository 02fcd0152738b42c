#include "fl/gateway/mapping_files.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace fl::gateway {

namespace fs = std::filesystem;

std::vector<std::string> find_mapping_files(const std::string& dir) {
  std::vector<std::string> files;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return files;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const fs::path file = entry.path() / "mapping.json";
    if (entry.is_directory(ec) && fs::is_regular_file(file, ec)) files.push_back(file.string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

mappings::ReadFile file_reader() {
  return [](const std::string& path) -> Result<std::string> {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Error{ErrorCode::kNotFound, "cannot open " + path, path};
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  };
}

mappings::CompiledCatalog load_mapping_catalog(const std::string& dir) {
  return mappings::compile_catalog(find_mapping_files(dir), file_reader());
}

}  // namespace fl::gateway
