// The Kafka adapters over TCP on two brokers, each test once per broker (its name ends in /Mock
// or /Real): librdkafka's mock cluster (in process, a fresh one per test) and a real Apache Kafka
// broker (tests/support/kafka_broker.h: one per test binary, since a JVM takes seconds to start;
// each test makes topics and groups of its own there). Consumer groups, commits, the size limits
// and the records' headers are the broker's own behaviour, which the mock only imitates.
//
// Broker-independent: KafkaTools.PublishingToNobody... and KafkaLogs, which reach no broker.
#include "fl/adapters/kafka/kafka_event_source.h"
#include "fl/adapters/kafka/kafka_producers.h"
#include "fl/adapters/kafka/tools.h"

#include "support/fakes.h"
#include "support/kafka_broker.h"
#include "support/sealed_topics.h"
#include "support/services.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <string_view>
#include <thread>

namespace fl::kafka {
namespace {

using namespace std::chrono_literals;

enum class Broker { kMock, kReal };

std::string broker_name(const ::testing::TestParamInfo<Broker>& info) {
  return info.param == Broker::kMock ? "Mock" : "Real";
}

// How gtest shows the parameter (in --gtest_list_tests and failures), rather than its bytes;
// gtest finds it by this name.
void PrintTo(Broker broker, std::ostream* out) {  // NOLINT(readability-identifier-naming)
  *out << (broker == Broker::kMock ? "Mock" : "Real");
}

// How many real-broker tests this run of the binary will run.
int real_tests_to_run() {
  int count = 0;
  const auto& unit = *::testing::UnitTest::GetInstance();
  for (int i = 0; i < unit.total_test_suite_count(); ++i) {
    const auto& suite = *unit.GetTestSuite(i);
    for (int j = 0; j < suite.total_test_count(); ++j) {
      const auto& test = *suite.GetTestInfo(j);
      if (test.should_run() && std::string_view(test.name()).ends_with("/Real")) ++count;
    }
  }
  return count;
}

// The prefix of a set of fresh topics (in, dlq, results) with `partitions` partitions each on the
// shared real broker. Sets are made in bulk, since each CreateTopics call is a JVM start (seconds):
// the first test that asks for a partition count makes sets with it for every real-broker test of
// the run (topics are cheap, JVM starts are not); a run with more tests than that
// (--gtest_repeat) makes more.
std::string take_real_topic_set(int partitions) {
  static std::map<int, std::vector<std::string>> unused;  // by partitions
  static int made = 0;
  auto& sets = unused[partitions];
  if (sets.empty()) {
    const int count = std::max(1, real_tests_to_run());
    std::vector<std::string> topics;
    for (int i = 0; i < count; ++i) {
      sets.push_back("set" + std::to_string(++made) + ".");
      for (const char* topic : {"in", "dlq", "results"}) topics.push_back(sets.back() + topic);
    }
    testing::KafkaBroker::shared().create_topics(partitions, topics);
  }
  std::string prefix = std::move(sets.back());
  sets.pop_back();
  return prefix;
}

// Topics named `in`, `dlq` and `results` in the tests: on a fresh mock cluster just so, on the
// shared real broker under a prefix no other test uses (group ids too).
class KafkaTest : public ::testing::TestWithParam<Broker> {
 protected:
  // Makes the three topics with `partitions` partitions each; call it first.
  void make_topics(int partitions = 1) {
    if (GetParam() == Broker::kMock) {
      mock_.emplace(std::initializer_list<std::string>{"in", "dlq", "results"}, partitions);
    } else {
      prefix_ = take_real_topic_set(partitions);
    }
    in_ = prefix_ + "in";
    dlq_ = prefix_ + "dlq";
    results_ = prefix_ + "results";
  }

  std::string bootstrap() const {
    return GetParam() == Broker::kMock ? mock_->bootstrap()
                                       : testing::KafkaBroker::shared().bootstrap();
  }

