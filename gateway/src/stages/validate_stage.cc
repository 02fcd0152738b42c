#include "fl/gateway/stages/validate_stage.h"

#include <rapidjson/error/en.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <optional>
#include <utility>

namespace fl::gateway {
namespace {

using rapidjson::Value;

constexpr std::string_view kBundleTypes[] = {"transaction",
                                             "batch",
                                             "collection",
                                             "message",
                                             "history",
                                             "searchset",
                                             "subscription-notification",
                                             "document",
                                             "transaction-response",
                                             "batch-response"};

Error invalid(std::string message, std::string where) {
  return Error{ErrorCode::kInvalidInput, std::move(message), std::move(where)};
}

// Depth of the deepest container, with an explicit stack so a hostile document cannot
// overflow ours.
int nesting_depth(const Value& root) {
  std::vector<std::pair<const Value*, int>> stack{{&root, 1}};
  int deepest = 0;
  while (!stack.empty()) {
    auto [v, depth] = stack.back();
    stack.pop_back();
    if (!v->IsObject() && !v->IsArray()) continue;
    deepest = std::max(deepest, depth);
    if (v->IsObject()) {
      for (const auto& m : v->GetObject()) stack.emplace_back(&m.value, depth + 1);
    } else {
      for (const auto& e : v->GetArray()) stack.emplace_back(&e, depth + 1);
    }
  }
  return deepest;
}

// The last segment of a fullUrl such as "urn:uuid:6a5c..." or "https://x/Patient/123".
std::string id_from_full_url(std::string_view full_url) {
  const auto cut = full_url.find_last_of(":/");
  return std::string(cut == std::string_view::npos ? full_url : full_url.substr(cut + 1));
}

// "Patient/<id>" from a reference such as "Patient/1", "Patient/1/_history/2" or
// "https://x/fhir/Patient/1"; empty for anything else (contained, other types, urn:uuid).
std::string patient_from_reference(std::string_view reference) {
  const auto at = reference.rfind("Patient/");
  if (at == std::string_view::npos || (at > 0 && reference[at - 1] != '/')) return {};
  std::string_view id = reference.substr(at + 8);
  id = id.substr(0, id.find('/'));
  return is_valid_fhir_id(id) ? "Patient/" + std::string(id) : std::string();
}

// The raw reference text of the resource's subject, patient or beneficiary, if any.
std::string_view subject_reference(const Value& json) {
  for (const char* name : {"subject", "patient", "beneficiary"}) {
    auto member = json.FindMember(name);
    if (member == json.MemberEnd() || !member->value.IsObject()) continue;
    auto ref = member->value.FindMember("reference");
    if (ref != member->value.MemberEnd() && ref->value.IsString()) {
      return {ref->value.GetString(), ref->value.GetStringLength()};
    }
  }
  return {};
}

// The version an If-Match header names: W/"3" or "3" -> 3.
std::optional<std::uint64_t> if_match_version(std::string_view text) {
  if (text.starts_with("W/")) text.remove_prefix(2);
  if (text.size() < 3 || text.front() != '"' || text.back() != '"') return std::nullopt;
  text = text.substr(1, text.size() - 2);
  std::uint64_t version = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), version);
  if (ec != std::errc() || end != text.data() + text.size() || version == 0) return std::nullopt;
  return version;
}

// A DELETE entry: request.url names Type/id, request.ifMatch the version being deleted.
Result<ResourceView> check_delete(const Value& request, const std::string& pointer) {
  auto url = request.FindMember("url");
  if (url == request.MemberEnd() || !url->value.IsString()) {
    return invalid("a DELETE entry needs request.url Type/id", pointer + "/request/url");
  }
  std::string_view text(url->value.GetString(), url->value.GetStringLength());
  const auto slash = text.find('/');
  ResourceView view;
  view.type = std::string(text.substr(0, slash));
  view.id = slash == std::string_view::npos ? "" : std::string(text.substr(slash + 1));
  if (!is_r4_resource_type(view.type) || !is_valid_fhir_id(view.id)) {
    return invalid("request.url of a DELETE must be Type/id (conditional deletes are not accepted)",
                   pointer + "/request/url");
  }
  auto if_match = request.FindMember("ifMatch");
  auto deleted = if_match != request.MemberEnd() && if_match->value.IsString()
                     ? if_match_version(if_match->value.GetString())
                     : std::nullopt;
  // The tombstone is a new version of the resource, so the ledger needs the one it follows.
  if (!deleted) {
    return invalid("a DELETE entry needs request.ifMatch W/\"<version>\" of the deleted version",
                   pointer + "/request/ifMatch");
  }
  view.version = *deleted + 1;
  view.deleted = true;
  if (view.type == "Patient") view.patient_reference = view.reference();
  return view;
}

