// The gateway configuration is refused at start with the file, the JSON pointer and what was
// expected; one negative case per kind of constraint, so a schema keyword RapidJSON ignores
// (it knows draft-04 only) cannot pass unnoticed.
#include "fl/gateway/config.h"

#include "support/corpus.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/pointer.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace fl::gateway {
namespace {

std::string example_config() {
  return fl::testing::read_file(fl::testing::source_root() / "config" / "gateway.json");
}

// The example config with the value at `pointer` replaced by `json_value`.
std::string with(const std::string& pointer, const std::string& json_value) {
  rapidjson::Document doc;
  doc.Parse(example_config().c_str());
  rapidjson::Document value(&doc.GetAllocator());
  value.Parse(json_value.c_str());
  rapidjson::Pointer(pointer.c_str()).Set(doc, value);
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  doc.Accept(writer);
  return buffer.GetString();
}

std::string without(const std::string& pointer) {
  rapidjson::Document doc;
  doc.Parse(example_config().c_str());
  rapidjson::Pointer(pointer.c_str()).Erase(doc);
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  doc.Accept(writer);
  return buffer.GetString();
}

std::string error_of(const std::string& json, const Environment& env = {}) {
  auto config = parse_gateway_config(json, "config/gateway.json", env);
  EXPECT_FALSE(config) << "expected the configuration to be refused";
  return config ? "" : config.error().message;
}

TEST(GatewayConfig, TheShippedExampleIsValid) {
  auto config =
      load_gateway_config((fl::testing::source_root() / "config" / "gateway.json").string(), {});

  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->kafka.input_topics, std::vector<std::string>{"fhir.events"});
  EXPECT_EQ(config->redis_regions.at("default").port, 6379);
  EXPECT_TRUE(config->keyring_file.ends_with("config/keys/dev-keyring.json"));
  // One Redis per region the shipped policy bundle names; the bundle decides residency.
  for (const char* region : {"default", "eu", "us", "ru"}) {
    EXPECT_TRUE(config->redis_regions.contains(region)) << region;
  }
  EXPECT_TRUE(config->policy.bundle.ends_with("config/policies/example-cross-border.json"))
      << config->policy.bundle;
}

TEST(GatewayConfig, AWrongTypeNamesFilePointerAndExpectation) {
  EXPECT_EQ(
      error_of(with("/redis/regions/default/port", R"("abc")")),
      "config/gateway.json: /redis/regions/default/port: expected integer 1..65535, got \"abc\"");
}

TEST(GatewayConfig, AnOutOfRangeNumberIsRefused) {
  EXPECT_EQ(error_of(with("/redis/regions/default/port", "70000")),
            "config/gateway.json: /redis/regions/default/port: expected integer >= 1 <= 65535, got "
            "70000");
}

TEST(GatewayConfig, AMissingRequiredPropertyIsNamed) {
  EXPECT_EQ(error_of(without("/kafka/groupId")),
            "config/gateway.json: /kafka/groupId: required property is missing");
}

TEST(GatewayConfig, AnUnknownPropertyIsATypo) {
  const std::string message = error_of(with("/kafka/bootstrapServer", R"("x:1")"));

  EXPECT_TRUE(message.starts_with("config/gateway.json: /kafka/bootstrapServer: unknown property"))
      << message;
}

TEST(GatewayConfig, AnEnumViolationListsTheChoices) {
  EXPECT_EQ(error_of(with("/service/logLevel", R"("loud")")),
            "config/gateway.json: /service/logLevel: expected one of [\"debug\",\"info\",\"warn\","
            "\"error\"], got \"loud\"");
}

TEST(GatewayConfig, APatternViolationShowsThePattern) {
  const std::string message = error_of(with("/ledger/contract", R"("0x1234")"));

  EXPECT_TRUE(
      message.starts_with("config/gateway.json: /ledger/contract: expected a string matching"))
      << message;
}

