// ProtectStage storing into a real redis-server through the Redis region stores: batches larger
// than one socket write of the streamed store, and a claim that another replica wins while the
// batch is being sealed and sent.
#include "fl/adapters/redis/redis_blob_store.h"
#include "fl/gateway/keys/master_keys.h"
#include "fl/gateway/stages/protect_stage.h"

#include "support/fakes.h"
#include "support/hashes.h"
#include "support/services.h"

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace fl::gateway {
namespace {

constexpr std::size_t kBatch = 100;
constexpr const char* kRegion = "eu";

std::unique_ptr<redis::RegionStores> region_stores(const testing::RedisServer& redis) {
  auto stores = redis::make_region_stores(
      {.regions = {{kRegion, {.host = "127.0.0.1", .port = redis.port(), .timeout_ms = 2000}}}});
  EXPECT_TRUE(stores) << stores.error().message;
  return stores ? std::move(*stores) : nullptr;
}

// The region stores, with a hook run before each streamed write is made: what another replica
// does meanwhile.
class HookedBlobStore final : public ports::BlobStore {
 public:
  explicit HookedBlobStore(ports::BlobStore& inner) : inner_(inner) {}

  std::function<void(std::size_t)> before_make;

  Result<std::vector<std::string>> put_if_absent_streamed(const std::string& region,
                                                          std::size_t count,
                                                          const MakeWrite& make_write) override {
    return inner_.put_if_absent_streamed(region, count, [&](std::size_t i) {
      if (before_make) before_make(i);
      return make_write(i);
    });
  }
  Status remove_unclaimed(const std::string& region, std::span<const std::string> keys) override {
    return inner_.remove_unclaimed(region, keys);
  }
  Result<std::vector<std::optional<std::string>>> claimed_versions(
      const std::string& region, std::span<const ports::VersionRef> versions) override {
    return inner_.claimed_versions(region, versions);
  }
  Result<ports::Bytes> get(const std::string& region, const std::string& key) override {
    return inner_.get(region, key);
  }
  Status put_pointer_records(const std::string& region,
                             std::span<const ports::PointerRecordWrite> records) override {
    return inner_.put_pointer_records(region, records);
  }
  Result<std::map<std::uint64_t, std::string>> pointer_records(
      const std::string& region, const std::string& resource_key) override {
    return inner_.pointer_records(region, resource_key);
  }
  Result<std::vector<std::string>> patient_resources(const std::string& region,
                                                     const std::string& patient_key) override {
    return inner_.patient_resources(region, patient_key);
  }
  Status release_claims(const std::string& region,
                        std::span<const ports::ClaimedBlob> claims) override {
    return inner_.release_claims(region, claims);
  }
  Status put_pending_anchors(const std::string& region,
                             std::span<const ports::PointerRecordWrite> records) override {
    return inner_.put_pending_anchors(region, records);
  }
  Result<std::vector<ports::AnchorRecords>> anchor_records(
      const std::string& region, std::span<const ports::VersionRef> versions) override {
    return inner_.anchor_records(region, versions);
  }

 private:
  ports::BlobStore& inner_;
};

class ProtectStageRedis : public ::testing::Test {
 protected:
  ProtectStageRedis() {
    for (std::size_t i = 0; i < kBatch; ++i) {
      plaintexts_.push_back(R"({"resourceType":"Observation","id":"o)" + std::to_string(i) +
                            R"(","note":")" + std::string(1000 + i, 'x') + R"("})");
    }
    items_.resize(kBatch);
    for (std::size_t i = 0; i < kBatch; ++i) items_[i] = item(i, plaintexts_[i]);
  }

  static Sealing item(std::size_t i, std::string_view plaintext) {
    Sealing s;
    s.resource_key = testing::numbered_hash(1, i);
    s.patient_key = testing::numbered_hash(2, i % 10);
    s.version = 1;
    s.policy_hash = testing::numbered_hash(3, 0);
    s.plaintext = plaintext;
    return s;
  }

  Status run(ProtectStage& protect) {
    std::vector<Sealing*> items;
    for (auto& s : items_) items.push_back(&s);
    return protect.seal_and_store(kRegion, items);
  }

  // The batch, with `theirs` sealed and stored by another replica (its own connection) just
  // before this batch's store asks for its version `at` (all are new: asked in batch order).
  Status run_while_another_replica_stores(std::size_t at, Sealing& theirs) {
    auto other_stores = region_stores(redis_);
    if (!other_stores) return Error{ErrorCode::kUnavailable, "no second connection", ""};
    HookedBlobStore hooked(*stores_);
    ProtectStage protect(keks_, *stores_, hooked);
    ProtectStage other(keks_, *other_stores, *other_stores);
    hooked.before_make = [&](std::size_t i) {
      if (i != at) return;
      std::vector<Sealing*> one{&theirs};
      ASSERT_TRUE(other.seal_and_store(kRegion, one));
    };
    return run(protect);
  }

  // How many blobs Redis holds.
  std::size_t blob_count() {
    return static_cast<std::size_t>(std::stoul(testing::shell_output(
        "redis-cli -p " + std::to_string(redis_.port()) + " --scan --pattern 'blob:*' | wc -l")));
  }

  std::string claim_of(const Sealing& s) {
    return testing::shell_output("redis-cli -p " + std::to_string(redis_.port()) + " HGET " +
                                 redis::claims_key(to_hex(s.resource_key)) + " 1");
  }

  // The blob under the item's content hash, read back from Redis, opens to its plaintext.
  ::testing::AssertionResult opens(const Sealing& s) {
    auto blob = stores_->get(kRegion, to_hex(s.content_hash));
    if (!blob) return ::testing::AssertionFailure() << blob.error().message;
    MasterKeys keys(keks_, *stores_);
    auto key = keys.for_reading(kRegion, s.patient_key);
    if (!key) return ::testing::AssertionFailure() << key.error().message;
    auto sealer = crypto::Sealer::create().value();
    auto plain = sealer->open(
        *key, crypto::data_key_info(s.resource_key, s.version), *blob,
        seal_context(s.resource_key, s.version, kRegion, s.patient_key, s.policy_hash));
    if (!plain) return ::testing::AssertionFailure() << plain.error().message;
    if (as_chars(*plain) != s.plaintext) return ::testing::AssertionFailure() << "other text";
    return ::testing::AssertionSuccess();
  }

  testing::RedisServer redis_;
  testing::FakeKeyProvider keks_;
  std::unique_ptr<redis::RegionStores> stores_ = region_stores(redis_);
  std::vector<std::string> plaintexts_;
  std::vector<Sealing> items_;
};

