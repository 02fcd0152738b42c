// The pipeline's ordering and failure rules, with fakes of every port. The real services are
// exercised in tests/integration/pipeline.
#include "fl/gateway/pipeline.h"

#include "fl/gateway/crypto/hash.h"
#include "fl/gateway/mapping_files.h"
#include "fl/gateway/policy/policy_compiler.h"
#include "fl/gateway/pseudonyms.h"

#include "support/corpus.h"
#include "support/fakes.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

namespace fl::gateway {
namespace {

std::shared_ptr<const policy::PolicyBundle> shipped_bundle() {
  auto compiled = policy::compile_policy_bundle(
      (testing::source_root() / "config" / "policies" / "example-cross-border.json").string(),
      file_reader());
  EXPECT_TRUE(compiled.bundle);
  return compiled.bundle;
}

class PipelineTest : public ::testing::Test {
 protected:
  Pipeline make(PipelineOptions options = {}) { return make_on(source, receipts, options); }

  // A second pipeline on the same store, ledger and keys, as after a restart.
  Pipeline make_on(ports::EventSource& on_source, ports::Receipts& on_receipts,
                   PipelineOptions options = {}) {
    options.retry_backoff = std::chrono::milliseconds(1);
    options.batch_max_wait = std::chrono::milliseconds(1);
    return Pipeline({.source = on_source,
                     .dead_letters = dead,
                     .receipts = on_receipts,
                     .blobs = blobs,
                     .master_keys = master_keys,
                     .directory = directory,
                     .ledger = ledger,
                     .keys = keys,
                     .clock = clock,
                     .audit = audit_log,
                     .record_blobs = record_blobs},
                    normalizer, *ingest, options);
  }

  // The shipped bundle decides instead of permit-all; answers its rules (null if it does not
  // compile).
  std::shared_ptr<const policy::PolicyBundle> decide_with_shipped_bundle() {
    auto rules = shipped_bundle();
    if (rules) {
      bundle_policy = std::make_unique<BundlePolicy>(rules);
      ingest = bundle_policy.get();
    }
    return rules;
  }

  // Denials are audited to `audit`; `committed_at_flush` is how far the source was committed
  // when the audit was flushed.
  void audit_denials() {
    audit_log = &audit;
    audit.on_flush = [this] { committed_at_flush = source.committed(); };
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
  PassThroughNormalizer normalizer;
  PermitAllPolicy policy{"default"};
  IngestPolicy* ingest = &policy;
  std::unique_ptr<BundlePolicy> bundle_policy;
  testing::FakeAuditLog audit;
  ports::AuditLog* audit_log = nullptr;
  std::optional<std::int64_t> committed_at_flush;
  // The recording thread's own connection to the stores (&recorded), or none.
  ports::BlobStore* record_blobs = nullptr;
  testing::FakeBlobStore recorded;
  std::atomic<bool> stop{false};
};

TEST_F(PipelineTest, AnchorsStoresReportsAndCommitsABatch) {
  source.push(R"({"resourceType":"Patient","id":"p1"})");
  source.push(R"({"resourceType":"Observation","id":"o1","meta":{"versionId":"2"}})");
  Pipeline pipeline = make();

  auto handled = pipeline.run_once(stop);

  ASSERT_TRUE(handled) << handled.error().message;
  EXPECT_EQ(*handled, 2u);
  EXPECT_EQ(blobs.writes(), 2);
  EXPECT_EQ(ledger.transactions, 1u);  // one transaction for the whole batch
  EXPECT_EQ(ledger.events, 2);
  ASSERT_EQ(receipts.receipts.size(), 2u);
  EXPECT_EQ(receipts.receipts[1].reference, "Observation/o1");
  EXPECT_EQ(receipts.receipts[1].version, 2u);
  EXPECT_EQ(receipts.receipts[1].tx_hash, "0xtx1");
  EXPECT_EQ(source.committed(), 2);
  EXPECT_TRUE(dead.letters.empty());
}

TEST_F(PipelineTest, ReceiptsCarryPseudonymsNotIds) {
  source.push(R"({"resourceType":"Patient","id":"p1"})");
  Pipeline pipeline = make();

  ASSERT_TRUE(pipeline.run_once(stop));

  const auto& r = receipts.receipts.at(0);
  EXPECT_EQ(r.resource_key.size(), 66u);  // 0x + 32 bytes
  EXPECT_EQ(r.resource_key.find("p1"), std::string::npos);
  EXPECT_EQ(r.redis_key, r.content_hash.substr(2));
}

TEST_F(PipelineTest, APatientWhoMovesWithinABatchIsRecordedWhereItsLastVersionWent) {
  ASSERT_TRUE(decide_with_shipped_bundle());
  source.push(R"({"resourceType":"Patient","id":"p1","meta":{"versionId":"1"},)"
              R"("address":[{"country":"US"}]})");
  source.push(R"({"resourceType":"Patient","id":"p1","meta":{"versionId":"2"},)"
              R"("address":[{"country":"DE"}]})");
  source.push(R"({"resourceType":"Observation","id":"o1","subject":{"reference":"Patient/p1"}})");
  Pipeline pipeline = make();

  ASSERT_TRUE(pipeline.run_once(stop));

  const auto patient = Pseudonyms(keys).patient_key("default", "Patient/p1");
  ASSERT_TRUE(patient);
  ASSERT_EQ(directory.records.size(), 1u);
  EXPECT_EQ(directory.records.at(*patient).country, "DE");
  EXPECT_EQ(directory.records.at(*patient).region, "eu");
  ASSERT_EQ(receipts.receipts.size(), 3u);
  EXPECT_EQ(receipts.receipts[0].region, "us");  // version 1 stays where it was stored
  EXPECT_EQ(receipts.receipts[2].region, "eu");  // the Observation follows the last version
}

TEST_F(PipelineTest, EachResourceThePolicyRefusesIsAuditedDurablyBeforeTheCommit) {
  const auto bundle_rules = decide_with_shipped_bundle();
  ASSERT_TRUE(bundle_rules);
  audit_denials();
  // Brazil has no rule in the shipped bundle: its default effect denies.
  source.push(R"({"resourceType":"Patient","id":"p-br","address":[{"country":"BR"}]})",
              {{"fhir-source", "clinic-br"}});
  source.push(R"({"resourceType":"Patient","id":"p-de","address":[{"country":"DE"}]})");
  Pipeline pipeline = make();

  ASSERT_TRUE(pipeline.run_once(stop));

  ASSERT_EQ(dead.letters.size(), 1u);
  EXPECT_EQ(dead.letters[0].error_code, "policy-denied");
  ASSERT_EQ(audit.records.size(), 1u);
  EXPECT_EQ(audit.flushed, 1u);
  EXPECT_EQ(committed_at_flush, 0);  // durable before the commit
  EXPECT_EQ(source.committed(), 2);
  const auto patient = Pseudonyms(keys).patient_key("clinic-br", "Patient/p-br");
  const auto resource = Pseudonyms(keys).resource_key("clinic-br", "Patient/p-br");
  ASSERT_TRUE(patient && resource);
  EXPECT_EQ(audit.records[0].key, to_0x_hex(*patient));
  const std::string& json = audit.records[0].json;
  EXPECT_EQ(json.find("p-br"), std::string::npos) << "no FHIR id in the audit: " << json;
  rapidjson::Document event;
  event.Parse(json.c_str());
  ASSERT_FALSE(event.HasParseError());
  EXPECT_EQ(std::string(event["outcome"].GetString()), "4");
  EXPECT_EQ(std::string(event["subtype"][1]["code"].GetString()), "ingest");
  // Its id names the message and the resource, so a re-delivered copy has the same one.
  EXPECT_EQ(std::string(event["id"].GetString()),
            to_hex(crypto::sha256(as_bytes("fhir.events[0]@0 " + to_hex(*resource)))));
  EXPECT_EQ(std::string(event["agent"][0]["who"]["display"].GetString()), "clinic-br");
  EXPECT_EQ(std::string(event["entity"][1]["what"]["identifier"]["value"].GetString()),
            to_0x_hex(*resource));
  std::map<std::string, std::string> details;
  for (const auto& d : event["entity"][0]["detail"].GetArray()) {
    details[d["type"].GetString()] = d["valueString"].GetString();
  }
  EXPECT_EQ(details["policy-hash"], to_0x_hex(bundle_rules->hash));
  EXPECT_EQ(details["effect"], "deny");
  EXPECT_EQ(details["rule-ids"], "none");  // the default effect
  EXPECT_EQ(details["country"], "BR");
  EXPECT_EQ(details["message"], "fhir.events[0]@0");
}

TEST_F(PipelineTest, AnAuditRecordRefusedOnceIsSentAgainBeforeTheCommit) {
  ASSERT_TRUE(decide_with_shipped_bundle());
  audit_denials();
  audit.fail_next = true;
  source.push(R"({"resourceType":"Patient","id":"p-br","address":[{"country":"BR"}]})");
  Pipeline pipeline = make();

  ASSERT_TRUE(pipeline.run_once(stop));

  EXPECT_EQ(audit.records.size(), 1u);
  EXPECT_EQ(committed_at_flush, 0);
  EXPECT_EQ(source.committed(), 1);
  // Only what was not queued is queued again: the dead letter queued before the refusal is
  // not sent twice (a failed flush loses nothing queued, the ports' contract).
  EXPECT_EQ(dead.letters.size(), 1u);
}

TEST_F(PipelineTest, InvalidEventsGoToDeadLettersWithReasonAndOrigin) {
  source.push(R"({"resourceType":"Patient","id":"p1"})");
  source.push(R"({"resourceType":"Patient",)", {{"fhir-source", "x"}});
  source.push(R"({"resourceType":"Patinet","id":"p2"})");
  Pipeline pipeline = make();

  ASSERT_TRUE(pipeline.run_once(stop));

  ASSERT_EQ(dead.letters.size(), 2u);
  EXPECT_EQ(dead.letters[0].event.origin.offset, 1);
  EXPECT_EQ(dead.letters[0].error_code, "invalid-input");
  EXPECT_TRUE(dead.letters[0].error_detail.starts_with("invalid JSON"))
      << dead.letters[0].error_detail;
  EXPECT_EQ(dead.letters[0].event.header("fhir-source"), "x");
  EXPECT_NE(dead.letters[1].error_detail.find("unknown resourceType"), std::string::npos);
  EXPECT_EQ(ledger.events, 1);
  EXPECT_EQ(source.committed(), 3);  // dead-lettered events are handled, not stuck
}

// A batch large enough is validated and normalized in two halves at once: what comes out is
// what one thread makes, in event order (dead letters, receipts and their pseudonyms).
TEST_F(PipelineTest, ABatchPreparedInTwoHalvesKeepsEventOrderAndPseudonyms) {
  std::vector<std::int64_t> invalid;
  for (int i = 0; i < 40; ++i) {
    if (i % 7 == 3) {
      source.push(R"({"resourceType":"Observation",)");
      invalid.push_back(i);
    } else {
      source.push(R"({"resourceType":"Observation","id":"o)" + std::to_string(i) +
                  R"(","subject":{"reference":"Patient/p)" + std::to_string(i % 5) + R"("}})");
    }
  }
  PipelineOptions options{.batch_max_events = 40};
  options.parallel_prepare_bytes = 1;
  Pipeline pipeline = make(options);

