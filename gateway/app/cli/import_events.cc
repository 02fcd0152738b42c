#include "cli/import_events.h"

#include "cli/json_members.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

namespace fl::cli {
namespace {

// Iterative: a line of a million '[' is an error, not a stack overflow.
constexpr unsigned kParseFlags = rapidjson::kParseIterativeFlag;

// "Patient/<id>" when `reference` is a relative reference to a Patient (not a URL, not urn:).
std::string patient_reference(const rapidjson::Value& resource, const char* element) {
  if (!resource.IsObject()) return "";
  auto it = resource.FindMember(element);
  if (it == resource.MemberEnd()) return "";
  std::string ref = member_string(it->value, "reference");
  if (!ref.starts_with("Patient/") || ref.size() == 8) return "";
  if (auto history = ref.find("/_history/"); history != std::string::npos) ref.resize(history);
  return ref;
}

std::string key_of_resource(const rapidjson::Value& resource) {
  const std::string type = member_string(resource, "resourceType");
  const std::string id = member_string(resource, "id");
  if (type == "Patient" && !id.empty()) return "Patient/" + id;
  for (const char* element : {"subject", "patient", "beneficiary"}) {
    if (auto ref = patient_reference(resource, element); !ref.empty()) return ref;
  }
  if (!type.empty() && !id.empty()) return type + "/" + id;
  return "";
}

std::string key_of(const rapidjson::Value& json, std::string_view fallback) {
  if (member_string(json, "resourceType") == "Bundle") {
    auto entries = json.FindMember("entry");
    if (entries != json.MemberEnd() && entries->value.IsArray()) {
      for (const auto& entry : entries->value.GetArray()) {
        if (!entry.IsObject()) continue;
        auto resource = entry.FindMember("resource");
        if (resource == entry.MemberEnd()) continue;
        if (member_string(resource->value, "resourceType") == "Patient") {
          if (auto key = key_of_resource(resource->value); !key.empty()) return key;
        }
      }
    }
  }
  if (auto key = key_of_resource(json); !key.empty()) return key;
  return std::string(fallback);
}

std::size_t resources_in(const rapidjson::Value& json) {
  if (member_string(json, "resourceType") != "Bundle") return 1;
  auto entries = json.FindMember("entry");
  if (entries == json.MemberEnd() || !entries->value.IsArray()) return 0;
  return entries->value.Size();
}

std::vector<std::pair<std::string, std::string>> headers_of(const ImportOptions& options,
                                                            const std::string& at) {
  std::vector<std::pair<std::string, std::string>> headers = {
      {"fhir-source", options.source},
      {"fhir-event", "create"},
      {"content-type", "application/fhir+json"},
      // Kept by a dead letter: whoever reads the dead-letter topic later finds the line too.
      {"fhir-import-origin", at}};
  if (!options.jurisdiction.empty())
    headers.emplace_back("fhir-jurisdiction", options.jurisdiction);
  return headers;
}

// The parsed JSON as an event, or why it cannot be one.
bool add_parsed(const rapidjson::Document& doc, std::string at, std::string value,
                std::string_view fallback_key, const ImportOptions& options, ImportInput& into) {
  if (doc.HasParseError()) {
    into.failures.push_back({std::move(at), "not-json",
                             std::string(rapidjson::GetParseError_En(doc.GetParseError())) +
                                 " (at byte " + std::to_string(doc.GetErrorOffset()) + ")"});
    return false;
  }
  if (!doc.IsObject()) {
    into.failures.push_back({std::move(at), "not-json", "not a JSON object"});
    return false;
  }
  ImportEvent event{.at = at,
                    .key = key_of(doc, fallback_key),
                    .value = std::move(value),
                    .headers = headers_of(options, at),
                    .resources = resources_in(doc)};
  into.events.push_back(std::move(event));
  return true;
}

}  // namespace

void add_ndjson(std::string_view file, std::string_view text, const ImportOptions& options,
                ImportInput& into) {
  std::size_t line_number = 0;
  while (!text.empty()) {
    const auto end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    const std::string at = std::string(file) + ":" + std::to_string(line_number);
    rapidjson::Document doc;
    doc.Parse<kParseFlags>(line.data(), line.size());
    add_parsed(doc, at, std::string(line), at, options, into);
  }
}

void add_json_file(std::string_view file, std::string text, const ImportOptions& options,
                   ImportInput& into) {
  rapidjson::Document doc;
  doc.Parse<kParseFlags>(text.data(), text.size());
  add_parsed(doc, std::string(file), std::move(text), file, options, into);
}

std::string event_key(std::string_view json, std::string_view fallback) {
  rapidjson::Document doc;
  doc.Parse<kParseFlags>(json.data(), json.size());
  if (doc.HasParseError() || !doc.IsObject()) return std::string(fallback);
  return key_of(doc, fallback);
}

}  // namespace fl::cli
