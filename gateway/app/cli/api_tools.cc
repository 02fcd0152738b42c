#include "cli/api_tools.h"

#include "fl/base/bytes.h"
#include "fl/gateway/audit_event.h"

#include <rapidjson/document.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <optional>
#include <utility>

namespace fl::cli {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

Error invalid(std::string message, std::string where) {
  return Error{ErrorCode::kInvalidInput, std::move(message), std::move(where)};
}

void put(Writer& w, std::string_view key, std::string_view value) {
  w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

// Deeper bodies are refused before a document is built: the policy and mapping code walk a
// resource recursively, and a 1 MiB body of brackets would exhaust a request thread's stack (the
// pipeline refuses the same at /pipeline/maxJsonDepth, 64 by default).
constexpr int kMaxDepth = 64;

// Counts nesting while the text is read, without building anything, and stops past kMaxDepth.
struct DepthLimit : rapidjson::BaseReaderHandler<rapidjson::UTF8<>, DepthLimit> {
  int depth = 0;
  bool too_deep = false;
  bool enter() {
    too_deep = ++depth > kMaxDepth;
    return !too_deep;
  }
  bool StartObject() { return enter(); }
  bool StartArray() { return enter(); }
  bool EndObject(rapidjson::SizeType) { return --depth, true; }
  bool EndArray(rapidjson::SizeType) { return --depth, true; }
};

Result<rapidjson::Document> parse_object(std::string_view body) {
  rapidjson::MemoryStream bytes(body.data(), body.size());
  DepthLimit limit;
  rapidjson::Reader reader;
  reader.Parse<rapidjson::kParseIterativeFlag>(bytes, limit);
  if (limit.too_deep) {
    return invalid("JSON nesting deeper than " + std::to_string(kMaxDepth), "");
  }
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseFullPrecisionFlag>(body.data(),
                                                                                 body.size());
  if (doc.HasParseError()) return invalid("the body is not JSON", "");
  if (!doc.IsObject()) return invalid("expected a JSON object", "");
  return doc;
}

// An optional string member; kInvalidInput when present and not a string.
Result<std::string> string_member(const rapidjson::Value& object, const char* name) {
  if (!object.HasMember(name)) return std::string();
  const auto& v = object[name];
  if (!v.IsString()) return invalid("expected a string", std::string("/") + name);
  return std::string(v.GetString(), v.GetStringLength());
}

const char* change_name(mappings::Change::Kind kind) {
  switch (kind) {
    case mappings::Change::Kind::kAdd:
      return "add";
    case mappings::Change::Kind::kRemove:
      return "remove";
    case mappings::Change::Kind::kReplace:
      return "replace";
  }
  return "?";
}

// One resource mapped in place, its report written as one element of "resources".
void preview_one(const mappings::MappingSet& set, rapidjson::Value& resource,
                 rapidjson::Document::AllocatorType& allocator, const std::string& where, Writer& w,
                 bool& all_ok) {
  const std::string type = resource.IsObject() && resource.HasMember("resourceType") &&
                                   resource["resourceType"].IsString()
                               ? resource["resourceType"].GetString()
                               : "";
  w.StartObject();
  put(w, "path", where);
  put(w, "resourceType", type);
  w.Key("covered");
  w.Bool(set.covers(type));
  auto report = set.apply(resource, allocator, {.record_changes = true});
  w.Key("ok");
  w.Bool(report.has_value());
  if (!report) {
    all_ok = false;
    put(w, "error", report.error().message);
    put(w, "at", report.error().where);
  } else {
    w.Key("rules");
    w.StartArray();
    for (const auto& rule : report->rules) {
      w.StartObject();
      put(w, "id", rule.rule_id);
      put(w, "action", rule.action);
      w.Key("changes");
      w.StartArray();
      for (const auto& c : rule.changes) {
        w.StartObject();
        put(w, "op", change_name(c.kind));
        put(w, "path", c.path);
        if (c.kind != mappings::Change::Kind::kAdd) put(w, "before", c.before);
        if (c.kind != mappings::Change::Kind::kRemove) put(w, "after", c.after);
        w.EndObject();
      }
      w.EndArray();
      w.EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
}

}  // namespace

Result<std::string> evaluate_policy(const gateway::policy::PolicyEngine& engine,
                                    std::string_view body) {
  auto doc = parse_object(body);
  if (!doc) return doc.error();
  namespace policy = gateway::policy;
  policy::PolicyRequest request;
  auto stage_name = string_member(*doc, "stage");
  if (!stage_name) return stage_name.error();
  const auto stage = policy::stage_from_name(*stage_name);
  if (!stage) return invalid("expected \"ingest\", \"grant\" or \"read\"", "/stage");
  request.stage = *stage;
  if (doc->HasMember("resource")) {
    const auto& r = (*doc)["resource"];
    if (!r.IsObject() || !r.HasMember("resourceType") || !r["resourceType"].IsString()) {
      return invalid("expected a FHIR resource (an object with a resourceType)", "/resource");
    }
    request.resource = &r;
    request.resource_type = r["resourceType"].GetString();
  } else {
    auto type = string_member(*doc, "resourceType");
    if (!type) return type.error();
    request.resource_type = std::move(*type);
  }
  std::string from = "source";
  auto source = string_member(*doc, "source");
  if (!source) return source.error();
  if (!source->empty()) {
    request.source_country = std::move(*source);
  } else {
    policy::JurisdictionFacts facts;
    if (request.resource != nullptr && request.resource_type == "Patient") {
      facts.patient_address_country = policy::patient_address_country(*request.resource);
    }
    for (auto [member, into] : {std::pair{"patientCountry", &facts.recorded_country},
                                std::pair{"header", &facts.header_country},
                                std::pair{"sourceSystem", &facts.source_system}}) {
      auto value = string_member(*doc, member);
      if (!value) return value.error();
      *into = std::move(*value);
    }
    request.source_country = policy::resolve_jurisdiction(engine.bundle(), facts, &from);
  }
  for (auto [member, into] : {std::pair{"destination", &request.destination_country},
                              std::pair{"purpose", &request.purpose}}) {
    auto value = string_member(*doc, member);
    if (!value) return value.error();
    *into = std::move(*value);
  }
  if (doc->HasMember("consent")) {
    if (!(*doc)["consent"].IsBool()) return invalid("expected true or false", "/consent");
    request.consent = (*doc)["consent"].GetBool();
  }

  const auto decision = engine.evaluate(request, true);
  rapidjson::StringBuffer out;
  Writer w(out);
  w.StartObject();
  put(w, "stage", policy::stage_name(request.stage));
  put(w, "effect", policy::effect_name(decision.effect));
  w.Key("rules");
  w.StartArray();
  for (const auto& id : decision.rule_ids) w.String(id.c_str());
  w.EndArray();
  w.Key("byDefault");
  w.Bool(decision.by_default);
  w.Key("audit");
  w.Bool(decision.audit);
  put(w, "patientCountry", request.source_country);
  put(w, "patientCountryFrom", from);
  if (!decision.region.empty()) put(w, "region", decision.region);
  put(w, "obligations", gateway::audit::describe_obligations(decision.obligations));
  put(w, "policyHash", to_0x_hex(decision.policy_hash));
  w.Key("trace");
  w.StartArray();
  for (const auto& t : decision.trace) {
    w.StartObject();
    put(w, "rule", t.rule_id);
    w.Key("applicable");
    w.Bool(t.applicable);
    w.Key("reasons");
    w.StartArray();
    for (const auto& reason : t.reasons) w.String(reason.c_str());
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  put(w, "explanation", policy::explain(engine.bundle(), request, decision));
  w.EndObject();
  return std::string(out.GetString(), out.GetSize());
}

Result<std::string> preview_mapping(const mappings::MappingCatalog& catalog,
                                    std::string_view source, std::string_view body) {
  const mappings::MappingSet* set = catalog.find(source);
  if (set == nullptr) {
    return Error{ErrorCode::kNotFound, "no mapping set is configured for this source",
                 std::string(source)};
  }
  auto doc = parse_object(body);
  if (!doc) return doc.error();
  rapidjson::StringBuffer out;
  Writer w(out);
  w.StartObject();
  w.Key("mappingSet");
  w.StartObject();
  put(w, "id", set->id());
  put(w, "version", set->version());
  put(w, "source", set->source());
  w.EndObject();
  bool ok = true;
  w.Key("resources");
  w.StartArray();
  // The pipeline maps each entry of a Bundle on its own; the preview does the same.
  const bool bundle = doc->HasMember("resourceType") && (*doc)["resourceType"] == "Bundle";
  if (bundle && doc->HasMember("entry") && (*doc)["entry"].IsArray()) {
    auto& entries = (*doc)["entry"];
    for (rapidjson::SizeType i = 0; i < entries.Size(); ++i) {
      if (!entries[i].IsObject() || !entries[i].HasMember("resource")) continue;
      preview_one(*set, entries[i]["resource"], doc->GetAllocator(),
                  "/entry/" + std::to_string(i) + "/resource", w, ok);
    }
  } else {
    preview_one(*set, *doc, doc->GetAllocator(), "", w, ok);
  }
  w.EndArray();
  w.Key("ok");
  w.Bool(ok);
  w.Key("result");
  doc->Accept(w);
  w.EndObject();
  return std::string(out.GetString(), out.GetSize());
}

}  // namespace fl::cli