  ASSERT_TRUE(pipeline.run_once(stop));

  EXPECT_EQ(pipeline.stats().prepared_in_halves, 1u);
  std::vector<std::int64_t> dead_lettered;
  for (const auto& letter : dead.letters) dead_lettered.push_back(letter.event.origin.offset);
  EXPECT_EQ(dead_lettered, invalid);
  Pseudonyms pseudonyms(keys);
  std::vector<std::string> expected, reported;
  std::vector<std::string> expected_keys, reported_keys;
  for (int i = 0; i < 40; ++i) {
    if (i % 7 == 3) continue;
    expected.push_back("Observation/o" + std::to_string(i));
    expected_keys.push_back(to_0x_hex(*pseudonyms.resource_key("default", expected.back())));
  }
  for (const auto& r : receipts.receipts) {
    reported.push_back(r.reference);
    reported_keys.push_back(r.resource_key);
  }
  EXPECT_EQ(reported, expected);
  EXPECT_EQ(reported_keys, expected_keys);
  EXPECT_EQ(source.committed(), 40);
}

TEST_F(PipelineTest, ReDeliveryAfterACrashAnchorsNothingTwice) {
  source.push(R"({"resourceType":"Patient","id":"p1","meta":{"versionId":"1"}})");
  source.push(R"({"resourceType":"Patient","id":"p2"})");
  Pipeline first = make();
  ASSERT_TRUE(first.run_once(stop));
  const auto pointers = ledger.pointers;

  // Simulate a crash after anchoring but before the commit: deliver both again.
  testing::FakeEventSource replay;
  replay.push(R"({"resourceType":"Patient","id":"p1","meta":{"versionId":"1"}})");
  replay.push(R"({"resourceType":"Patient","id":"p2"})");
  Pipeline second = make_on(replay, receipts);
  ASSERT_TRUE(second.run_once(stop));

  EXPECT_EQ(ledger.events, 2);           // no second pointer event
  EXPECT_EQ(ledger.pointers, pointers);  // same content hashes: the first blobs are reused
  EXPECT_EQ(blobs.writes(), 2);          // through their version claims
  EXPECT_TRUE(dead.letters.empty());
}

TEST_F(PipelineTest, ADuplicateInOneBatchIsStoredAndAnchoredOnce) {
  source.push(R"({"resourceType":"Patient","id":"p1","meta":{"versionId":"1"}})");
  source.push(R"({"resourceType":"Patient","id":"p1","meta":{"versionId":"1"}})");
  Pipeline pipeline = make();

  ASSERT_TRUE(pipeline.run_once(stop));

  EXPECT_TRUE(dead.letters.empty());
  ASSERT_EQ(receipts.receipts.size(), 2u);
  EXPECT_EQ(receipts.receipts[0].content_hash, receipts.receipts[1].content_hash);
  EXPECT_EQ(ledger.events, 1);
}

TEST_F(PipelineTest, TheLedgerStillRefusesOtherContentWhenTheStoreLostItsClaims) {
  source.push(R"({"resourceType":"Patient","id":"p1","meta":{"versionId":"1"}})");
  ASSERT_TRUE(make().run_once(stop));

  // The region's Redis was rebuilt empty: no claim, so the version is sealed afresh (a new
  // random nonce, a new content hash), and the ledger's first anchor wins.
  testing::FakeBlobStore rebuilt;
  testing::FakeEventSource replay;
  replay.push(R"({"resourceType":"Patient","id":"p1","meta":{"versionId":"1"}})");
  Pipeline second({.source = replay,
                   .dead_letters = dead,
                   .receipts = receipts,
                   .blobs = rebuilt,
                   .master_keys = master_keys,
                   .directory = directory,
                   .ledger = ledger,
                   .keys = keys,
                   .clock = clock},
                  normalizer, policy, {.retry_backoff = std::chrono::milliseconds(1)});
  ASSERT_TRUE(second.run_once(stop));

  ASSERT_EQ(dead.letters.size(), 1u);
  EXPECT_EQ(dead.letters[0].error_code, "conflict");
  EXPECT_NE(dead.letters[0].error_detail.find("already anchored with content hash"),
            std::string::npos);
}

TEST_F(PipelineTest, EachPatientGetsOneMasterKeyAndTheirResourcesNameIt) {
  source.push(R"({"resourceType":"Patient","id":"p1"})");
  source.push(R"({"resourceType":"Observation","id":"o1","subject":{"reference":"Patient/p1"}})");
  source.push(R"({"resourceType":"Patient","id":"p2"})");
  source.push(R"({"resourceType":"Organization","id":"org1"})");
  Pipeline pipeline = make();

  ASSERT_TRUE(pipeline.run_once(stop));

  ASSERT_EQ(ledger.submitted.size(), 4u);
  EXPECT_EQ(master_keys.entries.size(), 3u);  // p1, p2 and the region's shared key
  const auto& p = ledger.submitted;
  EXPECT_EQ(p[0].key_id, p[1].key_id);
  EXPECT_NE(p[0].key_id, p[2].key_id);
  EXPECT_NE(p[2].key_id, p[3].key_id);
  EXPECT_EQ(p[3].patient_key, ports::Hash32{});
  for (const auto& [where, entry] : master_keys.entries) {
    EXPECT_EQ(where.first, "default");
    EXPECT_EQ(entry.wrapped.kek_id, "test-kek-1");
    EXPECT_TRUE(entry.key_id.starts_with("mk-"));
  }
}

TEST_F(PipelineTest, AnErasedPatientsNewEventsAreDeadLetteredEvenBeforeTheLedgerKnows) {
  source.push(R"({"resourceType":"Patient","id":"p1"})");
  ASSERT_TRUE(make().run_once(stop));
  // The erase tool destroyed the key in the region; its ledger mark is not mined yet.
  for (auto& [where, entry] : master_keys.entries) {
    entry.wrapped = {};
    entry.erased_at = "2026-11-25T00:00:00Z";
  }
  source.push(R"({"resourceType":"Observation","id":"o1","subject":{"reference":"Patient/p1"}})");
  source.push(R"({"resourceType":"Patient","id":"p2"})");
  ASSERT_TRUE(make().run_once(stop));

  ASSERT_EQ(dead.letters.size(), 1u);
  EXPECT_EQ(dead.letters[0].error_code, "erased");
  EXPECT_EQ(dead.letters[0].event.origin.offset, 1);
  EXPECT_EQ(receipts.receipts.back().reference, "Patient/p2");
  EXPECT_EQ(source.committed(), 3);
}

TEST_F(PipelineTest, AVersionAnchoredWithOtherContentIsDeadLetteredAndTheRestReported) {
  source.push(R"({"resourceType":"Patient","id":"p1","meta":{"versionId":"1"},"gender":"male"})");
  Pipeline first = make();
  ASSERT_TRUE(first.run_once(stop));

  // Version 1 again with other content, in a batch with an unrelated resource.
  source.push(R"({"resourceType":"Patient","id":"p1","meta":{"versionId":"1"},"gender":"female"})");
  source.push(R"({"resourceType":"Patient","id":"p2"})");
  ASSERT_TRUE(first.run_once(stop));

  ASSERT_EQ(dead.letters.size(), 1u);
  EXPECT_EQ(dead.letters[0].event.origin.offset, 1);
  EXPECT_EQ(dead.letters[0].error_code, "conflict");
  EXPECT_NE(dead.letters[0].error_detail.find("is already stored with other content"),
            std::string::npos)
      << dead.letters[0].error_detail;
  EXPECT_EQ(dead.letters[0].error_detail.find("p1"), std::string::npos);  // keys, not ids
  EXPECT_EQ(ledger.events, 2);              // refused before anything reached the ledger
  ASSERT_EQ(receipts.receipts.size(), 2u);  // p1 v1 the first time, then p2
  EXPECT_EQ(receipts.receipts[1].reference, "Patient/p2");
  // The pointer record beside the blob still describes what the ledger keeps.
  auto records = blobs.pointer_records("default", receipts.receipts[0].resource_key.substr(2));
  ASSERT_TRUE(records);
  ASSERT_EQ(records->size(), 1u);
  EXPECT_NE(records->at(1).find(receipts.receipts[0].content_hash.substr(2)), std::string::npos);
  EXPECT_EQ(source.committed(), 3);
}

// The fake ledger behind a chain too small for some pointers: those are sent nowhere and their
// placements say why, as the EVM adapter does when not even one fits in a transaction.
class RefusingLedger final : public ports::PointerLedger {
 public:
  explicit RefusingLedger(testing::FakePointerLedger& chain) : chain_(chain) {}

