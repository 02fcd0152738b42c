#include "support/fhir_schema.h"

#include "support/child_process.h"
#include "support/corpus.h"
#include "support/services.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace fl::testing {
namespace {

namespace fs = std::filesystem;

constexpr const char* kWhere = "scripts/validate-fhir";

std::string shell_quote(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return quoted + "'";
}

Error unavailable(std::string message) {
  return Error{ErrorCode::kUnavailable, std::move(message), kWhere};
}

// The script's line for one resource:
// {"index":i,"file":"-","valid":b,"errors":[{pointer,message}]}.
Result<SchemaVerdict> parse_verdict(const std::string& line, std::size_t expected_index) {
  rapidjson::Document doc;
  doc.Parse(line.c_str());
  const bool shaped = !doc.HasParseError() && doc.IsObject() && doc.HasMember("index") &&
                      doc["index"].IsUint64() && doc.HasMember("valid") && doc["valid"].IsBool() &&
                      doc.HasMember("errors") && doc["errors"].IsArray();
  if (!shaped || doc["index"].GetUint64() != expected_index) {
    return unavailable("unexpected output line " + std::to_string(expected_index) + ": " + line);
  }
  SchemaVerdict verdict{.valid = doc["valid"].GetBool()};
  for (const auto& error : doc["errors"].GetArray()) {
    if (!error.IsObject() || !error.HasMember("pointer") || !error["pointer"].IsString() ||
        !error.HasMember("message") || !error["message"].IsString()) {
      return unavailable("unexpected error entry in line: " + line);
    }
    const std::string pointer = error["pointer"].GetString();
    verdict.errors.push_back((pointer.empty() ? "(root)" : pointer) + ": " +
                             error["message"].GetString());
  }
  return verdict;
}

}  // namespace

Result<std::vector<SchemaVerdict>> validate_fhir_r4(
    const std::vector<std::string>& resources_json) {
  if (resources_json.empty()) return std::vector<SchemaVerdict>{};

  // Checked here so that a bad element is named by its index (node would only say "stdin is not
  // JSON"), and so that text like `1],[2` cannot change how many resources node sees.
  std::string batch = "[";
  for (std::size_t i = 0; i < resources_json.size(); ++i) {
    rapidjson::Document doc;
    doc.Parse(resources_json[i].c_str(), resources_json[i].size());
    if (doc.HasParseError()) {
      return Error{ErrorCode::kInvalidInput,
                   "resource " + std::to_string(i) +
                       " is not JSON: " + rapidjson::GetParseError_En(doc.GetParseError()) +
                       " at offset " + std::to_string(doc.GetErrorOffset()),
                   "resources_json[" + std::to_string(i) + "]"};
    }
    if (i > 0) batch += ',';
    batch += resources_json[i];
  }
  batch += ']';

  // Missing tools are reported as such, not as a confusing parse failure of empty output.
  if (shell_output("command -v node").empty()) {
    return unavailable("node is not on PATH; scripts/install-deps installs it");
  }
  const fs::path ajv = source_root() / "node_modules" / "ajv" / "package.json";
  if (!fs::exists(ajv)) {
    return unavailable(ajv.parent_path().string() +
                       " is missing; run scripts/install-deps (npm ci from the lock file)");
  }

  // Files rather than pipes in both directions: the batch can be megabytes, and the exit status
  // comes back through shell_output.
  const TempDir dir;
  const std::string input = dir.path() + "/resources.json";
  const std::string output = dir.path() + "/verdicts.jsonl";
  const std::string errors = dir.path() + "/stderr.txt";
  std::ofstream(input, std::ios::binary) << batch;
  const std::string script = (source_root() / "scripts" / "validate-fhir").string();
  const std::string status =
      shell_output("node " + shell_quote(script) + " - < " + shell_quote(input) + " > " +
                   shell_quote(output) + " 2> " + shell_quote(errors) + "; echo $?");
  if (status != "0" && status != "1") {
    return unavailable("exit status " + status + ": " + read_file(errors));
  }

  std::vector<SchemaVerdict> verdicts;
  std::istringstream lines(read_file(output));
  for (std::string line; std::getline(lines, line);) {
    auto verdict = parse_verdict(line, verdicts.size());
    if (!verdict) return verdict.error();
    verdicts.push_back(std::move(*verdict));
  }
  if (verdicts.size() != resources_json.size()) {
    return unavailable("expected " + std::to_string(resources_json.size()) + " verdicts, got " +
                       std::to_string(verdicts.size()));
  }
  return verdicts;
}

std::string to_string(const SchemaVerdict& verdict) {
  if (verdict.valid) return "valid";
  std::string text;
  for (const std::string& error : verdict.errors) {
    if (!text.empty()) text += "; ";
    text += error;
  }
  return text;
}

}  // namespace fl::testing
