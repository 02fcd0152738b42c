// The mapping-set compiler (compile_mapping_set) on an arbitrary mapping.json, and every set
// that compiles applied to the shipped golden-case inputs (config/mappings/*/cases), so fuzzed
// action options meet real resources. The input is split at NUL bytes: the first part is the
// mapping file, the next parts are served, in order, as the ConceptMaps it names; a ConceptMap
// without a part is the shipped file of that name (config/mappings/*/conceptmaps), else absent.
#include "fl/mappings/mapping_set.h"

#include "fuzz_support.h"

#include <rapidjson/document.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

struct Shipped {
  std::map<std::string, std::string> concept_maps;  // by file name
  std::vector<std::string> cases;                   // the *.input.json texts
};

const Shipped& shipped() {
  static const Shipped files = [] {
    Shipped out;
    const fs::path root = fs::path(FL_SOURCE_DIR) / "config" / "mappings";
    for (const auto& entry : fs::recursive_directory_iterator(root)) {
      if (!entry.is_regular_file()) continue;
      const fs::path& path = entry.path();
      const std::string relative = fs::relative(path, FL_SOURCE_DIR).string();
      if (path.parent_path().filename() == "conceptmaps") {
        out.concept_maps[path.filename().string()] = fl::fuzz::source_file(relative);
      } else if (path.filename().string().ends_with(".input.json")) {
        out.cases.push_back(fl::fuzz::source_file(relative));
      }
    }
    FL_FUZZ_CHECK(!out.concept_maps.empty() && !out.cases.empty());
    return out;
  }();
  return files;
}

constexpr const char* kMappingFile = "/fuzz/acme-lab/mapping.json";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Shipped& files = shipped();
  std::vector<std::string> parts;
  const std::string_view input = fl::fuzz::as_text(data, size);
  for (std::size_t start = 0;;) {
    const std::size_t nul = input.find('\0', start);
    parts.emplace_back(input.substr(start, nul == std::string_view::npos ? nul : nul - start));
    if (nul == std::string_view::npos) break;
    start = nul + 1;
  }
  std::size_t next_part = 1;
  std::map<std::string, std::string> served;
  const fl::mappings::ReadFile read = [&](const std::string& path) -> fl::Result<std::string> {
    if (path == kMappingFile) return parts[0];
    if (auto it = served.find(path); it != served.end()) return it->second;
    if (next_part < parts.size()) return served[path] = parts[next_part++];
    const auto shipped_map = files.concept_maps.find(fs::path(path).filename().string());
    if (shipped_map != files.concept_maps.end()) return served[path] = shipped_map->second;
    return fl::Error{fl::ErrorCode::kNotFound, "no such file", path};
  };

  const auto compiled = fl::mappings::compile_mapping_set(kMappingFile, read);
  FL_FUZZ_CHECK((compiled.set == nullptr) != compiled.diagnostics.empty());
  if (!compiled.set) return 0;
  const fl::mappings::ApplyOptions options{.record_changes = (size % 2) == 1};
  for (const std::string& text : files.cases) {
    rapidjson::Document doc;
    doc.Parse(text.c_str());
    FL_FUZZ_CHECK(doc.IsObject());
    const auto type = doc.FindMember("resourceType");
    if (type == doc.MemberEnd() || !type->value.IsString() ||
        !compiled.set->covers(type->value.GetString())) {
      continue;
    }
    auto report = compiled.set->apply(doc, doc.GetAllocator(), options);
    if (!report) FL_FUZZ_CHECK(report.error().code == fl::ErrorCode::kInvalidInput);
  }
  return 0;
}
