#include "support/synthea.h"

#include "support/corpus.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace fl::testing {

namespace fs = std::filesystem;

SyntheaCorpus load_synthea(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& f : fs::directory_iterator(dir)) {
    if (f.path().extension() == ".json") files.push_back(f.path());
  }
  std::sort(files.begin(), files.end());
  SyntheaCorpus corpus;
  for (const fs::path& file : files) {
    auto doc = std::make_unique<rapidjson::Document>();
    doc->Parse<rapidjson::kParseFullPrecisionFlag>(read_file(file).c_str());
    if (doc->HasParseError()) {
      std::fprintf(stderr, "cannot parse %s\n", file.c_str());
      std::abort();
    }
    if (!doc->IsObject()) continue;
    auto type = doc->FindMember("resourceType");
    auto entries = doc->FindMember("entry");
    if (type == doc->MemberEnd() || !type->value.IsString() ||
        std::string_view(type->value.GetString()) != "Bundle" || entries == doc->MemberEnd() ||
        !entries->value.IsArray()) {
      continue;
    }
    for (const auto& entry : entries->value.GetArray()) {
      auto resource = entry.FindMember("resource");
      if (resource != entry.MemberEnd()) corpus.resources.push_back(&resource->value);
    }
    corpus.bundles.push_back(std::move(doc));
  }
  return corpus;
}

}  // namespace fl::testing
