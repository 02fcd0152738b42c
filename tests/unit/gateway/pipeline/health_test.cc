// The readiness the probes answer: not ready before the pipeline starts or while a step is
// retried, ready again once that step succeeds; regions down are shown without making it unready.
#include "fl/gateway/health.h"

#include <gtest/gtest.h>

namespace fl::gateway {
namespace {

using namespace std::chrono_literals;

std::string readiness(const Health& h, Health::TimePoint now, bool& ready) {
  return h.readiness_json(now, ready);
}

TEST(Health, NotReadyUntilStartedThenReady) {
  Health h;
  bool ready = true;
  EXPECT_EQ(readiness(h, {}, ready), R"({"ready":false,"starting":true,"regionsDown":[]})");
  EXPECT_FALSE(ready);
  h.started();
  EXPECT_EQ(readiness(h, {}, ready), R"({"ready":true,"regionsDown":[]})");
  EXPECT_TRUE(ready);
}

TEST(Health, ARetriedStepMakesItUnreadyWithTheErrorAndHowLongUntilThatStepSucceeds) {
  Health h;
  h.started();
  const Health::TimePoint t0{};
  h.retrying("anchor", Error{ErrorCode::kUnavailable, "node unreachable", "http://node"}, t0);
  h.retrying("anchor", Error{ErrorCode::kUnavailable, "timeout", "http://node"}, t0 + 500ms);
  bool ready = true;
  EXPECT_EQ(readiness(h, t0 + 1500ms, ready),
            R"({"ready":false,"retrying":{"step":"anchor","error":"timeout",)"
            R"("where":"http://node","forMs":1500,"attempts":2},"regionsDown":[]})");
  EXPECT_FALSE(ready);
  h.recovered("consume");  // another step's success says nothing about this one
  readiness(h, t0, ready);
  EXPECT_FALSE(ready);
  h.recovered("anchor");
  readiness(h, t0, ready);
  EXPECT_TRUE(ready);
}

TEST(Health, RegionsDownAreShownAndTheGatewayStaysReady) {
  Health h;
  h.started();
  h.regions_down({"eu", "we\"ird"});
  bool ready = false;
  EXPECT_EQ(readiness(h, {}, ready), R"({"ready":true,"regionsDown":["eu","we\"ird"]})");
  EXPECT_TRUE(ready);
}

}  // namespace
}  // namespace fl::gateway
