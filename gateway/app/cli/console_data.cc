#include "cli/console_data.h"

#include "fl/adapters/kafka/dead_letter_message.h"
#include "fl/base/bytes.h"
#include "fl/base/json_string.h"
#include "fl/gateway/audit_event.h"
#include "fl/gateway/crypto/topic_sealer.h"
#include "fl/gateway/mapping_files.h"
#include "fl/gateway/policy/policy_compiler.h"
#include "fl/gateway/policy/policy_tests.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <map>
#include <vector>

namespace fl::cli {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void put(Writer& w, const char* key, std::string_view value) {
  const std::string valid = valid_utf8(value);
  w.Key(key);
  w.String(valid.c_str(), static_cast<rapidjson::SizeType>(valid.size()));
}

// The rule a JSON pointer points into ("/rules/3/match" -> 3), or -1.
int rule_index(std::string_view pointer) {
  constexpr std::string_view kRules = "/rules/";
  if (!pointer.starts_with(kRules)) return -1;
  pointer.remove_prefix(kRules.size());
  int index = -1;
  const auto [end, ec] = std::from_chars(pointer.data(), pointer.data() + pointer.size(), index);
  if (ec != std::errc() || (end != pointer.data() + pointer.size() && *end != '/')) return -1;
  return index;
}

void put_problems(Writer& w, const std::vector<mappings::Diagnostic>& diagnostics) {
  w.Key("problems");
  w.StartArray();
  for (const auto& d : diagnostics) {
    w.StartObject();
    put(w, "file", d.file);
    put(w, "pointer", d.pointer);
    put(w, "message", d.message);
    w.Key("rule");
    w.Int(rule_index(d.pointer));
    w.EndObject();
  }
  w.EndArray();
}

// A member of the bundle's JSON as written, or null.
void put_raw(Writer& w, const char* key, const rapidjson::Document& doc, const char* member) {
  w.Key(key);
  if (doc.IsObject() && doc.HasMember(member)) {
    doc[member].Accept(w);
  } else {
    w.Null();
  }
}

}  // namespace

std::string describe_policy_bundle(const std::string& role, const std::string& file,
                                   const std::string& enforced_hash) {
  // Compiling, showing and testing the bundle each want its file: read once per answer.
  std::map<std::string, Result<std::string>> files;
  const mappings::ReadFile read = [&files, disk = gateway::file_reader()](const std::string& path) {
    auto it = files.find(path);
    if (it == files.end()) it = files.emplace(path, disk(path)).first;
    return it->second;
  };
  const auto compiled = gateway::policy::compile_policy_bundle(file, read);
  rapidjson::Document doc;
  if (auto text = read(file)) doc.Parse(text->c_str(), text->size());

  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  put(w, "role", role);
  put(w, "file", file);
  put(w, "enforcedHash", enforced_hash);
  w.Key("compiles");
  w.Bool(compiled.bundle != nullptr);
  put(w, "policyHash", compiled.bundle ? to_0x_hex(compiled.bundle->hash) : "");
  for (const char* member : {"id", "title", "combining", "default", "defaultRegion"}) {
    put_raw(w, member, doc, member);
  }
  put_raw(w, "jurisdictions", doc, "jurisdictions");
  put_raw(w, "rules", doc, "rules");
  put_problems(w, compiled.diagnostics);

  const auto tests = gateway::policy::run_policy_tests(file, read);
  w.Key("tests");
  w.StartObject();
  w.Key("passed");
  w.Uint64(tests.results.size() - tests.failed());
  w.Key("failed");
  w.Uint64(tests.failed());
  w.Key("cases");
  w.StartArray();
  for (const auto& r : tests.results) {
    w.StartObject();
    put(w, "name", r.name);
    put(w, "pointer", r.pointer);
    w.Key("passed");
    w.Bool(r.passed);
    put(w, "expected", r.expected);
    put(w, "actual", r.actual);
    w.EndObject();
  }
  w.EndArray();
  put_problems(w, tests.diagnostics);
  w.EndObject();
  w.EndObject();
  return buffer.GetString();
}

