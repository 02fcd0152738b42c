// The development and batch tools: dev-broker, ledger deploy, publish, report, fhirpath.
#include "fl/adapters/kafka/tools.h"

#include "fl/adapters/evm/evm_pointer_ledger.h"
#include "fl/adapters/kafka/mock_cluster.h"
#include "fl/gateway/config.h"
#include "fl/mappings/fhirpath.h"

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/files.h"
#include "cli/json_members.h"
#include "cli/unseal.h"
#include "cli/wiring.h"

#include <rapidjson/document.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <set>
#include <sstream>
#include <thread>

namespace fl::cli {
namespace {

namespace fs = std::filesystem;

int usage_error(const char* command, const Error& error) {
  std::fprintf(stderr, "%s: %s\n", command, error.message.c_str());
  return 2;
}

int failure(const char* command, const Error& error) {
  std::fprintf(stderr, "%s: %s%s%s\n", command, error.message.c_str(),
               error.where.empty() ? "" : " at ", error.where.c_str());
  return 1;
}

Result<int> parse_count(const std::string& option, const std::string& text, int max) {
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 1 || value > max) {
    return Error{ErrorCode::kInvalidInput,
                 "--" + option + " expects a whole number from 1 to " + std::to_string(max), text};
  }
  return value;
}

}  // namespace

