// The Kafka adapters against librdkafka's mock cluster, over TCP.
#include "fl/adapters/kafka/kafka_event_source.h"
#include "fl/adapters/kafka/kafka_producers.h"
#include "fl/adapters/kafka/tools.h"

#include "support/fakes.h"
#include "support/sealed_topics.h"
#include "support/services.h"

#include <gtest/gtest.h>

#include <thread>

namespace fl::kafka {
namespace {

using namespace std::chrono_literals;

KafkaConfig config_for(const testing::KafkaCluster& cluster, const std::string& group = "g1") {
  return {.bootstrap_servers = cluster.bootstrap(),
          .group_id = group,
          .input_topics = {"in"},
          .dead_letter_topic = "dlq",
          .results_topic = "results"};
}

// The real topic key under a stand-in KEK: what is sealed here is opened below.
struct Sealing {
  testing::FakeKeyProvider keys;
  std::shared_ptr<ports::TopicSealer> sealer =
      gateway::crypto::make_topic_sealer(keys, "default").value();
};

// Polls until `count` events arrived or 20 s passed (the first assignment takes seconds).
std::vector<ports::SourceEvent> poll_until(ports::EventSource& source, std::size_t count) {
  std::vector<ports::SourceEvent> out;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (out.size() < count && std::chrono::steady_clock::now() < deadline) {
    auto batch = source.poll(count - out.size(), 200ms);
    EXPECT_TRUE(batch);
    if (!batch) break;
    for (auto& e : *batch) out.push_back(std::move(e));
  }
  return out;
}

std::vector<OutgoingMessage> messages(int n) {
  std::vector<OutgoingMessage> out;
  for (int i = 0; i < n; ++i) {
    out.push_back({.key = "Patient/p" + std::to_string(i),
                   .value = "{\"n\":" + std::to_string(i) + "}",
                   .headers = {{"fhir-source", "lab"}, {"fhir-event", "create"}}});
  }
  return out;
}

TEST(KafkaEventSource, ConsumesEventsWithKeyHeadersAndOrigin) {
  testing::KafkaCluster cluster({"in", "dlq", "results"});
  ASSERT_TRUE(publish(cluster.bootstrap(), "in", messages(3)));
  auto source = make_event_source(config_for(cluster));
  ASSERT_TRUE(source) << source.error().message;

  auto events = poll_until(**source, 3);

  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[1].key, "Patient/p1");
  EXPECT_EQ(events[1].value, "{\"n\":1}");
  EXPECT_EQ(events[1].header("fhir-source"), "lab");
  EXPECT_EQ(events[1].origin.topic, "in");
  EXPECT_EQ(events[1].origin.offset, 1);
  EXPECT_TRUE((*source)->close());
}

TEST(KafkaEventSource, ARestartResumesAfterTheCommittedOffsetAndRedeliversTheRest) {
  testing::KafkaCluster cluster({"in", "dlq", "results"});
  ASSERT_TRUE(publish(cluster.bootstrap(), "in", messages(4)));
  {
    auto first = make_event_source(config_for(cluster));
    ASSERT_TRUE(first);
    auto events = poll_until(**first, 4);
    ASSERT_EQ(events.size(), 4u);
    // Only the first two were handled before the "crash".
    ASSERT_TRUE((*first)->commit(std::vector<ports::Origin>{events[0].origin, events[1].origin}));
    EXPECT_FALSE(*(*first)->caught_up());
    ASSERT_TRUE((*first)->close());
  }
  auto second = make_event_source(config_for(cluster));
  ASSERT_TRUE(second);

  auto events = poll_until(**second, 2);

  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].origin.offset, 2);
  EXPECT_EQ(events[1].origin.offset, 3);
  ASSERT_TRUE((*second)->commit(std::vector<ports::Origin>{events[0].origin, events[1].origin}));
  EXPECT_TRUE(*(*second)->caught_up());
  EXPECT_TRUE((*second)->close());
}