  KafkaConfig config(const std::string& group = "g1") const {
    return {.bootstrap_servers = bootstrap(),
            .group_id = prefix_ + group,
            .input_topics = {in_},
            .dead_letter_topic = dlq_,
            .results_topic = results_};
  }

  std::string prefix_;
  std::string in_;
  std::string dlq_;
  std::string results_;
  std::optional<testing::KafkaCluster> mock_;
};

class KafkaEventSource : public KafkaTest {};
class KafkaDeadLetters : public KafkaTest {};
class KafkaReceipts : public KafkaTest {};
class KafkaTools : public KafkaTest {};

INSTANTIATE_TEST_SUITE_P(Broker, KafkaEventSource, ::testing::Values(Broker::kMock, Broker::kReal),
                         broker_name);
INSTANTIATE_TEST_SUITE_P(Broker, KafkaDeadLetters, ::testing::Values(Broker::kMock, Broker::kReal),
                         broker_name);
INSTANTIATE_TEST_SUITE_P(Broker, KafkaReceipts, ::testing::Values(Broker::kMock, Broker::kReal),
                         broker_name);
INSTANTIATE_TEST_SUITE_P(Broker, KafkaTools, ::testing::Values(Broker::kMock, Broker::kReal),
                         broker_name);

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

// Messages {"n":first} .. {"n":first+n-1}, keyed Patient/p<n>.
std::vector<OutgoingMessage> messages(int n, int first = 0) {
  std::vector<OutgoingMessage> out;
  for (int i = first; i < first + n; ++i) {
    out.push_back({.key = "Patient/p" + std::to_string(i),
                   .value = "{\"n\":" + std::to_string(i) + "}",
                   .headers = {{"fhir-source", "lab"}, {"fhir-event", "create"}}});
  }
  return out;
}

TEST_P(KafkaEventSource, ConsumesEventsWithKeyHeadersAndOrigin) {
  make_topics();
  ASSERT_TRUE(publish(bootstrap(), in_, messages(3)));
  auto source = make_event_source(config());
  ASSERT_TRUE(source) << source.error().message;

  auto events = poll_until(**source, 3);

  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[1].key, "Patient/p1");
  EXPECT_EQ(events[1].value, "{\"n\":1}");
  EXPECT_EQ(events[1].header("fhir-source"), "lab");
  EXPECT_EQ(events[1].origin.topic, in_);
  EXPECT_EQ(events[1].origin.offset, 1);
  EXPECT_TRUE((*source)->close());
}

TEST_P(KafkaEventSource, ARestartResumesAfterTheCommittedOffsetAndRedeliversTheRest) {
  make_topics();
  ASSERT_TRUE(publish(bootstrap(), in_, messages(4)));
  {
    auto first = make_event_source(config());
    ASSERT_TRUE(first);
    auto events = poll_until(**first, 4);
    ASSERT_EQ(events.size(), 4u);
    // Only the first two were handled before the "crash".
    ASSERT_TRUE((*first)->commit(std::vector<ports::Origin>{events[0].origin, events[1].origin}));
    EXPECT_FALSE(*(*first)->caught_up());
    ASSERT_TRUE((*first)->close());
  }
  auto second = make_event_source(config());
  ASSERT_TRUE(second);

  auto events = poll_until(**second, 2);

  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].origin.offset, 2);
  EXPECT_EQ(events[1].origin.offset, 3);
  ASSERT_TRUE((*second)->commit(std::vector<ports::Origin>{events[0].origin, events[1].origin}));
  EXPECT_TRUE(*(*second)->caught_up());
  EXPECT_TRUE((*second)->close());
}

std::vector<ports::Origin> origins_of(const std::vector<ports::SourceEvent>& events) {
  std::vector<ports::Origin> out;
  for (const auto& e : events) out.push_back(e.origin);
  return out;
}