int dev_broker(const std::vector<std::string>& argv) {
  auto args = Args::parse(argv, {"partitions", "topic", "bootstrap-file", "brokers"}, {});
  if (!args) return usage_error("dev-broker", args.error());
  auto brokers = parse_count("brokers", args->get("brokers", "1"), 16);
  if (!brokers) return usage_error("dev-broker", brokers.error());
  auto partitions = parse_count("partitions", args->get("partitions", "4"), 1024);
  if (!partitions) return usage_error("dev-broker", partitions.error());
  install_stop_handlers();
  auto cluster = kafka::MockCluster::start(*brokers);
  if (!cluster) return failure("dev-broker", cluster.error());
  for (const auto& topic : args->all("topic")) {
    if (auto created = (*cluster)->create_topic(topic, *partitions); !created) {
      return failure("dev-broker", created.error());
    }
  }
  const std::string bootstrap = (*cluster)->bootstrap_servers();
  std::printf("bootstrap.servers=%s\n", bootstrap.c_str());
  std::fflush(stdout);
  if (args->has("bootstrap-file")) {
    // Write then rename, so a script polling for the file never reads half of it.
    const std::string path = args->get("bootstrap-file");
    std::ofstream(path + ".tmp") << bootstrap << "\n";
    fs::rename(path + ".tmp", path);
  }
  while (!stop_flag().load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  return 0;
}

int ledger_deploy(const std::vector<std::string>& argv) {
  auto args = Args::parse(argv, {"rpc-url"}, {});
  if (!args) return usage_error("ledger deploy", args.error());
  const auto env = gateway::process_environment();
  std::string rpc_url = args->get("rpc-url");
  if (rpc_url.empty() && env.contains("FL_LEDGER_RPC_URL")) rpc_url = env.at("FL_LEDGER_RPC_URL");
  if (rpc_url.empty()) {
    return usage_error("ledger deploy", {ErrorCode::kInvalidInput, "--rpc-url is required", ""});
  }
  auto key_hex = env.find("FL_LEDGER_PRIVATE_KEY");
  if (key_hex == env.end()) {
    return usage_error("ledger deploy", {ErrorCode::kInvalidInput,
                                         "set FL_LEDGER_PRIVATE_KEY to the deployer's key", ""});
  }
  auto key = parse_hex(key_hex->second);
  if (!key || key->size() != 32) {
    return usage_error("ledger deploy", {ErrorCode::kInvalidInput,
                                         "FL_LEDGER_PRIVATE_KEY: expected 32-byte hex", ""});
  }
  auto address = evm::deploy_pointer_registry(rpc_url, SecretBytes(std::move(*key)));
  if (!address) return failure("ledger deploy", address.error());
  std::printf("%s\n", address->c_str());
  return 0;
}

int publish(const std::vector<std::string>& argv) {
  auto args = Args::parse(argv, {"bootstrap", "topic", "manifest"}, {});
  if (!args) return usage_error("publish", args.error());
  const fs::path manifest_path = args->get("manifest");
  auto manifest_text = read_text(manifest_path);
  if (!manifest_text) return usage_error("publish", manifest_text.error());
  rapidjson::Document manifest;
  manifest.Parse(manifest_text->c_str());
  if (manifest.HasParseError() || !manifest.IsArray()) {
    return usage_error("publish",
                       {ErrorCode::kInvalidInput,
                        manifest_path.string() + ": expected a JSON array of events", ""});
  }
  std::vector<kafka::OutgoingMessage> messages;
  for (const auto& entry : manifest.GetArray()) {
    kafka::OutgoingMessage message;
    auto value = read_text(manifest_path.parent_path() / "events" / entry["file"].GetString());
    if (!value) return usage_error("publish", value.error());
    message.value = std::move(*value);
    message.key = entry["key"].GetString();
    if (entry.HasMember("headers")) {
      for (const auto& h : entry["headers"].GetObject()) {
        message.headers.emplace_back(h.name.GetString(), h.value.GetString());
      }
    }
    messages.push_back(std::move(message));
  }
  auto published = kafka::publish(args->get("bootstrap"), args->get("topic"), messages);
  if (!published) return failure("publish", published.error());
  std::fprintf(stderr, "published %zu events to %s\n", messages.size(), args->get("topic").c_str());
  return 0;
}

namespace {

void write_string(rapidjson::PrettyWriter<rapidjson::StringBuffer>& w, const char* name,
                  const std::string& value) {
  w.Key(name);
  w.String(value.c_str(), static_cast<rapidjson::SizeType>(value.size()));
}

}  // namespace

int report(const std::vector<std::string>& argv) {
  auto args = Args::parse(argv, {"config", "out"}, {});
  if (!args) return usage_error("report", args.error());
  auto config = gateway::load_gateway_config(args->get("config", "config/gateway.json"),
                                             gateway::process_environment());
  if (!config) return usage_error("report", config.error());
  const auto& k = config->kafka;
  const auto timeout = std::chrono::seconds(20);
  auto receipts = kafka::read_topic(k.bootstrap_servers, k.results_topic, timeout);
  if (!receipts) return failure("report", receipts.error());
  auto dead = kafka::read_topic(k.bootstrap_servers, k.dead_letter_topic, timeout);
  if (!dead) return failure("report", dead.error());
  auto keys = build_key_provider(*config);  // receipts name their resource only sealed
  if (!keys) return usage_error("report", keys.error());
  std::size_t unopened = 0;
  Error unopened_error{};

  const auto& redis = config->redis_regions.at(config->pipeline.default_region);
  rapidjson::StringBuffer buffer;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  write_string(w, "rpcUrl", config->ledger.rpc_url);
  write_string(w, "contract", config->ledger.contract);
  w.Key("redis");  // the default region's, as before regions had their own
  w.StartObject();
  write_string(w, "host", redis.host);
  w.Key("port");
  w.Int(redis.port);
  w.EndObject();
  // Every storage region's Redis: each resource names its region, so a checker reads its blob
  // there and can show that no other region holds it.
  write_string(w, "defaultRegion", config->pipeline.default_region);
  w.Key("regions");
  w.StartObject();
  for (const auto& [name, settings] : config->redis_regions) {
    w.Key(name.c_str(), static_cast<rapidjson::SizeType>(name.size()));
    w.StartObject();
    write_string(w, "host", settings.host);
    w.Key("port");
    w.Int(settings.port);
    w.Key("db");
    w.Int(settings.db);
    w.EndObject();
  }
  w.EndObject();
  write_string(w, "policyBundle", config->policy.bundle);
  write_string(w, "bootstrapServers", k.bootstrap_servers);
  write_string(w, "inputTopic", k.input_topics.front());

  // Re-delivery after a crash may repeat a receipt or a dead letter; the report lists each
  // resource version and each origin once.
  std::set<std::pair<std::string, std::uint64_t>> seen_resources;
  w.Key("resources");
  w.StartArray();
  for (const auto& message : *receipts) {
    rapidjson::Document r;
    r.Parse(message.value.c_str());
    if (r.HasParseError() || !r.IsObject()) continue;
    if (!seen_resources.emplace(member_string(r, "resourceKey"), member_uint(r, "version"))
             .second) {
      continue;
    }
    ReceiptReference ref;
    if (auto opened = open_receipt_reference(**keys, member_string(r, "sealedReference"))) {
      ref = std::move(*opened);
    } else {
      ++unopened;
      unopened_error = opened.error();
    }
    w.StartObject();
    write_string(w, "source", ref.source);
    write_string(w, "reference", ref.reference);
    write_string(w, "resourceKey", member_string(r, "resourceKey"));
    w.Key("version");
    w.Uint64(member_uint(r, "version"));
    for (const char* name : {"contentHash", "redisKey", "region", "txHash"}) {
      write_string(w, name, member_string(r, name));
    }
    w.Key("block");
    w.Uint64(member_uint(r, "block"));
    if (auto d = r.FindMember("deleted"); d != r.MemberEnd() && d->value.IsTrue()) {
      w.Key("deleted");
      w.Bool(true);
    }
    const std::string mode = member_string(r, "anchorMode");
    write_string(w, "anchorMode", mode.empty() ? "pointer" : mode);
    if (auto m = r.FindMember("merkle"); m != r.MemberEnd() && m->value.IsObject()) {
      write_string(w, "merkleRoot", member_string(m->value, "root"));
      w.Key("merkleLeafCount");
      w.Uint64(member_uint(m->value, "leafCount"));
    }
    w.EndObject();
  }
  w.EndArray();

  std::set<std::string> seen_origins;
  w.Key("deadLettered");
  w.StartArray();
  for (const auto& message : *dead) {
    const std::string origin = message.header("origin-topic") + "/" +
                               message.header("origin-partition") + "/" +
                               message.header("origin-offset");
    if (!seen_origins.insert(origin).second) continue;
    w.StartObject();
    write_string(w, "topic", message.header("origin-topic"));
    w.Key("partition");
    w.Int(std::atoi(message.header("origin-partition").c_str()));
    w.Key("offset");
    w.Int64(std::atoll(message.header("origin-offset").c_str()));
    write_string(w, "reason", message.header("error-detail"));
    write_string(w, "errorCode", message.header("error-code"));
    write_string(w, "deadLetterTopic", message.origin.topic);
    w.Key("deadLetterOffset");
    w.Int64(message.origin.offset);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();

  const std::string out = args->get("out", "demo-report.json");
  std::ofstream(out) << buffer.GetString() << "\n";
  std::fprintf(stderr, "report: %zu resource(s), %zu dead-lettered event(s) -> %s\n",
               seen_resources.size(), seen_origins.size(), fs::absolute(out).c_str());
  if (unopened > 0) {
    std::fprintf(stderr, "report: %zu receipt(s) whose reference could not be opened: %s\n",
                 unopened, unopened_error.message.c_str());
    return 1;
  }
  return 0;
}

namespace {

// The message, then the expression's line with a caret under the column `where` names.
void print_expression_error(const std::string& expression, const Error& error) {
  std::fprintf(stderr, "fhirpath: %s at %s\n", error.message.c_str(), error.where.c_str());
  const std::size_t colon = error.where.find(':');
  if (colon == std::string::npos) return;
  const int line = std::atoi(error.where.substr(0, colon).c_str());
  const int column = std::atoi(error.where.substr(colon + 1).c_str());
  std::istringstream lines(expression);
  std::string text;
  for (int i = 0; i < line && std::getline(lines, text); ++i) {
  }
  std::fprintf(stderr, "  %s\n  %s^\n", text.c_str(),
               std::string(static_cast<std::size_t>(std::max(column - 1, 0)), ' ').c_str());
}

}  // namespace

int fhirpath(const std::vector<std::string>& argv) {
  auto args = Args::parse(argv, {}, {"strict"});
  if (!args) return usage_error("fhirpath", args.error());
  if (args->positional().size() != 2) {
    return usage_error("fhirpath", {ErrorCode::kInvalidInput,
                                    "usage: fhir-ledger fhirpath '<expression>' "
                                    "<resource.json | -> [--strict]",
                                    ""});
  }
  const std::string& expression = args->positional()[0];
  const std::string& file = args->positional()[1];
  auto compiled = mappings::fhirpath::compile(expression);
  if (!compiled) {
    print_expression_error(expression, compiled.error());
    return 1;
  }
  auto text = file == "-"
                  ? Result<std::string>(std::string(std::istreambuf_iterator<char>(std::cin),
                                                    std::istreambuf_iterator<char>()))
                  : read_text(file);
  if (!text) return usage_error("fhirpath", text.error());
  rapidjson::Document resource;
  resource.Parse(text->c_str());
  if (resource.HasParseError() || !resource.IsObject()) {
    return usage_error("fhirpath",
                       {ErrorCode::kInvalidInput, file + ": expected a FHIR resource as JSON", ""});
  }
  mappings::fhirpath::EvaluationOptions options;
  options.strict = args->has("strict");
  options.trace = [](std::string_view name, const mappings::fhirpath::Collection& items) {
    std::fprintf(stderr, "trace %.*s: %s\n", static_cast<int>(name.size()), name.data(),
                 mappings::fhirpath::to_json(items).c_str());
  };
  auto result = compiled->evaluate(resource, options);
  if (!result) {
    print_expression_error(expression, result.error());
    return 1;
  }
  std::printf("%s\n", mappings::fhirpath::to_json(*result).c_str());
  return 0;
}

}  // namespace fl::cli