TEST(GatewayConfig, EndpointsWithSpacesOrWithoutPortsAreRefused) {
  // RapidJSON's regex ignores a pattern with \s silently; these patterns must not use it.
  for (const char* bad : {R"("abc")", R"("a b:1")", R"("a:1,b c:2")"}) {
    EXPECT_TRUE(error_of(with("/kafka/bootstrapServers", bad)).find("expected a string matching") !=
                std::string::npos)
        << bad;
  }
  EXPECT_NE(error_of(with("/ledger/rpcUrl", R"("http://a b")")).find("expected a string matching"),
            std::string::npos);
}

TEST(GatewayConfig, AnEmptyTopicListIsRefused) {
  EXPECT_EQ(error_of(with("/kafka/inputTopics", "[]")),
            "config/gateway.json: /kafka/inputTopics: expected at least 1 item(s), got []");
}

// Kafka's limit on a topic name (249) and the limits on sources and key ids are lengths, not
// bounded repetitions in their patterns.
TEST(GatewayConfig, ATopicNameLongerThanKafkaAllowsIsRefusedByItsLength) {
  const std::string longest(249, 't');
  EXPECT_TRUE(parse_gateway_config(with("/kafka/deadLetterTopic", "\"" + longest + "\""),
                                   "config/gateway.json", {}));
  EXPECT_TRUE(error_of(with("/kafka/deadLetterTopic", "\"" + longest + "t\""))
                  .starts_with("config/gateway.json: /kafka/deadLetterTopic: expected a string of "
                               "at most 249 characters, got \"ttt"));
  EXPECT_NE(error_of(with("/kafka/deadLetterTopic", R"("a b")")).find("expected a string matching"),
            std::string::npos);
  EXPECT_NE(error_of(with("/identity/defaultSource", "\"" + std::string(257, 's') + "\""))
                .find("expected a string of at most 256 characters"),
            std::string::npos);
}

TEST(GatewayConfig, InvalidJsonGivesTheOffset) {
  const std::string message = error_of("{\"kafka\": ");

  EXPECT_TRUE(message.starts_with("config/gateway.json: /: invalid JSON at offset")) << message;
}

TEST(GatewayConfig, EnvironmentOverridesEndpointsBeforeValidation) {
  auto config =
      parse_gateway_config(example_config(), "config/gateway.json",
                           {{"FL_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:39092"},
                            {"FL_REDIS_PORT", "16379"},
                            {"FL_LEDGER_RPC_URL", "http://127.0.0.1:18545"},
                            {"FL_LEDGER_CONTRACT", "0x5FbDB2315678afecb367f032d93F642f64180aa3"}});

  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->kafka.bootstrap_servers, "127.0.0.1:39092");
  EXPECT_EQ(config->redis_regions.at("default").port, 16379);
  EXPECT_EQ(config->ledger.rpc_url, "http://127.0.0.1:18545");
  EXPECT_EQ(config->ledger.contract, "0x5FbDB2315678afecb367f032d93F642f64180aa3");
}

TEST(GatewayConfig, TheHealthPortAndTheParkedMemoryComeFromFileOrEnvironment) {
  auto defaults = parse_gateway_config(example_config(), "config/gateway.json", {});
  ASSERT_TRUE(defaults) << defaults.error().message;
  EXPECT_EQ(defaults->health_port, 0);
  EXPECT_EQ(defaults->pipeline.max_parked_bytes, 256u * 1024 * 1024);

  auto set = parse_gateway_config(with("/pipeline/maxParkedBytes", "8388608"),
                                  "config/gateway.json", {{"FL_HEALTH_PORT", "8081"}});
  ASSERT_TRUE(set) << set.error().message;
  EXPECT_EQ(set->health_port, 8081);
  EXPECT_EQ(set->pipeline.max_parked_bytes, 8388608u);

  EXPECT_EQ(error_of(with("/service/healthPort", "70000")),
            "config/gateway.json: /service/healthPort: expected integer >= 0 <= 65535, got 70000");
  EXPECT_NE(error_of(with("/pipeline/maxParkedBytes", "1024")).find("/pipeline/maxParkedBytes"),
            std::string::npos);
}

TEST(GatewayConfig, ABadOverrideIsReportedLikeABadFile) {
  EXPECT_EQ(
      error_of(example_config(), {{"FL_REDIS_PORT", "abc"}}),
      "config/gateway.json: /redis/regions/default/port: expected integer 1..65535, got \"abc\"");
}

TEST(GatewayConfig, APrivateKeyComesFromTheEnvironmentAndIsNeverEchoed) {
  const std::string secret = "not-hex-but-secret";

  const std::string message = error_of(example_config(), {{"FL_LEDGER_PRIVATE_KEY", secret}});

  EXPECT_EQ(message.find(secret), std::string::npos);
  EXPECT_NE(message.find("FL_LEDGER_PRIVATE_KEY: expected a 32-byte hex private key"),
            std::string::npos);
}

TEST(GatewayConfig, TheEffectiveConfigRedactsSecrets) {
  auto config =
      parse_gateway_config(example_config(), "config/gateway.json",
                           {{"FL_LEDGER_PRIVATE_KEY",
                             "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"},
                            {"FL_REDIS_PASSWORD", "hunter2"}});
  ASSERT_TRUE(config) << config.error().message;

  const std::string described = describe_config(*config);

  EXPECT_EQ(described.find("ac0974bec39a17e3"), std::string::npos);
  EXPECT_EQ(described.find("hunter2"), std::string::npos);
  EXPECT_NE(described.find("<redacted>"), std::string::npos);
}

// The example config with a second region, "eu-west", beside "default".
std::string with_two_regions() {
  rapidjson::Document doc;
  doc.Parse(example_config().c_str());
  rapidjson::Pointer("/redis/regions/eu-west/host").Set(doc, "10.0.0.2");
  rapidjson::Pointer("/redis/regions/eu-west/port").Set(doc, 6380);
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  doc.Accept(writer);
  return buffer.GetString();
}

TEST(GatewayConfig, ARedisUsernameMayBeNamedInTheFile) {
  auto named = parse_gateway_config(with("/redis/regions/default/username", R"("ledger")"),
                                    "config/gateway.json", {});
  auto unnamed = parse_gateway_config(example_config(), "config/gateway.json", {});

  ASSERT_TRUE(named) << named.error().message;
  ASSERT_TRUE(unnamed) << unnamed.error().message;
  EXPECT_EQ(named->redis_regions.at("default").username, "ledger");
  EXPECT_EQ(unnamed->redis_regions.at("default").username, "");
}

TEST(GatewayConfig, ARegionMayBeARedisClusterOnDatabaseZeroOnly) {
  auto cluster = parse_gateway_config(with("/redis/regions/default/cluster", "true"),
                                      "config/gateway.json", {});
  auto standalone = parse_gateway_config(example_config(), "config/gateway.json", {});
  ASSERT_TRUE(cluster) << cluster.error().message;
  ASSERT_TRUE(standalone) << standalone.error().message;
  EXPECT_TRUE(cluster->redis_regions.at("default").cluster);
  EXPECT_FALSE(standalone->redis_regions.at("default").cluster);
  EXPECT_NE(describe_config(*cluster).find("\"cluster\":true"), std::string::npos);

  rapidjson::Document doc;
  doc.Parse(with("/redis/regions/default/cluster", "true").c_str());
  rapidjson::Pointer("/redis/regions/default/db").Set(doc, 2);
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  doc.Accept(writer);
  auto on_db_two = parse_gateway_config(buffer.GetString(), "config/gateway.json", {});
  ASSERT_FALSE(on_db_two);
  EXPECT_NE(on_db_two.error().where.find("/redis/regions/default/db"), std::string::npos);

  auto not_a_bool = parse_gateway_config(with("/redis/regions/default/cluster", R"("yes")"),
                                         "config/gateway.json", {});
  EXPECT_FALSE(not_a_bool);
}

TEST(GatewayConfig, TheEnvironmentOverridesTheRedisUsername) {
  const std::string file = with("/redis/regions/default/username", R"("from-file")");

  auto all = parse_gateway_config(file, "config/gateway.json", {{"FL_REDIS_USERNAME", "all"}});
  auto own =
      parse_gateway_config(file, "config/gateway.json",
                           {{"FL_REDIS_USERNAME", "all"}, {"FL_REDIS_DEFAULT_USERNAME", "own"}});
  auto empty = parse_gateway_config(file, "config/gateway.json", {{"FL_REDIS_USERNAME", ""}});

  ASSERT_TRUE(all && own && empty);
  EXPECT_EQ(all->redis_regions.at("default").username, "all");
  EXPECT_EQ(own->redis_regions.at("default").username, "own");
  EXPECT_EQ(empty->redis_regions.at("default").username, "from-file");
}

TEST(GatewayConfig, EachRegionHasItsOwnUsernameVariable) {
  auto config = parse_gateway_config(
      with_two_regions(), "config/gateway.json",
      {{"FL_REDIS_EU_WEST_USERNAME", "eu-user"}, {"FL_REDIS_USERNAME", "everyone"}});

  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->redis_regions.at("eu-west").username, "eu-user");
  EXPECT_EQ(config->redis_regions.at("default").username, "everyone");
}

