// The FHIRPath parser and evaluator on an arbitrary expression: compile the input, then
// evaluate it, lenient and strict, against fixed resources (the R4 suite's patient-example and
// observation-example, vendored under tests/data/corpora/fhirpath) and without input. Seeds:
// corpus/fhirpath_expression and, at run time, every expression of the official R4 suite.
#include "fhirpath_common.h"

#include <rapidjson/document.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace {

std::vector<std::unique_ptr<rapidjson::Document>> load_resources() {
  std::vector<std::unique_ptr<rapidjson::Document>> out;
  for (const char* name : {"patient-example.json", "observation-example.json"}) {
    auto doc = std::make_unique<rapidjson::Document>();
    const std::string text =
        fl::fuzz::source_file(std::string("tests/data/corpora/fhirpath/inputs-json/") + name);
    doc->Parse(text.c_str());
    FL_FUZZ_CHECK(!doc->HasParseError() && doc->IsObject());
    out.push_back(std::move(doc));
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = fl::fuzz::as_text(data, size);
  auto expression = fl::mappings::fhirpath::compile(text);
  if (!expression) {
    FL_FUZZ_CHECK(!expression.error().where.empty());
    return 0;
  }
  FL_FUZZ_CHECK(expression->text() == text);
  static const auto resources = load_resources();
  for (const auto& doc : resources) {
    fl::fuzz::evaluate_and_format(*expression, *doc, false);
    fl::fuzz::evaluate_and_format(*expression, *doc, true);
  }
  const rapidjson::Value no_input;
  fl::fuzz::evaluate_and_format(*expression, no_input, false);
  return 0;
}
