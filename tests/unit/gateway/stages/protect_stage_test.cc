// ProtectStage over fakes of the KEK provider and the region stores: what is sealed, stored and
// claimed, and what a batch that fails part way through its store leaves for the retry. The
// store is streamed (each version sealed when the store asks for it), so these batches are
// larger than anything a store sends in one go.
#include "fl/gateway/stages/protect_stage.h"

#include "support/fakes.h"
#include "support/hashes.h"

#include <gtest/gtest.h>

#include <numeric>
#include <string>
#include <vector>

namespace fl::gateway {
namespace {

constexpr std::size_t kBatch = 40;
constexpr const char* kRegion = "eu";

std::vector<std::size_t> indexes(std::size_t from, std::size_t to) {
  std::vector<std::size_t> out(to - from);
  std::iota(out.begin(), out.end(), from);
  return out;
}

class ProtectStageTest : public ::testing::Test {
 protected:
  ProtectStageTest() {
    for (std::size_t i = 0; i < kBatch; ++i) {
      plaintexts_.push_back(R"({"resourceType":"Observation","id":"o)" + std::to_string(i) +
                            R"("})");
    }
    items_.resize(kBatch);
    for (std::size_t i = 0; i < kBatch; ++i) {
      items_[i].resource_key = testing::numbered_hash(1, i);
      items_[i].patient_key = testing::numbered_hash(2, i % 4);
      items_[i].version = 1;
      items_[i].policy_hash = testing::numbered_hash(3, 0);
      items_[i].plaintext = plaintexts_[i];
    }
  }

  Status run() {
    std::vector<Sealing*> items;
    for (auto& item : items_) items.push_back(&item);
    return protect_.seal_and_store(kRegion, items);
  }

  // The content hash (hex) the item's version is claimed for; empty when unclaimed.
  std::string claim_of(const Sealing& item) {
    const std::vector<ports::VersionRef> refs{{to_hex(item.resource_key), item.version}};
    return blobs_.claimed_versions(kRegion, refs).value().front().value_or("");
  }

  // The blob stored under the item's content hash opens to the item's plaintext.
  ::testing::AssertionResult opens(const Sealing& item) {
    const auto stored = blobs_.blobs_in(kRegion);
    auto blob = stored.find(to_hex(item.content_hash));
    if (blob == stored.end()) return ::testing::AssertionFailure() << "no blob under its hash";
    auto key = keys_.for_reading(kRegion, item.patient_key);
    if (!key) return ::testing::AssertionFailure() << key.error().message;
    auto sealer = crypto::Sealer::create().value();
    const Bytes context =
        seal_context(item.resource_key, item.version, kRegion, item.patient_key, item.policy_hash);
    auto plain = sealer->open(*key, crypto::data_key_info(item.resource_key, item.version),
                              blob->second, context);
    if (!plain) return ::testing::AssertionFailure() << plain.error().message;
    if (as_chars(*plain) != item.plaintext) return ::testing::AssertionFailure() << "other text";
    return ::testing::AssertionSuccess();
  }

  testing::FakeKeyProvider keks_;
  testing::FakeMasterKeyStore master_keys_;
  testing::FakeBlobStore blobs_;
  MasterKeys keys_{keks_, master_keys_};
  ProtectStage protect_{keks_, master_keys_, blobs_};
  std::vector<std::string> plaintexts_;
  std::vector<Sealing> items_;
};

TEST_F(ProtectStageTest, EachNewVersionIsSealedOnceInOrderAndStoredUnderItsContentHash) {
  auto stored = run();

  ASSERT_TRUE(stored) << stored.error().message;
  EXPECT_EQ(blobs_.made(), indexes(0, kBatch));
  EXPECT_EQ(blobs_.writes(), static_cast<int>(kBatch));
  for (const Sealing& item : items_) {
    EXPECT_FALSE(item.refused);
    EXPECT_FALSE(item.reused);
    EXPECT_FALSE(item.key_id.empty());
    EXPECT_TRUE(opens(item));
  }
  EXPECT_EQ(claim_of(items_[7]), to_hex(items_[7].content_hash));
}

TEST_F(ProtectStageTest, AStoreFailingPartWayFailsTheBatchAndTheRetryReusesWhatWasStored) {
  blobs_.fail_after_writes(25);

  auto failed = run();
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(blobs_.writes(), 25);
  std::vector<ports::Hash32> first_hashes;
  for (std::size_t i = 0; i < 25; ++i) first_hashes.push_back(items_[i].content_hash);

  auto retried = run();

  ASSERT_TRUE(retried) << retried.error().message;
  EXPECT_EQ(blobs_.writes(), static_cast<int>(kBatch));  // nothing stored twice
  for (std::size_t i = 0; i < kBatch; ++i) {
    SCOPED_TRACE(i);
    EXPECT_FALSE(items_[i].refused);
    EXPECT_EQ(items_[i].reused, i < 25);
    if (i < 25) {
      EXPECT_EQ(items_[i].content_hash, first_hashes[i]);
    }
    EXPECT_TRUE(opens(items_[i]));
  }
  // The retry sealed only the versions the failed store never reached.
  EXPECT_EQ(std::vector<std::size_t>(blobs_.made().begin() + 25, blobs_.made().end()),
            indexes(0, kBatch - 25));
}