Result<ResourceView> check_resource(Value& json, const std::string& pointer,
                                    std::string_view fallback_id) {
  if (!json.IsObject()) return invalid("a resource must be a JSON object", pointer);
  auto type_it = json.FindMember("resourceType");
  if (type_it == json.MemberEnd() || !type_it->value.IsString()) {
    return invalid("resourceType is missing or not a string", pointer + "/resourceType");
  }
  ResourceView view;
  view.type.assign(type_it->value.GetString(), type_it->value.GetStringLength());
  // The type name is schema vocabulary, not patient data, so it may appear in the reason.
  if (!is_r4_resource_type(view.type)) {
    std::string shown = view.type.substr(0, 64);
    return invalid("unknown resourceType '" + shown + "': not a FHIR R4 resource type",
                   pointer + "/resourceType");
  }
  auto id_it = json.FindMember("id");
  if (id_it != json.MemberEnd()) {
    if (!id_it->value.IsString()) return invalid("id must be a string", pointer + "/id");
    view.id.assign(id_it->value.GetString(), id_it->value.GetStringLength());
  } else {
    view.id = std::string(fallback_id);
  }
  if (view.id.empty()) return invalid("id is missing", pointer + "/id");
  if (!is_valid_fhir_id(view.id)) {
    return invalid("id does not match [A-Za-z0-9-.]{1,64}", pointer + "/id");
  }

  auto meta = json.FindMember("meta");
  if (meta != json.MemberEnd()) {
    if (!meta->value.IsObject()) return invalid("meta must be an object", pointer + "/meta");
    auto vid = meta->value.FindMember("versionId");
    if (vid != meta->value.MemberEnd()) {
      if (!vid->value.IsString()) {
        return invalid("meta.versionId must be a string", pointer + "/meta/versionId");
      }
      std::string_view text(vid->value.GetString(), vid->value.GetStringLength());
      std::uint64_t version = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), version);
      // The ledger orders versions numerically; servers that use opaque version ids are
      // mapped by a later issue (the mapping stage can rewrite them).
      if (ec != std::errc() || end != text.data() + text.size() || version == 0) {
        return invalid("meta.versionId must be a positive integer", pointer + "/meta/versionId");
      }
      view.version = version;
    }
  }
  if (view.type == "Patient") {
    view.patient_reference = view.reference();
  } else {
    view.patient_reference = patient_from_reference(subject_reference(json));
  }
  view.json = &json;
  return view;
}

}  // namespace

bool is_valid_fhir_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

Result<ValidatedEvent> ValidateStage::run(const ports::SourceEvent& event) const {
  if (event.value.size() > limits_.max_event_bytes) {
    return invalid("event of " + std::to_string(event.value.size()) +
                       " bytes exceeds the limit of " + std::to_string(limits_.max_event_bytes),
                   "");
  }
  ValidatedEvent out;
  out.origin = event.origin;
  out.source_system = event.header("fhir-source");
  out.document = std::make_unique<rapidjson::Document>();
  auto& doc = *out.document;
  // Iterative parsing: nesting depth cannot exhaust the stack before the limit is checked.
  doc.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag |
            rapidjson::kParseFullPrecisionFlag>(event.value.data(), event.value.size());
  if (doc.HasParseError()) {
    return invalid(std::string("invalid JSON: ") +
                       rapidjson::GetParseError_En(doc.GetParseError()) + " (offset " +
                       std::to_string(doc.GetErrorOffset()) + ")",
                   "");
  }
  if (nesting_depth(doc) > limits_.max_json_depth) {
    return invalid("JSON nesting deeper than " + std::to_string(limits_.max_json_depth), "");
  }

  auto root = check_resource(doc, "", "");
  if (!root) return root.error();
  if (root->type != "Bundle") {
    out.resources.push_back(std::move(*root));
    return out;
  }

  auto type = doc.FindMember("type");
  if (type == doc.MemberEnd() || !type->value.IsString() ||
      std::find(std::begin(kBundleTypes), std::end(kBundleTypes),
                std::string_view(type->value.GetString())) == std::end(kBundleTypes)) {
    return invalid("Bundle.type is missing or not a known bundle type", "/type");
  }
  auto entries = doc.FindMember("entry");
  if (entries == doc.MemberEnd()) return out;  // an empty Bundle holds nothing to anchor
  if (!entries->value.IsArray()) return invalid("Bundle.entry must be an array", "/entry");
  if (entries->value.Size() > limits_.max_bundle_entries) {
    return invalid(
        "Bundle has more than " + std::to_string(limits_.max_bundle_entries) + " entries",
        "/entry");
  }
  std::map<std::string, std::string, std::less<>> patients_by_full_url;
  for (rapidjson::SizeType i = 0; i < entries->value.Size(); ++i) {
    Value& entry = entries->value[i];
    const std::string pointer = "/entry/" + std::to_string(i);
    if (!entry.IsObject()) return invalid("Bundle entry must be an object", pointer);
    auto request = entry.FindMember("request");
    if (request != entry.MemberEnd() && request->value.IsObject()) {
      auto method = request->value.FindMember("method");
      if (method != request->value.MemberEnd() && method->value.IsString() &&
          std::string_view(method->value.GetString()) == "DELETE") {
        auto view = check_delete(request->value, pointer);
        if (!view) return view.error();
        out.resources.push_back(std::move(*view));
        continue;
      }
    }
    auto resource = entry.FindMember("resource");
    if (resource == entry.MemberEnd()) continue;  // e.g. a GET entry: nothing to store
    std::string fallback_id;
    auto url = entry.FindMember("fullUrl");
    if (url != entry.MemberEnd() && url->value.IsString()) {
      fallback_id = id_from_full_url(url->value.GetString());
    }
    auto view = check_resource(resource->value, pointer + "/resource", fallback_id);
    if (!view) return view.error();
    if (!resource->value.HasMember("id")) {
      // The id came from fullUrl; write it in, so what is stored names itself.
      resource->value.AddMember("id", Value(view->id.c_str(), doc.GetAllocator()),
                                doc.GetAllocator());
    }
    if (view->type == "Bundle") return invalid("nested Bundles are not accepted", pointer);
    if (view->type == "Patient" && url != entry.MemberEnd() && url->value.IsString()) {
      patients_by_full_url[url->value.GetString()] = view->reference();
    }
    out.resources.push_back(std::move(*view));
  }
  // Transaction bundles name their patient by the entry's fullUrl (urn:uuid:...).
  for (ResourceView& view : out.resources) {
    if (!view.patient_reference.empty() || view.json == nullptr) continue;
    auto found = patients_by_full_url.find(std::string(subject_reference(*view.json)));
    if (found != patients_by_full_url.end()) view.patient_reference = found->second;
  }
  return out;
}

}  // namespace fl::gateway