  Result<std::vector<std::uint64_t>> latest_versions(
      std::span<const ports::Hash32> resource_keys) override {
    return chain_.latest_versions(resource_keys);
  }

  Result<ports::AnchorTicket> submit(std::span<const ports::Pointer> batch,
                                     const ports::BeforeSend&) override {
    ++submits;
    std::vector<ports::Pointer> sent;
    std::vector<std::size_t> sent_at;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (too_big.contains(batch[i].resource_key)) continue;
      sent.push_back(batch[i]);
      sent_at.push_back(i);
    }
    ports::AnchorTicket ticket{.placements = std::vector<ports::Placement>(batch.size()),
                               .batch = {batch.begin(), batch.end()}};
    for (auto& placement : ticket.placements) placement.refused = kReason;
    if (sent.empty()) return ticket;
    auto anchored = chain_.submit(sent, {});
    if (!anchored) return anchored.error();
    ticket.tx_hashes = anchored->tx_hashes;
    for (std::size_t j = 0; j < sent.size(); ++j) {
      ticket.placements[sent_at[j]] = anchored->placements[j];
    }
    return ticket;
  }
  Result<ports::AnchorConfirmation> await(const ports::AnchorTicket& ticket) override {
    if (ticket.tx_hashes.empty()) return ports::AnchorConfirmation{.placements = ticket.placements};
    auto confirmed = chain_.await(ticket);
    if (!confirmed) return confirmed.error();
    confirmed->placements = ticket.placements;
    return confirmed;
  }
  Result<std::vector<bool>> erased(std::span<const ports::Hash32> patient_keys) override {
    return chain_.erased(patient_keys);
  }
  Result<std::optional<ports::RootAnchor>> root_anchor(const ports::Hash32& root) override {
    return chain_.root_anchor(root);
  }
  std::string sender() const override { return chain_.sender(); }
  Status settle(const std::string& account) override { return chain_.settle(account); }

  static constexpr const char* kReason =
      "the chain's block gas limit of 100000 is too small for one pointer (needs 140000 gas)";
  std::set<ports::Hash32> too_big;
  int submits = 0;

 private:
  testing::FakePointerLedger& chain_;
};

TEST_F(PipelineTest, APointerTheChainCannotTakeIsDeadLetteredAndTheRestAnchoredAndCommitted) {
  source.push(R"({"resourceType":"Patient","id":"p1"})");
  source.push(R"({"resourceType":"Bundle","id":"b","type":"collection","entry":[
      {"resource":{"resourceType":"Patient","id":"p2"}},
      {"resource":{"resourceType":"Condition","id":"c2","subject":{"reference":"Patient/p2"}}}]})");
  source.push(R"({"resourceType":"Patient","id":"p3"})");
  RefusingLedger refusing(ledger);
  refusing.too_big.insert(Pseudonyms(keys).resource_key("default", "Condition/c2").value());
  Pipeline pipeline({.source = source,
                     .dead_letters = dead,
                     .receipts = receipts,
                     .blobs = blobs,
                     .master_keys = master_keys,
                     .directory = directory,
                     .ledger = refusing,
                     .keys = keys,
                     .clock = clock},
                    normalizer, policy, {.retry_backoff = std::chrono::milliseconds(1)});

  auto handled = pipeline.run_once(stop);

  ASSERT_TRUE(handled) << handled.error().message;
  ASSERT_EQ(dead.letters.size(), 1u);
  EXPECT_EQ(dead.letters[0].event.origin.offset, 1);
  EXPECT_EQ(dead.letters[0].error_code, "invalid-input");
  EXPECT_NE(dead.letters[0].error_detail.find(RefusingLedger::kReason), std::string::npos)
      << dead.letters[0].error_detail;
  EXPECT_EQ(refusing.submits, 1);  // refused once, never sent again
  EXPECT_EQ(ledger.events, 3);     // p1, p2 and p3; c2 reached no transaction
  ASSERT_EQ(receipts.receipts.size(), 3u);
  EXPECT_EQ(receipts.receipts[0].reference, "Patient/p1");
  EXPECT_EQ(receipts.receipts[1].reference, "Patient/p2");  // the event's other resource
  EXPECT_EQ(receipts.receipts[2].reference, "Patient/p3");
  EXPECT_EQ(source.committed(), 3);
}

TEST_F(PipelineTest, AStoreOutageParksTheEventAndNothingIsCommittedBeforeItIsStored) {
  source.push(R"({"resourceType":"Patient","id":"p1"})");
  blobs.fail_next(3);  // more than the first batch tries
  Pipeline pipeline = make();

  ASSERT_TRUE(pipeline.run_once(stop));
  EXPECT_EQ(source.committed(), 0);
  EXPECT_EQ(pipeline.stats().waiting, 1u);
  EXPECT_EQ(pipeline.stats().regions_down, std::vector<std::string>{"default"});
  ASSERT_TRUE(pipeline.run_once(stop));  // not due yet: nothing is tried
  EXPECT_EQ(source.committed(), 0);
  for (int i = 0; i < 3 && source.committed() == 0; ++i) {
    clock.advance(std::chrono::milliseconds(100));
    ASSERT_TRUE(pipeline.run_once(stop));
  }

  EXPECT_EQ(blobs.writes(), 1);
  EXPECT_EQ(ledger.events, 1);
  EXPECT_EQ(source.committed(), 1);
  EXPECT_GE(pipeline.stats().parked, 1u);
  EXPECT_EQ(pipeline.stats().waiting, 0u);
  EXPECT_TRUE(pipeline.stats().regions_down.empty());
  EXPECT_EQ(pipeline.stats().consumed, 1u);
}

TEST_F(PipelineTest, StoppingDuringALedgerOutageCommitsNothing) {
  source.push(R"({"resourceType":"Patient","id":"p1"})");
  ledger.fail_next(1000);
  stop = true;  // as if SIGTERM arrived while the node was down
  Pipeline pipeline = make();

  auto handled = pipeline.run_once(stop);

  ASSERT_FALSE(handled);
  EXPECT_EQ(handled.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(source.committed(), 0);
  EXPECT_TRUE(receipts.receipts.empty());
}

// Backoffs wait on the clock port: on a simulated clock a ledger outage of five failed calls
// moves time on by at least five backoffs, and the test does not wait for them.
TEST_F(PipelineTest, BackoffsSleepOnTheClockPort) {
  source.push(R"({"resourceType":"Patient","id":"p1"})");
  ledger.fail_next(5);
  PipelineOptions options;
  options.retry_backoff = std::chrono::seconds(10);
  options.batch_max_wait = std::chrono::milliseconds(1);
  Pipeline pipeline({.source = source,
                     .dead_letters = dead,
                     .receipts = receipts,
                     .blobs = blobs,
                     .master_keys = master_keys,
                     .directory = directory,
                     .ledger = ledger,
                     .keys = keys,
                     .clock = clock},
                    normalizer, *ingest, options);
  const auto before = clock.now();

  ASSERT_TRUE(pipeline.run_once(stop));

  EXPECT_EQ(source.commits(), 1);
  EXPECT_GE(clock.now() - before, std::chrono::seconds(50));
}

TEST_F(PipelineTest, ABundleIsAnchoredEntryByEntryAndCommittedOnce) {
  source.push(R"({"resourceType":"Bundle","id":"b","type":"collection","entry":[
      {"resource":{"resourceType":"Patient","id":"p1"}},
      {"resource":{"resourceType":"Condition","id":"c1","subject":{"reference":"Patient/p1"}}}]})");
  Pipeline pipeline = make();

  ASSERT_TRUE(pipeline.run_once(stop));

  EXPECT_EQ(ledger.events, 2);
  ASSERT_EQ(receipts.receipts.size(), 2u);
  EXPECT_EQ(receipts.receipts[0].origin, receipts.receipts[1].origin);
  EXPECT_EQ(source.commits(), 1);
}

