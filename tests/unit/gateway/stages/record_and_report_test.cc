// RecordAndReport: the pointer records and the report of confirmed batches on a thread of their
// own, in the order the batches were handed over; a region that does not take the records
// stops the thread before it reports anything, until the pipeline thread has dealt with it.
#include "fl/gateway/stages/record_and_report.h"

#include "fl/base/bytes.h"

#include "support/fakes.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace fl::gateway {
namespace {

// Refuses every publish while `refusing`, as a producer whose queue stays full.
class FullReceipts final : public ports::Receipts {
 public:
  Status publish(const ports::Receipt& receipt) override {
    if (refusing) return Error{ErrorCode::kUnavailable, "queue full", "fake"};
    published.push_back(receipt.reference);
    return Ok{};
  }
  Status flush(std::chrono::milliseconds) override { return Ok{}; }
  bool refusing = false;
  std::vector<std::string> published;
};

Batch batch_of(std::int64_t offset, const std::string& reference, std::uint64_t version) {
  Batch batch;
  batch.events = {{.origin = {.topic = "fhir.events", .partition = 0, .offset = offset}}};
  BatchItem item;
  item.event = 0;
  item.source = "lab";
  item.reference = reference;
  item.pointer.version = version;
  item.pointer.region = "eu";
  item.pointer.resource_key[31] = 0x01;  // one resource in every batch
  item.pointer.content_hash[0] = static_cast<std::uint8_t>(version);
  item.placement = 0;
  batch.items = {item};
  return batch;
}

ports::AnchorConfirmation confirmed(const std::string& tx_hash) {
  ports::AnchorConfirmation confirmation;
  confirmation.transactions = {{.tx_hash = tx_hash, .block = 3, .gas_used = 1}};
  confirmation.placements = {{.tx = 0}};
  return confirmation;
}

class RecordAndReportTest : public ::testing::Test {
 protected:
  RecordAndReport::Job job(const Batch& batch, const std::string& tx_hash) {
    RecordAndReport::Job made;
    made.batch = &batch;
    made.confirmation = confirmed(tx_hash);
    made.stop = &stop;
    return made;
  }

  std::vector<std::uint64_t> recorded_versions() {
    std::vector<std::uint64_t> out;
    ports::Hash32 key{};
    key[31] = 0x01;
    auto records = blobs.pointer_records("eu", to_hex(key));
    EXPECT_TRUE(records);
    for (const auto& [version, json] : *records) out.push_back(version);
    return out;
  }

  testing::FakeBlobStore blobs;
  FullReceipts receipts;
  testing::FakeDeadLetters dead;
  ReportStage report{receipts, dead, nullptr, blobs};
  Health health;
  testing::ManualClock clock;
  std::atomic<bool> stop{false};
};

TEST_F(RecordAndReportTest, KeepsTheRecordsThenReportsEachBatchInTheOrderHandedOver) {
  const Batch first = batch_of(10, "Observation/a", 1);
  const Batch second = batch_of(11, "Observation/a", 2);
  RecordAndReport::Job one = job(first, "0xt1");
  RecordAndReport::Job two = job(second, "0xt2");
  RecordAndReport recorder(blobs, report, health, clock, std::chrono::milliseconds(1));
  recorder.add(one);
  recorder.add(two);

  ASSERT_TRUE(recorder.done(two, /*wait=*/true));
  EXPECT_TRUE(recorder.done(one, /*wait=*/false));

  EXPECT_TRUE(one.records_kept && two.records_kept);
  EXPECT_TRUE(one.reported && two.reported);
  EXPECT_EQ(recorded_versions(), (std::vector<std::uint64_t>{1, 2}));
  EXPECT_EQ(receipts.published, (std::vector<std::string>{"Observation/a", "Observation/a"}));
}

TEST_F(RecordAndReportTest, ARegionThatRefusesTheRecordsHoldsEveryLaterBatchUntilResumed) {
  const Batch first = batch_of(10, "Observation/a", 1);
  const Batch second = batch_of(11, "Observation/a", 2);
  RecordAndReport::Job one = job(first, "0xt1");
  RecordAndReport::Job two = job(second, "0xt2");
  blobs.crash_before_records = true;
  RecordAndReport recorder(blobs, report, health, clock, std::chrono::milliseconds(1));
  recorder.add(one);
  recorder.add(two);

  ASSERT_TRUE(recorder.done(one, /*wait=*/true));
  EXPECT_FALSE(one.records_kept);
  EXPECT_EQ(one.record_error.code, ErrorCode::kIntegrity);
  EXPECT_TRUE(receipts.published.empty());  // the pipeline thread reports it, after its records
  // Nothing behind it runs: the thread has halted (a later batch would otherwise report first).
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(recorder.done(two, /*wait=*/false));
  EXPECT_TRUE(recorded_versions().empty());

  blobs.crash_before_records = false;
  recorder.resume();
  ASSERT_TRUE(recorder.done(two, /*wait=*/true));
  EXPECT_TRUE(two.records_kept);
  EXPECT_EQ(recorded_versions(), std::vector<std::uint64_t>{2});
  EXPECT_EQ(receipts.published, std::vector<std::string>{"Observation/a"});
}

TEST_F(RecordAndReportTest, AReportRefusedUntilStopEndsTheJobUnavailableWithItsRecordsKept) {
  const Batch first = batch_of(10, "Observation/a", 1);
  RecordAndReport::Job one = job(first, "0xt1");
  receipts.refusing = true;
  stop.store(true);  // asked to stop while the report is retried: the job gives up
  RecordAndReport recorder(blobs, report, health, clock, std::chrono::milliseconds(1));
  recorder.add(one);

  ASSERT_TRUE(recorder.done(one, /*wait=*/true));
  EXPECT_TRUE(one.records_kept);
  ASSERT_FALSE(one.reported);
  EXPECT_EQ(one.reported.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(one.reported.error().message.find("stopped while retrying report"), std::string::npos);
  EXPECT_TRUE(receipts.published.empty());
}

}  // namespace
}  // namespace fl::gateway
