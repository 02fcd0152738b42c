// Real FHIR R4 data nobody here wrote, as published: every official R4 example of the corpus
// (shared/corpora/fhir-examples) and every Synthea transaction Bundle (shared/corpora/synthea) goes
// through the validate stage. Each is accepted, except the files listed below, each refused for
// a reason R4 itself gives.
#include "fl/gateway/stages/validate_stage.h"

#include "support/corpus.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

namespace fl::gateway {
namespace {

namespace fs = std::filesystem;

ports::SourceEvent event_of(const fs::path& file) {
  ports::SourceEvent e;
  e.origin = {.topic = "fhir.events", .partition = 0, .offset = 0};
  e.value = testing::read_file(file);
  e.headers = {{"fhir-source", "corpus"}};
  return e;
}

// The whole corpus when shared/corpora (or FL_CORPORA) is there, else the repository's copies
// (a part of it, so a clean clone still runs the test); the folder used is printed.
fs::path corpus_folder(const std::string& folder) {
  const auto slash = folder.find('/');
  const std::string top = folder.substr(0, slash);
  auto full = testing::full_corpus_dir(top);
  fs::path dir =
      full ? *full / folder.substr(top.size() + (slash == std::string::npos ? 0 : 1)) : fs::path();
  if (!full || !fs::exists(dir)) dir = testing::source_root() / "tests/data/corpora" / folder;
  std::printf("corpus folder: %s\n", dir.string().c_str());
  return dir;
}

bool is_full(const std::string& top) { return testing::full_corpus_dir(top).has_value(); }

std::vector<fs::path> json_files(const std::string& folder) {
  std::vector<fs::path> out;
  const fs::path dir = corpus_folder(folder);
  if (!fs::exists(dir)) return out;
  for (const auto& f : fs::directory_iterator(dir)) {
    if (f.path().extension() == ".json" && f.path().filename() != "index.json") {
      out.push_back(f.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// File -> the start of the reason it is refused for, and why R4 refuses it.
const std::map<std::string, std::string> kRefusedByR4 = {
    // Bundle.type is 1..1 in R4; the file exists to test exactly that.
    {"bundle-with-no-type.json", "Bundle.type is missing"},
    // Entry 6 is a conditional delete (DELETE Patient?identifier=...). R4 lets a server declare
    // conditionalDelete "not-supported" (CapabilityStatement.rest.resource): the gateway holds no
    // searchable copy to resolve criteria against. Its other entries (POST, conditional and
    // If-Match PUTs, an unversioned DELETE, an operation call, GETs) are accepted.
    {"Bundle-bundle-transaction.json", "conditional delete is not supported"},
    // Entry 0's resource has a non-string id (R4: Resource.id is of type id, a JSON string);
    // corpora/fhir-examples/SOURCES.md lists the file as invalid R4.
    {"r4-caredove-bundle.json", "id must be a string"},
};

TEST(R4Corpus, EveryOfficialExampleIsAcceptedOrRefusedOnlyForAReasonR4Gives) {
  const ValidateStage stage({});
  std::size_t accepted = 0;
  std::map<std::string, std::string> refused;
  for (const std::string folder :
       {"fhir-examples/spec-r4", "fhir-examples/consent", "fhir-examples/fhir-test-cases-r4"}) {
    for (const auto& file : json_files(folder)) {
      auto v = stage.run(event_of(file));
      if (v) {
        ++accepted;
        // A Bundle whose entries hold resources yields something to store (a batch of GETs
        // holds none).
        bool holds_resources = false;
        if (v->document->HasMember("entry") && (*v->document)["entry"].IsArray()) {
          for (const auto& e : (*v->document)["entry"].GetArray()) {
            holds_resources = holds_resources || e.HasMember("resource");
          }
        }
        EXPECT_FALSE(v->resources.empty() && holds_resources)
            << file.filename() << ": a Bundle with resources yielded nothing to store";
        continue;
      }
      refused[file.filename().string()] = v.error().message + " at " + v.error().where;
    }
  }
  for (const auto& [file, why] : refused) {
    auto expected = kRefusedByR4.find(file);
    ASSERT_NE(expected, kRefusedByR4.end()) << file << " refused: " << why;
    EXPECT_TRUE(why.starts_with(expected->second)) << file << ": " << why;
  }
  if (is_full("fhir-examples")) {
    EXPECT_EQ(refused.size(), kRefusedByR4.size());
    EXPECT_EQ(accepted + refused.size(), 431u);  // 417 + 10 + 4 files
  } else {
    EXPECT_EQ(accepted, 61u);  // the repository's copies (51 + 10 Consents): no refusal among them
  }
}

TEST(R4Corpus, EverySyntheaBundleAsGeneratedYieldsOneResourcePerEntryWithItsPatient) {
  const ValidateStage stage({});
  std::size_t resources = 0;
  for (const auto& file : json_files("synthea")) {
    const auto event = event_of(file);
    rapidjson::Document raw;
    raw.Parse(event.value.c_str());
    ASSERT_FALSE(raw.HasParseError()) << file;

    auto v = stage.run(event);

    ASSERT_TRUE(v) << file.filename() << ": " << v.error().message << " at " << v.error().where;
    ASSERT_EQ(v->resources.size(), raw["entry"].Size()) << file.filename();
    std::set<std::string> patients;
    for (const auto& r : v->resources) {
      if (r.type == "Patient") patients.insert(r.reference());
    }
    ASSERT_EQ(patients.size(), 1u) << file.filename();
    for (const auto& r : v->resources) {
      // Organizations and Practitioners are about no patient; everything else names the one.
      if (r.type == "Organization" || r.type == "Practitioner") continue;
      EXPECT_EQ(r.patient_reference, *patients.begin()) << file.filename() << " " << r.type;
    }
    resources += v->resources.size();
  }
  // synthea/SOURCES.md counts 3,404 entries in the 20 bundles; the repository keeps 3 of them.
  EXPECT_EQ(resources, is_full("synthea") ? 3404u : 279u);
}

}  // namespace
}  // namespace fl::gateway
