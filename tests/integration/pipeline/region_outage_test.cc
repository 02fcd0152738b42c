// Issue 14, acceptance 4: one region's Redis down must not stop the other regions. Three
// regions (default, eu, us), each a real redis-server; patients of all three interleaved on a
// two-partition topic of a Kafka-protocol broker (the mock cluster over TCP); anvil anchors.
// eu's Redis is killed (connections refused) for 20 s while events keep coming: us and default
// patients are anchored meanwhile, eu's events wait without being committed past, and once eu
// is back (with its data) everything is anchored, each resource's versions in order.
#include "fl/adapters/evm/evm_pointer_ledger.h"
#include "fl/adapters/kafka/kafka_event_source.h"
#include "fl/adapters/kafka/kafka_producers.h"
#include "fl/adapters/kafka/tools.h"
#include "fl/adapters/keys/keyring_key_provider.h"
#include "fl/adapters/redis/redis_blob_store.h"
#include "fl/gateway/crypto/topic_sealer.h"
#include "fl/gateway/pipeline.h"

#include "support/corpus.h"
#include "support/services.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace fl::gateway {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A Patient's region is its address country's (DE: eu, US: us, CA: default); any other resource
// follows its patient's recorded country (the directory). One without is refused: had an eu
// patient's record been missed while eu was down, its resource would be dead-lettered, not
// stored elsewhere.
class ByCountry final : public IngestPolicy {
 public:
  Result<Decision> decide_ingest(const IngestRequest& request) override {
    std::string country(request.recorded_country);
    if (request.resource_type == "Patient" && request.resource != nullptr) {
      const auto& r = *request.resource;
      if (r.HasMember("address") && r["address"].IsArray() && !r["address"].Empty() &&
          r["address"][0].HasMember("country")) {
        country = r["address"][0]["country"].GetString();
      }
    }
    static const std::map<std::string, std::string> kRegions{
        {"DE", "eu"}, {"US", "us"}, {"CA", "default"}};
    auto region = kRegions.find(country);
    if (region == kRegions.end()) return Decision{.permit = false, .rule_ids = {"no-country"}};
    Decision decision{
        .permit = true, .region = region->second, .rule_ids = {"by-country"}, .country = country};
    if (request.resource_type == "Patient") decision.patient_address_country = country;
    return decision;
  }
};

// The receipts port, noting when each receipt was made durable (its flush): the moment its
// resource counts as anchored and reported.
class TimedReceipts final : public ports::Receipts {
 public:
  struct Seen {
    ports::Receipt receipt;
    Clock::time_point at;
  };

  explicit TimedReceipts(ports::Receipts& inner) : inner_(inner) {}

  Status publish(const ports::Receipt& receipt) override {
    auto sent = inner_.publish(receipt);
    if (sent) unflushed_.push_back(receipt);
    return sent;
  }
  Status flush(std::chrono::milliseconds timeout) override {
    auto flushed = inner_.flush(timeout);
    // Not delivered yet (a flush that did not wait, or a broker away): they stay queued with the
    // producer, and a later flush sees them through (the port's contract).
    if (!flushed) return flushed;
    std::vector<ports::Receipt> batch = std::exchange(unflushed_, {});
    const auto now = Clock::now();
    std::lock_guard lock(mutex_);
    for (auto& r : batch) seen_.push_back({std::move(r), now});
    return flushed;
  }
  std::vector<Seen> seen() const {
    std::lock_guard lock(mutex_);
    return seen_;
  }

 private:
  ports::Receipts& inner_;
  std::vector<ports::Receipt> unflushed_;  // pipeline thread only
  mutable std::mutex mutex_;               // guards seen_
  std::vector<Seen> seen_;
};

// The event source, noting each commit: when, and the next offset it committed per partition.
class RecordingSource final : public ports::EventSource {
 public:
  struct Commit {
    Clock::time_point at;
    std::map<std::int32_t, std::int64_t> next;
  };

  explicit RecordingSource(ports::EventSource& inner) : inner_(inner) {}