ConsoleData::ConsoleData(ConsoleParts parts)
    : parts_(std::move(parts)), audit_(parts_.read_audit) {}

std::string ConsoleData::about() const {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  put(w, "contract", parts_.contract);
  put(w, "rpcUrl", parts_.rpc_url);
  put(w, "defaultSource", parts_.default_source);
  put(w, "deadLetterTopic", parts_.dead_letter_topic);
  put(w, "auditTopic", parts_.audit_topic);
  w.EndObject();
  return buffer.GetString();
}

std::string ConsoleData::policies() const {
  std::string out = "{\"bundles\":[";
  if (!parts_.bundle_file.empty()) {
    out += describe_policy_bundle("active", parts_.bundle_file, parts_.enforced_hash);
  }
  if (!parts_.shadow_file.empty()) {
    out += ",";
    out += describe_policy_bundle("shadow", parts_.shadow_file, parts_.enforced_shadow_hash);
  }
  return out + "]}";
}

std::string ConsoleData::mappings() const {
  const auto catalog = parts_.mappings ? parts_.mappings() : nullptr;
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  w.Key("sets");
  w.StartArray();
  if (catalog) {
    for (const auto& [source, set] : catalog->sets()) {
      // The hash anchored beside each pointer the set mapped.
      const auto hash = parts_.mapping_hash ? parts_.mapping_hash(source) : std::nullopt;
      w.StartObject();
      put(w, "source", source);
      put(w, "id", set->id());
      put(w, "version", set->version());
      put(w, "file", set->file());
      put(w, "mappingHash", hash ? to_0x_hex(*hash) : "");
      w.Key("ruleCount");
      w.Uint64(set->rule_count());
      w.Key("resourceTypes");
      w.StartArray();
      for (const auto& t : set->resource_types()) {
        w.String(t.c_str(), static_cast<rapidjson::SizeType>(t.size()));
      }
      w.EndArray();
      w.EndObject();
    }
  }
  w.EndArray();
  put(w, "defaultSource", parts_.default_source);
  w.EndObject();
  return buffer.GetString();
}

