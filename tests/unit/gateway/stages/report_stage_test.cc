// ReportStage (stage 9): receipts made from where the ledger placed each version, and a report
// that queues each receipt, dead letter and AuditEvent once however often it is tried again.
#include "fl/gateway/stages/report_stage.h"

#include "support/fakes.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace fl::gateway {
namespace {

// Refuses the publish number `refuse_at` (counting from 0) once, as a full producer queue does.
class RefusingReceipts final : public ports::Receipts {
 public:
  Status publish(const ports::Receipt& receipt) override {
    if (attempts++ == refuse_at) return Error{ErrorCode::kUnavailable, "queue full", "fake"};
    published.push_back(receipt.reference);
    return Ok{};
  }
  Status flush(std::chrono::milliseconds timeout) override {
    flushes.push_back(timeout);
    return Ok{};
  }
  int refuse_at = -1;
  int attempts = 0;
  std::vector<std::string> published;
  std::vector<std::chrono::milliseconds> flushes;
};

BatchItem item(std::size_t event, std::string reference, std::uint64_t version) {
  BatchItem made;
  made.event = event;
  made.source = "lab";
  made.reference = std::move(reference);
  made.pointer.version = version;
  made.pointer.region = "eu";
  made.pointer.resource_key[31] = 0x01;
  made.pointer.content_hash[0] = 0xab;
  made.placement = event;
  return made;
}

class ReportStageTest : public ::testing::Test {
 protected:
  ReportStageTest() {
    batch.events = {{.origin = {.topic = "fhir.events", .partition = 1, .offset = 7}},
                    {.origin = {.topic = "fhir.events", .partition = 1, .offset = 8}}};
    batch.items = {item(0, "Observation/a", 1), item(1, "Observation/b", 2)};
    batch.items[1].pointer.mode = ports::AnchorMode::kMerkle;
    confirmation.transactions = {{.tx_hash = "0xt1", .block = 5, .gas_used = 1},
                                 {.tx_hash = "0xt2", .block = 6, .gas_used = 1}};
    ports::InclusionProof proof{.index = 1, .leaf_count = 2};
    proof.root[0] = 0x11;
    proof.siblings.push_back(ports::Hash32{});
    confirmation.placements = {{.tx = 0}, {.tx = 1, .proof = proof}};
  }

  RefusingReceipts receipts;
  testing::FakeDeadLetters letters;
  testing::FakeAuditLog audit;
  testing::FakeBlobStore blobs;  // the blob's key is its content hash
  ReportStage stage{receipts, letters, &audit, blobs};
  Batch batch;
  ports::AnchorConfirmation confirmation;
};

TEST_F(ReportStageTest, AReceiptNamesItsTransactionBlockOriginBlobAndMerkleProof) {
  const auto made = stage.receipts(batch, confirmation);
  ASSERT_EQ(made.size(), 2u);
  EXPECT_EQ(made[0].reference, "Observation/a");
  EXPECT_EQ(made[0].tx_hash, "0xt1");
  EXPECT_EQ(made[0].block, 5u);
  EXPECT_EQ(made[0].origin.offset, 7);
  EXPECT_EQ(made[0].anchor_mode, "pointer");
  EXPECT_EQ(made[0].content_hash, "0xab" + std::string(62, '0'));
  EXPECT_EQ(made[0].redis_key, "ab" + std::string(62, '0'));
  EXPECT_TRUE(made[0].merkle_proof.empty());
  EXPECT_EQ(made[1].tx_hash, "0xt2");
  EXPECT_EQ(made[1].origin.offset, 8);
  EXPECT_EQ(made[1].anchor_mode, "merkle");
  EXPECT_EQ(made[1].merkle_root, "0x11" + std::string(62, '0'));
  EXPECT_EQ(made[1].merkle_index, 1u);
  EXPECT_EQ(made[1].merkle_leaf_count, 2u);
  EXPECT_EQ(made[1].merkle_proof, std::vector<std::string>{"0x" + std::string(64, '0')});
}

TEST_F(ReportStageTest, ADeletionHasNoBlob) {
  batch.items[0].deleted = true;
  EXPECT_EQ(stage.receipts(batch, confirmation)[0].redis_key, "");
}

TEST_F(ReportStageTest, AReportTriedAgainQueuesEachMessageOnceInOrder) {
  batch.reject(1, Error{ErrorCode::kConflict, "other content"});
  batch.prune();  // event 1's letter, and its item gone
  batch.audit({.key = "k", .json = "{}"});
  receipts.refuse_at = 0;
  ReportStage::Queue queue(stage, stage.receipts(batch, confirmation), batch.dead_letters(),
                           batch.audits());

  EXPECT_FALSE(queue.next());  // the first receipt refused: nothing after it queued
  EXPECT_TRUE(letters.letters.empty());
  EXPECT_TRUE(audit.records.empty());
  EXPECT_TRUE(queue.next());
  EXPECT_TRUE(queue.next());  // all queued already: nothing twice
  EXPECT_EQ(receipts.published, std::vector<std::string>{"Observation/a"});
  ASSERT_EQ(letters.letters.size(), 1u);
  EXPECT_EQ(letters.letters[0].event.origin.offset, 8);
  EXPECT_EQ(audit.records.size(), 1u);
}

TEST_F(ReportStageTest, DeliveredFlushesTheAuditLogOnlyWhenTheReportHadAuditEvents) {
  int audit_flushes = 0;
  audit.on_flush = [&] { ++audit_flushes; };
  ASSERT_TRUE(stage.delivered(false, std::chrono::milliseconds(0)));
  EXPECT_EQ(audit_flushes, 0);
  ASSERT_TRUE(stage.delivered(true, std::chrono::milliseconds(250)));
  EXPECT_EQ(audit_flushes, 1);
  EXPECT_EQ(receipts.flushes, (std::vector<std::chrono::milliseconds>{
                                  std::chrono::milliseconds(0), std::chrono::milliseconds(250)}));
}

}  // namespace
}  // namespace fl::gateway
