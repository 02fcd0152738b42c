// fhir-ledger map check | preview: the tools integration engineers use while writing mapping
// sets. Both compile through the same path as `serve` (fl/gateway/mapping_files.h).
#include "fl/gateway/config.h"
#include "fl/gateway/mapping_files.h"
#include "fl/mappings/mapping_set.h"

#include "cli/args.h"
#include "cli/commands.h"

#include <rapidjson/document.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include <cstdio>
#include <fstream>

namespace fl::cli {
namespace {

int usage(const char* text) {
  std::fprintf(stderr, "%s\n", text);
  return 2;
}

constexpr const char* kCheckUsage =
    "usage: fhir-ledger map check [--dir DIR | --config FILE | mapping.json ...]\n"
    "  compiles every mapping set (default: the config's mappings.dir, else config/mappings)\n"
    "  and lists every problem as file: JSON pointer: message";

constexpr const char* kPreviewUsage =
    "usage: fhir-ledger map preview --mapping mapping.json --in resource.json [--out FILE]\n"
    "  maps the resource (or each entry of a Bundle) and prints what each rule changed";

std::string pretty(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> writer(buffer);
  writer.SetIndent(' ', 2);
  value.Accept(writer);
  return buffer.GetString();
}

const char* change_mark(mappings::Change::Kind kind) {
  switch (kind) {
    case mappings::Change::Kind::kAdd:
      return "+";
    case mappings::Change::Kind::kRemove:
      return "-";
    case mappings::Change::Kind::kReplace:
      return "~";
  }
  return "?";
}

// Maps one resource and prints "rule id (action)" with its changed paths; false on failure.
bool preview_one(const mappings::MappingSet& set, rapidjson::Value& resource,
                 rapidjson::Document::AllocatorType& allocator, const std::string& prefix) {
  const std::string type = resource.IsObject() && resource.HasMember("resourceType") &&
                                   resource["resourceType"].IsString()
                               ? resource["resourceType"].GetString()
                               : "";
  std::printf("%s%s%s\n", prefix.c_str(), type.empty() ? "(no resourceType)" : type.c_str(),
              set.covers(type) ? "" : "  (not one of the set's resourceTypes: unchanged)");
  auto report = set.apply(resource, allocator, {.record_changes = true});
  if (!report) {
    std::printf("  FAILED: %s at %s\n", report.error().message.c_str(),
                report.error().where.empty() ? "(resource)" : report.error().where.c_str());
    return false;
  }
  for (const auto& rule : report->rules) {
    std::printf("  rule %s (%s)\n", rule.rule_id.c_str(), rule.action.c_str());
    for (const auto& c : rule.changes) {
      std::string line = "    " + std::string(change_mark(c.kind)) + " " + c.path;
      switch (c.kind) {
        case mappings::Change::Kind::kAdd:
          line += ": " + c.after;
          break;
        case mappings::Change::Kind::kRemove:
          line += ": " + c.before;
          break;
        case mappings::Change::Kind::kReplace:
          line += ": " + c.before + " -> " + c.after;
          break;
      }
      std::printf("%s\n", line.c_str());
    }
  }
  if (report->rules.empty()) std::printf("  no rule changed anything\n");
  return true;
}

}  // namespace

int map_check(const std::vector<std::string>& argv) {
  auto args = Args::parse(argv, {"dir", "config"}, {});
  if (!args) return usage(kCheckUsage);
  std::vector<mappings::Diagnostic> diagnostics;
  std::size_t sets = 0;
  std::size_t rules = 0;
  if (!args->positional().empty()) {
    for (const std::string& file : args->positional()) {
      auto compiled = mappings::compile_mapping_set(file, gateway::file_reader());
      diagnostics.insert(diagnostics.end(), compiled.diagnostics.begin(),
                         compiled.diagnostics.end());
      if (compiled.set) {
        ++sets;
        rules += compiled.set->rule_count();
      }
    }
  } else {
    std::string dir = args->get("dir");
    if (dir.empty() && args->has("config")) {
      auto config =
          gateway::load_gateway_config(args->get("config"), gateway::process_environment());
      if (!config) {
        std::fprintf(stderr, "%s\n", config.error().message.c_str());
        return 2;
      }
      dir = config->mappings.dir;
    }
    if (dir.empty()) dir = "config/mappings";
    const auto files = gateway::find_mapping_files(dir);
    if (files.empty()) {
      std::fprintf(stderr, "map check: no <source-system>/mapping.json under %s\n", dir.c_str());
      return 2;
    }
    auto compiled = mappings::compile_catalog(files, gateway::file_reader());
    diagnostics = std::move(compiled.diagnostics);
    if (compiled.catalog) {
      sets = compiled.catalog->sets().size();
      for (const auto& [source, set] : compiled.catalog->sets()) rules += set->rule_count();
    }
  }
  for (const auto& d : diagnostics) std::printf("%s\n", mappings::to_string(d).c_str());
  if (!diagnostics.empty()) {
    std::fprintf(stderr, "map check: %zu error(s)\n", diagnostics.size());
    return 1;
  }
  std::fprintf(stderr, "map check: %zu mapping set(s), %zu rule(s): ok\n", sets, rules);
  return 0;
}

int map_preview(const std::vector<std::string>& argv) {
  auto args = Args::parse(argv, {"mapping", "in", "out"}, {});
  if (!args || !args->has("mapping") || !args->has("in") || !args->positional().empty()) {
    return usage(kPreviewUsage);
  }
  auto compiled = mappings::compile_mapping_set(args->get("mapping"), gateway::file_reader());
  if (!compiled.set) {
    for (const auto& d : compiled.diagnostics) {
      std::fprintf(stderr, "%s\n", mappings::to_string(d).c_str());
    }
    std::fprintf(stderr, "map preview: the mapping set does not compile (%zu error(s))\n",
                 compiled.diagnostics.size());
    return 2;
  }
  auto text = gateway::file_reader()(args->get("in"));
  if (!text) {
    std::fprintf(stderr, "map preview: %s\n", text.error().message.c_str());
    return 2;
  }
  rapidjson::Document doc;
  doc.Parse(text->c_str(), text->size());
  if (doc.HasParseError() || !doc.IsObject()) {
    std::fprintf(stderr, "map preview: %s is not a FHIR resource as JSON\n",
                 args->get("in").c_str());
    return 2;
  }
  const auto& set = *compiled.set;
  std::printf("mapping set %s %s (source %s)\n", set.id().c_str(), set.version().c_str(),
              set.source().c_str());
  bool ok = true;
  // The pipeline maps each entry of a Bundle on its own; the preview does the same.
  const bool bundle = doc.HasMember("resourceType") && doc["resourceType"] == "Bundle";
  if (bundle && doc.HasMember("entry") && doc["entry"].IsArray()) {
    auto& entries = doc["entry"];
    for (rapidjson::SizeType i = 0; i < entries.Size(); ++i) {
      if (!entries[i].IsObject() || !entries[i].HasMember("resource")) continue;
      ok = preview_one(set, entries[i]["resource"], doc.GetAllocator(),
                       "/entry/" + std::to_string(i) + "/resource ") &&
           ok;
    }
  } else {
    ok = preview_one(set, doc, doc.GetAllocator(), "");
  }
  const std::string result = pretty(doc);
  if (args->has("out")) {
    std::ofstream(args->get("out")) << result << "\n";
  } else {
    std::printf("\nresult:\n%s\n", result.c_str());
  }
  return ok ? 0 : 1;
}

int map_command(const std::vector<std::string>& argv) {
  if (argv.empty()) return usage("usage: fhir-ledger map check | preview (see fhir-ledger help)");
  const std::vector<std::string> rest(argv.begin() + 1, argv.end());
  if (argv[0] == "check") return map_check(rest);
  if (argv[0] == "preview") return map_preview(rest);
  return usage("usage: fhir-ledger map check | preview (see fhir-ledger help)");
}

}  // namespace fl::cli