Result<std::string> ConsoleData::recent_dead_letters() const {
  constexpr std::int64_t kPerPartition = 50;
  std::vector<ports::SourceEvent> letters;
  if (parts_.read_recent_dead_letters) {
    auto read = parts_.read_recent_dead_letters(kPerPartition);
    if (!read) return read.error();
    letters = std::move(*read);
  }
  std::sort(letters.begin(), letters.end(), [](const auto& a, const auto& b) {
    return a.origin.offset != b.origin.offset ? a.origin.offset > b.origin.offset
                                              : a.origin.partition < b.origin.partition;
  });
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  put(w, "topic", parts_.dead_letter_topic);
  w.Key("letters");
  w.StartArray();
  for (const auto& m : letters) {
    // Only the headers the gateway wrote in clear: the event itself stays sealed.
    w.StartObject();
    w.Key("partition");
    w.Int(m.origin.partition);
    w.Key("offset");
    w.Int64(m.origin.offset);
    put(w, "errorCode", m.header(kafka::kErrorCodeHeader));
    put(w, "reason", m.header(kafka::kErrorDetailHeader));
    put(w, "originTopic", m.header(kafka::kOriginTopicHeader));
    put(w, "originPartition", m.header(kafka::kOriginPartitionHeader));
    put(w, "originOffset", m.header(kafka::kOriginOffsetHeader));
    put(w, "originalBytes", m.header(kafka::kOriginalBytesHeader));
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::string(buffer.GetString());
}

Result<std::string> ConsoleData::dead_letter(std::int32_t partition, std::int64_t offset,
                                             const std::string& who) const {
  if (!parts_.read_dead_letter || !parts_.keys || !parts_.record_audit) {
    return Error{ErrorCode::kNotFound, "this gateway has no dead-letter topic", ""};
  }
  auto message = parts_.read_dead_letter(partition, offset);
  if (!message) return message.error();
  auto opened = gateway::crypto::open_sealed(*parts_.keys, kafka::kDeadLetterContext,
                                             as_bytes(message->value));
  if (!opened) return opened.error();
  auto original = kafka::unpack_original(as_chars(*opened));
  if (!original) return original.error();
  // PHI is shown only once the audit topic holds who opened it.
  const std::string place =
      parts_.dead_letter_topic + "[" + std::to_string(partition) + "]@" + std::to_string(offset);
  gateway::audit::Common common;
  common.recorded =
      gateway::audit::rfc3339_utc(std::chrono::duration_cast<std::chrono::seconds>(
                                      std::chrono::system_clock::now().time_since_epoch())
                                      .count());
  common.gateway = parts_.gateway_name;
  common.agents.push_back({.address = "", .jurisdiction = "", .display = who, .requestor = true});
  const std::string sha = message->header(kafka::kOriginalSha256Header);
  if (auto audited = parts_.record_audit(
          {.key = place, .json = gateway::audit::dead_letter_read_event(common, place, sha)});
      !audited) {
    return audited.error();
  }

  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  put(w, "topic", parts_.dead_letter_topic);
  w.Key("partition");
  w.Int(partition);
  w.Key("offset");
  w.Int64(offset);
  put(w, "errorCode", message->header(kafka::kErrorCodeHeader));
  put(w, "reason", message->header(kafka::kErrorDetailHeader));
  put(w, "originTopic", message->header(kafka::kOriginTopicHeader));
  put(w, "originPartition", message->header(kafka::kOriginPartitionHeader));
  put(w, "originOffset", message->header(kafka::kOriginOffsetHeader));
  w.Key("truncated");
  w.Bool(!message->header(kafka::kOriginalTruncatedHeader).empty());
  // The source system whose mapping set applies (the header the pipeline reads it from).
  std::string source;
  for (const auto& [name, value] : original->headers) {
    if (name == "fhir-source") source = value;
  }
  put(w, "source", source);
  w.Key("headers");
  w.StartArray();
  for (const auto& [name, value] : original->headers) {
    w.StartArray();
    const std::string n = valid_utf8(name);
    const std::string v = valid_utf8(value);
    w.String(n.c_str(), static_cast<rapidjson::SizeType>(n.size()));
    w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
    w.EndArray();
  }
  w.EndArray();
  // The value as received; bytes that are not UTF-8 in hex, so nothing is lost to the JSON.
  if (is_valid_utf8(original->value)) {
    put(w, "value", original->value);
  } else {
    put(w, "valueHex", to_hex(as_bytes(original->value)));
  }
  w.EndObject();
  return std::string(buffer.GetString());
}

std::string ConsoleData::auditor_commands(const gateway::Verification& v) const {
  // Every value below is 0x-hex, a number or the configured URL: nothing to quote for a shell
  // but the signatures and the URL.
  const std::string rpc = "--rpc-url '" + parts_.rpc_url + "'";
  std::vector<std::array<std::string, 3>> commands;  // what it checks, command, expected answer
  commands.push_back({"the transaction that anchored it was mined with success",
                      "cast receipt " + rpc + " " + v.tx_hash + " status", "true"});
  if (v.mode == "merkle") {
    // The contract's Root record: the block that anchored it and its leaf count.
    commands.push_back({"the Merkle root holding it is anchored, over this many leaves",
                        "cast call " + rpc + " " + parts_.contract +
                            " 'roots(bytes32)(uint64,uint32)' " + v.merkle_root,
                        std::to_string(v.block) + " " + std::to_string(v.merkle_leaves)});
  } else {
    commands.push_back({"the contract holds this content hash for this version",
                        "cast call " + rpc + " " + parts_.contract +
                            " 'contentHashOf(bytes32,uint64)(bytes32)' " + v.resource_key + " " +
                            std::to_string(v.version),
                        v.content_hash});
  }
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartArray();
  for (const auto& [what, command, expect] : commands) {
    w.StartObject();
    put(w, "what", what);
    put(w, "command", command);
    put(w, "expect", expect);
    w.EndObject();
  }
  w.EndArray();
  return buffer.GetString();
}

}  // namespace fl::cli
