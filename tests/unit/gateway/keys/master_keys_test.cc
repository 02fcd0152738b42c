// The master key lifecycle over fakes of the KEK provider and the region store: creation once
// per patient and region, rotation onto a new KEK without touching data, erasure for good.
#include "fl/gateway/keys/master_keys.h"

#include "support/fakes.h"

#include <gtest/gtest.h>

namespace fl::gateway {
namespace {

ports::Hash32 patient(std::uint8_t n) {
  ports::Hash32 out{};
  out.fill(n);
  return out;
}

class MasterKeysTest : public ::testing::Test {
 protected:
  // Seals with `key` and opens with `other`: true when they are the same master key.
  static bool same_key(const crypto::MasterKey& key, const crypto::MasterKey& other) {
    auto sealer = crypto::Sealer::create().value();
    const Bytes info = {1};
    const Bytes blob = sealer->seal(key, info, {}, as_bytes("x")).value();
    return other.id == key.id && sealer->open(other, info, blob, {}).has_value();
  }

  testing::FakeKeyProvider keks;
  testing::FakeMasterKeyStore store;
  MasterKeys keys{keks, store};
};

TEST_F(MasterKeysTest, AKeyIsMadeOncePerPatientAndRegionAndFoundAgain) {
  const ports::Hash32 patients[] = {patient(1), patient(2)};
  auto first = keys.for_writing("eu", patients);
  ASSERT_TRUE(first) << first.error().message;
  auto again = keys.for_writing("eu", patients);
  auto us = keys.for_writing("us", std::span(patients, 1));

  ASSERT_TRUE(again && us);
  EXPECT_EQ(store.entries.size(), 3u);
  EXPECT_TRUE(same_key(first->keys.at(patient(1)), again->keys.at(patient(1))));
  EXPECT_NE(first->keys.at(patient(1)).id, first->keys.at(patient(2)).id);
  EXPECT_NE(first->keys.at(patient(1)).id, us->keys.at(patient(1)).id);
  auto read = keys.for_reading("eu", patient(2));
  ASSERT_TRUE(read);
  EXPECT_TRUE(same_key(first->keys.at(patient(2)), *read));
}

TEST_F(MasterKeysTest, AWrappedKeyCopiedToAnotherPatientOrRegionDoesNotUnwrap) {
  const ports::Hash32 one = patient(1);
  ASSERT_TRUE(keys.for_writing("eu", std::span(&one, 1)));
  const auto entry = store.entries.at({"eu", one});
  store.entries[{"eu", patient(9)}] = entry;
  store.entries[{"us", one}] = entry;

  EXPECT_EQ(keys.for_reading("eu", patient(9)).error().code, ErrorCode::kIntegrity);
  EXPECT_EQ(keys.for_reading("us", one).error().code, ErrorCode::kIntegrity);
  EXPECT_EQ(keys.for_reading("eu", patient(7)).error().code, ErrorCode::kNotFound);
}

TEST_F(MasterKeysTest, RotationRewrapsOntoTheNewKekAndTheKeyStaysTheSame) {
  const ports::Hash32 patients[] = {patient(1), patient(2), patient(3)};
  auto before = keys.for_writing("eu", patients);
  ASSERT_TRUE(before);
  ASSERT_TRUE(keys.erase("eu", patient(3), "2026-11-25T00:00:00Z"));
  keks.active = "test-kek-2";

  auto report = keys.rotate("eu");

  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->rewrapped, 2u);
  EXPECT_EQ(report->erased, 1u);
  EXPECT_EQ(report->active_kek, "test-kek-2");
  EXPECT_EQ(store.entries.at({"eu", patient(1)}).wrapped.kek_id, "test-kek-2");
  keks.retired.insert("test-kek-1");  // the old KEK can go once nothing needs it
  auto after = keys.for_reading("eu", patient(1));
  ASSERT_TRUE(after) << after.error().message;
  EXPECT_TRUE(same_key(before->keys.at(patient(1)), *after));
  auto again = keys.rotate("eu");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->rewrapped, 0u);
  EXPECT_EQ(again->current, 2u);
}

TEST_F(MasterKeysTest, BeforeRotationARetiredKekLeavesItsKeysUnreadable) {
  const ports::Hash32 one = patient(1);
  ASSERT_TRUE(keys.for_writing("eu", std::span(&one, 1)));
  keks.retired.insert("test-kek-1");

  EXPECT_EQ(keys.for_reading("eu", one).error().code, ErrorCode::kNotFound);
}

TEST_F(MasterKeysTest, AnErasedPatientHasNoKeyAndNeverGetsANewOne) {
  const ports::Hash32 one = patient(1);
  ASSERT_TRUE(keys.for_writing("eu", std::span(&one, 1)));

  auto destroyed = keys.erase("eu", one, "2026-11-25T10:00:00Z");
  auto twice = keys.erase("eu", one, "2026-11-25T11:00:00Z");
  auto writing = keys.for_writing("eu", std::span(&one, 1));
  auto reading = keys.for_reading("eu", one);

  ASSERT_TRUE(destroyed && twice && writing);
  EXPECT_TRUE(*destroyed);
  EXPECT_FALSE(*twice);
  EXPECT_TRUE(writing->keys.empty());
  EXPECT_TRUE(writing->erased.contains(one));
  ASSERT_FALSE(reading);
  EXPECT_EQ(reading.error().code, ErrorCode::kErased);
  EXPECT_TRUE(store.entries.at({"eu", one}).wrapped.wrapped.empty());
}

TEST_F(MasterKeysTest, RotationDoesNotUndoAnErasureThatRacesIt) {
  const ports::Hash32 one = patient(1);
  ASSERT_TRUE(keys.for_writing("eu", std::span(&one, 1)));
  const auto stale = store.entries.at({"eu", one});
  ASSERT_TRUE(keys.erase("eu", one, "2026-11-25T10:00:00Z"));

  // A rotation that read the entry before the erasure tries to write it back re-wrapped.
  auto replaced = store.replace_master_key("eu", one, stale, stale);

  ASSERT_TRUE(replaced);
  EXPECT_FALSE(*replaced);
  EXPECT_TRUE(store.entries.at({"eu", one}).erased());
}

}  // namespace
}  // namespace fl::gateway
