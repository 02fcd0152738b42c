// ParkedEvents: the bookkeeping of events that wait for a region that is down (issue 14): the
// backoff per region, the order of the parked events and the keys they hold, and how far each
// partition may be committed.
#include "fl/gateway/parked_events.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace fl::gateway {
namespace {

using namespace std::chrono_literals;
using TimePoint = ParkedEvents::TimePoint;

ports::SourceEvent event(std::int32_t partition, std::int64_t offset, std::string value = "{}") {
  return {.origin = {.topic = "fhir.events", .partition = partition, .offset = offset},
          .key = "k",
          .value = std::move(value)};
}

ports::Hash32 key(std::uint8_t n) {
  ports::Hash32 k{};
  k[0] = n;
  return k;
}

std::vector<std::int64_t> offsets(const std::vector<ports::Origin>& origins,
                                  std::int32_t partition) {
  std::vector<std::int64_t> out;
  for (const auto& o : origins) {
    if (o.partition == partition) out.push_back(o.offset);
  }
  return out;
}

TEST(ParkedEvents, ARegionThatFailsIsTriedAgainAfterADoublingCappedBackoff) {
  ParkedEvents parked(100ms, 400ms);
  const TimePoint t0{};

  EXPECT_EQ(parked.failed("eu", t0), t0 + 100ms);
  EXPECT_FALSE(parked.usable("eu", t0 + 99ms));
  EXPECT_TRUE(parked.usable("us", t0 + 99ms));
  EXPECT_EQ(parked.unusable(t0 + 99ms), std::vector<std::string>{"eu"});
  EXPECT_TRUE(parked.usable("eu", t0 + 100ms));
  EXPECT_EQ(parked.failed("eu", t0 + 100ms), t0 + 300ms);
  EXPECT_EQ(parked.failed("eu", t0 + 300ms), t0 + 700ms);
  EXPECT_EQ(parked.failed("eu", t0 + 700ms), t0 + 1100ms);  // capped at 400 ms
}

TEST(ParkedEvents, AFailureBeforeTheRegionIsDueKeepsItsBackoff) {
  ParkedEvents parked(100ms, 1000ms);
  const TimePoint t0{};
  ASSERT_EQ(parked.failed("eu", t0), t0 + 100ms);

  EXPECT_EQ(parked.failed("eu", t0 + 10ms), t0 + 100ms);  // another step of the same batch
  EXPECT_EQ(parked.failed("eu", t0 + 100ms), t0 + 300ms);
}

TEST(ParkedEvents, ARegionThatAnswersIsUpAgainAndStartsFromTheFirstBackoff) {
  ParkedEvents parked(100ms, 1000ms);
  const TimePoint t0{};
  parked.failed("eu", t0);
  parked.failed("eu", t0 + 100ms);

  EXPECT_TRUE(parked.answered("eu"));
  EXPECT_FALSE(parked.answered("eu"));
  EXPECT_TRUE(parked.down().empty());
  EXPECT_EQ(parked.failed("eu", t0 + 1s), t0 + 1s + 100ms);
}

TEST(ParkedEvents, ParkedEventsRunAgainOldestFirstOnlyWhenARegionIsDue) {
  ParkedEvents parked(100ms, 1000ms);
  const TimePoint t0{};
  parked.failed("eu", t0);
  parked.park(event(0, 5), {key(1)});
  parked.park(event(0, 9), {key(1)});
  parked.park(event(1, 2), {key(2)});

  EXPECT_FALSE(parked.due(t0 + 50ms));
  EXPECT_TRUE(parked.take_due(t0 + 50ms, 10).empty());
  ASSERT_TRUE(parked.due(t0 + 100ms));
  auto first = parked.take_due(t0 + 100ms, 2);
  auto rest = parked.take_due(t0 + 100ms, 10);

  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].origin.offset, 5);
  EXPECT_EQ(first[1].origin.offset, 9);
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].origin.partition, 1);
  EXPECT_EQ(parked.size(), 0u);
  EXPECT_EQ(parked.bytes(), 0u);
}

TEST(ParkedEvents, ParkedEventsRunAgainAtOnceWhenNoRegionIsDown) {
  ParkedEvents parked(100ms, 1000ms);
  parked.failed("eu", TimePoint{});
  parked.park(event(0, 1), {key(1)});
  parked.answered("eu");  // another step found it back

  EXPECT_EQ(parked.take_due(TimePoint{}, 10).size(), 1u);
}