  Result<std::vector<ports::SourceEvent>> poll(std::size_t max_events,
                                               std::chrono::milliseconds timeout) override {
    return inner_.poll(max_events, timeout);
  }
  Status commit(std::span<const ports::Origin> handled) override {
    Commit c{.at = Clock::now(), .next = {}};
    for (const auto& o : handled) c.next[o.partition] = std::max(c.next[o.partition], o.offset + 1);
    auto committed = inner_.commit(handled);
    if (committed) commits_.push_back(std::move(c));
    return committed;
  }
  Result<bool> caught_up() override { return inner_.caught_up(); }
  // Read once run() returned.
  const std::vector<Commit>& commits() const { return commits_; }

 private:
  ports::EventSource& inner_;
  std::vector<Commit> commits_;
};

std::string patient(const std::string& id, const std::string& country, int version) {
  return R"({"resourceType":"Patient","id":")" + id + R"(","meta":{"versionId":")" +
         std::to_string(version) + R"("},"address":[{"country":")" + country + R"("}]})";
}

std::string observation(const std::string& id, const std::string& patient_id, int version) {
  return R"({"resourceType":"Observation","id":")" + id + R"(","meta":{"versionId":")" +
         std::to_string(version) + R"("},"status":"final","subject":{"reference":"Patient/)" +
         patient_id + R"("},"valueInteger":)" + std::to_string(version) + "}";
}

// One event spanning two regions: an Observation of an eu patient and one of a us patient.
std::string spanning_bundle(const std::string& eu_patient, const std::string& us_patient) {
  return R"({"resourceType":"Bundle","type":"transaction","entry":[)"
         R"({"resource":{"resourceType":"Observation","id":"span-eu","meta":{"versionId":"1"},)"
         R"("status":"final","subject":{"reference":"Patient/)" +
         eu_patient +
         R"("}},"request":{"method":"PUT","url":"Observation/span-eu"}},)"
         R"({"resource":{"resourceType":"Observation","id":"span-us","meta":{"versionId":"1"},)"
         R"("status":"final","subject":{"reference":"Patient/)" +
         us_patient + R"("}},"request":{"method":"PUT","url":"Observation/span-us"}}]})";
}

struct Published {
  std::string reference;  // "Observation/obs-eu-0"
  std::string region;
  int version = 0;
  Clock::time_point at;  // acknowledged by the broker
};

class RegionOutage : public ::testing::Test {
 protected:
  void SetUp() override {
    auto contract = evm::deploy_pointer_registry(
        anvil_.rpc_url(), SecretBytes(parse_hex(testing::AnvilNode::kDevKey0).value()));
    ASSERT_TRUE(contract) << contract.error().message;
    contract_ = *contract;
  }

  redis::RedisConfig redis_config(int timeout_ms) const {
    return {.regions = {{"default", {.host = "127.0.0.1", .port = default_.port()}},
                        {"eu", {.host = "127.0.0.1", .port = eu_.port(), .timeout_ms = timeout_ms}},
                        {"us", {.host = "127.0.0.1", .port = us_.port()}}}};
  }

  // Runs the gateway while events of every region are published, with eu's Redis taken down by
  // `take_down` 3 s in and brought back by `bring_back` `outage` later, and checks what
  // acceptance 4 asks. With `recording_thread`, pointer records and reports are written by the
  // pipeline's recording thread on connections of its own (as `serve` runs it).
  void run_outage(const std::function<void()>& take_down, const std::function<void()>& bring_back,
                  std::chrono::seconds outage, int eu_timeout_ms, bool recording_thread = false);

  void publish(const std::vector<kafka::OutgoingMessage>& messages,
               const std::vector<Published>& what) {
    ASSERT_TRUE(kafka::publish(kafka_.bootstrap(), "fhir.events", messages));
    const auto now = Clock::now();
    for (Published p : what) {
      p.at = now;
      published_.push_back(std::move(p));
    }
  }

