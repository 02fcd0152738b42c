// The read path's ledger answers reused for a TTL (CachedAccessLedger, CachedErasureMarks over
// one AccessCache), on fakes of the ports and a simulated clock: answers are reused until the
// TTL, never after; a TTL of zero reuses nothing; denials and errors are not kept; the
// transactions and the forget_* calls (what the API's ledger poller makes of the contract's
// events) drop what they change, and an answer read before a drop is not stored after it.
#include "fl/gateway/cached_access_ledger.h"

#include "support/fakes.h"

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace fl::gateway {
namespace {

using namespace std::chrono_literals;

ports::Hash32 hash(std::uint8_t b) {
  ports::Hash32 h{};
  h.fill(b);
  return h;
}

ports::Address address(std::uint8_t b) {
  ports::Address a{};
  a.fill(b);
  return a;
}

class CachedAccessLedgerTest : public ::testing::Test {
 protected:
  void grant(std::uint8_t patient, std::uint8_t reader, bool on = true) {
    inner_.grants[{hash(patient), address(reader), "TREAT"}] = on;
  }
  bool can_read(std::uint8_t patient, std::uint8_t reader) {
    auto r = ledger_.can_read(hash(patient), address(reader), "TREAT");
    EXPECT_TRUE(r.has_value());
    return r.has_value() && *r;
  }

  testing::ManualClock clock_;
  testing::FakeAccessLedger inner_;
  AccessCache cache_{clock_, 5s};
  CachedAccessLedger ledger_{inner_, cache_};
};

TEST_F(CachedAccessLedgerTest, AGrantCheckIsAskedOnceWithinTheTtl) {
  grant(1, 2);
  EXPECT_TRUE(can_read(1, 2));
  clock_.advance(4999ms);
  EXPECT_TRUE(can_read(1, 2));
  EXPECT_EQ(inner_.calls, 1);
}

TEST_F(CachedAccessLedgerTest, ARevocationSeenOnlyByTheLedgerIsServedAtMostTheTtl) {
  grant(1, 2);
  EXPECT_TRUE(can_read(1, 2));
  grant(1, 2, false);  // revoked by someone else, no event seen
  clock_.advance(4s);
  EXPECT_TRUE(can_read(1, 2));  // stale, within the bound
  clock_.advance(1s);
  EXPECT_FALSE(can_read(1, 2));
  EXPECT_EQ(inner_.calls, 2);
}

TEST_F(CachedAccessLedgerTest, TheTtlCountsFromWhenTheLedgerWasAsked) {
  grant(1, 2);
  EXPECT_TRUE(can_read(1, 2));
  clock_.advance(3s);
  EXPECT_TRUE(can_read(1, 2));  // a hit does not refresh the entry
  clock_.advance(2s);
  EXPECT_TRUE(can_read(1, 2));
  EXPECT_EQ(inner_.calls, 2);
}

TEST_F(CachedAccessLedgerTest, AnswersAreKeptPerPatientReaderAndPurpose) {
  grant(1, 2);
  EXPECT_TRUE(can_read(1, 2));
  EXPECT_FALSE(can_read(1, 3));
  EXPECT_FALSE(can_read(4, 2));
  auto other = ledger_.can_read(hash(1), address(2), "HMARKT");
  ASSERT_TRUE(other.has_value());
  EXPECT_FALSE(*other);
  EXPECT_EQ(inner_.calls, 4);
}

TEST_F(CachedAccessLedgerTest, ADenialIsNotKeptSoANewGrantIsSeenAtOnce) {
  EXPECT_FALSE(can_read(1, 2));
  grant(1, 2);  // granted by someone else, no event seen yet
  EXPECT_TRUE(can_read(1, 2));
  EXPECT_EQ(inner_.calls, 2);
}

TEST_F(CachedAccessLedgerTest, AnInactiveRegistrationIsNotKept) {
  ASSERT_TRUE(ledger_.participant(address(2)).has_value());  // never registered
  inner_.participants[address(2)] = {.address = "0x02", .jurisdiction = "DE", .active = true};
  auto now = ledger_.participant(address(2));
  ASSERT_TRUE(now.has_value());
  EXPECT_TRUE(now->active);
  EXPECT_EQ(inner_.calls, 2);
}

TEST_F(CachedAccessLedgerTest, ErrorsAreNotCached) {
  grant(1, 2);
  inner_.unavailable = true;
  auto failed = ledger_.can_read(hash(1), address(2), "TREAT");
  ASSERT_FALSE(failed.has_value());
  EXPECT_EQ(failed.error().code, ErrorCode::kUnavailable);
  inner_.unavailable = false;
  EXPECT_TRUE(can_read(1, 2));
  EXPECT_EQ(inner_.calls, 2);
}

TEST_F(CachedAccessLedgerTest, ParticipantsAreCachedAndForgottenByTheirEvent) {
  inner_.participants[address(2)] = {.address = "0x02", .jurisdiction = "DE", .active = true};
  ASSERT_TRUE(ledger_.participant(address(2)).has_value());
  inner_.participants[address(2)].active = false;
  auto cached = ledger_.participant(address(2));
  ASSERT_TRUE(cached.has_value());
  EXPECT_TRUE(cached->active);
  EXPECT_EQ(inner_.calls, 1);

  cache_.forget_participant(address(2));  // its ParticipantChanged event
  auto fresh = ledger_.participant(address(2));
  ASSERT_TRUE(fresh.has_value());
  EXPECT_FALSE(fresh->active);
  EXPECT_EQ(inner_.calls, 2);
}

TEST_F(CachedAccessLedgerTest, AGrantChangedEventDropsEveryAnswerForThatPatientOnly) {
  grant(1, 2);
  grant(1, 3);
  grant(4, 2);
  EXPECT_TRUE(can_read(1, 2));
  EXPECT_TRUE(can_read(1, 3));
  EXPECT_TRUE(can_read(4, 2));
  grant(1, 2, false);
  grant(1, 3, false);
  grant(4, 2, false);

  cache_.forget_grants(hash(1));

  EXPECT_FALSE(can_read(1, 2));
  EXPECT_FALSE(can_read(1, 3));
  EXPECT_TRUE(can_read(4, 2));  // another patient's answer stays until its own event or TTL
  EXPECT_EQ(inner_.calls, 5);
}

TEST_F(CachedAccessLedgerTest, ARevocationSentThroughItIsSeenAtOnce) {
  grant(1, 2);
  EXPECT_TRUE(can_read(1, 2));
  auto tx = ledger_.send_revoke(hash(1), address(2), "TREAT");
  ASSERT_TRUE(tx.has_value());
  EXPECT_FALSE(can_read(1, 2));
  ASSERT_TRUE(ledger_.wait_mined(*tx).has_value());
  EXPECT_FALSE(can_read(1, 2));
  EXPECT_EQ(inner_.calls, 3);  // asked again after the send and after the mining
  EXPECT_EQ(inner_.sent, std::vector<std::string>{"revoke"});
}

TEST_F(CachedAccessLedgerTest, AGrantAndAnErasureSentThroughItDropThePatientsAnswers) {
  EXPECT_FALSE(can_read(1, 2));
  ASSERT_TRUE(ledger_.send_grant(hash(1), address(2), "TREAT", 0).has_value());
  EXPECT_TRUE(can_read(1, 2));
  ASSERT_TRUE(ledger_.send_erasure(hash(1)).has_value());
  grant(1, 2, false);  // the contract's canRead is false once erased
  EXPECT_FALSE(can_read(1, 2));
  EXPECT_EQ(inner_.sent, (std::vector<std::string>{"grant", "erasure"}));
}

TEST_F(CachedAccessLedgerTest, AnAnswerReadBeforeADropIsNotStoredAfterIt) {
  grant(1, 2);
  const auto ticket = cache_.ticket();  // a read asks the ledger...
  cache_.forget_grants(hash(1));        // ...while the poller sees the revocation
  cache_.put_can_read(ticket, hash(1), address(2), "TREAT", true);
  EXPECT_FALSE(cache_.can_read(hash(1), address(2), "TREAT").has_value());
  EXPECT_EQ(cache_.size(), 0u);
}

TEST_F(CachedAccessLedgerTest, AnAnswerThatTookLongerThanTheTtlIsNotStored) {
  const auto ticket = cache_.ticket();
  clock_.advance(6s);
  cache_.put_can_read(ticket, hash(1), address(2), "TREAT", true);
  EXPECT_EQ(cache_.size(), 0u);
}

TEST(AccessCache, ExpiredEntriesAreSweptSoTheCacheDoesNotGrowWithEveryPatient) {
  testing::ManualClock clock;
  AccessCache cache(clock, 5s);
  const auto put = [&](std::uint32_t i) {
    ports::Hash32 patient{};
    patient[0] = static_cast<std::uint8_t>(i);
    patient[1] = static_cast<std::uint8_t>(i >> 8);
    cache.put_can_read(cache.ticket(), patient, address(1), "TREAT", true);
  };
  for (std::uint32_t i = 0; i < 1000; ++i) put(i);
  EXPECT_EQ(cache.size(), 1000u);
  clock.advance(6s);  // all of them past the TTL
  for (std::uint32_t i = 1000; i < 1100; ++i) put(i);
  // The 1,024th store swept the expired thousand; what came after is kept.
  EXPECT_EQ(cache.size(), 100u);
}

TEST(AccessCache, AZeroTtlKeepsNothing) {
  testing::ManualClock clock;
  testing::FakeAccessLedger inner;
  inner.grants[{hash(1), address(2), "TREAT"}] = true;
  AccessCache cache(clock, 0s);
  CachedAccessLedger ledger(inner, cache);
  EXPECT_FALSE(cache.enabled());
  for (int i = 0; i < 3; ++i) {
    auto r = ledger.can_read(hash(1), address(2), "TREAT");
    ASSERT_TRUE(r.has_value());
    EXPECT_TRUE(*r);
  }
  EXPECT_EQ(inner.calls, 3);
  EXPECT_EQ(cache.size(), 0u);
}

TEST(CachedErasureMarks, MarksAreCachedAndAnErasedEventDropsThem) {
  testing::ManualClock clock;
  testing::FakePointerLedger inner;
  AccessCache cache(clock, 5s);
  CachedErasureMarks marks(inner, cache);
  const std::vector<ports::Hash32> keys{hash(1), hash(2)};
  auto first = marks.erased(keys);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(*first, (std::vector<bool>{false, false}));

  inner.erased_patients.insert(hash(1));
  auto cached = marks.erased(keys);
  ASSERT_TRUE(cached.has_value());
  EXPECT_EQ(*cached, (std::vector<bool>{false, false}));

  cache.forget_patient(hash(1));  // its Erased event
  auto after = marks.erased(keys);
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(*after, (std::vector<bool>{true, false}));

  inner.erased_patients.insert(hash(2));
  clock.advance(5s);
  auto expired = marks.erased(keys);
  ASSERT_TRUE(expired.has_value());
  EXPECT_EQ(*expired, (std::vector<bool>{true, true}));
}

// Recorded countries (CachedPatientDirectory): the read path's policy input, cached for the TTL.

class CachedPatientDirectoryTest : public ::testing::Test {
 protected:
  std::string country(std::uint8_t patient) {
    const std::array<ports::Hash32, 1> keys{hash(patient)};
    auto found = directory_.recorded_countries(keys);
    EXPECT_TRUE(found.has_value());
    if (!found || !found->front()) return "none";
    return found->front()->country;
  }
  void moved_elsewhere(std::uint8_t patient, const std::string& to) {  // by another process
    inner_.records[hash(patient)] = ports::PatientCountry{.country = to, .region = "us"};
  }

  testing::ManualClock clock_;
  testing::FakePatientDirectory inner_;
  AccessCache cache_{clock_, 5s};
  CachedPatientDirectory directory_{inner_, cache_};
};

TEST_F(CachedPatientDirectoryTest, ACountryRecordedElsewhereIsSeenAtMostTheTtlLate) {
  moved_elsewhere(1, "DE");
  EXPECT_EQ(country(1), "DE");
  moved_elsewhere(1, "US");
  clock_.advance(4999ms);
  EXPECT_EQ(country(1), "DE");
  clock_.advance(1ms);
  EXPECT_EQ(country(1), "US");
}

TEST_F(CachedPatientDirectoryTest, NoCountryRecordedIsAnAnswerKeptTheSameWay) {
  EXPECT_EQ(country(1), "none");
  moved_elsewhere(1, "DE");
  EXPECT_EQ(country(1), "none");
  clock_.advance(5s);
  EXPECT_EQ(country(1), "DE");
}

TEST_F(CachedPatientDirectoryTest, WhatItRecordsOrForgetsIsSeenAtOnce) {
  moved_elsewhere(1, "DE");
  EXPECT_EQ(country(1), "DE");
  const std::vector<std::pair<ports::Hash32, std::string>> fr{{hash(1), "FR"}};
  ASSERT_TRUE(directory_.record_countries("eu", fr, 0));
  EXPECT_EQ(country(1), "FR");
  ASSERT_TRUE(directory_.forget_patient(hash(1)));
  EXPECT_EQ(country(1), "none");
}

TEST_F(CachedPatientDirectoryTest, AnErasedEventDropsTheCountryAndOtherPatientsStay) {
  moved_elsewhere(1, "DE");
  moved_elsewhere(2, "DE");
  EXPECT_EQ(country(1), "DE");
  EXPECT_EQ(country(2), "DE");
  inner_.records.clear();
  cache_.forget_patient(hash(1));
  EXPECT_EQ(country(1), "none");
  EXPECT_EQ(country(2), "DE");
}

TEST_F(CachedPatientDirectoryTest, ABatchAsksOnlyForWhatIsNotCached) {
  moved_elsewhere(1, "DE");
  EXPECT_EQ(country(1), "DE");
  moved_elsewhere(1, "US");
  moved_elsewhere(2, "FR");
  const std::vector<ports::Hash32> keys{hash(2), hash(1)};
  auto both = directory_.recorded_countries(keys);
  ASSERT_TRUE(both.has_value());
  ASSERT_TRUE((*both)[0] && (*both)[1]);
  EXPECT_EQ((*both)[0]->country, "FR");
  EXPECT_EQ((*both)[1]->country, "DE");  // still cached
}

}  // namespace
}  // namespace fl::gateway