TEST_F(ProtectStageTest, AVersionTwiceInABatchIsClaimedByItsFirstSealing) {
  items_[30].resource_key = items_[3].resource_key;
  items_[30].patient_key = items_[3].patient_key;
  items_[30].plaintext = items_[3].plaintext;

  auto stored = run();

  ASSERT_TRUE(stored) << stored.error().message;
  EXPECT_FALSE(items_[3].reused);
  EXPECT_TRUE(items_[30].reused);
  EXPECT_FALSE(items_[30].refused);
  EXPECT_EQ(items_[30].content_hash, items_[3].content_hash);
  // The second sealing's blob, claimed by nothing, is removed: one blob per stored version.
  EXPECT_EQ(blobs_.blobs_in(kRegion).size(), kBatch - 1);
}

TEST_F(ProtectStageTest, AnUnclaimedBlobThatCannotBeRemovedDoesNotFailTheBatch) {
  items_[30].resource_key = items_[3].resource_key;
  items_[30].patient_key = items_[3].patient_key;
  items_[30].plaintext = items_[3].plaintext;
  blobs_.fail_removal = true;

  auto stored = run();

  ASSERT_TRUE(stored) << stored.error().message;
  EXPECT_TRUE(items_[30].reused);
  EXPECT_EQ(blobs_.blobs_in(kRegion).size(), kBatch);  // kept (and logged)
}

TEST_F(ProtectStageTest, OtherContentUnderAVersionClaimedEarlierInTheBatchIsRefused) {
  items_[30].resource_key = items_[3].resource_key;
  items_[30].patient_key = items_[3].patient_key;

  auto stored = run();

  ASSERT_TRUE(stored) << stored.error().message;
  EXPECT_FALSE(items_[3].refused);
  ASSERT_TRUE(items_[30].refused);
  EXPECT_EQ(items_[30].refused->code, ErrorCode::kConflict);
  EXPECT_EQ(claim_of(items_[3]), to_hex(items_[3].content_hash));
  EXPECT_EQ(blobs_.blobs_in(kRegion).size(), kBatch - 1);  // not item 30's
}

TEST_F(ProtectStageTest, AnErasedPatientsVersionsAreRefusedAndNeverSealed) {
  const ports::Hash32 erased = testing::numbered_hash(2, 1);  // items 1, 5, 9, ...
  ASSERT_TRUE(keys_.for_writing(kRegion, std::vector<ports::Hash32>{erased}));
  ASSERT_TRUE(keys_.erase(kRegion, erased, "2026-11-24T09:30:00Z"));

  auto stored = run();

  ASSERT_TRUE(stored) << stored.error().message;
  EXPECT_EQ(blobs_.made(), indexes(0, kBatch - kBatch / 4));
  EXPECT_EQ(blobs_.writes(), static_cast<int>(kBatch - kBatch / 4));
  for (const Sealing& item : items_) {
    if (item.patient_key == erased) {
      ASSERT_TRUE(item.refused);
      EXPECT_EQ(item.refused->code, ErrorCode::kErased);
    } else {
      EXPECT_FALSE(item.refused);
      EXPECT_TRUE(opens(item));
    }
  }
}

TEST_F(ProtectStageTest, ARedeliveredBatchReusesItsBlobsWithoutSealingAgain) {
  ASSERT_TRUE(run());
  std::vector<ports::Hash32> first_hashes;
  for (const Sealing& item : items_) first_hashes.push_back(item.content_hash);

  auto again = run();

  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(blobs_.made().size(), kBatch);  // the first run's only
  for (std::size_t i = 0; i < kBatch; ++i) {
    EXPECT_TRUE(items_[i].reused);
    EXPECT_EQ(items_[i].content_hash, first_hashes[i]);
  }
}

// Issue 14: the refusal is read by whoever sent the event, as a sentence with no FHIR id (the
// plaintexts here carry "o30"); the pseudonymous key says which resource it was.
TEST_F(ProtectStageTest, AConflictIsRefusedInASentenceNamingTheVersionNotTheResource) {
  ASSERT_TRUE(run());
  const std::string changed = R"({"resourceType":"Observation","id":"o30","note":"changed"})";
  items_[30].plaintext = changed;

  auto again = run();

  ASSERT_TRUE(again) << again.error().message;
  ASSERT_TRUE(items_[30].refused);
  EXPECT_EQ(items_[30].refused->code, ErrorCode::kConflict);
  EXPECT_EQ(items_[30].refused->message,
            "Version 1 of this resource is already stored with other content; publish the change "
            "as a new version.");
  EXPECT_EQ(items_[30].refused->where, "resource key " + to_0x_hex(items_[30].resource_key));
  EXPECT_FALSE(items_[29].refused);
}

}  // namespace
}  // namespace fl::gateway
