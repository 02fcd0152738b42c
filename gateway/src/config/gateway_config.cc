#include "fl/base/assert.h"
#include "fl/base/bytes.h"
#include "fl/gateway/config.h"
#include "fl/gateway/stages/validate_stage.h"

#include "config/gateway_schema.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/pointer.h>
#include <rapidjson/schema.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

extern char** environ;

namespace fl::gateway {
namespace {

namespace fs = std::filesystem;
using rapidjson::Document;
using rapidjson::Pointer;
using rapidjson::Value;

Error config_error(const std::string& file, const std::string& pointer, const std::string& what) {
  return Error{ErrorCode::kInvalidInput,
               file + ": " + (pointer.empty() ? "/" : pointer) + ": " + what, file + "#" + pointer};
}

std::string to_json(const Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  std::string text = buffer.GetString();
  if (text.size() > 80) text = text.substr(0, 77) + "...";
  return text;
}

std::string pointer_string(const Pointer& pointer) {
  rapidjson::StringBuffer buffer;
  pointer.Stringify(buffer);
  return buffer.GetString();
}

// A region's part of an environment variable name: upper case, and anything but a letter or a
// digit as '_' (region "eu-west" -> FL_REDIS_EU_WEST_HOST).
std::string upper_env_name(std::string_view region) {
  std::string out;
  for (char c : region) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back(std::isalnum(u) != 0 ? static_cast<char>(std::toupper(u)) : '_');
  }
  return out;
}

// "8080" becomes the integer 8080, anything else stays a string, so that a bad value in the
// environment is reported by the schema like a bad value in the file.
void set_scalar(Document& doc, const std::string& pointer, const std::string& text, bool numeric) {
  auto& alloc = doc.GetAllocator();
  const bool digits = !text.empty() && text.size() < 10 &&
                      std::all_of(text.begin(), text.end(), [](char c) { return std::isdigit(c); });
  if (numeric && digits) {
    Pointer(pointer.c_str()).Set(doc, std::stoi(text), alloc);
  } else {
    Pointer(pointer.c_str()).Set(doc, Value(text.c_str(), alloc), alloc);
  }
}

// Endpoints come from the environment in every deployment that is not a laptop; the names are
// listed in config/README.md.
void apply_overrides(Document& doc, const Environment& env) {
  auto get = [&](const std::string& name) -> const std::string* {
    auto it = env.find(name);
    return it == env.end() || it->second.empty() ? nullptr : &it->second;
  };
  const std::pair<const char*, const char*> strings[] = {
      {"FL_KAFKA_BOOTSTRAP_SERVERS", "/kafka/bootstrapServers"},
      {"FL_KAFKA_GROUP_ID", "/kafka/groupId"},
      {"FL_KAFKA_AUDIT_TOPIC", "/kafka/auditTopic"},
      {"FL_LEDGER_RPC_URL", "/ledger/rpcUrl"},
      {"FL_LEDGER_CONTRACT", "/ledger/contract"},
      {"FL_KEYRING_FILE", "/keys/keyringFile"},
      {"FL_MAPPINGS_DIR", "/mappings/dir"},
      {"FL_POLICY_BUNDLE", "/policy/bundle"},
      {"FL_POLICY_SHADOW", "/policy/shadow"},
  };
  for (const auto& [name, pointer] : strings) {
    if (const auto* v = get(name)) set_scalar(doc, pointer, *v, false);
  }
  if (const auto* v = get("FL_LEDGER_CONFIRMATIONS")) {
    set_scalar(doc, "/ledger/confirmations", *v, true);
  }
  if (const auto* v = get("FL_HEALTH_PORT")) set_scalar(doc, "/service/healthPort", *v, true);
  if (const auto* v = get("FL_API_PORT")) set_scalar(doc, "/api/port", *v, true);
  if (const auto* v = get("FL_API_AUDIENCE")) set_scalar(doc, "/api/audience", *v, false);
  // One verification key from the environment (the demo's generated dev key) replaces the
  // file's list: FL_API_KEY_FILE, with FL_API_KEY_ID (default "dev") and FL_API_KEY_ALG
  // (default ES256).
  if (const auto* file = get("FL_API_KEY_FILE")) {
    auto& alloc = doc.GetAllocator();
    Value key(rapidjson::kObjectType);
    const auto* kid = get("FL_API_KEY_ID");
    const auto* alg = get("FL_API_KEY_ALG");
    key.AddMember("kid", Value(kid ? kid->c_str() : "dev", alloc), alloc);
    key.AddMember("alg", Value(alg ? alg->c_str() : "ES256", alloc), alloc);
    key.AddMember("publicKeyFile", Value(file->c_str(), alloc), alloc);
    Value keys(rapidjson::kArrayType);
    keys.PushBack(key, alloc);
    Pointer("/api/keys").Set(doc, keys, alloc);
  }

  std::string default_region = "default";
  if (const Value* r = Pointer("/pipeline/defaultRegion").Get(doc); r && r->IsString()) {
    default_region = r->GetString();
  }
  const Value* regions = Pointer("/redis/regions").Get(doc);
  std::vector<std::string> names;
  if (regions != nullptr && regions->IsObject()) {
    for (const auto& m : regions->GetObject()) names.emplace_back(m.name.GetString());
  }
  for (const auto& region : names) {
    const std::string base = "/redis/regions/" + region;
    const std::string env_base = "FL_REDIS_" + upper_env_name(region);
    if (const auto* v = get(env_base + "_HOST")) set_scalar(doc, base + "/host", *v, false);
    if (const auto* v = get(env_base + "_PORT")) set_scalar(doc, base + "/port", *v, true);
    // The ACL user, like the password: the region's own variable, else the one for all regions.
    if (const auto* v = get(env_base + "_USERNAME")) {
      set_scalar(doc, base + "/username", *v, false);
    } else if (const auto* all = get("FL_REDIS_USERNAME")) {
      set_scalar(doc, base + "/username", *all, false);
    }
    if (region != default_region) continue;
    if (const auto* v = get("FL_REDIS_HOST")) set_scalar(doc, base + "/host", *v, false);
    if (const auto* v = get("FL_REDIS_PORT")) set_scalar(doc, base + "/port", *v, true);
  }
}

std::string describe_expectation(const Value& schema, const std::string& keyword,
                                 const Value* actual) {
  std::ostringstream out;
  if (keyword == "type" && schema.HasMember("type")) {
    out << "expected " << (schema["type"].IsString() ? schema["type"].GetString() : "other type");
    if (schema.HasMember("minimum") && schema.HasMember("maximum")) {
      out << " " << schema["minimum"].GetInt64() << ".." << schema["maximum"].GetInt64();
    }
  } else if (keyword == "minimum" || keyword == "maximum") {
    out << "expected " << (schema.HasMember("type") ? schema["type"].GetString() : "number");
    if (schema.HasMember("minimum")) out << " >= " << schema["minimum"].GetInt64();
    if (schema.HasMember("maximum")) out << " <= " << schema["maximum"].GetInt64();
  } else if (keyword == "enum") {
    out << "expected one of " << to_json(schema["enum"]);
  } else if (keyword == "pattern") {
    out << "expected a string matching " << schema["pattern"].GetString();
  } else if (keyword == "minLength") {
    out << "expected a non-empty string";
  } else if (keyword == "maxLength") {
    // Not a bounded repetition in the pattern: RapidJSON's regex expands {1,256} into 256
    // states, and matching through them cost ~0.1 CPU s at each start.
    out << "expected a string of at most " << schema["maxLength"].GetInt() << " characters";
  } else if (keyword == "minItems") {
    out << "expected at least " << schema["minItems"].GetInt() << " item(s)";
  } else if (keyword == "minProperties") {
    out << "expected at least " << schema["minProperties"].GetInt() << " entr(y/ies)";
  } else {
    out << "violates schema keyword '" << keyword << "'";
  }
  if (actual != nullptr) out << ", got " << to_json(*actual);
  return out.str();
}

// RapidJSON names the failing keyword and the two pointers; this turns that into the file,
// the exact JSON pointer of the bad value, and what was expected.
Error schema_error(const std::string& file, const Document& doc, const Document& schema_doc,
                   const rapidjson::SchemaValidator& validator) {
  const std::string keyword = validator.GetInvalidSchemaKeyword();
  std::string where = pointer_string(validator.GetInvalidDocumentPointer());
  const Value* schema = validator.GetInvalidSchemaPointer().Get(schema_doc);
  const Value* actual = validator.GetInvalidDocumentPointer().Get(doc);
  if (schema == nullptr) return config_error(file, where, "violates schema keyword " + keyword);

  if (keyword == "required" && actual != nullptr && actual->IsObject()) {
    for (const auto& name : (*schema)["required"].GetArray()) {
      if (!actual->HasMember(name)) {
        return config_error(file, where + "/" + name.GetString(), "required property is missing");
      }
    }
  }
  if (keyword == "additionalProperties" && (actual == nullptr || !actual->IsObject())) {
    // RapidJSON points at the unexpected member itself.
    std::string expected = "unknown property";
    if (schema->HasMember("properties")) {
      expected += "; expected one of";
      for (const auto& p : (*schema)["properties"].GetObject()) {
        expected += std::string(" ") + p.name.GetString();
      }
    }
    return config_error(file, where, expected);
  }
  if (keyword == "additionalProperties" && actual != nullptr && actual->IsObject()) {
    for (const auto& m : actual->GetObject()) {
      const std::string name = m.name.GetString();
      const bool known =
          schema->HasMember("properties") && (*schema)["properties"].HasMember(name.c_str());
      if (!known) {
        std::string expected = "unknown property";
        if (schema->HasMember("properties")) {
          expected += "; expected one of";
          for (const auto& p : (*schema)["properties"].GetObject()) {
            expected += std::string(" ") + p.name.GetString();
          }
        }
        return config_error(file, where + "/" + name, expected);
      }
    }
  }
  return config_error(file, where, describe_expectation(*schema, keyword, actual));
}

Result<std::string> read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{ErrorCode::kNotFound, path + ": cannot open file", path};
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string get_string(const Value& obj, const char* name, std::string_view fallback = "") {
  auto it = obj.FindMember(name);
  return it == obj.MemberEnd() ? std::string(fallback) : std::string(it->value.GetString());
}

int get_int(const Value& obj, const char* name, int fallback) {
  auto it = obj.FindMember(name);
  return it == obj.MemberEnd() ? fallback : it->value.GetInt();
}

const Value& member_or_empty(const Value& obj, const char* name) {
  static const Value kEmpty(rapidjson::kObjectType);
  auto it = obj.FindMember(name);
  return it == obj.MemberEnd() ? kEmpty : it->value;
}

bool is_loopback_url(const std::string& url) {
  for (const char* host : {"http://127.0.0.1", "http://localhost", "http://[::1]"}) {
    const std::string_view h(host);
    if (url.starts_with(h) &&
        (url.size() == h.size() || url[h.size()] == ':' || url[h.size()] == '/')) {
      return true;
    }
  }
  return false;
}

Result<SecretBytes> load_private_key(const std::string& file, const Value& ledger,
                                     const fs::path& base_dir, const Environment& env) {
  std::string text;
  std::string source;
  if (auto it = env.find("FL_LEDGER_PRIVATE_KEY"); it != env.end() && !it->second.empty()) {
    text = it->second;
    source = "environment variable FL_LEDGER_PRIVATE_KEY";
  } else if (ledger.HasMember("privateKeyFile")) {
    fs::path path = ledger["privateKeyFile"].GetString();
    if (path.is_relative()) path = base_dir / path;
    auto content = read_text(path.string());
    if (!content) return config_error(file, "/ledger/privateKeyFile", content.error().message);
    text = *content;
    source = path.string();
  } else {
    return SecretBytes{};  // commands that do not sign (report, map check) need no key
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  auto bytes = parse_hex(text);
  if (!bytes || bytes->size() != 32) {
    // Never echo the value: it is a secret.
    return config_error(file, "/ledger", source + ": expected a 32-byte hex private key");
  }
  return SecretBytes(std::move(*bytes));
}

}  // namespace

Environment process_environment() {
  Environment env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    const auto eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return env;
}

Result<GatewayConfig> load_gateway_config(const std::string& path, const Environment& env) {
  auto text = read_text(path);
  if (!text) return text.error();
  return parse_gateway_config(*text, path, env);
}

namespace {

// Limits that contradict each other would fail only when the first large event arrives; they are
// refused at start instead.
Status check_kafka_limits(const std::string& file, const GatewayConfig& config) {
  for (const auto& [name, value] : config.kafka.properties) {
    if (name == "message.max.bytes") {
      return config_error(file, "/kafka/properties/message.max.bytes",
                          "expected no message.max.bytes here: it is /kafka/maxMessageBytes, which "
                          "also sizes the dead letters");
    }
    if (name == "receive.message.max.bytes") {
      std::size_t receive = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), receive);
      // librdkafka needs room for the fetch response's framing above the largest message.
      const std::size_t needed = config.pipeline.max_event_bytes + 512;
      if (ec != std::errc() || end != value.data() + value.size() || receive < needed) {
        return config_error(file, "/kafka/properties/receive.message.max.bytes",
                            "expected at least " + std::to_string(needed) +
                                " (/pipeline/maxEventBytes + 512), so the consumer can fetch "
                                "every event the pipeline accepts, got \"" +
                                value + "\"");
      }
    }
  }
  return Ok{};
}

}  // namespace

