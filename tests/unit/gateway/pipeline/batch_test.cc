// Batch: how the pipeline's steps refuse events (one dead letter per event, the first reason,
// in event order, the event's resources gone with it) and the batch's patient keys.
#include "fl/gateway/batch.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace fl::gateway {
namespace {

ports::SourceEvent event(std::int64_t offset, std::string value) {
  return {.origin = {.topic = "fhir.events", .partition = 0, .offset = offset},
          .key = "k",
          .value = std::move(value)};
}

BatchItem item(std::size_t event, std::uint8_t patient, std::uint8_t record = 0) {
  BatchItem made;
  made.event = event;
  made.pointer.patient_key[0] = patient;
  made.record_key[0] = record;
  return made;
}

Batch three_events() {
  Batch batch;
  batch.events = {event(10, "a"), event(11, "b"), event(12, "c")};
  batch.items = {item(0, 1), item(1, 2), item(1, 3), item(2, 1)};
  return batch;
}

std::vector<std::size_t> events_of(const Batch& batch) {
  std::vector<std::size_t> events;
  for (const BatchItem& i : batch.items) events.push_back(i.event);
  return events;
}

TEST(BatchTest, ARejectedEventGetsOneLetterWithItsFirstReasonAndItsResourcesLeaveAtPrune) {
  Batch batch = three_events();
  batch.reject(1, Error{ErrorCode::kPolicyDenied, "denied", "rule-1"});
  batch.reject(1, Error{ErrorCode::kInvalidInput, "a later reason"});
  // Nothing moves until the step is done with its items.
  EXPECT_TRUE(batch.dead_letters().empty());
  EXPECT_EQ(events_of(batch), (std::vector<std::size_t>{0, 1, 1, 2}));

  batch.prune();
  ASSERT_EQ(batch.dead_letters().size(), 1u);
  const ports::DeadLetter& letter = batch.dead_letters()[0];
  EXPECT_EQ(letter.event.origin.offset, 11);
  EXPECT_EQ(letter.error_code, "policy-denied");
  EXPECT_EQ(letter.error_detail, "denied (at rule-1)");
  // SHA-256 of "b", the message as it came.
  EXPECT_EQ(letter.original_sha256,
            "3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d");
  EXPECT_EQ(events_of(batch), (std::vector<std::size_t>{0, 2}));

  batch.prune();  // nothing new rejected: nothing sent twice
  EXPECT_EQ(batch.dead_letters().size(), 1u);
}

TEST(BatchTest, LettersOfOneStepAreInEventOrderWhateverTheOrderOfRejection) {
  Batch batch = three_events();
  batch.reject(2, Error{ErrorCode::kErased, "erased"});
  batch.reject(0, Error{ErrorCode::kErased, "erased"});
  batch.prune();
  ASSERT_EQ(batch.dead_letters().size(), 2u);
  EXPECT_EQ(batch.dead_letters()[0].event.origin.offset, 10);
  EXPECT_EQ(batch.dead_letters()[1].event.origin.offset, 12);
  EXPECT_EQ(events_of(batch), (std::vector<std::size_t>{1, 1}));
}

TEST(BatchTest, APartRefusedSendsTheLetterNowAndKeepsTheEventsOtherResources) {
  Batch batch = three_events();
  std::erase_if(batch.items, [](const BatchItem& i) { return i.pointer.patient_key[0] == 2; });
  batch.reject_part(1, Error{ErrorCode::kConflict, "version 1 is anchored with other content"});
  ASSERT_EQ(batch.dead_letters().size(), 1u);
  EXPECT_EQ(batch.dead_letters()[0].error_code, "conflict");
  batch.prune();
  EXPECT_EQ(events_of(batch), (std::vector<std::size_t>{0, 1, 2}));
}

TEST(BatchTest, PatientKeysAreSortedDistinctAndKeptFromTheFirstCall) {
  Batch batch = three_events();
  batch.items.push_back(item(2, 0, 9));  // no patient, a record key only
  const std::vector<ports::Hash32>& keys = batch.patient_keys();
  ASSERT_EQ(keys.size(), 3u);
  EXPECT_EQ(keys[0][0], 1);
  EXPECT_EQ(keys[1][0], 2);
  EXPECT_EQ(keys[2][0], 3);
  const auto& with_records = batch.patient_and_record_keys();
  ASSERT_EQ(with_records.size(), 4u);  // no zero key: "no patient" is nobody to look up
  EXPECT_EQ(with_records[0][0], 1);
  EXPECT_EQ(with_records[3][0], 9);
  // Computed once: an event that leaves the batch leaves its patient in the list.
  batch.reject(1, Error{ErrorCode::kErased, "erased"});
  batch.prune();
  EXPECT_EQ(batch.patient_keys().size(), 3u);
}

}  // namespace
}  // namespace fl::gateway