TEST_F(PipelineTest, EqualContentInAnyKeyOrderHashesEqual) {
  source.push(R"({"resourceType":"Patient","id":"p1","active":true,"gender":"female"})");
  Pipeline pipeline = make();
  ASSERT_TRUE(pipeline.run_once(stop));
  testing::FakeEventSource other;
  other.push(
      R"({ "gender" : "female", "active" : true, "id" : "p1", "resourceType" : "Patient" })");
  testing::FakeReceipts other_receipts;
  Pipeline second = make_on(other, other_receipts);

  ASSERT_TRUE(second.run_once(stop));

  EXPECT_EQ(other_receipts.receipts.at(0).content_hash, receipts.receipts.at(0).content_hash);
}

TEST_F(PipelineTest, SeveralBatchesAreInFlightAndCommittedInOrderWhenConfirmed) {
  for (int i = 0; i < 5; ++i) {
    source.push(R"({"resourceType":"Patient","id":"p)" + std::to_string(i) + R"("})");
  }
  PipelineOptions options{.batch_max_events = 1, .max_in_flight = 3, .until_caught_up = true};
  options.idle_before_exit = std::chrono::milliseconds(0);
  Pipeline pipeline = make(options);

  ASSERT_TRUE(pipeline.run_once(stop));
  ASSERT_TRUE(pipeline.run_once(stop));
  EXPECT_EQ(source.committed(), 0);  // two sent, none confirmed yet
  ASSERT_TRUE(pipeline.run(stop));

  EXPECT_EQ(ledger.calls,
            (std::vector<std::string>{"submit 1", "submit 2", "submit 3", "await 1", "submit 4",
                                      "await 2", "submit 5", "await 3", "await 4", "await 5"}));
  EXPECT_EQ(source.committed(), 5);
  ASSERT_EQ(receipts.receipts.size(), 5u);
  EXPECT_EQ(receipts.receipts[4].tx_hash, "0xtx5");
}

// Two batches in flight about the same resource, and the later one finishes first: the node
// loses the earlier batch's transaction (v1 of o1) after the later one's (v2 of o1, and o2) was
// sent, so the later batch is mined first and the earlier one, sent again, after it. The later
// batch still waits: receipts and records keep o1's versions in order, and no offset is handed
// to commit before every offset polled before it.
TEST_F(PipelineTest, ALaterBatchMinedFirstIsReportedAndCommittedAfterTheEarlierOne) {
  source.push(R"({"resourceType":"Observation","id":"o1","meta":{"versionId":"1"}})");
  source.push(R"({"resourceType":"Observation","id":"o1","meta":{"versionId":"2"}})");
  source.push(R"({"resourceType":"Observation","id":"o2","meta":{"versionId":"1"}})");
  record_blobs = &recorded;
  PipelineOptions options{.batch_max_events = 1, .max_in_flight = 3, .until_caught_up = true};
  options.idle_before_exit = std::chrono::milliseconds(0);
  Pipeline pipeline = make(options);

  ASSERT_TRUE(pipeline.run_once(stop));  // o1 v1 sent (tx 1)
  ASSERT_TRUE(pipeline.run_once(stop));  // o1 v2 sent (tx 2)
  ledger.await_failures_left = 1;        // tx 1 is lost: o1 v2 is on chain first
  ASSERT_TRUE(pipeline.run(stop));

  EXPECT_EQ(ledger.calls, (std::vector<std::string>{"submit 1", "submit 2", "submit 3", "await 1",
                                                    "submit 4", "await 4", "await 2", "await 3"}));
  const auto o1 = Pseudonyms(keys).resource_key("default", "Observation/o1").value();
  std::vector<std::uint64_t> o1_on_chain;  // in the order the ledger took them
  for (const auto& p : ledger.submitted) {
    if (p.resource_key == o1) o1_on_chain.push_back(p.version);
  }
  EXPECT_EQ(o1_on_chain, (std::vector<std::uint64_t>{1, 2, 1}));  // v1 again, after v2
  EXPECT_EQ(ledger.latest_versions(std::vector<ports::Hash32>{o1}).value().front(), 2u);

  ASSERT_EQ(receipts.receipts.size(), 3u);
  EXPECT_EQ(receipts.receipts[0].reference, "Observation/o1");
  EXPECT_EQ(receipts.receipts[0].version, 1u);
  EXPECT_EQ(receipts.receipts[0].tx_hash, "0xtx4");  // mined after the later batch's
  EXPECT_EQ(receipts.receipts[1].version, 2u);
  EXPECT_EQ(receipts.receipts[1].tx_hash, "0xtx2");
  EXPECT_EQ(source.handed_to_commit, (std::vector<std::int64_t>{0, 1, 2}));
  EXPECT_EQ(source.committed(), 3);
  auto kept = recorded.pointer_records(receipts.receipts[0].region, to_hex(o1));
  ASSERT_TRUE(kept);
  ASSERT_EQ(kept->size(), 2u);  // by version
  auto v1 = parse_pointer_record(kept->at(1));
  auto v2 = parse_pointer_record(kept->at(2));
  ASSERT_TRUE(v1 && v2);
  EXPECT_EQ(v1->tx_hash, "0xtx4");
  EXPECT_EQ(v2->tx_hash, "0xtx2");
}

// With a recording thread, the records and reports of confirmed batches are its job: the batches
// are still reported and committed in the order they were polled.
TEST_F(PipelineTest, ARecordingThreadKeepsTheRecordsAndReportsBatchesInTheOrderPolled) {
  // Three versions of each of two resources, a batch each: up to three batches await their
  // confirmation while up to three more wait for their records and report.
  for (int i = 0; i < 6; ++i) {
    source.push(R"({"resourceType":"Observation","id":"o)" + std::to_string(i % 2) +
                R"(","meta":{"versionId":")" + std::to_string(i / 2 + 1) + R"("}})");
  }
  record_blobs = &recorded;
  PipelineOptions options{.batch_max_events = 1, .max_in_flight = 3, .until_caught_up = true};
  options.idle_before_exit = std::chrono::milliseconds(0);
  Pipeline pipeline = make(options);

  ASSERT_TRUE(pipeline.run(stop));

  EXPECT_EQ(source.committed(), 6);
  std::vector<std::string> reported;
  for (const auto& r : receipts.receipts) {
    reported.push_back(r.reference + "/" + std::to_string(r.version));
  }
  EXPECT_EQ(reported,
            (std::vector<std::string>{"Observation/o0/1", "Observation/o1/1", "Observation/o0/2",
                                      "Observation/o1/2", "Observation/o0/3", "Observation/o1/3"}));
  for (std::size_t i = 0; i < receipts.receipts.size(); ++i) {
    EXPECT_EQ(receipts.receipts[i].tx_hash, "0xtx" + std::to_string(i + 1));  // sent in order
    EXPECT_EQ(receipts.receipts[i].origin.offset, static_cast<std::int64_t>(i));
  }
  for (const auto& r : receipts.receipts) {
    const std::string key = r.resource_key.substr(2);
    auto kept = recorded.pointer_records(r.region, key);
    ASSERT_TRUE(kept);
    EXPECT_EQ(kept->size(), 3u) << r.reference;                  // written by the recording thread
    EXPECT_TRUE(blobs.pointer_records(r.region, key)->empty());  // not by the pipeline's
  }
  EXPECT_EQ(pipeline.stats().resources, 6u);
}

TEST_F(PipelineTest, RecordsTheRecordingThreadCouldNotWriteAreKeptAndReportedByThePipeline) {
  for (int i = 0; i < 4; ++i) {
    source.push(R"({"resourceType":"Observation","id":"o)" + std::to_string(i) + R"("})");
  }
  record_blobs = &recorded;
  recorded.crash_before_records = true;  // its connection refuses every record
  PipelineOptions options{.batch_max_events = 1, .max_in_flight = 2, .until_caught_up = true};
  options.idle_before_exit = std::chrono::milliseconds(0);
  Pipeline pipeline = make(options);

  ASSERT_TRUE(pipeline.run(stop));

  EXPECT_EQ(source.committed(), 4);
  ASSERT_EQ(receipts.receipts.size(), 4u);
  for (std::size_t i = 0; i < 4; ++i) {
    const auto& r = receipts.receipts[i];
    EXPECT_EQ(r.reference, "Observation/o" + std::to_string(i));
    EXPECT_EQ(blobs.pointer_records(r.region, r.resource_key.substr(2))->size(), 1u);
  }
}

// Receipts that the broker acknowledges only once `delivered` is set: a flush that does not
// wait says they are still queued, as the Kafka producer's does.
class LateReceipts final : public ports::Receipts {
 public:
  Status publish(const ports::Receipt& receipt) override {
    receipts.push_back(receipt);
    return Ok{};
  }
  Status flush(std::chrono::milliseconds timeout) override {
    if (timeout.count() > 0) delivered = true;  // a flush that waits sees them through
    if (!delivered) return Error{ErrorCode::kUnavailable, "still queued", "fake-broker"};
    return Ok{};
  }
  std::vector<ports::Receipt> receipts;
  bool delivered = false;
};

