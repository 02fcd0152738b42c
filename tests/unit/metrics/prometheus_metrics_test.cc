// What the pipeline reports reaches the exposition under the documented names and labels.
#include "fl/adapters/metrics/prometheus_metrics.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>

namespace fl::metrics {
namespace {

bool has_line(const std::string& text, const std::string& line) {
  std::istringstream lines(text);
  for (std::string l; std::getline(lines, l);) {
    if (l == line) return true;
  }
  return false;
}

TEST(PrometheusMetrics, CountersAndGaugesCarryTheirLabelsAndValues) {
  PrometheusMetrics m;
  m.events("consumed", 5);
  m.events("committed", 4);
  m.events("dead-lettered", 1);
  m.resources_anchored(7);
  m.transactions(2, 150000);
  m.retried("anchor");
  m.retried("anchor");
  m.batches_in_flight(3);
  m.regions_down(1, 12);
  m.consents("applied");
  m.consents("failed");
  m.consent_changes("revoked", 2);
  m.dead_letters("policy-denied", 6);
  m.dead_letters("invalid-input", 2);
  m.dead_letters("policy-denied", 1);
  const std::string text = m.exposition();

  EXPECT_TRUE(has_line(text, "# TYPE fhir_ledger_events_total counter")) << text;
  EXPECT_TRUE(has_line(text, R"(fhir_ledger_events_total{outcome="consumed"} 5)")) << text;
  EXPECT_TRUE(has_line(text, R"(fhir_ledger_events_total{outcome="dead-lettered"} 1)"));
  EXPECT_TRUE(has_line(text, R"(fhir_ledger_dead_letters_total{reason="policy-denied"} 7)"));
  EXPECT_TRUE(has_line(text, R"(fhir_ledger_dead_letters_total{reason="invalid-input"} 2)"));
  EXPECT_TRUE(has_line(text, "fhir_ledger_resources_anchored_total 7"));
  EXPECT_TRUE(has_line(text, "fhir_ledger_transactions_total 2"));
  EXPECT_TRUE(has_line(text, "fhir_ledger_gas_used_total 150000"));
  EXPECT_TRUE(has_line(text, R"(fhir_ledger_retries_total{step="anchor"} 2)"));
  EXPECT_TRUE(has_line(text, "fhir_ledger_batches_in_flight 3"));
  EXPECT_TRUE(has_line(text, "fhir_ledger_regions_down 1"));
  EXPECT_TRUE(has_line(text, "fhir_ledger_parked_events 12"));
  EXPECT_TRUE(has_line(text, R"(fhir_ledger_consents_total{outcome="failed"} 1)"));
  EXPECT_TRUE(has_line(text, R"(fhir_ledger_consent_changes_total{kind="revoked"} 2)"));
}

TEST(PrometheusMetrics, HistogramsCountEveryObservationInTheirBuckets) {
  PrometheusMetrics m;
  m.stage_seconds("protect", 0.003);
  m.stage_seconds("protect", 2.0);
  m.batch_events(200);
  m.event_latency_seconds(0.4, 3);
  const std::string text = m.exposition();

  EXPECT_TRUE(has_line(text, "# TYPE fhir_ledger_stage_seconds histogram")) << text;
  EXPECT_TRUE(has_line(text, R"(fhir_ledger_stage_seconds_count{stage="protect"} 2)")) << text;
  EXPECT_TRUE(has_line(text, R"(fhir_ledger_stage_seconds_bucket{stage="protect",le="0.005"} 1)"));
  EXPECT_TRUE(has_line(text, R"(fhir_ledger_stage_seconds_bucket{stage="protect",le="+Inf"} 2)"));
  EXPECT_TRUE(has_line(text, R"(fhir_ledger_batch_events_bucket{le="100"} 0)"));
  EXPECT_TRUE(has_line(text, R"(fhir_ledger_batch_events_bucket{le="200"} 1)"));
  EXPECT_TRUE(has_line(text, "fhir_ledger_event_latency_seconds_count 3"));
  EXPECT_TRUE(has_line(text, R"(fhir_ledger_event_latency_seconds_bucket{le="0.25"} 0)"));
  EXPECT_TRUE(has_line(text, R"(fhir_ledger_event_latency_seconds_bucket{le="0.5"} 3)"));
}

}  // namespace
}  // namespace fl::metrics
