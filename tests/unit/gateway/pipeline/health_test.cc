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
  EXPECT_EQ(
      readiness(h, {}, ready),
      R"({"ready":false,"starting":true,"regionsDown":[],"degraded":false,"dependencies":{}})");
  EXPECT_FALSE(ready);
  h.started();
  EXPECT_EQ(readiness(h, {}, ready),
            R"({"ready":true,"regionsDown":[],"degraded":false,"dependencies":{}})");
  EXPECT_TRUE(ready);
}

TEST(Health, ARetriedStepMakesItUnreadyWithTheErrorAndHowLongUntilThatStepSucceeds) {
  Health h;
  h.started();
  const Health::TimePoint t0{};
  h.retrying("anchor", Error{ErrorCode::kUnavailable, "node unreachable", "http://node"}, t0);
  h.retrying("anchor", Error{ErrorCode::kUnavailable, "timeout", "http://node"}, t0 + 500ms);
  bool ready = true;
  EXPECT_EQ(
      readiness(h, t0 + 1500ms, ready),
      R"({"ready":false,"retrying":{"step":"anchor","error":"timeout",)"
      R"("where":"http://node","forMs":1500,"attempts":2},"regionsDown":[],"degraded":false,"dependencies":{}})");
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
  EXPECT_EQ(readiness(h, {}, ready),
            R"({"ready":true,"regionsDown":["eu","we\"ird"],"degraded":true,"dependencies":{}})");
  EXPECT_TRUE(ready);
}

TEST(Health, ARequiredDependencyDownMakesItUnreadyUntilItAnswersAgain) {
  Health h;
  h.started();
  const Health::TimePoint t0{};
  h.dependency("kafka", Ok{}, t0, true);
  h.dependency("ledger", Error{ErrorCode::kUnavailable, "connection refused", "node"}, t0, true);
  h.dependency("ledger", Error{ErrorCode::kUnavailable, "timed out", "node"}, t0 + 1s, true);
  bool ready = true;
  EXPECT_EQ(readiness(h, t0 + 2500ms, ready),
            R"({"ready":false,"regionsDown":[],"degraded":true,"dependencies":{)"
            R"("kafka":{"up":true},"ledger":{"up":false,"error":"timed out","forMs":2500}}})");
  EXPECT_FALSE(ready);
  h.dependency("ledger", Ok{}, t0 + 3s, true);
  EXPECT_EQ(readiness(h, t0 + 3s, ready),
            R"({"ready":true,"regionsDown":[],"degraded":false,"dependencies":{)"
            R"("kafka":{"up":true},"ledger":{"up":true}}})");
  EXPECT_TRUE(ready);
}

TEST(Health, ARegionThatDoesNotAnswerDegradesButLeavesItReady) {
  Health h;
  h.started();
  h.dependency("redis:eu", Error{ErrorCode::kUnavailable, "refused", "eu"}, {}, false);
  bool ready = false;
  const std::string json = readiness(h, {}, ready);
  EXPECT_TRUE(ready);
  EXPECT_NE(json.find(R"("degraded":true)"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("redis:eu":{"up":false,"error":"refused")"), std::string::npos) << json;
}

}  // namespace
}  // namespace fl::gateway