// Two batches in flight, the later one about a newer version of the same resource: the later
// batch is polled, sealed and sent while the earlier one's receipts are on their way, its
// versions reach the ledger after the earlier ones, and no offset is committed past a batch
// whose receipts are not delivered; once they are, both are committed, in order.
TEST_F(PipelineTest, ABatchWhoseReceiptsAreOnTheirWayIsCommittedLaterAndTheNextGoesOnMeanwhile) {
  source.push(R"({"resourceType":"Observation","id":"o1","meta":{"versionId":"1"}})");
  source.push(R"({"resourceType":"Observation","id":"o1","meta":{"versionId":"2"}})");
  source.push(R"({"resourceType":"Observation","id":"o2","meta":{"versionId":"1"}})");
  source.push(R"({"resourceType":"Observation","id":"o3","meta":{"versionId":"1"}})");
  LateReceipts late;
  PipelineOptions options{.batch_max_events = 1, .max_in_flight = 3};
  Pipeline pipeline = make_on(source, late, options);

  ASSERT_TRUE(pipeline.run_once(stop));  // o1 v1 sent
  ASSERT_TRUE(pipeline.run_once(stop));  // o1 v2 sent
  ASSERT_TRUE(pipeline.run_once(stop));  // o2 sent; o1 v1 confirmed and reported
  ASSERT_EQ(late.receipts.size(), 1u);
  ASSERT_TRUE(pipeline.run_once(stop));  // o3 sent; o1 v2 confirmed and reported

  EXPECT_EQ(ledger.calls, (std::vector<std::string>{"submit 1", "submit 2", "submit 3", "await 1",
                                                    "submit 4", "await 2"}));
  EXPECT_EQ(late.receipts.size(), 2u);
  EXPECT_EQ(source.committed(), 0);  // nothing delivered: nothing committed

  late.delivered = true;
  ASSERT_TRUE(pipeline.run_once(stop));  // nothing new: o2 finishes, and what is delivered commits
  EXPECT_EQ(source.committed(), 3);
  ASSERT_TRUE(pipeline.run_once(stop));
  EXPECT_EQ(source.committed(), 4);

  ASSERT_EQ(ledger.submitted.size(), 4u);
  const auto o1 = Pseudonyms(keys).resource_key("default", "Observation/o1").value();
  EXPECT_EQ(ledger.submitted[0].resource_key, o1);
  EXPECT_EQ(ledger.submitted[0].version, 1u);
  EXPECT_EQ(ledger.submitted[1].resource_key, o1);
  EXPECT_EQ(ledger.submitted[1].version, 2u);
  ASSERT_EQ(late.receipts.size(), 4u);
  EXPECT_EQ(late.receipts[0].version, 1u);
  EXPECT_EQ(late.receipts[1].version, 2u);
  EXPECT_EQ(late.receipts[2].reference, "Observation/o2");
  EXPECT_EQ(pipeline.stats().resources, 4u);
}

// A broker slower to acknowledge than a batch is to work does not stall the batches: they go
// on, reported and uncommitted, until max_reported wait, and only then does the pipeline wait
// for the acknowledgements (and commit all of them, in order).
TEST_F(PipelineTest, BatchesGoOnWhileTheBrokerIsSlowToAcknowledgeUntilMaxReportedWait) {
  for (int i = 0; i < 3; ++i) {
    source.push(R"({"resourceType":"Observation","id":"o)" + std::to_string(i) + R"("})");
  }
  LateReceipts late;
  PipelineOptions options{.batch_max_events = 1, .max_in_flight = 1};
  options.max_reported = 3;
  Pipeline pipeline = make_on(source, late, options);

  ASSERT_TRUE(pipeline.run_once(stop));
  ASSERT_TRUE(pipeline.run_once(stop));
  EXPECT_EQ(late.receipts.size(), 2u);  // two batches confirmed and reported
  EXPECT_FALSE(late.delivered);         // without waiting for the broker
  EXPECT_EQ(source.committed(), 0);

  ASSERT_TRUE(pipeline.run_once(stop));  // the third: as many as may wait
  EXPECT_TRUE(late.delivered);           // waited for
  EXPECT_EQ(source.committed(), 3);
  EXPECT_EQ(pipeline.stats().resources, 3u);
}

TEST_F(PipelineTest, ATransactionTheNodeLostIsSentAgainBeforeItsBatchIsCommitted) {
  source.push(R"({"resourceType":"Patient","id":"p1"})");
  ledger.await_failures_left = 1;
  Pipeline pipeline = make();

  ASSERT_TRUE(pipeline.run_once(stop));

  EXPECT_EQ(ledger.calls, (std::vector<std::string>{"submit 1", "await 1", "submit 2", "await 2"}));
  EXPECT_EQ(source.committed(), 1);
  EXPECT_EQ(receipts.receipts.at(0).tx_hash, "0xtx2");
}

TEST_F(PipelineTest, StoppingConfirmsAndCommitsWhatIsInFlight) {
  source.push(R"({"resourceType":"Patient","id":"p1"})");
  source.push(R"({"resourceType":"Patient","id":"p2"})");
  Pipeline pipeline = make({.batch_max_events = 1, .max_in_flight = 4});
  ASSERT_TRUE(pipeline.run_once(stop));
  ASSERT_TRUE(pipeline.run_once(stop));
  ASSERT_EQ(source.committed(), 0);

  stop = true;
  ASSERT_TRUE(pipeline.run(stop));

  EXPECT_EQ(source.committed(), 2);
}

TEST_F(PipelineTest, BatchModeReturnsOnceCaughtUp) {
  source.push(R"({"resourceType":"Patient","id":"p1"})");
  Pipeline pipeline =
      make({.until_caught_up = true, .idle_before_exit = std::chrono::milliseconds(0)});

  ASSERT_TRUE(pipeline.run(stop));

  EXPECT_EQ(source.committed(), 1);
  EXPECT_EQ(pipeline.stats().resources, 1u);
  EXPECT_EQ(pipeline.stats().consumed, 1u);
}

// Issue 14: a refused event leaves nothing behind.

// A Bundle whose third entry is a version already stored with other content.
constexpr const char* kBundleWithAConflict = R"({"resourceType":"Bundle","type":"transaction",
    "entry":[{"resource":{"resourceType":"Patient","id":"p1","meta":{"versionId":"1"}}},
             {"resource":{"resourceType":"Observation","id":"o2","meta":{"versionId":"1"}}},
             {"resource":{"resourceType":"Observation","id":"o3","meta":{"versionId":"1"},
                          "status":"amended"}}]})";

class RefusedEventTest : public PipelineTest {
 protected:
  // The version's claim in the store (content hash hex), empty when there is none.
  std::string claim_of(const std::string& reference, std::uint64_t version) {
    const std::vector<ports::VersionRef> refs{
        {to_hex(Pseudonyms(keys).resource_key("default", reference).value()), version}};
    return blobs.claimed_versions("default", refs).value().front().value_or("");
  }
};

TEST_F(RefusedEventTest, ABundleRefusedForOneEntryKeepsNoClaimOrBlobOfItsOtherEntries) {
  source.push(
      R"({"resourceType":"Observation","id":"o3","meta":{"versionId":"1"},"status":"final"})");
  Pipeline pipeline = make();
  ASSERT_TRUE(pipeline.run_once(stop));
  const auto stored_before = blobs.blobs_in("default");

  source.push(kBundleWithAConflict);
  ASSERT_TRUE(pipeline.run_once(stop));

  ASSERT_EQ(dead.letters.size(), 1u);
  EXPECT_EQ(dead.letters[0].error_code, "conflict");
  EXPECT_TRUE(dead.letters[0].error_detail.starts_with(
      "Version 1 of this resource is already stored with other content; publish the change as "
      "a new version."))
      << dead.letters[0].error_detail;
  EXPECT_EQ(dead.letters[0].error_detail.find("o3"), std::string::npos);  // keys, not ids
  EXPECT_EQ(claim_of("Patient/p1", 1), "");
  EXPECT_EQ(claim_of("Observation/o2", 1), "");
  EXPECT_EQ(blobs.blobs_in("default").size(), stored_before.size());
  EXPECT_EQ(ledger.events, 1);
  EXPECT_EQ(source.committed(), 2);
}

TEST_F(RefusedEventTest, ACorrectedCopyOfARefusedEventsEntryIsStoredAndAnchoredLater) {
  source.push(
      R"({"resourceType":"Observation","id":"o3","meta":{"versionId":"1"},"status":"final"})");
  source.push(kBundleWithAConflict);
  Pipeline pipeline = make();
  ASSERT_TRUE(pipeline.run_once(stop));
  ASSERT_EQ(dead.letters.size(), 1u);

  // Entry 1 corrected: the same version with other content.
  source.push(R"({"resourceType":"Patient","id":"p1","meta":{"versionId":"1"},"gender":"female"})");
  ASSERT_TRUE(pipeline.run_once(stop));

  EXPECT_EQ(dead.letters.size(), 1u);
  ASSERT_EQ(receipts.receipts.size(), 2u);
  EXPECT_EQ(receipts.receipts[1].reference, "Patient/p1");
  EXPECT_EQ(claim_of("Patient/p1", 1), receipts.receipts[1].content_hash.substr(2));
  EXPECT_EQ(ledger.events, 2);
  EXPECT_EQ(source.committed(), 3);
}