TEST(ParkedEvents, AnEventTouchingAParkedKeyIsBlockedUntilTheParkedOneIsTaken) {
  ParkedEvents parked(100ms, 1000ms);
  parked.park(event(0, 1, std::string(100, 'x')), {key(1), key(2), key(1)});
  const std::vector<ports::Hash32> same_patient{key(7), key(2)};
  const std::vector<ports::Hash32> other{key(3)};

  EXPECT_TRUE(parked.blocks(same_patient));
  EXPECT_FALSE(parked.blocks(other));
  EXPECT_GE(parked.bytes(), 100u);
  ASSERT_EQ(parked.take_due(TimePoint{}, 1).size(), 1u);
  EXPECT_FALSE(parked.blocks(same_patient));
}

TEST(ParkedEvents, NothingIsCommittedAtOrPastAParkedEventAndWhatWasHeldGoesWithIt) {
  ParkedEvents parked(100ms, 1000ms);
  parked.failed("eu", TimePoint{});
  parked.park(event(0, 3), {key(1)});
  const std::vector<ports::Origin> batch{event(0, 1).origin, event(0, 2).origin, event(0, 4).origin,
                                         event(0, 5).origin, event(1, 7).origin};

  auto first = parked.committable(batch);

  EXPECT_EQ(offsets(first, 0), (std::vector<std::int64_t>{1, 2}));
  EXPECT_EQ(offsets(first, 1), (std::vector<std::int64_t>{7}));  // other partitions go on
  EXPECT_EQ(parked.held(), 2u);

  // Running again in a later batch, it still holds the partition back until it is done.
  auto again = parked.take_due(TimePoint{} + 100ms, 10);
  ASSERT_EQ(again.size(), 1u);
  const std::vector<ports::Origin> later{event(0, 6).origin};
  EXPECT_TRUE(parked.committable(later).empty());
  const std::vector<ports::Origin> done{again[0].origin, event(0, 7).origin};
  auto last = parked.committable(done);

  EXPECT_EQ(offsets(last, 0), (std::vector<std::int64_t>{3, 4, 5, 6, 7}));
  EXPECT_EQ(parked.held(), 0u);
}

TEST(ParkedEvents, AnEventParkedAgainStillHoldsItsPartitionOnce) {
  ParkedEvents parked(100ms, 1000ms);
  parked.park(event(0, 3), {key(1)});
  auto again = parked.take_due(TimePoint{}, 10);
  parked.park(std::move(again[0]), {key(1)});
  const std::vector<ports::Origin> after{event(0, 4).origin};

  EXPECT_TRUE(parked.committable(after).empty());
  auto third = parked.take_due(TimePoint{}, 10);
  const std::vector<ports::Origin> done{third[0].origin};
  EXPECT_EQ(offsets(parked.committable(done), 0), (std::vector<std::int64_t>{3, 4}));
}

TEST(ParkedEvents, AnEventParkedAgainGoesBackAheadOfTheYoungerOnesStillParked) {
  ParkedEvents parked(100ms, 1000ms);
  parked.park(event(0, 1), {key(1)});
  parked.park(event(0, 2), {key(1)});
  parked.park(event(0, 3), {key(1)});
  auto first_two = parked.take_due(TimePoint{}, 2);  // a batch holds only two
  ASSERT_EQ(first_two.size(), 2u);

  parked.park(event(0, 4), {key(1)});              // polled meanwhile, behind them
  parked.park(std::move(first_two[1]), {key(1)});  // parked again, in any order
  parked.park(std::move(first_two[0]), {key(1)});
  auto all = parked.take_due(TimePoint{}, 10);

  ASSERT_EQ(all.size(), 4u);
  for (std::size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].origin.offset, static_cast<std::int64_t>(i + 1));
  }
}

TEST(ParkedEvents, WithNothingParkedEverythingDoneIsCommittable) {
  ParkedEvents parked(100ms, 1000ms);
  const std::vector<ports::Origin> batch{event(0, 1).origin, event(0, 2).origin};

  EXPECT_EQ(parked.committable(batch).size(), 2u);
  EXPECT_EQ(parked.held(), 0u);
}

}  // namespace
}  // namespace fl::gateway
