// The pipeline's metrics (ports/metrics.h) as Prometheus metrics, kept by prometheus-cpp and
// written in the text exposition format (0.0.4) for GET /metrics. Names:
//   fhir_ledger_events_total{outcome}            consumed, committed, dead-lettered, parked
//   fhir_ledger_resources_anchored_total
//   fhir_ledger_batch_events                     histogram of events per batch
//   fhir_ledger_stage_seconds{stage}             histogram of a batch's time per stage
//   fhir_ledger_event_latency_seconds            histogram, poll to commit, per event
//   fhir_ledger_transactions_total, fhir_ledger_gas_used_total
//   fhir_ledger_batches_in_flight                gauge
//   fhir_ledger_retries_total{step}              transient errors retried
//   fhir_ledger_regions_down, fhir_ledger_parked_events   gauges
//   fhir_ledger_consents_total{outcome}          Kafka Consents: applied, unchanged, failed
//   fhir_ledger_consent_changes_total{kind}      their grants added, changed, revoked, refused
//   fhir_ledger_dead_letters_total{reason}       dead letters by error code
// Thread-safe: the pipeline writes, the HTTP thread reads.
#pragma once

#include "fl/ports/metrics.h"

#include <memory>
#include <string>

namespace fl::metrics {

class PrometheusMetrics final : public ports::Metrics {
 public:
  PrometheusMetrics();
  ~PrometheusMetrics() override;
  PrometheusMetrics(const PrometheusMetrics&) = delete;
  PrometheusMetrics& operator=(const PrometheusMetrics&) = delete;

  void events(std::string_view outcome, std::uint64_t count) override;
  void resources_anchored(std::uint64_t count) override;
  void batch_events(std::size_t count) override;
  void stage_seconds(std::string_view stage, double seconds) override;
  void event_latency_seconds(double seconds, std::uint64_t events) override;
  void transactions(std::uint64_t count, std::uint64_t gas_used) override;
  void batches_in_flight(std::size_t count) override;
  void retried(std::string_view step) override;
  void regions_down(std::size_t regions, std::size_t waiting_events) override;
  void consumer_lag(std::string_view topic, std::int32_t partition, std::int64_t messages) override;
  void dependency_error(std::string_view step, std::string_view kind) override;
  void access_decision(std::string_view kind, std::string_view decision) override;
  void consents(std::string_view outcome) override;
  void consent_changes(std::string_view kind, std::uint64_t count) override;
  void dead_letters(std::string_view error_code, std::uint64_t count) override;

  // Every metric in the Prometheus text format.
  std::string exposition() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fl::metrics