TEST_F(RefusedEventTest, AClaimAnEarlierDeliveryMadeStaysWhenTheEventIsRefused) {
  source.push(
      R"({"resourceType":"Observation","id":"o3","meta":{"versionId":"1"},"status":"final"})");
  source.push(R"({"resourceType":"Patient","id":"p1","meta":{"versionId":"1"}})");
  Pipeline pipeline = make();
  ASSERT_TRUE(pipeline.run_once(stop));
  const std::string p1 = claim_of("Patient/p1", 1);
  ASSERT_NE(p1, "");

  source.push(kBundleWithAConflict);  // p1 v1 as stored: its claim is reused, not made
  ASSERT_TRUE(pipeline.run_once(stop));

  ASSERT_EQ(dead.letters.size(), 1u);
  EXPECT_EQ(claim_of("Patient/p1", 1), p1);
  EXPECT_TRUE(blobs.get("default", p1));
  EXPECT_EQ(claim_of("Observation/o2", 1), "");
}

TEST_F(RefusedEventTest, ADuplicateInTheBatchKeepsTheBlobItAdoptedFromARefusedEvent) {
  source.push(
      R"({"resourceType":"Observation","id":"o3","meta":{"versionId":"1"},"status":"final"})");
  Pipeline pipeline = make();
  ASSERT_TRUE(pipeline.run_once(stop));

  source.push(kBundleWithAConflict);
  source.push(R"({"resourceType":"Patient","id":"p1","meta":{"versionId":"1"}})");
  ASSERT_TRUE(pipeline.run_once(stop));

  ASSERT_EQ(dead.letters.size(), 1u);
  ASSERT_EQ(receipts.receipts.size(), 2u);
  const std::string anchored = receipts.receipts[1].content_hash.substr(2);
  EXPECT_EQ(claim_of("Patient/p1", 1), anchored);
  EXPECT_TRUE(blobs.get("default", anchored));
  EXPECT_EQ(claim_of("Observation/o2", 1), "");
}

// Issue 14: Merkle mode anchors one version under one root, however often it is delivered.

// A chain that anchors merkle-mode pointers as the contract's anchorRoot does: one root per
// transaction, a proof per leaf. Transactions are mined as they are sent unless `lose_next`.
class MerkleLedger final : public ports::PointerLedger {
 public:
  Result<std::vector<std::uint64_t>> latest_versions(
      std::span<const ports::Hash32> resource_keys) override {
    return std::vector<std::uint64_t>(resource_keys.size(), 0);  // merkle mode keeps no latest
  }
  Result<ports::AnchorTicket> submit(std::span<const ports::Pointer> batch,
                                     const ports::BeforeSend& before_send) override {
    ports::AnchorTicket ticket{.placements = std::vector<ports::Placement>(batch.size()),
                               .batch = {batch.begin(), batch.end()}};
    ports::Hash32 root{};
    root[0] = 0xaa;
    root[31] = static_cast<std::uint8_t>(++planned);
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (batch[i].mode != ports::AnchorMode::kMerkle) {
        return Error{ErrorCode::kInvalidInput, "this test chain takes merkle mode only", "test"};
      }
      ticket.placements[i] = {
          .tx = 0,
          .proof = ports::InclusionProof{.root = root,
                                         .index = static_cast<std::uint32_t>(i),
                                         .leaf_count = static_cast<std::uint32_t>(batch.size())}};
    }
    if (before_send) {
      if (auto noted = before_send(ticket); !noted) return noted.error();
    }
    if (std::exchange(die_before_send, false)) return died();
    const std::string tx = "0xroot" + std::to_string(++roots);
    ticket.tx_hashes.push_back(tx);
    if (std::exchange(replace_next, false)) {
      waiting[account].push_back(root);
    } else if (!std::exchange(lose_next, false)) {
      mined[tx] = 100 + roots;
      root_tx[root] = tx;
    }
    leaves[root] = static_cast<std::uint32_t>(batch.size());
    for (const auto& p : batch) roots_of[{p.resource_key, p.version}].push_back(root);
    if (std::exchange(die_after_send, false)) return died();
    return ticket;
  }
  Result<std::optional<ports::RootAnchor>> root_anchor(const ports::Hash32& root) override {
    auto it = root_tx.find(root);
    if (it == root_tx.end()) return std::optional<ports::RootAnchor>();
    return std::optional<ports::RootAnchor>({.tx_hash = it->second, .block = mined[it->second]});
  }
  std::string sender() const override { return account; }
  Status settle(const std::string& whose) override {
    ++settles;
    settled.push_back(whose);
    for (const auto& root : std::exchange(waiting[whose], {})) {
      const std::string tx = "0xreplacement" + std::to_string(++replacements);
      mined[tx] = 200 + replacements;
      root_tx[root] = tx;
    }
    return Ok{};
  }
  Result<ports::AnchorConfirmation> await(const ports::AnchorTicket& ticket) override {
    ports::AnchorConfirmation confirmation{.placements = ticket.placements};
    for (const auto& tx : ticket.tx_hashes) {
      auto it = mined.find(tx);
      if (it == mined.end()) return Error{ErrorCode::kUnavailable, "never mined", tx};
      confirmation.transactions.push_back({.tx_hash = tx, .block = it->second, .gas_used = 1});
    }
    return confirmation;
  }
  Result<std::vector<bool>> erased(std::span<const ports::Hash32> patient_keys) override {
    return std::vector<bool>(patient_keys.size(), false);
  }

  static Error died() { return {ErrorCode::kPermissionDenied, "injected: the gateway died", ""}; }

  int planned = 0;                      // trees built
  int roots = 0;                        // roots sent
  int settles = 0;                      // calls of settle()
  std::vector<std::string> settled;     // the accounts settle() waited for
  std::string account = "0xaccount-a";  // sender(): the gateway's ledger account
  bool lose_next = false;               // the next transaction is sent but never mined
  // The next transaction waits in the pool and is replaced (other fees, another hash) and mined
  // when its account is settled.
  bool replace_next = false;
  int replacements = 0;
  std::map<std::string, std::vector<ports::Hash32>> waiting;  // account -> roots in the pool
  bool die_before_send = false;                  // the next submit stops after noting its root
  bool die_after_send = false;                   // ... after sending, before it returns
  std::map<std::string, std::uint64_t> mined;    // tx hash -> block
  std::map<ports::Hash32, std::string> root_tx;  // root -> the transaction that mined it
  std::map<ports::Hash32, std::uint32_t> leaves;
  std::map<std::pair<ports::Hash32, std::uint64_t>, std::vector<ports::Hash32>> roots_of;
};

class MerkleRedeliveryTest : public PipelineTest {
 protected:
  Pipeline make_merkle(ports::EventSource& on_source, PipelineOptions options = {}) {
    options.anchoring.fallback = ports::AnchorMode::kMerkle;
    options.retry_backoff = std::chrono::milliseconds(1);
    options.batch_max_wait = std::chrono::milliseconds(1);
    return Pipeline({.source = on_source,
                     .dead_letters = dead,
                     .receipts = receipts,
                     .blobs = blobs,
                     .master_keys = master_keys,
                     .directory = directory,
                     .ledger = chain,
                     .keys = keys,
                     .clock = clock},
                    normalizer, policy, options);
  }

  std::size_t roots_holding(const std::string& reference, std::uint64_t version) {
    auto key = Pseudonyms(keys).resource_key("default", reference).value();
    auto it = chain.roots_of.find({key, version});
    return it == chain.roots_of.end() ? 0 : it->second.size();
  }

  MerkleLedger chain;
};

constexpr const char* kO1 = R"({"resourceType":"Observation","id":"o1","meta":{"versionId":"4"}})";

TEST_F(MerkleRedeliveryTest, AVersionDeliveredInTwoBatchesIsUnderOneRootAndBothReceiptsNameIt) {
  source.push(kO1);
  source.push(R"({"resourceType":"Observation","id":"o2"})");
  Pipeline pipeline = make_merkle(source);
  ASSERT_TRUE(pipeline.run_once(stop));

  source.push(kO1);  // re-published, with a new resource
  source.push(R"({"resourceType":"Observation","id":"o3"})");
  ASSERT_TRUE(pipeline.run_once(stop));

  EXPECT_EQ(roots_holding("Observation/o1", 4), 1u);
  EXPECT_EQ(chain.roots, 2);
  EXPECT_EQ(chain.leaves.rbegin()->second, 1u);  // the second root holds o3 alone
  ASSERT_EQ(receipts.receipts.size(), 4u);
  const auto& first = receipts.receipts[0];
  auto again =
      std::find_if(receipts.receipts.begin() + 2, receipts.receipts.end(),
                   [](const ports::Receipt& r) { return r.reference == "Observation/o1"; });
  ASSERT_NE(again, receipts.receipts.end());
  EXPECT_EQ(again->merkle_root, first.merkle_root);
  EXPECT_EQ(again->tx_hash, first.tx_hash);
  EXPECT_EQ(again->block, first.block);
  EXPECT_EQ(again->merkle_index, first.merkle_index);
  EXPECT_EQ(again->merkle_leaf_count, 2u);
  EXPECT_EQ(again->content_hash, first.content_hash);
  EXPECT_EQ(again->origin.offset, 2);
  EXPECT_EQ(pipeline.stats().already_anchored, 1u);
  EXPECT_EQ(source.committed(), 4);
}