// The pipeline commits without waiting while batches go on: those commits are the broker's
// by the time the consumer has closed, and a restart resumes after them.
TEST_P(KafkaEventSource, CommitsSentWithoutWaitingHoldOnceTheConsumerHasClosed) {
  make_topics();
  ASSERT_TRUE(publish(bootstrap(), in_, messages(4)));
  {
    auto first = make_event_source(config());
    ASSERT_TRUE(first);
    auto events = poll_until(**first, 4);
    ASSERT_EQ(events.size(), 4u);
    ASSERT_TRUE((*first)->commit_async(std::vector<ports::Origin>{events[0].origin}));
    ASSERT_TRUE((*first)->commit_async(std::vector<ports::Origin>{events[1].origin}));
    ASSERT_TRUE((*first)->close());
  }
  auto second = make_event_source(config());
  ASSERT_TRUE(second);

  auto events = poll_until(**second, 2);

  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].origin.offset, 2);
  EXPECT_TRUE((*second)->close());
}

// A commit sent without waiting that the broker refuses is not lost silently: the next commit
// says so (and the caller, trying again, commits its own offsets, which cover the refused ones
// of the same partition).
TEST_P(KafkaEventSource, ACommitSentWithoutWaitingThatWasRefusedIsReportedByTheNextCommit) {
  make_topics();
  ASSERT_TRUE(publish(bootstrap(), in_, messages(2)));
  auto source = make_event_source(config());
  ASSERT_TRUE(source);
  auto events = poll_until(**source, 2);
  ASSERT_EQ(events.size(), 2u);

  const ports::Origin nowhere{.topic = in_, .partition = 7, .offset = 0};  // no such partition
  ASSERT_TRUE((*source)->commit_async(std::vector<ports::Origin>{nowhere}));
  Status next = Ok{};
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (next && std::chrono::steady_clock::now() < deadline) {
    ASSERT_TRUE((*source)->poll(1, 100ms));  // where the broker's answer is taken
    next = (*source)->commit_async(std::vector<ports::Origin>{events[0].origin});
  }

  ASSERT_FALSE(next);
  EXPECT_EQ(next.error().code, ErrorCode::kUnavailable) << next.error().message;
  EXPECT_TRUE((*source)->commit(origins_of(events)));  // tried again: committed
  EXPECT_TRUE(*(*source)->caught_up());
  EXPECT_TRUE((*source)->close());
}

// What a second gateway joining the group sees: the partitions are shared out again (a
// rebalance), and whoever gets a partition resumes at its committed offset. Events committed
// before are never delivered again; uncommitted ones may come twice (at least once), never not.
TEST_P(KafkaEventSource, ASecondMemberGetsPartitionsAndResumesFromTheCommittedOffsets) {
  make_topics(3);
  ASSERT_TRUE(publish(bootstrap(), in_, messages(12)));
  auto first = make_event_source(config());
  ASSERT_TRUE(first);
  auto handled = poll_until(**first, 12);
  ASSERT_EQ(handled.size(), 12u);
  ASSERT_TRUE((*first)->commit(origins_of(handled)));
  ASSERT_TRUE(publish(bootstrap(), in_, messages(12, 12)));
  auto second = make_event_source(config());
  ASSERT_TRUE(second);

  // Both poll, as gateways do: a member that stops polling holds up the rebalance.
  std::vector<ports::SourceEvent> of_first, of_second;
  std::set<std::string> values;
  std::set<std::int32_t> partitions;
  const std::pair<ports::EventSource*, std::vector<ports::SourceEvent>*> members[] = {
      {first->get(), &of_first}, {second->get(), &of_second}};
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while ((of_second.empty() || values.size() < 12) && std::chrono::steady_clock::now() < deadline) {
    for (const auto& [source, into] : members) {
      auto batch = source->poll(24, 100ms);
      ASSERT_TRUE(batch) << batch.error().message;
      for (auto& e : *batch) {
        values.insert(e.value);
        partitions.insert(e.origin.partition);
        into->push_back(std::move(e));
      }
    }
  }

  // The keys spread the new events over all three partitions, so each member has some.
  EXPECT_EQ(partitions.size(), 3u);
  EXPECT_FALSE(of_second.empty());
  std::set<std::string> expected;
  for (const auto& m : messages(12, 12)) expected.insert(m.value);
  EXPECT_EQ(values, expected);
  EXPECT_TRUE((*first)->close());
  EXPECT_TRUE((*second)->close());
}