TEST(KafkaDeadLetters, CarryTheOriginalSealedAndTheReasonAndTheOriginInClear) {
  testing::KafkaCluster cluster({"in", "dlq", "results"});
  Sealing sealing;
  auto dead = make_dead_letters(config_for(cluster), sealing.sealer);
  ASSERT_TRUE(dead);
  ports::SourceEvent event;
  event.origin = {.topic = "in", .partition = 0, .offset = 17};
  event.key = "Patient/x";
  event.value = "{not json";
  event.headers = {{"fhir-source", "adt"}};

  ASSERT_TRUE((*dead)->send(
      {.event = event, .error_code = "invalid-input", .error_detail = "invalid JSON"}));
  ASSERT_TRUE((*dead)->flush(10s));

  auto letters = read_topic(cluster.bootstrap(), "dlq", 10s);
  ASSERT_TRUE(letters) << letters.error().message;
  ASSERT_EQ(letters->size(), 1u);
  const auto& l = letters->front();
  EXPECT_EQ(l.value.find("not json"), std::string::npos);
  EXPECT_EQ(l.key, "in/0");
  EXPECT_EQ(l.header("fhir-source"), "");
  EXPECT_EQ(l.header("original-sealed"), "test-kek-1");
  auto original = testing::open_dead_letter(sealing.keys, l);
  ASSERT_TRUE(original) << original.error().message;
  EXPECT_EQ(original->value, "{not json");
  EXPECT_EQ(original->key, "Patient/x");
  EXPECT_EQ(original->headers, (Headers{{"fhir-source", "adt"}}));
  EXPECT_EQ(l.header("error-code"), "invalid-input");
  EXPECT_EQ(l.header("error-detail"), "invalid JSON");
  EXPECT_EQ(l.header("origin-topic"), "in");
  EXPECT_EQ(l.header("origin-partition"), "0");
  EXPECT_EQ(l.header("origin-offset"), "17");
}

TEST(KafkaDeadLetters, ALetterLargerThanTheTopicAllowsIsDeliveredCutAndSaysSo) {
  testing::KafkaCluster cluster({"in", "dlq", "results"});
  Sealing sealing;
  auto dead = make_dead_letters(config_for(cluster), sealing.sealer);  // message.max.bytes 1 MB
  ASSERT_TRUE(dead);
  ports::SourceEvent event;
  event.origin = {.topic = "in", .partition = 0, .offset = 5};
  event.key = "k";
  event.value = std::string(2 * 1024 * 1024, '{');
  event.headers = {{"fhir-source", "adt"}, {"x-junk", std::string(3 * 1024 * 1024, 'j')}};

  ASSERT_TRUE((*dead)->send({.event = event,
                             .error_code = "invalid-input",
                             .error_detail = "invalid JSON",
                             .original_sha256 = std::string(64, 'b')}));
  auto flushed = (*dead)->flush(10s);
  ASSERT_TRUE(flushed) << flushed.error().message;

  auto letters = read_topic(cluster.bootstrap(), "dlq", 10s);
  ASSERT_TRUE(letters) << letters.error().message;
  ASSERT_EQ(letters->size(), 1u);
  const auto& l = letters->front();
  EXPECT_LT(l.value.size(), 1000000u);
  EXPECT_GT(l.value.size(), 900000u);
  EXPECT_EQ(l.header("original-truncated"), "value,headers");
  EXPECT_EQ(l.header("original-dropped-headers"), "x-junk");
  EXPECT_EQ(l.header("original-bytes"), std::to_string(2 * 1024 * 1024));
  EXPECT_EQ(l.header("original-sha256"), std::string(64, 'b'));
  EXPECT_EQ(l.header("origin-offset"), "5");
  auto original = testing::open_dead_letter(sealing.keys, l);
  ASSERT_TRUE(original) << original.error().message;
  EXPECT_GT(original->value.size(), 900000u);
  EXPECT_EQ(original->headers, (Headers{{"fhir-source", "adt"}}));
}

TEST(KafkaDeadLetters, ALetterTheBrokerRefusesForGoodIsReplacedByItsHeadersAlone) {
  testing::KafkaCluster cluster({"in", "dlq", "results"});
  Sealing sealing;
  auto dead = make_dead_letters(config_for(cluster), sealing.sealer);
  ASSERT_TRUE(dead);
  ports::SourceEvent event;
  event.origin = {.topic = "in", .partition = 0, .offset = 9};
  event.key = "k";
  event.value = std::string(500 * 1024, 'x');
  ASSERT_TRUE((*dead)->send(
      {.event = event, .error_code = "invalid-input", .error_detail = "invalid JSON"}));
  // The broker's topic limit is lower than ours: it refuses the letter as too large, once.
  cluster.mock().refuse_next_produce_requests_as_too_large(1);

  auto flushed = (*dead)->flush(20s);

  ASSERT_TRUE(flushed) << flushed.error().message;
  auto letters = read_topic(cluster.bootstrap(), "dlq", 10s);
  ASSERT_TRUE(letters) << letters.error().message;
  ASSERT_EQ(letters->size(), 1u);
  EXPECT_TRUE(letters->front().value.empty());
  EXPECT_EQ(letters->front().header("original-truncated"), "value,key,headers");
  EXPECT_EQ(letters->front().header("origin-offset"), "9");
  EXPECT_EQ(letters->front().header("original-bytes"), std::to_string(500 * 1024));
}

