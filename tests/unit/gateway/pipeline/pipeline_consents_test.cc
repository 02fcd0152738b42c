// The pipeline's hand-over of anchored Consents to its ConsentSink (issue 15), with a fake
// sink: once per Consent, after confirmation and before the commit; transient failures held
// before the commit and retried; permanent ones counted, audited and passed. ConsentService
// behind the sink is tested in access/consent_service_test.cc, the whole path in
// tests/e2e/consent_test.sh.
#include "fl/gateway/crypto/hash.h"
#include "fl/gateway/pipeline.h"
#include "fl/gateway/pseudonyms.h"

#include "support/fakes.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <deque>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace fl::gateway {
namespace {

constexpr const char* kConsent =
    R"({"resourceType":"Consent","id":"consent-7","meta":{"versionId":"1"},"status":"active",)"
    R"("scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope",)"
    R"("code":"patient-privacy"}]},"patient":{"reference":"Patient/p1"},)"
    R"("provision":{"actor":[{"reference":{"reference":"Organization/eu-hospital"}}]}})";

constexpr const char* kDeleteConsent =
    R"({"resourceType":"Bundle","id":"b1","type":"transaction","entry":[)"
    R"({"request":{"method":"DELETE","url":"Consent/consent-7"}}]})";

// Records each delivery, with what the test wants to know at that moment; fails as told.
class FakeConsentSink final : public ports::ConsentSink {
 public:
  Result<ports::ConsentOutcome> apply(const ports::ConsentDelivery& delivery) override {
    deliveries.push_back(delivery);
    if (on_apply) on_apply();
    if (!failures.empty()) {
      Error error = failures.front();
      failures.pop_front();
      return error;
    }
    return outcome;
  }

  std::vector<ports::ConsentDelivery> deliveries;
  std::deque<Error> failures;  // answered in turn before `outcome`
  ports::ConsentOutcome outcome{.added = 1, .refused = 1};
  std::function<void()> on_apply;
};

class CountingMetrics final : public ports::Metrics {
 public:
  void events(std::string_view, std::uint64_t) override {}
  void resources_anchored(std::uint64_t) override {}
  void batch_events(std::size_t) override {}
  void stage_seconds(std::string_view, double) override {}
  void event_latency_seconds(double, std::uint64_t) override {}
  void transactions(std::uint64_t, std::uint64_t) override {}
  void batches_in_flight(std::size_t) override {}
  void retried(std::string_view step) override { ++retries[std::string(step)]; }
  void regions_down(std::size_t, std::size_t) override {}
  void consents(std::string_view outcome) override { ++consent_outcomes[std::string(outcome)]; }
  void consent_changes(std::string_view kind, std::uint64_t count) override {
    changes[std::string(kind)] += count;
  }

  std::map<std::string, int> retries;
  std::map<std::string, int> consent_outcomes;
  std::map<std::string, std::uint64_t> changes;
};

class PipelineConsentsTest : public ::testing::Test {
 protected:
  Pipeline make() {
    PipelineOptions options;
    options.retry_backoff = std::chrono::milliseconds(1);
    options.batch_max_wait = std::chrono::milliseconds(1);
    return Pipeline({.source = source,
                     .dead_letters = dead,
                     .receipts = receipts,
                     .blobs = blobs,
                     .master_keys = master_keys,
                     .directory = directory,
                     .ledger = ledger,
                     .keys = keys,
                     .clock = clock,
                     .audit = &audit,
                     .metrics = &metrics,
                     .consents = &sink},
                    normalizer, policy, options);
  }