Result<GatewayConfig> parse_gateway_config(std::string_view json, const std::string& file,
                                           const Environment& env) {
  Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError()) {
    return config_error(file, "",
                        std::string("invalid JSON at offset ") +
                            std::to_string(doc.GetErrorOffset()) + ": " +
                            rapidjson::GetParseError_En(doc.GetParseError()));
  }
  if (doc.IsObject()) apply_overrides(doc, env);

  Document schema_doc;
  schema_doc.Parse(kGatewaySchemaJson.data(), kGatewaySchemaJson.size());
  FL_ASSERT(!schema_doc.HasParseError(), "the embedded schema is checked at build time");
  rapidjson::SchemaDocument schema(schema_doc);
  rapidjson::SchemaValidator validator(schema);
  if (!doc.Accept(validator)) return schema_error(file, doc, schema_doc, validator);

  const fs::path base_dir = fs::path(file).parent_path();
  GatewayConfig config;
  config.file = file;
  const Value& service = member_or_empty(doc, "service");
  config.service_name = get_string(service, "name", "fhir-ledger");
  config.log_level = get_string(service, "logLevel", "info");
  config.health_port = get_int(service, "healthPort", 0);

  const Value& kafka = doc["kafka"];
  config.kafka.bootstrap_servers = get_string(kafka, "bootstrapServers");
  config.kafka.group_id = get_string(kafka, "groupId");
  config.kafka.client_id = get_string(kafka, "clientId", "fhir-ledger");
  for (const auto& t : kafka["inputTopics"].GetArray()) {
    config.kafka.input_topics.emplace_back(t.GetString());
  }
  config.kafka.dead_letter_topic = get_string(kafka, "deadLetterTopic");
  config.kafka.results_topic = get_string(kafka, "resultsTopic");
  config.kafka.audit_topic = get_string(kafka, "auditTopic", "fhir.audit");
  config.kafka.max_message_bytes =
      static_cast<std::size_t>(get_int(kafka, "maxMessageBytes", 1000000));
  for (const auto& p : member_or_empty(kafka, "properties").GetObject()) {
    config.kafka.properties.emplace_back(p.name.GetString(), p.value.GetString());
  }

  static const std::regex kRegionName("^[a-z][a-z0-9-]{0,15}$");
  for (const auto& r : doc["redis"]["regions"].GetObject()) {
    const std::string region = r.name.GetString();
    if (!std::regex_match(region, kRegionName)) {
      return config_error(file, "/redis/regions/" + region,
                          "expected a region name matching ^[a-z][a-z0-9-]{0,15}$");
    }
    RedisRegionSettings settings;
    settings.host = get_string(r.value, "host");
    settings.port = get_int(r.value, "port", 6379);
    settings.db = get_int(r.value, "db", 0);
    settings.timeout_ms = get_int(r.value, "timeoutMs", 2000);
    settings.username = get_string(r.value, "username");
    if (auto c = r.value.FindMember("cluster"); c != r.value.MemberEnd()) {
      settings.cluster = c->value.GetBool();
    }
    if (settings.cluster && settings.db != 0) {
      // Redis Cluster has database 0 only (SELECT is refused).
      return config_error(file, "/redis/regions/" + region + "/db",
                          "expected 0 for a cluster region (Redis Cluster has database 0 only)");
    }
    const std::string env_name = "FL_REDIS_" + upper_env_name(region) + "_PASSWORD";
    if (auto it = env.find(env_name); it != env.end()) {
      settings.password = it->second;
    } else if (auto all = env.find("FL_REDIS_PASSWORD"); all != env.end()) {
      settings.password = all->second;
    }
    config.redis_regions.emplace(region, std::move(settings));
  }

  const Value& ledger = doc["ledger"];
  config.ledger.rpc_url = get_string(ledger, "rpcUrl");
  config.ledger.contract = get_string(ledger, "contract");
  config.ledger.confirmations = static_cast<std::uint64_t>(get_int(ledger, "confirmations", 1));
  config.ledger.receipt_timeout_ms = get_int(ledger, "receiptTimeoutMs", 30000);
  config.ledger.eip1559 = get_string(ledger, "transactionType", "legacy") == "eip1559";
  if (auto cap = ledger.FindMember("maxFeePerGasGwei"); cap != ledger.MemberEnd()) {
    // The schema bounds it to (0, 1e6] gwei, far below 2^64 wei; fractions of a gwei are kept.
    config.ledger.max_fee_per_gas_wei =
        static_cast<std::uint64_t>(std::llround(cap->value.GetDouble() * 1e9));
  }
  config.ledger.replace_after_blocks =
      static_cast<std::uint64_t>(get_int(ledger, "replaceAfterBlocks", 3));
  const Value& anchoring = member_or_empty(ledger, "anchoring");
  config.ledger.default_mode = get_string(anchoring, "default", "pointer");
  for (const auto& m : member_or_empty(anchoring, "byTopic").GetObject()) {
    config.ledger.mode_by_topic.emplace(m.name.GetString(), m.value.GetString());
  }
  for (const auto& m : member_or_empty(anchoring, "byResourceType").GetObject()) {
    const std::string type = m.name.GetString();
    if (!is_r4_resource_type(type)) {
      return config_error(file, "/ledger/anchoring/byResourceType/" + type,
                          "expected a FHIR R4 resource type name");
    }
    config.ledger.mode_by_resource_type.emplace(type, m.value.GetString());
  }
  auto key = load_private_key(file, ledger, base_dir, env);
  if (!key) return key.error();
  config.ledger.private_key = std::move(*key);

  fs::path keyring = get_string(doc["keys"], "keyringFile");
  if (keyring.is_relative()) keyring = base_dir / keyring;
  config.keyring_file = keyring.string();

  const Value& mappings = member_or_empty(doc, "mappings");
  fs::path mapping_dir = get_string(mappings, "dir", "mappings");
  if (mapping_dir.is_relative()) mapping_dir = base_dir / mapping_dir;
  config.mappings.dir = mapping_dir.lexically_normal().string();
  config.mappings.dir_given = mappings.HasMember("dir");
  config.mappings.dead_letter_unknown_source =
      get_string(mappings, "unknownSource", "passThrough") == "deadLetter";

  const Value& policy = member_or_empty(doc, "policy");
  for (auto [name, target] :
       {std::pair{"bundle", &config.policy.bundle}, std::pair{"shadow", &config.policy.shadow}}) {
    fs::path bundle = get_string(policy, name, "");
    if (!bundle.empty() && bundle.is_relative()) bundle = base_dir / bundle;
    *target = bundle.lexically_normal().string();
  }

  const Value& pipeline = member_or_empty(doc, "pipeline");
  auto& p = config.pipeline;
  p.batch_max_events = static_cast<std::size_t>(get_int(pipeline, "batchMaxEvents", 200));
  p.batch_max_wait_ms = get_int(pipeline, "batchMaxWaitMs", 250);
  p.max_in_flight_batches = static_cast<std::size_t>(get_int(pipeline, "maxInFlightBatches", 4));
  if (auto it = pipeline.FindMember("maxParkedBytes");
      it != pipeline.MemberEnd() && it->value.IsUint64()) {
    p.max_parked_bytes = static_cast<std::size_t>(it->value.GetUint64());
  }
  p.max_event_bytes = static_cast<std::size_t>(get_int(pipeline, "maxEventBytes", 4 << 20));
  p.max_json_depth = get_int(pipeline, "maxJsonDepth", 64);
  p.max_bundle_entries = static_cast<std::size_t>(get_int(pipeline, "maxBundleEntries", 10000));
  p.default_region = get_string(pipeline, "defaultRegion", "default");
  p.retry_backoff_ms = get_int(pipeline, "retryBackoffMs", 500);

  const Value& identity = member_or_empty(doc, "identity");
  config.identity.default_source = get_string(identity, "defaultSource", "default");
  config.identity.linking_identifier_system = get_string(identity, "linkingIdentifierSystem", "");

  const Value& consent = member_or_empty(doc, "consent");
  for (const auto& a : member_or_empty(consent, "actors").GetObject()) {
    config.consent.actors.emplace(a.name.GetString(), a.value.GetString());
  }
  if (auto it = consent.FindMember("defaultPurposes"); it != consent.MemberEnd()) {
    for (const auto& purpose : it->value.GetArray()) {
      config.consent.default_purposes.emplace_back(purpose.GetString());
    }
  }
  config.consent.default_days = get_int(consent, "defaultDays", 365);

  if (const Value& api = member_or_empty(doc, "api"); api.MemberCount() > 0) {
    auto& a = config.api;
    a.port = get_int(api, "port", 0);
    a.bind = get_string(api, "bind", "127.0.0.1");
    a.audience = get_string(api, "audience");
    a.issuer = get_string(api, "issuer", "");
    const Value no_keys(rapidjson::kArrayType);
    const auto keys = api.FindMember("keys");
    for (const auto& k : (keys == api.MemberEnd() ? no_keys : keys->value).GetArray()) {
      fs::path pem = get_string(k, "publicKeyFile");
      if (pem.is_relative()) pem = base_dir / pem;
      a.keys.push_back({.kid = get_string(k, "kid"),
                        .alg = get_string(k, "alg"),
                        .public_key_file = pem.lexically_normal().string()});
    }
    if (fs::path jwks = get_string(api, "jwksFile", ""); !jwks.empty()) {
      if (jwks.is_relative()) jwks = base_dir / jwks;
      a.jwks_file = jwks.lexically_normal().string();
    }
    a.jwks_url = get_string(api, "jwksUrl", "");
    a.jwks_refresh_minutes = get_int(api, "jwksRefreshMinutes", 15);
    // Keys fetched in the clear could be swapped on the way: HTTPS, unless the set is served
    // from this machine.
    if (a.jwks_url.starts_with("http://") && !is_loopback_url(a.jwks_url)) {
      return config_error(file, "/api/jwksUrl",
                          "expected an https:// URL (http:// only from 127.0.0.1, ::1 or "
                          "localhost), got \"" +
                              a.jwks_url + "\"");
    }
    // Draft-04 cannot say "at least one of" readably; without any no token could verify.
    if (a.keys.empty() && a.jwks_file.empty() && a.jwks_url.empty()) {
      return config_error(file, "/api/keys",
                          "expected verification keys: /api/keys, /api/jwksFile or /api/jwksUrl");
    }
    a.clock_skew_seconds = get_int(api, "clockSkewSeconds", 60);
    a.max_token_lifetime_seconds = get_int(api, "maxTokenLifetimeSeconds", 3600);
    for (const auto& c : api["clients"].GetObject()) {
      a.clients.emplace(c.name.GetString(), c.value.GetString());
    }
    a.default_purpose = get_string(api, "defaultPurpose", "TREAT");
    a.workers = get_int(api, "workers", 16);
    a.max_queued = get_int(api, "maxQueued", 256);
    a.timeout_ms = get_int(api, "timeoutMs", 10000);
    a.grant_cache_seconds = get_int(api, "grantCacheSeconds", 5);
    a.ledger_poll_ms = get_int(api, "ledgerPollMs", 500);
    if (const Value& tls = member_or_empty(api, "tls"); tls.MemberCount() > 0) {
      const auto resolved = [&](const char* name) {
        const std::string given = get_string(tls, name, "");
        if (given.empty()) return given;
        fs::path path = given;
        if (path.is_relative()) path = base_dir / path;
        return path.lexically_normal().string();
      };
      a.tls = {.certificate_file = resolved("certificateFile"),
               .private_key_file = resolved("privateKeyFile"),
               .client_ca_file = resolved("clientCaFile"),
               .min_version = get_string(tls, "minVersion", "1.2")};
      for (const auto& [name, pem] : {std::pair{"certificateFile", a.tls.certificate_file},
                                      std::pair{"privateKeyFile", a.tls.private_key_file},
                                      std::pair{"clientCaFile", a.tls.client_ca_file}}) {
        if (std::error_code ec; !pem.empty() && !fs::is_regular_file(pem, ec)) {
          return config_error(file, std::string("/api/tls/") + name,
                              "expected a readable PEM file, \"" + pem + "\" is not one");
        }
      }
    }
  }

  // Semantic checks the schema cannot express.
  if (auto refused = check_kafka_limits(file, config); !refused) return refused.error();
  if (!config.policy.shadow.empty() && config.policy.bundle.empty()) {
    return config_error(file, "/policy/shadow",
                        "a shadow bundle runs beside an active one: expected /policy/bundle too");
  }
  if (!config.redis_regions.contains(p.default_region)) {
    return config_error(
        file, "/pipeline/defaultRegion",
        "expected the name of a region under /redis/regions, got \"" + p.default_region + "\"");
  }
  return config;
}

