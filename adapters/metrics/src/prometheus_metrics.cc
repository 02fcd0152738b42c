#include "fl/adapters/metrics/prometheus_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <string>

namespace fl::metrics {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;
using prometheus::Histogram;

// Batches hold up to pipeline.batchMaxEvents (200 by default, 10,000 at most).
const Histogram::BucketBoundaries kBatchBuckets = {1, 5, 10, 25, 50, 100, 200, 500, 1000, 5000};
// From a cached step (a millisecond) to a receipt awaited through a busy chain (30 s).
const Histogram::BucketBoundaries kSecondsBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                     0.25,  0.5,    1,     2.5,  5,     10,   30};

}  // namespace

struct PrometheusMetrics::Impl {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  prometheus::Family<prometheus::Counter>& events = BuildCounter()
                                                        .Name("fhir_ledger_events_total")
                                                        .Help("Kafka events by what became of them")
                                                        .Register(*registry);
  prometheus::Counter& anchored = BuildCounter()
                                      .Name("fhir_ledger_resources_anchored_total")
                                      .Help("Resource versions anchored (confirmed)")
                                      .Register(*registry)
                                      .Add({});
  prometheus::Histogram& batch_events = BuildHistogram()
                                            .Name("fhir_ledger_batch_events")
                                            .Help("Events per batch as polled")
                                            .Register(*registry)
                                            .Add({}, kBatchBuckets);
  prometheus::Family<prometheus::Histogram>& stages =
      BuildHistogram()
          .Name("fhir_ledger_stage_seconds")
          .Help("Seconds a batch spent in each stage")
          .Register(*registry);
  prometheus::Histogram& latency = BuildHistogram()
                                       .Name("fhir_ledger_event_latency_seconds")
                                       .Help("Seconds from an event's poll to its commit")
                                       .Register(*registry)
                                       .Add({}, kSecondsBuckets);
  prometheus::Counter& transactions = BuildCounter()
                                          .Name("fhir_ledger_transactions_total")
                                          .Help("Anchoring transactions sent and mined")
                                          .Register(*registry)
                                          .Add({});
  prometheus::Counter& gas = BuildCounter()
                                 .Name("fhir_ledger_gas_used_total")
                                 .Help("Gas used by the anchoring transactions")
                                 .Register(*registry)
                                 .Add({});
  prometheus::Gauge& in_flight = BuildGauge()
                                     .Name("fhir_ledger_batches_in_flight")
                                     .Help("Batches whose transactions await confirmation")
                                     .Register(*registry)
                                     .Add({});
  prometheus::Family<prometheus::Counter>& retries =
      BuildCounter()
          .Name("fhir_ledger_retries_total")
          .Help("Steps retried after a transient error")
          .Register(*registry);
  prometheus::Gauge& regions_down = BuildGauge()
                                        .Name("fhir_ledger_regions_down")
                                        .Help("Storage regions that do not answer")
                                        .Register(*registry)
                                        .Add({});
  prometheus::Gauge& parked = BuildGauge()
                                  .Name("fhir_ledger_parked_events")
                                  .Help("Events parked until their region is back")
                                  .Register(*registry)
                                  .Add({});
  prometheus::Family<prometheus::Gauge>& lag =
      BuildGauge()
          .Name("fhir_ledger_consumer_lag_messages")
          .Help("Messages of a partition not yet consumed by this gateway")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& dependency_errors =
      BuildCounter()
          .Name("fhir_ledger_dependency_errors_total")
          .Help("Errors of Redis, the EVM node or Kafka by the step that met them and their kind")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& access =
      BuildCounter()
          .Name("fhir_ledger_access_decisions_total")
          .Help("Reads, grants and Consents by decision (permit, deny, or the error's kind)")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& consents =
      BuildCounter()
          .Name("fhir_ledger_consents_total")
          .Help("Consents anchored from Kafka by outcome (applied, unchanged, failed)")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& consent_changes =
      BuildCounter()
          .Name("fhir_ledger_consent_changes_total")
          .Help("Grants the Consents from Kafka added, changed, revoked or refused")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& dead_letters =
      BuildCounter()
          .Name("fhir_ledger_dead_letters_total")
          .Help("Events dead-lettered, by reason (the dead letter's error-code header)")
          .Register(*registry);
};

PrometheusMetrics::PrometheusMetrics() : impl_(std::make_unique<Impl>()) {}
PrometheusMetrics::~PrometheusMetrics() = default;

void PrometheusMetrics::events(std::string_view outcome, std::uint64_t count) {
  impl_->events.Add({{"outcome", std::string(outcome)}}).Increment(static_cast<double>(count));
}

void PrometheusMetrics::resources_anchored(std::uint64_t count) {
  impl_->anchored.Increment(static_cast<double>(count));
}

void PrometheusMetrics::batch_events(std::size_t count) {
  impl_->batch_events.Observe(static_cast<double>(count));
}

void PrometheusMetrics::stage_seconds(std::string_view stage, double seconds) {
  impl_->stages.Add({{"stage", std::string(stage)}}, kSecondsBuckets).Observe(seconds);
}

void PrometheusMetrics::event_latency_seconds(double seconds, std::uint64_t events) {
  for (std::uint64_t i = 0; i < events; ++i) impl_->latency.Observe(seconds);
}

void PrometheusMetrics::transactions(std::uint64_t count, std::uint64_t gas_used) {
  impl_->transactions.Increment(static_cast<double>(count));
  impl_->gas.Increment(static_cast<double>(gas_used));
}

void PrometheusMetrics::batches_in_flight(std::size_t count) {
  impl_->in_flight.Set(static_cast<double>(count));
}

void PrometheusMetrics::retried(std::string_view step) {
  impl_->retries.Add({{"step", std::string(step)}}).Increment();
}

void PrometheusMetrics::regions_down(std::size_t regions, std::size_t waiting_events) {
  impl_->regions_down.Set(static_cast<double>(regions));
  impl_->parked.Set(static_cast<double>(waiting_events));
}

void PrometheusMetrics::consumer_lag(std::string_view topic, std::int32_t partition,
                                     std::int64_t messages) {
  impl_->lag.Add({{"topic", std::string(topic)}, {"partition", std::to_string(partition)}})
      .Set(static_cast<double>(messages));
}

void PrometheusMetrics::dependency_error(std::string_view step, std::string_view kind) {
  impl_->dependency_errors.Add({{"step", std::string(step)}, {"kind", std::string(kind)}})
      .Increment();
}

void PrometheusMetrics::access_decision(std::string_view kind, std::string_view decision) {
  impl_->access.Add({{"kind", std::string(kind)}, {"decision", std::string(decision)}}).Increment();
}

void PrometheusMetrics::consents(std::string_view outcome) {
  impl_->consents.Add({{"outcome", std::string(outcome)}}).Increment();
}

void PrometheusMetrics::dead_letters(std::string_view error_code, std::uint64_t count) {
  impl_->dead_letters.Add({{"reason", std::string(error_code)}})
      .Increment(static_cast<double>(count));
}

void PrometheusMetrics::consent_changes(std::string_view kind, std::uint64_t count) {
  impl_->consent_changes.Add({{"kind", std::string(kind)}}).Increment(static_cast<double>(count));
}

std::string PrometheusMetrics::exposition() const {
  return prometheus::TextSerializer().Serialize(impl_->registry->Collect());
}

}  // namespace fl::metrics
