// GatewayConfig: the gateway's configuration as typed, validated values. Built once at start by
// load_gateway_config: read config/gateway.json, apply environment overrides, validate against
// config/schemas/gateway.schema.json (embedded in the binary), then convert. Modules receive the
// parts they need by const reference and never read files or the environment themselves.
#pragma once

#include "fl/base/result.h"
#include "fl/base/secret_bytes.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace fl::gateway {

// Environment variables as seen at start; tests pass their own.
using Environment = std::map<std::string, std::string>;
Environment process_environment();

struct KafkaSettings {
  std::string bootstrap_servers;
  std::string group_id;
  std::string client_id = "fhir-ledger";
  std::vector<std::string> input_topics;
  std::string dead_letter_topic;
  std::string results_topic;
  std::string audit_topic = "fhir.audit";  // grant, read, erasure and shadow AuditEvents
  // The producers' message.max.bytes; larger dead letters are truncated to fit.
  std::size_t max_message_bytes = 1000000;
  std::vector<std::pair<std::string, std::string>> properties;
};

struct RedisRegionSettings {
  std::string host;
  int port = 6379;
  int db = 0;
  int timeout_ms = 2000;
  // Redis ACL user (not secret): FL_REDIS_<REGION>_USERNAME, else FL_REDIS_USERNAME, else the
  // file; empty: the default user.
  std::string username;
  std::string password;  // from FL_REDIS_<REGION>_PASSWORD or FL_REDIS_PASSWORD only
  // A Redis Cluster: host and port are a seed node; the slot map names the masters.
  bool cluster = false;
};

struct LedgerSettings {
  std::string rpc_url;
  std::string contract;     // 0x-hex address; empty until deployed
  SecretBytes private_key;  // from FL_LEDGER_PRIVATE_KEY or privateKeyFile only
  std::uint64_t confirmations = 1;
  int receipt_timeout_ms = 30000;
  bool eip1559 = false;  // transactionType "eip1559"; legacy (EIP-155) by default
  // maxFeePerGasGwei in wei: the most a transaction offers per gas, replacements included.
  std::optional<std::uint64_t> max_fee_per_gas_wei;
  std::uint64_t replace_after_blocks = 3;  // replaceAfterBlocks; 0: never replace
  // anchoring: "pointer" or "merkle", by resource type, else by topic, else the default.
  std::string default_mode = "pointer";
  std::map<std::string, std::string> mode_by_topic;
  std::map<std::string, std::string> mode_by_resource_type;
};

// The mapping sets of config/mappings/<source-system>/mapping.json (mappings/README.md).
struct MappingSettings {
  std::string dir;  // resolved against the config file's folder
  // Named in the file (or the environment): then the folder must exist at start, since a typo
  // would otherwise silently turn mapping off. The default folder may be absent (no sets).
  bool dir_given = false;
  bool dead_letter_unknown_source = false;  // else events from other sources pass unmapped
};

// The jurisdiction rules (config/policies/, gateway/policy). Without a bundle, everything is
// stored in the default region under the permit-all policy.
struct PolicySettings {
  std::string bundle;  // resolved against the config file's folder; "" for none
  std::string shadow;  // a candidate bundle evaluated beside it, never enforced; "" for none
};

struct PipelineSettings {
  std::size_t batch_max_events = 200;
  int batch_max_wait_ms = 250;
  std::size_t max_in_flight_batches = 4;
  std::size_t max_parked_bytes = 256u * 1024 * 1024;
  std::size_t max_event_bytes = std::size_t{4} * 1024 * 1024;
  int max_json_depth = 64;
  std::size_t max_bundle_entries = 10000;
  std::string default_region = "default";
  int retry_backoff_ms = 500;
};

// Whose id a FHIR id is (pseudonyms.h): the source of events that name none, and the
// identifier system that links one person's records across sources ("" for none).
struct IdentitySettings {
  std::string default_source = "default";
  std::string linking_identifier_system;
};

// FHIR Consent -> ledger grants (consent.h).
struct ConsentConfig {
  std::map<std::string, std::string> actors;  // reference -> 0x participant address
  std::vector<std::string> default_purposes;
  int default_days = 365;
};

// The participants' HTTP API (api_server.h); port 0: none.
struct ApiKeySettings {
  std::string kid;
  std::string alg;  // RS256, ES256 or ES384
  std::string public_key_file;
};
// TLS for the API (api.tls); empty certificate_file: plain HTTP.
struct ApiTlsSettings {
  std::string certificate_file;  // resolved against the config file's folder
  std::string private_key_file;
  std::string client_ca_file;  // "": no client certificate asked; else mutual TLS
  std::string min_version = "1.2";
};

struct ApiSettings {
  int port = 0;
  std::string bind = "127.0.0.1";
  std::string audience;
  std::string issuer;  // "" accepts any
  std::vector<ApiKeySettings> keys;
  // A JSON Web Key Set (RFC 7517) of further verification keys, resolved against the config
  // file's folder; "" for none.
  std::string jwks_file;
  // The same fetched over HTTPS (plain HTTP only from a loopback host) at start and every
  // jwks_refresh_minutes; "" for none. At least one of keys, jwks_file and jwks_url is given.
  std::string jwks_url;
  int jwks_refresh_minutes = 15;
  int clock_skew_seconds = 60;
  int max_token_lifetime_seconds = 3600;
  std::map<std::string, std::string> clients;  // client id -> 0x participant address
  std::string default_purpose = "TREAT";
  int workers = 16;
  int max_queued = 256;
  int timeout_ms = 10000;
  // Ledger answers (registration, grant, erasure mark) reused for this long; 0 disables. The
  // contract's access events, read every ledger_poll_ms, drop the ones they change sooner.
  int grant_cache_seconds = 5;
  int ledger_poll_ms = 500;
  ApiTlsSettings tls;
};

struct GatewayConfig {
  std::string file;  // where it was read from, for messages
  std::string service_name = "fhir-ledger";
  std::string log_level = "info";
  // The port of GET /healthz and /readyz on all interfaces; 0 for none.
  int health_port = 0;
  KafkaSettings kafka;
  std::map<std::string, RedisRegionSettings> redis_regions;
  LedgerSettings ledger;
  std::string keyring_file;  // resolved against the config file's folder
  MappingSettings mappings;
  PolicySettings policy;
  PipelineSettings pipeline;
  IdentitySettings identity;
  ApiSettings api;
  ConsentConfig consent;
};

// Reads, overrides, validates and converts. Errors read
// "config/gateway.json: /redis/regions/default/port: expected integer 1..65535, got "abc"".
Result<GatewayConfig> load_gateway_config(const std::string& path, const Environment& env);

// The same from text; `file` names it in messages and anchors relative paths.
Result<GatewayConfig> parse_gateway_config(std::string_view json, const std::string& file,
                                           const Environment& env);

// The effective configuration as JSON with secrets replaced by "<redacted>", for the start log.
std::string describe_config(const GatewayConfig& config);

}  // namespace fl::gateway