TEST_P(KafkaDeadLetters, CarryTheOriginalSealedAndTheReasonAndTheOriginInClear) {
  make_topics();
  Sealing sealing;
  auto dead = make_dead_letters(config(), sealing.sealer);
  ASSERT_TRUE(dead);
  ports::SourceEvent event;
  event.origin = {.topic = "in", .partition = 0, .offset = 17};
  event.key = "Patient/x";
  event.value = "{not json";
  event.headers = {{"fhir-source", "adt"}};

  ASSERT_TRUE((*dead)->send(
      {.event = event, .error_code = "invalid-input", .error_detail = "invalid JSON"}));
  ASSERT_TRUE((*dead)->flush(10s));

  auto letters = read_topic(bootstrap(), dlq_, 10s);
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

TEST_P(KafkaDeadLetters, ALetterLargerThanTheTopicAllowsIsDeliveredCutAndSaysSo) {
  make_topics();
  Sealing sealing;
  auto dead = make_dead_letters(config(), sealing.sealer);  // message.max.bytes 1 MB
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

  auto letters = read_topic(bootstrap(), dlq_, 10s);
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

// The broker's topic limit is lower than ours: it refuses the letter as too large. On the real
// broker the topic says so (max.message.bytes 100 KiB); the mock is told to refuse once.
TEST_P(KafkaDeadLetters, ALetterTheBrokerRefusesForGoodIsReplacedByItsHeadersAlone) {
  make_topics();
  auto limited = config();
  if (GetParam() == Broker::kReal) {
    limited.dead_letter_topic = prefix_ + "small-dlq";
    testing::KafkaBroker::shared().create_topics(
        1, {limited.dead_letter_topic + ":max.message.bytes=102400"});
  }
  Sealing sealing;
  auto dead = make_dead_letters(limited, sealing.sealer);
  ASSERT_TRUE(dead);
  ports::SourceEvent event;
  event.origin = {.topic = "in", .partition = 0, .offset = 9};
  event.key = "k";
  event.value = std::string(500 * 1024, 'x');
  ASSERT_TRUE((*dead)->send(
      {.event = event, .error_code = "invalid-input", .error_detail = "invalid JSON"}));
  if (GetParam() == Broker::kMock) mock_->mock().refuse_next_produce_requests_as_too_large(1);

  auto flushed = (*dead)->flush(20s);

  ASSERT_TRUE(flushed) << flushed.error().message;
  auto letters = read_topic(bootstrap(), limited.dead_letter_topic, 10s);
  ASSERT_TRUE(letters) << letters.error().message;
  ASSERT_EQ(letters->size(), 1u);
  EXPECT_TRUE(letters->front().value.empty());
  EXPECT_EQ(letters->front().header("original-truncated"), "value,key,headers");
  EXPECT_EQ(letters->front().header("origin-offset"), "9");
  EXPECT_EQ(letters->front().header("original-bytes"), std::to_string(500 * 1024));
}

TEST_P(KafkaReceipts, AMessageTooLargeIsAPermanentErrorNotRetried) {
  make_topics();
  auto small = config();
  small.max_message_bytes = 16384;
  Sealing sealing;
  auto receipts = make_receipts(small, sealing.sealer);
  ASSERT_TRUE(receipts);
  ports::Receipt receipt;
  receipt.reference = std::string(20000, 'r');

  auto sent = (*receipts)->publish(receipt);

  ASSERT_FALSE(sent);
  EXPECT_EQ(sent.error().code, ErrorCode::kInvalidInput) << sent.error().message;
}

TEST_P(KafkaReceipts, AreJsonKeyedByTheResourceKeyWithTheReferenceSealed) {
  make_topics();
  Sealing sealing;
  auto receipts = make_receipts(config(), sealing.sealer);
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

  auto read = read_topic(bootstrap(), results_, 10s);
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

TEST_P(KafkaTools, ReadTopicReadsEveryPartitionToItsEnd) {
  make_topics(3);
  ASSERT_TRUE(publish(bootstrap(), in_, messages(12)));

  auto read = read_topic(bootstrap(), in_, 10s);

  ASSERT_TRUE(read);
  EXPECT_EQ(read->size(), 12u);
}

// What `fhir-ledger import` sends with: one message the broker refuses for good (larger than
// its 1 MB limit) is named, and the others are delivered and placed.
TEST_P(KafkaTools, AMessageTheBrokerRefusesIsNamedAndTheOthersAreDelivered) {
  if (GetParam() == Broker::kMock) GTEST_SKIP() << "the mock cluster takes messages of any size";
  make_topics();
  auto batch = messages(3);
  batch[1].value = std::string(1536 * 1024, 'x');

  auto placed = publish_placed(bootstrap(), in_, batch, 20s);

  ASSERT_TRUE(placed) << placed.error().message;
  ASSERT_EQ(placed->size(), 3u);
  EXPECT_EQ((*placed)[0].refused, "");
  EXPECT_NE((*placed)[1].refused.find("too large"), std::string::npos) << (*placed)[1].refused;
  EXPECT_EQ((*placed)[2].refused, "");
  EXPECT_EQ(std::set<std::int64_t>({(*placed)[0].offset, (*placed)[2].offset}),
            std::set<std::int64_t>({0, 1}));
  auto read = read_topic(bootstrap(), in_, 10s);
  ASSERT_TRUE(read);
  EXPECT_EQ(read->size(), 2u);
  EXPECT_FALSE(publish(bootstrap(), in_, batch, 20s));  // publish() still fails as a whole
}

// What the console's "show the message" does: each message found again where publish_placed
// said it went, with its key, value and headers.
TEST_P(KafkaTools, ReadMessageReadsTheMessageWherePublishPlacedIt) {
  make_topics(3);
  const auto sent = messages(6);
  auto placed = publish_placed(bootstrap(), in_, sent, 20s);
  ASSERT_TRUE(placed) << placed.error().message;
  ASSERT_EQ(placed->size(), sent.size());

  for (std::size_t i = 0; i < sent.size(); ++i) {
    const auto& at = (*placed)[i];
    ASSERT_EQ(at.refused, "");

    auto read = read_message(bootstrap(), in_, at.partition, at.offset, 10s);

    ASSERT_TRUE(read) << i << ": " << read.error().message;
    EXPECT_EQ(read->origin.topic, in_);
    EXPECT_EQ(read->origin.partition, at.partition);
    EXPECT_EQ(read->origin.offset, at.offset);
    EXPECT_EQ(read->key, sent[i].key);
    EXPECT_EQ(read->value, sent[i].value);
    EXPECT_EQ(read->headers, sent[i].headers);
  }
}

TEST_P(KafkaTools, ReadMessagePastTheEndOrInAPartitionThatDoesNotExistIsNotFound) {
  make_topics(1);
  auto placed = publish_placed(bootstrap(), in_, messages(2), 20s);
  ASSERT_TRUE(placed) << placed.error().message;
  ASSERT_TRUE(read_message(bootstrap(), in_, 0, 1, 10s));  // the last one is there

  auto next = read_message(bootstrap(), in_, 0, 2, 10s);
  auto far = read_message(bootstrap(), in_, 0, 1000, 10s);
  auto before = read_message(bootstrap(), in_, 0, -1, 10s);
  auto no_partition = read_message(bootstrap(), in_, 7, 0, 10s);

  ASSERT_FALSE(next);
  EXPECT_EQ(next.error().code, ErrorCode::kNotFound) << next.error().message;
  ASSERT_FALSE(far);
  EXPECT_EQ(far.error().code, ErrorCode::kNotFound) << far.error().message;
  ASSERT_FALSE(before);
  EXPECT_EQ(before.error().code, ErrorCode::kNotFound) << before.error().message;
  ASSERT_FALSE(no_partition);
  EXPECT_EQ(no_partition.error().code, ErrorCode::kNotFound) << no_partition.error().message;
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