  testing::KafkaCluster kafka_{{"fhir.events", "fhir.dead-letters", "fhir.receipts"}, 2};
  testing::RedisServer default_;
  testing::RedisServer eu_{/*durable=*/true};
  testing::RedisServer us_;
  testing::AnvilNode anvil_;
  std::string contract_;
  kafka::KafkaConfig kafka_config_{.bootstrap_servers = kafka_.bootstrap(),
                                   .group_id = "gateway",
                                   .input_topics = {"fhir.events"},
                                   .dead_letter_topic = "fhir.dead-letters",
                                   .results_topic = "fhir.receipts"};
  std::vector<Published> published_;
};

void RegionOutage::run_outage(const std::function<void()>& take_down,
                              const std::function<void()>& bring_back, std::chrono::seconds outage,
                              int eu_timeout_ms, bool recording_thread) {
  // Patients: four per region, and us-x, whose data a Bundle shares with an eu patient.
  const std::map<std::string, std::pair<std::string, std::string>> patients{
      {"eu-0", {"DE", "eu"}},      {"eu-1", {"DE", "eu"}},      {"eu-2", {"DE", "eu"}},
      {"eu-3", {"DE", "eu"}},      {"us-0", {"US", "us"}},      {"us-1", {"US", "us"}},
      {"us-2", {"US", "us"}},      {"us-3", {"US", "us"}},      {"ca-0", {"CA", "default"}},
      {"ca-1", {"CA", "default"}}, {"ca-2", {"CA", "default"}}, {"ca-3", {"CA", "default"}},
      {"us-x", {"US", "us"}}};
  std::map<std::string, int> patient_version;
  {
    std::vector<kafka::OutgoingMessage> messages;
    std::vector<Published> what;
    for (const auto& [id, place] : patients) {
      messages.push_back({.key = id, .value = patient(id, place.first, 1)});
      what.push_back({.reference = "Patient/" + id, .region = place.second, .version = 1});
      patient_version[id] = 1;
    }
    publish(messages, what);
  }

  // The gateway, in batch mode: it returns once every event, parked ones included, is committed.
  auto keys = fl::keys::make_keyring_key_provider(
      (testing::source_root() / "config/keys/dev-keyring.json").string());
  ASSERT_TRUE(keys);
  std::shared_ptr<ports::TopicSealer> sealer = crypto::make_topic_sealer(**keys, "default").value();
  auto source = kafka::make_event_source(kafka_config_);
  auto dead = kafka::make_dead_letters(kafka_config_, sealer);
  auto receipts = kafka::make_receipts(kafka_config_, sealer);
  auto stores = redis::make_region_stores(redis_config(eu_timeout_ms));
  auto record_stores = redis::make_region_stores(redis_config(eu_timeout_ms));
  ASSERT_TRUE(record_stores);
  auto ledger = evm::make_pointer_ledger(
      {.rpc_url = anvil_.rpc_url(),
       .contract_address = contract_,
       .private_key = SecretBytes(parse_hex(testing::AnvilNode::kDevKey0).value())});
  ASSERT_TRUE(source && dead && receipts && stores && keys && ledger);
  RecordingSource recording(**source);
  TimedReceipts timed(**receipts);
  ports::SteadyClock clock;
  PassThroughNormalizer normalizer;
  ByCountry policy;
  PipelineOptions options{.batch_max_wait = 100ms,
                          .retry_backoff = 200ms,
                          .until_caught_up = true,
                          .idle_before_exit = 1500ms};
  Pipeline pipeline({.source = recording,
                     .dead_letters = **dead,
                     .receipts = timed,
                     .blobs = **stores,
                     .master_keys = **stores,
                     .directory = **stores,
                     .ledger = **ledger,
                     .keys = **keys,
                     .clock = clock,
                     .record_blobs = recording_thread ? record_stores->get() : nullptr},
                    normalizer, policy, options);
  std::atomic<bool> stop{false};
  std::atomic<bool> done{false};
  Status ran = Ok{};
  std::thread gateway([&] {
    ran = pipeline.run(stop);
    done.store(true);
  });
  const auto started = Clock::now();

  // Every 400 ms, a new version of each patient's Observation; now and then a new version of a
  // Patient (a us and a default one recorded while eu is down: their old records cannot be
  // cleaned there). eu goes down after 3 s and comes back `outage` later; 2 s more of events.
  Clock::time_point killed{};
  Clock::time_point back{};
  bool bundle_sent = false;
  for (int round = 1; !done.load(); ++round) {
    const auto elapsed = Clock::now() - started;
    if (killed == Clock::time_point{} && elapsed >= 3s) {
      take_down();
      killed = Clock::now();
    }
    if (killed != Clock::time_point{} && back == Clock::time_point{} &&
        Clock::now() - killed >= outage) {
      bring_back();
      back = Clock::now();
    }
    if (back != Clock::time_point{} && Clock::now() - back >= 2s) break;
    std::vector<kafka::OutgoingMessage> messages;
    std::vector<Published> what;
    for (const auto& [id, place] : patients) {
      messages.push_back({.key = id, .value = observation("obs-" + id, id, round)});
      what.push_back(
          {.reference = "Observation/obs-" + id, .region = place.second, .version = round});
    }
    if (round % 5 == 0) {
      for (const std::string id : {"eu-0", "us-0", "ca-0"}) {
        const auto& place = patients.at(id);
        const int v = ++patient_version[id];
        messages.push_back({.key = id, .value = patient(id, place.first, v)});
        what.push_back({.reference = "Patient/" + id, .region = place.second, .version = v});
      }
    }
    if (!bundle_sent && killed != Clock::time_point{} && Clock::now() - killed >= 5s) {
      messages.push_back({.key = "us-x", .value = spanning_bundle("eu-1", "us-x")});
      what.push_back({.reference = "Observation/span-eu", .region = "eu", .version = 1});
      what.push_back({.reference = "Observation/span-us", .region = "us", .version = 1});
      bundle_sent = true;
    }
    publish(messages, what);
    std::this_thread::sleep_for(400ms);
  }
  // The gateway returns once caught up; a stall past the deadline fails the test.
  while (!done.load() && Clock::now() - started < 55s) std::this_thread::sleep_for(100ms);
  stop.store(true);
  gateway.join();
  ASSERT_TRUE(ran) << ran.error().message;
  ASSERT_NE(back, Clock::time_point{}) << "the gateway returned before eu was back";
  EXPECT_TRUE((*source)->close());
  const auto seen = timed.seen();

  // Nothing lost: every published version has its receipt, and none was dead-lettered.
  EXPECT_EQ(pipeline.stats().dead_lettered, 0u);
  EXPECT_GT(pipeline.stats().parked, 0u);
  EXPECT_EQ(pipeline.stats().waiting, 0u);
  std::map<std::string, const TimedReceipts::Seen*> receipt_of;  // "reference@version" -> first
  std::map<std::string, std::vector<std::uint64_t>> versions_in_order;  // reference -> versions
  std::map<std::string, std::string> resource_keys;                     // reference -> key
  for (const auto& s : seen) {
    const std::string id = s.receipt.reference + "@" + std::to_string(s.receipt.version);
    if (!receipt_of.emplace(id, &s).second) continue;
    versions_in_order[s.receipt.reference].push_back(s.receipt.version);
    resource_keys[s.receipt.reference] = s.receipt.resource_key;
  }
  std::map<std::string, int> last_version;
  for (const auto& p : published_) {
    const std::string id = p.reference + "@" + std::to_string(p.version);
    ASSERT_TRUE(receipt_of.contains(id)) << id << " was never anchored";
    EXPECT_EQ(receipt_of.at(id)->receipt.region, p.region) << id;
    last_version[p.reference] = std::max(last_version[p.reference], p.version);
  }

  // Each resource's versions were anchored in version order, and the ledger holds the last.
  for (const auto& [reference, versions] : versions_in_order) {
    std::string order;
    for (auto v : versions) order += " " + std::to_string(v);
    EXPECT_TRUE(std::is_sorted(versions.begin(), versions.end())) << reference << ":" << order;
  }
  std::vector<ports::Hash32> asked;
  std::vector<std::string> asked_references;
  for (const auto& [reference, last] : last_version) {
    auto bytes = parse_hex(resource_keys.at(reference));
    ASSERT_TRUE(bytes && bytes->size() == 32) << reference;
    ports::Hash32 key{};
    std::copy(bytes->begin(), bytes->end(), key.begin());
    asked.push_back(key);
    asked_references.push_back(reference);
  }
  auto anchored = (*ledger)->latest_versions(asked);
  ASSERT_TRUE(anchored) << anchored.error().message;
  for (std::size_t i = 0; i < asked.size(); ++i) {
    EXPECT_EQ((*anchored)[i], static_cast<std::uint64_t>(last_version.at(asked_references[i])))
        << asked_references[i];
  }

  // us and default patients kept being anchored while eu was down; eu's events (and the Bundle
  // that spans eu and us, and us-x's events behind it) waited for eu.
  const Clock::time_point bundle_at = [&] {
    for (const auto& p : published_) {
      if (p.reference == "Observation/span-us") return p.at;
    }
    return Clock::time_point::max();
  }();
  std::size_t flowed = 0;
  std::size_t waited = 0;
  for (const auto& p : published_) {
    if (p.at < killed + 2s || p.at > back - 3s) continue;
    const auto& r = *receipt_of.at(p.reference + "@" + std::to_string(p.version));
    // In the Bundle's round, us-x's Observation was published before it (the same publish).
    const bool behind_bundle = p.reference.find("us-x") != std::string::npos && p.at > bundle_at;
    if (p.region == "eu" || p.reference == "Observation/span-us" || behind_bundle) {
      EXPECT_GT(r.at, back) << p.reference << " v" << p.version
                            << " was anchored while eu was down";
      ++waited;
    } else if (p.reference.find("us-x") == std::string::npos) {
      EXPECT_LT(r.at, back) << p.reference << " v" << p.version << " waited for eu";
      ++flowed;
    }
  }
  EXPECT_GT(flowed, 20u);
  EXPECT_GT(waited, 10u);

  // No commit went past an eu event before it was anchored (its receipt made durable).
  for (const auto& [id, s] : receipt_of) {
    if (s->receipt.region != "eu") continue;
    const auto& origin = s->receipt.origin;
    for (const auto& c : recording.commits()) {
      if (c.at >= s->at) break;
      auto next = c.next.find(origin.partition);
      if (next == c.next.end()) continue;
      EXPECT_LE(next->second, origin.offset)
          << id << " at offset " << origin.offset << " was committed past while parked";
    }
  }
  // Both partitions carried events (run() returned: the group is committed to their ends).
  std::set<std::int32_t> partitions;
  for (const auto& [id, s] : receipt_of) partitions.insert(s->receipt.origin.partition);
  EXPECT_EQ(partitions.size(), 2u);
}

// A killed Redis refuses connections at once.
TEST_F(RegionOutage, OtherRegionsKeepFlowingWhileEuIsKilledAndEuCatchesUpInOrder) {
  run_outage([&] { eu_.kill(); }, [&] { eu_.start_again(); }, 20s, 2000);
}

// The same with the recording thread: the records it cannot write in eu are kept (and their
// events parked) by the pipeline thread, and nothing overtakes them.
TEST_F(RegionOutage, WithARecordingThreadEuKilledAndBackCatchesUpInOrder) {
  run_outage([&] { eu_.kill(); }, [&] { eu_.start_again(); }, 20s, 2000, /*recording_thread=*/true);
}

// A frozen Redis (SIGSTOP) accepts connections and answers nothing: each call to it waits for
// its timeout, which the gateway pays only when eu is due to be tried again.
TEST_F(RegionOutage, OtherRegionsKeepFlowingWhileEuHangsAndEuCatchesUpInOrder) {
  run_outage([&] { eu_.freeze(); }, [&] { eu_.thaw(); }, 10s, 300);
}

}  // namespace
}  // namespace fl::gateway