TEST(GatewayConfig, AUsernameWithSpacesIsRefusedFromFileAndEnvironment) {
  EXPECT_EQ(error_of(with("/redis/regions/default/username", R"("two words")")),
            "config/gateway.json: /redis/regions/default/username: expected a string matching "
            "^[^ \\t\\r\\n]+$, got \"two words\"");
  EXPECT_EQ(error_of(example_config(), {{"FL_REDIS_DEFAULT_USERNAME", "two words"}}),
            "config/gateway.json: /redis/regions/default/username: expected a string matching "
            "^[^ \\t\\r\\n]+$, got \"two words\"");
}

TEST(GatewayConfig, APasswordInTheFileIsRefused) {
  const std::string message = error_of(with("/redis/regions/default/password", R"("hunter2")"));

  EXPECT_TRUE(
      message.starts_with("config/gateway.json: /redis/regions/default/password: unknown property"))
      << message;
}

TEST(GatewayConfig, TheEffectiveConfigShowsTheUsernameButNotThePassword) {
  auto config = parse_gateway_config(
      example_config(), "config/gateway.json",
      {{"FL_REDIS_USERNAME", "ledger"}, {"FL_REDIS_DEFAULT_PASSWORD", "hunter2"}});
  ASSERT_TRUE(config) << config.error().message;

  const std::string described = describe_config(*config);

  EXPECT_NE(described.find(R"("username":"ledger")"), std::string::npos) << described;
  EXPECT_EQ(described.find("hunter2"), std::string::npos);
  EXPECT_EQ(config->redis_regions.at("default").password, "hunter2");
}

