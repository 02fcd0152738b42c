// Metrics: what the pipeline counts and times for operators (Prometheus at /metrics through the
// adapter in adapters/metrics). Labels are our own names (outcomes, stages, steps, regions from
// the config), never data. Safe to call from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace fl::ports {

class Metrics {
 public:
  virtual ~Metrics() = default;

  // Events by what became of them: "consumed", "committed", "dead-lettered", "parked".
  virtual void events(std::string_view outcome, std::uint64_t count) = 0;
  // Resource versions anchored (confirmed), re-deliveries included.
  virtual void resources_anchored(std::uint64_t count) = 0;
  // Events in one batch as polled.
  virtual void batch_events(std::size_t count) = 0;
  // Seconds one batch spent in a stage ("validate", "identity", "decide", "protect", "submit",
  // "confirm", "report", "commit").
  virtual void stage_seconds(std::string_view stage, double seconds) = 0;
  // Seconds from the poll that returned an event to the commit that covered it.
  virtual void event_latency_seconds(double seconds, std::uint64_t events) = 0;
  // Anchoring transactions sent and mined, and the gas they used.
  virtual void transactions(std::uint64_t count, std::uint64_t gas_used) = 0;
  // Batches whose transactions await confirmation now.
  virtual void batches_in_flight(std::size_t count) = 0;
  // A step failed with a transient error and is tried again.
  virtual void retried(std::string_view step) = 0;
  // Storage regions down now, and events parked for them now.
  virtual void regions_down(std::size_t regions, std::size_t waiting_events) = 0;
  // Messages of a partition not yet consumed (its end as last fetched minus the position).
  virtual void consumer_lag(std::string_view /*topic*/, std::int32_t /*partition*/,
                            std::int64_t /*messages*/) {}
  // A service's error by step and kind (error_code_name: "unavailable", "integrity", ...).
  virtual void dependency_error(std::string_view /*step*/, std::string_view /*kind*/) {}
  // An access decision: kind "read", "grant", "consent"; decision "permit", "deny", or the
  // error's kind when none could be made.
  virtual void access_decision(std::string_view /*kind*/, std::string_view /*decision*/) {}
  // A Consent anchored from Kafka, by what became of it: "applied" (grants changed),
  // "unchanged" (a version applied before), "failed" (it can never be applied: anchored, not
  // enforced, see the log and the audit topic).
  virtual void consents(std::string_view /*outcome*/) {}
  // What the applied Consents changed, by kind: "added", "changed", "revoked", "refused".
  virtual void consent_changes(std::string_view /*kind*/, std::uint64_t /*count*/) {}
  // Dead letters by their error-code header ("invalid-input", "policy-denied", ...): the
  // gateway's own stable names, a small set.
  virtual void dead_letters(std::string_view /*error_code*/, std::uint64_t /*count*/) {}
};

// Counts nothing: for a pipeline that is not observed (tests, tools).
class NoMetrics final : public Metrics {
 public:
  void events(std::string_view, std::uint64_t) override {}
  void resources_anchored(std::uint64_t) override {}
  void batch_events(std::size_t) override {}
  void stage_seconds(std::string_view, double) override {}
  void event_latency_seconds(double, std::uint64_t) override {}
  void transactions(std::uint64_t, std::uint64_t) override {}
  void batches_in_flight(std::size_t) override {}
  void retried(std::string_view) override {}
  void regions_down(std::size_t, std::size_t) override {}
};

}  // namespace fl::ports