TEST_F(ProtectStageRedis, ABatchOfManySocketWritesIsSealedStoredClaimedAndOpensAgain) {
  ASSERT_TRUE(stores_);
  ProtectStage protect(keks_, *stores_, *stores_);

  auto stored = run(protect);

  ASSERT_TRUE(stored) << stored.error().message;
  for (const Sealing& s : items_) {
    EXPECT_FALSE(s.refused);
    EXPECT_FALSE(s.reused);
    EXPECT_EQ(claim_of(s), to_hex(s.content_hash));
    EXPECT_TRUE(opens(s));
  }
}

// Sealing overlaps Redis's work only if nothing is sealed before the store asks for it.
TEST_F(ProtectStageRedis, EachVersionIsSealedWhenTheStoreAsksForIt) {
  ASSERT_TRUE(stores_);
  HookedBlobStore hooked(*stores_);
  ProtectStage protect(keks_, *stores_, hooked);
  std::size_t sealed_ahead = 0;
  hooked.before_make = [&](std::size_t i) {
    if (items_[i].content_hash != ports::Hash32{}) ++sealed_ahead;
  };

  auto stored = run(protect);

  ASSERT_TRUE(stored) << stored.error().message;
  EXPECT_EQ(sealed_ahead, 0u);
  for (const Sealing& s : items_) EXPECT_EQ(claim_of(s), to_hex(s.content_hash));
}

// Another gateway replica stores item 60 while this batch is being sealed and sent: the claim
// is theirs, and the batch adopts their blob when it holds the same content.
TEST_F(ProtectStageRedis, AClaimWonByAnotherReplicaMidStreamIsAdopted) {
  ASSERT_TRUE(stores_);
  Sealing theirs = item(60, plaintexts_[60]);

  auto stored = run_while_another_replica_stores(60, theirs);

  ASSERT_TRUE(stored) << stored.error().message;
  ASSERT_FALSE(theirs.reused);
  EXPECT_FALSE(items_[60].refused);
  EXPECT_TRUE(items_[60].reused);
  EXPECT_EQ(items_[60].content_hash, theirs.content_hash);
  EXPECT_EQ(claim_of(items_[60]), to_hex(theirs.content_hash));
  EXPECT_FALSE(items_[59].reused);
  EXPECT_FALSE(items_[61].reused);
  EXPECT_TRUE(opens(items_[60]));
  EXPECT_EQ(blob_count(), kBatch);  // theirs for item 60; the one sealed here was removed
}

TEST_F(ProtectStageRedis, OtherContentClaimedByAnotherReplicaMidStreamIsRefused) {
  ASSERT_TRUE(stores_);
  const std::string changed = R"({"resourceType":"Observation","id":"o60","note":"changed"})";
  Sealing theirs = item(60, changed);

  auto stored = run_while_another_replica_stores(60, theirs);

  ASSERT_TRUE(stored) << stored.error().message;
  ASSERT_TRUE(items_[60].refused);
  EXPECT_EQ(items_[60].refused->code, ErrorCode::kConflict);
  EXPECT_EQ(claim_of(items_[60]), to_hex(theirs.content_hash));
  EXPECT_FALSE(items_[61].refused);
  EXPECT_EQ(claim_of(items_[61]), to_hex(items_[61].content_hash));
  EXPECT_EQ(blob_count(), kBatch);
}

}  // namespace
}  // namespace fl::gateway