TEST(KafkaReceipts, AMessageTooLargeIsAPermanentErrorNotRetried) {
  testing::KafkaCluster cluster({"in", "dlq", "results"});
  auto config = config_for(cluster);
  config.max_message_bytes = 16384;
  Sealing sealing;
  auto receipts = make_receipts(config, sealing.sealer);
  ASSERT_TRUE(receipts);
  ports::Receipt receipt;
  receipt.reference = std::string(20000, 'r');

  auto sent = (*receipts)->publish(receipt);

  ASSERT_FALSE(sent);
  EXPECT_EQ(sent.error().code, ErrorCode::kInvalidInput) << sent.error().message;
}

TEST(KafkaReceipts, AreJsonKeyedByTheResourceKeyWithTheReferenceSealed) {
  testing::KafkaCluster cluster({"in", "dlq", "results"});
  Sealing sealing;
  auto receipts = make_receipts(config_for(cluster), sealing.sealer);
  ASSERT_TRUE(receipts);

  // Member by member: g++ 12 at -O3 takes a designated initializer's std::string members for
  // "maybe uninitialized" (a known false positive), which -Werror turns into a failed build.
  ports::Receipt receipt;
  receipt.source = "https://ehr-a.example/fhir";
  receipt.reference = "Patient/p1";
  receipt.resource_key = "0xabc";
  receipt.version = 2;
  receipt.content_hash = "0xdef";
  receipt.redis_key = "blob:def";
  receipt.region = "eu";
  receipt.tx_hash = "0x123";
  receipt.block = 7;
  ASSERT_TRUE((*receipts)->publish(receipt));
  ASSERT_TRUE((*receipts)->flush(10s));

  auto read = read_topic(cluster.bootstrap(), "results", 10s);
  ASSERT_TRUE(read);
  ASSERT_EQ(read->size(), 1u);
  EXPECT_EQ(read->front().key, "0xabc");
  EXPECT_NE(read->front().value.find(R"("contentHash":"0xdef")"), std::string::npos);
  EXPECT_NE(read->front().value.find(R"("block":7)"), std::string::npos);
  EXPECT_EQ(read->front().value.find("p1"), std::string::npos);
  EXPECT_EQ(read->front().value.find("ehr-a"), std::string::npos);
  rapidjson::Document r;
  r.Parse(read->front().value.c_str());
  auto opened = testing::open_receipt(sealing.keys, r);
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_EQ(opened->first, "https://ehr-a.example/fhir");
  EXPECT_EQ(opened->second, "Patient/p1");
}

TEST(KafkaTools, ReadTopicReadsEveryPartitionToItsEnd) {
  testing::KafkaCluster cluster({"in"}, 3);
  ASSERT_TRUE(publish(cluster.bootstrap(), "in", messages(12)));

  auto read = read_topic(cluster.bootstrap(), "in", 10s);

  ASSERT_TRUE(read);
  EXPECT_EQ(read->size(), 12u);
}

TEST(KafkaTools, PublishingToNobodyFailsInBoundedTime) {
  const std::string nobody = "127.0.0.1:" + std::to_string(testing::free_port());
  const auto start = std::chrono::steady_clock::now();

  auto sent = publish(nobody, "in", messages(1), 3s);

  EXPECT_FALSE(sent);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
}

TEST(KafkaLogs, LibrdkafkasOwnLinesJoinOurJsonLinesLog) {
  const std::string nobody = "127.0.0.1:" + std::to_string(testing::free_port());
  ::testing::internal::CaptureStderr();

  (void)publish(nobody, "in", messages(1), 2s);

  const std::string logged = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(logged.find(R"("event":"kafka.error")"), std::string::npos) << logged;
  std::size_t lines = 0;
  for (std::size_t at = 0; at < logged.size();) {
    const std::size_t end = logged.find('\n', at);
    const std::string line = logged.substr(at, end - at);
    at = end == std::string::npos ? logged.size() : end + 1;
    if (line.empty()) continue;
    ++lines;
    EXPECT_TRUE(line.starts_with(R"({"ts":")") && line.ends_with("}")) << line;
  }
  EXPECT_GT(lines, 0u);
}

}  // namespace
}  // namespace fl::kafka