TEST(GatewayConfig, TheDefaultRegionMustBeAConfiguredRegion) {
  EXPECT_EQ(error_of(with("/pipeline/defaultRegion", R"("apac")")),
            "config/gateway.json: /pipeline/defaultRegion: expected the name of a region under "
            "/redis/regions, got \"apac\"");
}

TEST(GatewayConfig, TheProducersMessageSizeIsMaxMessageBytesAndNotARawProperty) {
  auto config = parse_gateway_config(with("/kafka/maxMessageBytes", "2000000"), "gw.json", {});
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->kafka.max_message_bytes, 2000000u);
  auto defaulted = parse_gateway_config(example_config(), "gw.json", {});
  ASSERT_TRUE(defaulted);
  EXPECT_EQ(defaulted->kafka.max_message_bytes, 1000000u);

  const std::string raw = error_of(with("/kafka/properties", R"({"message.max.bytes":"5000"})"));
  EXPECT_NE(raw.find("/kafka/properties/message.max.bytes"), std::string::npos) << raw;
  EXPECT_NE(raw.find("/kafka/maxMessageBytes"), std::string::npos) << raw;
  // Too small for a dead letter's own headers.
  EXPECT_NE(error_of(with("/kafka/maxMessageBytes", "1000")).find("/kafka/maxMessageBytes"),
            std::string::npos);
}