  testing::FakeEventSource source;
  testing::FakeDeadLetters dead;
  testing::FakeReceipts receipts;
  testing::FakeBlobStore blobs;
  testing::FakeMasterKeyStore master_keys;
  testing::FakePatientDirectory directory;
  testing::FakePointerLedger ledger;
  testing::FakeKeyProvider keys;
  testing::ManualClock clock;
  testing::FakeAuditLog audit;
  CountingMetrics metrics;
  FakeConsentSink sink;
  PassThroughNormalizer normalizer;
  PermitAllPolicy policy{"default"};
  std::atomic<bool> stop{false};
};

bool same_json(const std::string& a, const std::string& b) {
  rapidjson::Document x;
  rapidjson::Document y;
  x.Parse(a.c_str());
  y.Parse(b.c_str());
  return !x.HasParseError() && !y.HasParseError() && x == y;
}

TEST_F(PipelineConsentsTest, AnAnchoredConsentIsHandedOverOnceBeforeTheCommit) {
  source.push(kConsent, {{"fhir-source", "demo-ehr"}});
  std::vector<std::string> ledger_calls_then;
  std::int64_t committed_then = -1;
  sink.on_apply = [&] {
    ledger_calls_then = ledger.calls;
    committed_then = source.committed();
  };
  Pipeline pipeline = make();

  auto handled = pipeline.run_once(stop);

  ASSERT_TRUE(handled) << handled.error().message;
  ASSERT_EQ(sink.deliveries.size(), 1u);
  const auto& d = sink.deliveries[0];
  EXPECT_EQ(d.source, "demo-ehr");
  EXPECT_EQ(d.reference, "Consent/consent-7");
  EXPECT_FALSE(d.deleted);
  EXPECT_EQ(d.submitter, "kafka:fhir.events");
  EXPECT_TRUE(same_json(d.json, kConsent)) << d.json;
  // After the transaction was confirmed, before the offsets were committed.
  EXPECT_EQ(ledger_calls_then, (std::vector<std::string>{"submit 1", "await 1"}));
  EXPECT_EQ(committed_then, 0);
  EXPECT_EQ(source.committed(), 1);
  EXPECT_EQ(receipts.receipts.size(), 1u);
  EXPECT_EQ(pipeline.stats().consents_applied, 1u);
  EXPECT_EQ(metrics.consent_outcomes["applied"], 1);
  EXPECT_EQ(metrics.changes["added"], 1u);
  EXPECT_EQ(metrics.changes["refused"], 1u);
}

TEST_F(PipelineConsentsTest, ResourcesOtherThanConsentsAreNotHandedOver) {
  source.push(R"({"resourceType":"Patient","id":"p1"})");
  source.push(R"({"resourceType":"Observation","id":"o1","subject":{"reference":"Patient/p1"}})");
  Pipeline pipeline = make();

  ASSERT_TRUE(pipeline.run_once(stop));

  EXPECT_TRUE(sink.deliveries.empty());
  EXPECT_EQ(source.committed(), 2);
  EXPECT_TRUE(metrics.consent_outcomes.empty());
}

TEST_F(PipelineConsentsTest, AnUnavailableSinkIsRetriedAndNothingIsCommittedUntilItAnswers) {
  source.push(kConsent);
  for (int i = 0; i < 3; ++i) {
    sink.failures.push_back(Error{ErrorCode::kUnavailable, "node down", "fake-node"});
  }
  std::vector<std::int64_t> committed_then;
  sink.on_apply = [&] { committed_then.push_back(source.committed()); };
  const auto start = clock.now();
  Pipeline pipeline = make();

  auto handled = pipeline.run_once(stop);

  ASSERT_TRUE(handled) << handled.error().message;
  EXPECT_EQ(sink.deliveries.size(), 4u);
  EXPECT_EQ(committed_then, (std::vector<std::int64_t>{0, 0, 0, 0}));
  EXPECT_EQ(source.committed(), 1);
  EXPECT_EQ(metrics.retries["consent"], 3);
  // The capped backoff: 1, 2 and 4 ms of the simulated clock.
  EXPECT_GE(clock.now() - start, std::chrono::milliseconds(7));
  EXPECT_EQ(sink.deliveries[3].json, sink.deliveries[0].json);
  EXPECT_TRUE(audit.records.empty());
}

TEST_F(PipelineConsentsTest, AStopWhileTheSinkIsUnavailableCommitsNothing) {
  source.push(kConsent);
  source.push(R"({"resourceType":"Patient","id":"p1"})");
  for (int i = 0; i < 100; ++i) {
    sink.failures.push_back(Error{ErrorCode::kUnavailable, "node down", "fake-node"});
  }
  sink.on_apply = [&] {
    if (sink.deliveries.size() == 2) stop.store(true);
  };
  Pipeline pipeline = make();

  auto handled = pipeline.run_once(stop);

  ASSERT_FALSE(handled);
  EXPECT_EQ(handled.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(source.committed(), 0);  // the Consent is delivered again after the restart
  EXPECT_TRUE(receipts.receipts.empty());
}

TEST_F(PipelineConsentsTest, APermanentFailureIsCountedAuditedAndThePartitionMovesOn) {
  source.push(kConsent, {{"fhir-source", "demo-ehr"}});
  source.push(R"({"resourceType":"Patient","id":"p1"})");
  sink.failures.push_back(
      Error{ErrorCode::kInvalidInput, "expected permit or deny", "/provision/type"});
  std::optional<std::int64_t> committed_at_flush;
  audit.on_flush = [&] { committed_at_flush = source.committed(); };
  Pipeline pipeline = make();

  auto handled = pipeline.run_once(stop);

  ASSERT_TRUE(handled) << handled.error().message;
  EXPECT_EQ(sink.deliveries.size(), 1u);  // not retried: it cannot change
  EXPECT_EQ(source.committed(), 2);
  EXPECT_EQ(receipts.receipts.size(), 2u);  // the Consent stays anchored
  EXPECT_TRUE(dead.letters.empty());
  EXPECT_EQ(pipeline.stats().consents_failed, 1u);
  EXPECT_EQ(pipeline.stats().consents_applied, 0u);
  EXPECT_EQ(metrics.consent_outcomes["failed"], 1);
  EXPECT_TRUE(metrics.retries.empty());
  ASSERT_EQ(audit.records.size(), 1u);
  EXPECT_EQ(committed_at_flush, 0);  // durable before the commit
  const auto resource = Pseudonyms(keys).resource_key("demo-ehr", "Consent/consent-7");
  const auto patient = Pseudonyms(keys).patient_key("demo-ehr", "Patient/p1");
  ASSERT_TRUE(resource && patient);
  const std::string& json = audit.records[0].json;
  EXPECT_EQ(json.find("consent-7"), std::string::npos) << "no FHIR id in the audit: " << json;
  EXPECT_EQ(json.find("p1"), std::string::npos) << "no FHIR id in the audit: " << json;
  EXPECT_EQ(audit.records[0].key, to_0x_hex(*patient));
  rapidjson::Document event;
  event.Parse(json.c_str());
  ASSERT_FALSE(event.HasParseError());
  EXPECT_EQ(std::string(event["outcome"].GetString()), "8");
  EXPECT_EQ(std::string(event["subtype"][1]["code"].GetString()), "consent-failure");
  EXPECT_EQ(std::string(event["entity"][1]["what"]["identifier"]["value"].GetString()),
            to_0x_hex(*resource));
  EXPECT_EQ(std::string(event["id"].GetString()),
            to_hex(crypto::sha256(as_bytes("fhir.events[0]@0 consent " + to_hex(*resource)))));
  EXPECT_NE(std::string(event["outcomeDesc"].GetString()).find("/provision/type"),
            std::string::npos);
}

TEST_F(PipelineConsentsTest, ADeletedConsentIsHandedOverAsADeletion) {
  source.push(kConsent);
  Pipeline pipeline = make();
  ASSERT_TRUE(pipeline.run_once(stop));
  source.push(kDeleteConsent);

  auto handled = pipeline.run_once(stop);

  ASSERT_TRUE(handled) << handled.error().message;
  ASSERT_EQ(sink.deliveries.size(), 2u);
  const auto& d = sink.deliveries[1];
  EXPECT_TRUE(d.deleted);
  EXPECT_EQ(d.reference, "Consent/consent-7");
  EXPECT_EQ(d.source, "default");
  EXPECT_TRUE(d.json.empty());
  EXPECT_EQ(source.committed(), 2);
}

}  // namespace
}  // namespace fl::gateway