std::string describe_config(const GatewayConfig& config) {
  std::ostringstream out;
  out << "{\"file\":\"" << config.file << "\",\"kafka\":{\"bootstrapServers\":\""
      << config.kafka.bootstrap_servers << "\",\"groupId\":\"" << config.kafka.group_id
      << "\"},\"redis\":{";
  bool first = true;
  for (const auto& [name, r] : config.redis_regions) {
    out << (first ? "" : ",") << "\"" << name << "\":{\"host\":\"" << r.host
        << "\",\"port\":" << r.port << ",\"username\":\"" << r.username << "\",\"password\":\""
        << (r.password.empty() ? "" : "<redacted>") << "\""
        << (r.cluster ? ",\"cluster\":true" : "") << "}";
    first = false;
  }
  out << "},\"ledger\":{\"rpcUrl\":\"" << config.ledger.rpc_url << "\",\"contract\":\""
      << config.ledger.contract << "\",\"privateKey\":\""
      << (config.ledger.private_key.empty() ? "" : "<redacted>") << "\"},\"keyringFile\":\""
      << config.keyring_file << "\",\"mappings\":{\"dir\":\"" << config.mappings.dir
      << "\",\"unknownSource\":\""
      << (config.mappings.dead_letter_unknown_source ? "deadLetter" : "passThrough")
      << "\"},\"policy\":{\"bundle\":\"" << config.policy.bundle << "\",\"shadow\":\""
      << config.policy.shadow << "\"}}";
  return out.str();
}

}  // namespace fl::gateway
