// validate_fhir_r4 is the judge of the mapping-set tests ("the results validate against the FHIR
// R4 schema"), so it must be shown both to accept real R4 resources and to refuse broken ones
// with a pointer to the broken element. Each broken case is a real spec example with one change,
// so the error can only come from that change.
#include "support/fhir_schema.h"

#include "support/corpus.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/pointer.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <filesystem>

namespace fl::testing {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> json_files(const std::string& folder) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(corpus_path(folder))) {
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string to_json(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return buffer.GetString();
}

std::string example(const std::string& name) {
  return read_file(corpus_path("fhir-examples/spec-r4/" + name + ".json"));
}

// `json` with the value at `pointer` replaced by `json_value` (created if absent).
std::string with(const std::string& json, const std::string& pointer,
                 const std::string& json_value) {
  rapidjson::Document doc;
  doc.Parse(json.c_str());
  rapidjson::Document value(&doc.GetAllocator());
  value.Parse(json_value.c_str());
  rapidjson::Pointer(pointer.c_str()).Set(doc, value);
  return to_json(doc);
}

std::string without(const std::string& json, const std::string& pointer) {
  rapidjson::Document doc;
  doc.Parse(json.c_str());
  rapidjson::Pointer(pointer.c_str()).Erase(doc);
  return to_json(doc);
}

TEST(ValidateFhirR4, EverySpecExampleAndEverySyntheaBundleAndEntryIsValid) {
  std::vector<std::string> names;
  std::vector<std::string> resources;
  for (const fs::path& file : json_files("fhir-examples/spec-r4")) {
    names.push_back(file.filename().string());
    resources.push_back(read_file(file));
  }
  const std::size_t examples = resources.size();
  for (const fs::path& file : json_files("synthea")) {
    names.push_back(file.filename().string());
    resources.push_back(read_file(file));
    rapidjson::Document bundle;
    bundle.Parse(resources.back().c_str());
    ASSERT_TRUE(bundle.IsObject() && bundle.HasMember("entry")) << file;
    int index = 0;
    for (const auto& entry : bundle["entry"].GetArray()) {
      names.push_back(file.filename().string() + " entry " + std::to_string(index++));
      resources.push_back(to_json(entry["resource"]));
    }
  }

  auto verdicts = validate_fhir_r4(resources);

  ASSERT_GE(examples, 51u);
  ASSERT_GE(resources.size() - examples, 3u + 279u);
  ASSERT_TRUE(verdicts) << verdicts.error().message;
  ASSERT_EQ(verdicts->size(), resources.size());
  for (std::size_t i = 0; i < resources.size(); ++i) {
    EXPECT_TRUE((*verdicts)[i].valid) << names[i] << ": " << to_string((*verdicts)[i]);
  }
}

TEST(ValidateFhirR4, BrokenResourcesAreRefusedWithThePointerOfTheBrokenElement) {
  const std::string patient = example("Patient-example");
  const std::string observation = example("Observation-f001");
  struct Case {
    std::string name;
    std::string json;
    std::string error;  // the one expected error
  };
  const std::vector<Case> cases = {
      {"gender as a number", with(patient, "/gender", "1"),
       R"(/gender: must be equal to one of the allowed values: "male", "female", "other", )"
       R"("unknown")"},
      {"an unknown element", with(patient, "/foo", "true"),
       R"(/foo: unknown element "foo" (must NOT have additional properties))"},
      {"given as a string", with(patient, "/name/0/given", R"("Peter")"),
       "/name/0/given: must be array"},
      {"a quantity value as a string", with(observation, "/valueQuantity/value", R"("6.3")"),
       "/valueQuantity/value: must be number"},
      {"no code", without(observation, "/code"), "/code: must have required property 'code'"},
      {"an unknown resourceType", with(patient, "/resourceType", R"("Patiente")"),
       R"(/resourceType: unknown resourceType "Patiente")"},
      {"a data type as resourceType", with(patient, "/resourceType", R"("HumanName")"),
       R"(/resourceType: unknown resourceType "HumanName")"},
      {"no resourceType", without(patient, "/resourceType"),
       "/resourceType: must have required property 'resourceType'"},
      {"not an object", "[]", "(root): must be object (a FHIR resource)"},
      {"a Bundle entry with a bad element",
       with(R"({"resourceType":"Bundle","type":"collection","entry":[{"resource":{}}]})",
            "/entry/0/resource", with(patient, "/gender", R"("f")")),
       R"(/entry/0/resource/gender: must be equal to one of the allowed values: "male", )"
       R"("female", "other", "unknown")"},
      {"a Bundle entry of an unknown type",
       R"({"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"X"}}]})",
       R"(/entry/0/resource/resourceType: unknown resourceType "X")"},
  };
  std::vector<std::string> batch = {patient, observation};
  for (const Case& c : cases) batch.push_back(c.json);

  auto verdicts = validate_fhir_r4(batch);

  ASSERT_TRUE(verdicts) << verdicts.error().message;
  ASSERT_EQ(verdicts->size(), batch.size());
  EXPECT_TRUE((*verdicts)[0].valid) << to_string((*verdicts)[0]);
  EXPECT_TRUE((*verdicts)[1].valid) << to_string((*verdicts)[1]);
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const SchemaVerdict& verdict = (*verdicts)[i + 2];
    EXPECT_FALSE(verdict.valid) << cases[i].name;
    EXPECT_EQ(verdict.errors, std::vector<std::string>{cases[i].error}) << cases[i].name;
  }
}

// The R4 JSON schema leaves required primitives out of `required`, because `_status` (extensions
// without a value) may stand in for `status`. Tests that need a status must check it themselves.
TEST(ValidateFhirR4, AMissingRequiredPrimitiveIsNotCaughtByTheSchema) {
  const std::string observation = example("Observation-f001");

  auto verdicts = validate_fhir_r4(
      {without(observation, "/status"), without(without(observation, "/status"), "/code")});

  ASSERT_TRUE(verdicts) << verdicts.error().message;
  EXPECT_TRUE((*verdicts)[0].valid) << to_string((*verdicts)[0]);
  EXPECT_EQ((*verdicts)[1].errors,
            std::vector<std::string>{"/code: must have required property 'code'"});
}

TEST(ValidateFhirR4, TextThatIsNotJsonIsRefusedWithItsIndex) {
  auto verdicts = validate_fhir_r4({example("Patient-example"), R"({"resourceType":)"});

  ASSERT_FALSE(verdicts);
  EXPECT_EQ(verdicts.error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(verdicts.error().where, "resources_json[1]");
}

TEST(ValidateFhirR4, AnEmptyBatchHasNoVerdicts) {
  auto verdicts = validate_fhir_r4({});

  ASSERT_TRUE(verdicts) << verdicts.error().message;
  EXPECT_TRUE(verdicts->empty());
}

}  // namespace
}  // namespace fl::testing