TEST_F(MerkleRedeliveryTest, OnlyVersionsWhoseClaimWasFoundAreLookedUpInTheAnchorRecords) {
  source.push(kO1);
  source.push(R"({"resourceType":"Observation","id":"o2"})");
  Pipeline pipeline = make_merkle(source);
  ASSERT_TRUE(pipeline.run_once(stop));
  EXPECT_EQ(blobs.anchor_lookups, 0u);  // both claimed by this delivery: no root can hold them

  source.push(kO1);  // its claim is found: an earlier root may hold it (and does)
  source.push(R"({"resourceType":"Observation","id":"o3"})");
  ASSERT_TRUE(pipeline.run_once(stop));
  EXPECT_EQ(blobs.anchor_lookups, 1u);
  EXPECT_EQ(roots_holding("Observation/o1", 4), 1u);
  EXPECT_EQ(pipeline.stats().already_anchored, 1u);
}

TEST_F(MerkleRedeliveryTest, AReDeliveryOfOnlyAnchoredVersionsSendsNothing) {
  source.push(kO1);
  ASSERT_TRUE(make_merkle(source).run_once(stop));

  testing::FakeEventSource replay;
  replay.push(kO1);
  ASSERT_TRUE(make_merkle(replay).run_once(stop));

  EXPECT_EQ(chain.roots, 1);
  ASSERT_EQ(receipts.receipts.size(), 2u);
  EXPECT_EQ(receipts.receipts[1].merkle_root, receipts.receipts[0].merkle_root);
  EXPECT_EQ(replay.committed(), 1);
}

TEST_F(MerkleRedeliveryTest, AVersionStillInFlightIsConfirmedBeforeItIsDeliveredAgain) {
  source.push(kO1);
  source.push(kO1);
  source.push(R"({"resourceType":"Observation","id":"o2"})");
  PipelineOptions options{.batch_max_events = 1, .max_in_flight = 3, .until_caught_up = true};
  options.idle_before_exit = std::chrono::milliseconds(0);
  Pipeline pipeline = make_merkle(source, options);

  ASSERT_TRUE(pipeline.run(stop));

  EXPECT_EQ(roots_holding("Observation/o1", 4), 1u);
  ASSERT_EQ(receipts.receipts.size(), 3u);
  EXPECT_EQ(receipts.receipts[1].merkle_root, receipts.receipts[0].merkle_root);
  EXPECT_EQ(source.committed(), 3);
}

// The gateway dies after the root is mined and before its pointer records are written: the
// pending anchor written when it was sent leads the re-delivery to that root.
TEST_F(MerkleRedeliveryTest, AVersionWhoseRecordWasNeverWrittenIsFoundThroughItsPendingAnchor) {
  source.push(kO1);
  blobs.crash_before_records = true;
  ASSERT_FALSE(make_merkle(source).run_once(stop));
  ASSERT_EQ(source.committed(), 0);
  blobs.crash_before_records = false;

  testing::FakeEventSource replay;
  replay.push(kO1);
  ASSERT_TRUE(make_merkle(replay).run_once(stop));

  EXPECT_EQ(chain.roots, 1);
  ASSERT_EQ(receipts.receipts.size(), 1u);
  EXPECT_EQ(receipts.receipts[0].tx_hash, "0xroot1");
  EXPECT_EQ(receipts.receipts[0].block, 101u);
  auto records = blobs.pointer_records(
      "default", to_hex(Pseudonyms(keys).resource_key("default", "Observation/o1").value()));
  ASSERT_TRUE(records);
  ASSERT_EQ(records->count(4), 1u);
  EXPECT_EQ(parse_pointer_record(records->at(4))->block, 101u);
  EXPECT_EQ(replay.committed(), 1);
}

// What stays possible: a pending anchor whose transaction is not found mined is sent again.
TEST_F(MerkleRedeliveryTest, AVersionWhosePendingRootWasNeverMinedIsSentAgain) {
  source.push(kO1);
  chain.lose_next = true;
  stop = true;  // the node lost the transaction and the gateway was stopped meanwhile
  ASSERT_FALSE(make_merkle(source).run_once(stop));
  stop = false;

  testing::FakeEventSource replay;
  replay.push(kO1);
  ASSERT_TRUE(make_merkle(replay).run_once(stop));

  EXPECT_EQ(chain.roots, 2);
  ASSERT_EQ(receipts.receipts.size(), 1u);
  EXPECT_EQ(receipts.receipts[0].tx_hash, "0xroot2");
  EXPECT_EQ(replay.committed(), 1);
}

// The gateway dies once the root is sent and before it knows the transaction: the root noted
// before the send leads the re-delivery to it, not to a second root.
TEST_F(MerkleRedeliveryTest, AVersionSentJustBeforeACrashIsFoundByItsNotedRoot) {
  source.push(kO1);
  chain.die_after_send = true;
  ASSERT_FALSE(make_merkle(source).run_once(stop));
  ASSERT_EQ(chain.roots, 1);

  testing::FakeEventSource replay;
  replay.push(kO1);
  ASSERT_TRUE(make_merkle(replay).run_once(stop));

  EXPECT_EQ(chain.roots, 1);
  EXPECT_EQ(roots_holding("Observation/o1", 4), 1u);
  ASSERT_EQ(receipts.receipts.size(), 1u);
  EXPECT_EQ(receipts.receipts[0].tx_hash, "0xroot1");
  EXPECT_EQ(receipts.receipts[0].block, 101u);
  EXPECT_EQ(chain.settles, 0);  // the root was on chain: nothing to wait for
  EXPECT_EQ(replay.committed(), 1);
}

// ... and when it died after noting the root and before sending it, the root is not on chain
// once nothing of the gateway's waits to be mined: the version is sent, under one root.
TEST_F(MerkleRedeliveryTest, AVersionNotedAndNeverSentIsSentOnceNothingWaits) {
  source.push(kO1);
  chain.die_before_send = true;
  ASSERT_FALSE(make_merkle(source).run_once(stop));
  ASSERT_EQ(chain.roots, 0);

  testing::FakeEventSource replay;
  replay.push(kO1);
  ASSERT_TRUE(make_merkle(replay).run_once(stop));

  EXPECT_EQ(chain.settles, 1);
  EXPECT_EQ(chain.roots, 1);
  EXPECT_EQ(roots_holding("Observation/o1", 4), 1u);
  ASSERT_EQ(receipts.receipts.size(), 1u);
  EXPECT_EQ(receipts.receipts[0].tx_hash, "0xroot1");
  EXPECT_EQ(replay.committed(), 1);
}

// Issue 16: a gateway that took over the partition of one that stopped right after sending a
// root finds that root however it got mined: the other account's transaction may still wait in
// the pool, and be mined under another hash than the one noted (a fee replacement). The version
// is not anchored under a second root.
TEST_F(MerkleRedeliveryTest, ARootAnotherAccountStillHasInThePoolIsWaitedForNotSentAgain) {
  source.push(kO1);
  chain.replace_next = true;
  stop = true;  // gateway A stops while its transaction waits in the pool
  ASSERT_FALSE(make_merkle(source).run_once(stop));
  stop = false;
  ASSERT_EQ(chain.roots, 1);

  chain.account = "0xaccount-b";  // gateway B, with its own ledger account, takes over
  testing::FakeEventSource replay;
  replay.push(kO1);
  ASSERT_TRUE(make_merkle(replay).run_once(stop));

  EXPECT_EQ(chain.settled, std::vector<std::string>{"0xaccount-a"});
  EXPECT_EQ(chain.roots, 1);
  EXPECT_EQ(roots_holding("Observation/o1", 4), 1u);
  ASSERT_EQ(receipts.receipts.size(), 1u);
  EXPECT_EQ(receipts.receipts[0].tx_hash, "0xreplacement1");
  EXPECT_EQ(receipts.receipts[0].block, 201u);
  EXPECT_EQ(replay.committed(), 1);
}

// Issue 14: one region down stops only its own events.

// The fake store, except that every call for the region `down` names fails as unavailable.
class OneRegionDown final : public ports::BlobStore {
 public:
  explicit OneRegionDown(ports::BlobStore& inner) : inner_(inner) {}
  std::string down;