TEST(GatewayConfig, AConsumerThatCouldNotFetchTheLargestAcceptedEventIsRefused) {
  const std::string error =
      error_of(with("/kafka/properties", R"({"receive.message.max.bytes":"1000000"})"));  // < 4 MiB
  EXPECT_NE(error.find("/kafka/properties/receive.message.max.bytes"), std::string::npos) << error;
  EXPECT_NE(error.find("/pipeline/maxEventBytes"), std::string::npos) << error;

  auto fits = parse_gateway_config(
      with("/kafka/properties", R"({"receive.message.max.bytes":"8000000"})"), "gw.json", {});
  EXPECT_TRUE(fits) << fits.error().message;
}

TEST(GatewayConfig, TheTransactionTypeIsLegacyUnlessEip1559IsAsked) {
  auto legacy = parse_gateway_config(example_config(), "config/gateway.json", {});
  auto eip1559 = parse_gateway_config(with("/ledger/transactionType", R"("eip1559")"),
                                      "config/gateway.json", {});

  ASSERT_TRUE(legacy && eip1559);
  EXPECT_FALSE(legacy->ledger.eip1559);
  EXPECT_TRUE(eip1559->ledger.eip1559);
  EXPECT_EQ(
      error_of(with("/ledger/transactionType", R"("type3")")),
      "config/gateway.json: /ledger/transactionType: expected one of [\"legacy\",\"eip1559\"], "
      "got \"type3\"");
}

TEST(GatewayConfig, TokenKeysComeFromKeysOrAJwkSetResolvedAgainstTheConfigFolder) {
  rapidjson::Document doc;
  doc.Parse(example_config().c_str());
  rapidjson::Pointer("/api/keys").Erase(doc);
  rapidjson::StringBuffer none;
  rapidjson::Writer<rapidjson::StringBuffer> none_writer(none);
  doc.Accept(none_writer);
  rapidjson::Pointer("/api/jwksFile").Set(doc, "keys/api.jwks.json");
  rapidjson::StringBuffer jwks;
  rapidjson::Writer<rapidjson::StringBuffer> jwks_writer(jwks);
  doc.Accept(jwks_writer);

  auto config = parse_gateway_config(jwks.GetString(), "/etc/fl/gateway.json", {});

  ASSERT_TRUE(config) << config.error().message;
  EXPECT_TRUE(config->api.keys.empty());
  EXPECT_EQ(config->api.jwks_file, "/etc/fl/keys/api.jwks.json");
  EXPECT_EQ(error_of(none.GetString()),
            "config/gateway.json: /api/keys: expected verification keys: /api/keys, "
            "/api/jwksFile or /api/jwksUrl");
  EXPECT_EQ(error_of(with("/api/jwksFile", R"("")")),
            "config/gateway.json: /api/jwksFile: expected a non-empty string, got \"\"");
}

TEST(GatewayConfig, AJwksUrlIsHttpsUnlessServedFromThisMachine) {
  auto local = parse_gateway_config(with("/api/jwksUrl", R"("http://127.0.0.1:9000/jwks.json")"),
                                    "config/gateway.json", {});
  auto remote = parse_gateway_config(with("/api/jwksUrl", R"("https://idp.example/jwks")"),
                                     "config/gateway.json", {});

  ASSERT_TRUE(local) << local.error().message;
  ASSERT_TRUE(remote) << remote.error().message;
  EXPECT_EQ(remote->api.jwks_refresh_minutes, 15);
  EXPECT_EQ(error_of(with("/api/jwksUrl", R"("http://idp.example/jwks")")),
            "config/gateway.json: /api/jwksUrl: expected an https:// URL (http:// only from "
            "127.0.0.1, ::1 or localhost), got \"http://idp.example/jwks\"");
  EXPECT_FALSE(error_of(with("/api/jwksUrl", R"("http://127.0.0.1.evil.example/jwks")")).empty());
}

}  // namespace
}  // namespace fl::gateway