  Result<std::vector<std::string>> put_if_absent_streamed(const std::string& region,
                                                          std::size_t count,
                                                          const MakeWrite& make_write) override {
    if (region == down) return unavailable(region);
    return inner_.put_if_absent_streamed(region, count, make_write);
  }
  Status remove_unclaimed(const std::string& region, std::span<const std::string> keys) override {
    if (region == down) return unavailable(region);
    return inner_.remove_unclaimed(region, keys);
  }
  Status release_claims(const std::string& region,
                        std::span<const ports::ClaimedBlob> claims) override {
    if (region == down) return unavailable(region);
    return inner_.release_claims(region, claims);
  }
  Result<std::vector<std::optional<std::string>>> claimed_versions(
      const std::string& region, std::span<const ports::VersionRef> versions) override {
    if (region == down) return unavailable(region);
    return inner_.claimed_versions(region, versions);
  }
  Result<ports::Bytes> get(const std::string& region, const std::string& key) override {
    if (region == down) return unavailable(region);
    return inner_.get(region, key);
  }
  Status put_pointer_records(const std::string& region,
                             std::span<const ports::PointerRecordWrite> records) override {
    if (region == down) return unavailable(region);
    return inner_.put_pointer_records(region, records);
  }
  Result<std::map<std::uint64_t, std::string>> pointer_records(
      const std::string& region, const std::string& resource_key) override {
    if (region == down) return unavailable(region);
    return inner_.pointer_records(region, resource_key);
  }
  Result<std::vector<std::string>> patient_resources(const std::string& region,
                                                     const std::string& patient_key) override {
    return inner_.patient_resources(region, patient_key);
  }
  Status put_pending_anchors(const std::string& region,
                             std::span<const ports::PointerRecordWrite> records) override {
    if (region == down) return unavailable(region);
    return inner_.put_pending_anchors(region, records);
  }
  Result<std::vector<ports::AnchorRecords>> anchor_records(
      const std::string& region, std::span<const ports::VersionRef> versions) override {
    if (region == down) return unavailable(region);
    return inner_.anchor_records(region, versions);
  }

 private:
  static Error unavailable(const std::string& region) {
    return Error{ErrorCode::kUnavailable, "injected: region down", region};
  }
  ports::BlobStore& inner_;
};

// Stores each resource in the region its id starts with ("eu-o1" in eu).
class ByIdPrefix final : public IngestPolicy {
 public:
  Result<Decision> decide_ingest(const IngestRequest& request) override {
    const std::string id = (*request.resource)["id"].GetString();
    return Decision{.permit = true, .region = id.substr(0, id.find('-'))};
  }
};

// The fake ledger, running `before_await` (when set) before each wait for a confirmation.
class HookedLedger final : public ports::PointerLedger {
 public:
  explicit HookedLedger(ports::PointerLedger& inner) : inner_(inner) {}
  std::function<void()> before_await;

  Result<ports::AnchorTicket> submit(std::span<const ports::Pointer> batch,
                                     const ports::BeforeSend& before_send) override {
    return inner_.submit(batch, before_send);
  }
  Result<std::optional<ports::RootAnchor>> root_anchor(const ports::Hash32& root) override {
    return inner_.root_anchor(root);
  }
  std::string sender() const override { return inner_.sender(); }
  Status settle(const std::string& account) override { return inner_.settle(account); }
  Result<ports::AnchorConfirmation> await(const ports::AnchorTicket& ticket) override {
    if (before_await) before_await();
    return inner_.await(ticket);
  }
  Result<std::vector<std::uint64_t>> latest_versions(
      std::span<const ports::Hash32> resource_keys) override {
    return inner_.latest_versions(resource_keys);
  }
  Result<std::vector<bool>> erased(std::span<const ports::Hash32> patient_keys) override {
    return inner_.erased(patient_keys);
  }

 private:
  ports::PointerLedger& inner_;
};

class RegionDownTest : public PipelineTest {
 protected:
  Pipeline make_parking() {
    PipelineOptions options;
    options.retry_backoff = std::chrono::milliseconds(1);
    options.batch_max_wait = std::chrono::milliseconds(1);
    return Pipeline({.source = source,
                     .dead_letters = dead,
                     .receipts = receipts,
                     .blobs = stores,
                     .master_keys = master_keys,
                     .directory = directory,
                     .ledger = hooked,
                     .keys = keys,
                     .clock = clock},
                    normalizer, by_id, options);
  }
  std::vector<std::string> reported() const {
    std::vector<std::string> out;
    for (const auto& r : receipts.receipts) out.push_back(r.reference);
    return out;
  }

  OneRegionDown stores{blobs};
  HookedLedger hooked{ledger};
  ByIdPrefix by_id;
};

TEST_F(RegionDownTest, EventsOfOtherRegionsGoOnAndThoseOfTheDownRegionWaitInOrder) {
  source.push(R"({"resourceType":"Patient","id":"eu-p"})");
  source.push(R"({"resourceType":"Patient","id":"us-p"})");
  source.push(
      R"({"resourceType":"Observation","id":"eu-o1","subject":{"reference":"Patient/eu-p"}})");
  source.push(
      R"({"resourceType":"Observation","id":"us-o2","subject":{"reference":"Patient/us-p"}})");
  // About the eu patient, stored in us: it must not overtake the patient's parked events.
  source.push(
      R"({"resourceType":"Observation","id":"us-o3","subject":{"reference":"Patient/eu-p"}})");
  source.push(
      R"({"resourceType":"Observation","id":"us-o4","subject":{"reference":"Patient/us-p"}})");
  stores.down = "eu";
  Pipeline pipeline = make_parking();

  ASSERT_TRUE(pipeline.run_once(stop));

  EXPECT_EQ(reported(),
            (std::vector<std::string>{"Patient/us-p", "Observation/us-o2", "Observation/us-o4"}));
  EXPECT_EQ(source.committed(), 0);  // the first event waits
  EXPECT_EQ(pipeline.stats().waiting, 3u);
  EXPECT_EQ(pipeline.stats().regions_down, std::vector<std::string>{"eu"});

  // Not due yet: nothing is asked of eu, and a new event about the eu patient waits behind.
  source.push(
      R"({"resourceType":"Observation","id":"us-o5","subject":{"reference":"Patient/eu-p"}})");
  ASSERT_TRUE(pipeline.run_once(stop));
  EXPECT_EQ(receipts.receipts.size(), 3u);
  EXPECT_EQ(pipeline.stats().waiting, 4u);

  stores.down.clear();
  clock.advance(std::chrono::milliseconds(10));
  ASSERT_TRUE(pipeline.run_once(stop));

  EXPECT_EQ(reported(),
            (std::vector<std::string>{"Patient/us-p", "Observation/us-o2", "Observation/us-o4",
                                      "Patient/eu-p", "Observation/eu-o1", "Observation/us-o3",
                                      "Observation/us-o5"}));
  EXPECT_EQ(source.committed(), 7);
  EXPECT_EQ(pipeline.stats().waiting, 0u);
  EXPECT_TRUE(pipeline.stats().regions_down.empty());
  EXPECT_EQ(pipeline.stats().consumed, 7u);
  EXPECT_TRUE(dead.letters.empty());
}

TEST_F(RegionDownTest, ABundleSpanningADownRegionWaitsWholeAndKeepsNothingInTheOthers) {
  source.push(R"({"resourceType":"Bundle","type":"transaction","entry":[
      {"resource":{"resourceType":"Observation","id":"us-a","subject":{"reference":"Patient/x"}}},
      {"resource":{"resourceType":"Observation","id":"eu-b","subject":{"reference":"Patient/y"}}}]})");
  source.push(R"({"resourceType":"Observation","id":"us-c","subject":{"reference":"Patient/z"}})");
  stores.down = "eu";
  Pipeline pipeline = make_parking();
  const std::vector<ports::VersionRef> us_a{
      {to_hex(Pseudonyms(keys).resource_key("default", "Observation/us-a").value()), 1}};

  ASSERT_TRUE(pipeline.run_once(stop));

  EXPECT_EQ(reported(), std::vector<std::string>{"Observation/us-c"});
  EXPECT_FALSE(blobs.claimed_versions("us", us_a).value().front());  // released: it waits
  EXPECT_EQ(source.committed(), 0);

  stores.down.clear();
  clock.advance(std::chrono::milliseconds(10));
  ASSERT_TRUE(pipeline.run_once(stop));

  EXPECT_EQ(reported(),
            (std::vector<std::string>{"Observation/us-c", "Observation/us-a", "Observation/eu-b"}));
  EXPECT_TRUE(blobs.claimed_versions("us", us_a).value().front());
  EXPECT_EQ(source.committed(), 2);
}

// The store answered, and the region went down before the batch's pointer records were
// written: its events run again, find their anchors and are reported then.
TEST_F(RegionDownTest, AnEventAnchoredWhileItsRegionWentDownIsReportedWhenItIsBack) {
  source.push(R"({"resourceType":"Observation","id":"eu-a"})");
  source.push(R"({"resourceType":"Observation","id":"us-b"})");
  Pipeline pipeline = make_parking();
  hooked.before_await = [&] { stores.down = "eu"; };

  ASSERT_TRUE(pipeline.run_once(stop));
  hooked.before_await = nullptr;

  EXPECT_EQ(reported(), std::vector<std::string>{"Observation/us-b"});
  EXPECT_EQ(source.committed(), 0);
  stores.down.clear();
  clock.advance(std::chrono::milliseconds(10));
  ASSERT_TRUE(pipeline.run_once(stop));

  EXPECT_EQ(reported(), (std::vector<std::string>{"Observation/us-b", "Observation/eu-a"}));
  EXPECT_EQ(source.committed(), 2);
  EXPECT_EQ(ledger.events, 2);  // each version anchored once, the re-run's anchor ignored
}

}  // namespace
}  // namespace fl::gateway
