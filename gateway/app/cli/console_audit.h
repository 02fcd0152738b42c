// The console's view of the audit topic (GET /console/api/audit): the AuditEvents the gateway
// and its tools wrote, read from where the last look stopped, kept in memory (the newest
// kMaxKept), summarised for filtering (kind, outcome, rule, policy hash, time) and counted per
// rule over time for the chart. The events hold no PHI (fl/gateway/audit_event.h), so they are
// shown whole. The reader is injected: Kafka in serve, a list in the unit tests.
#pragma once

#include "fl/base/result.h"
#include "fl/ports/event_source.h"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace fl::cli {

// One AuditEvent as the console filters it.
struct AuditSummary {
  std::int32_t partition = -1;
  std::int64_t offset = -1;
  std::string recorded;  // RFC 3339 UTC, as the event has it
  std::int64_t recorded_unix = 0;
  std::string kind;     // urn:fhir-ledger:audit-kind: ingest, grant, read, erasure, ...
  std::string outcome;  // "0", "4", "8"
  std::string description;
  std::string policy_hash;
  std::vector<std::string> rule_ids;  // empty: no rule decided (default effect, or no policy)
  std::string effect;
  std::string obligations;
  // A shadow difference: the candidate bundle's decision beside the active one.
  std::string candidate_policy_hash;
  std::vector<std::string> candidate_rule_ids;
  std::string candidate_effect;
  std::string candidate_obligations;
  std::string json;  // the event as written
};

// Parses one AuditEvent; nullopt for a message that is not one (it is skipped, and counted).
std::optional<AuditSummary> summarise_audit_event(const ports::SourceEvent& message);

struct AuditQuery {
  std::string kind;         // "" any; "shadow" is policy-shadow-difference
  std::string outcome;      // "" any, else "0", "4" or "8"
  std::string rule;         // a rule id, "none" for decisions no rule made
  std::string policy_hash;  // 0x-hex, either bundle of a shadow difference
  std::string since;        // RFC 3339, inclusive
  std::string until;        // RFC 3339, exclusive
  std::size_t limit = 200;  // newest first
};

// `query` from a request's query string; kInvalidInput names the parameter that is wrong.
Result<AuditQuery> parse_audit_query(std::string_view query_string);

// The matching events (newest first, at most limit) and every match counted per rule in time
// buckets, as the JSON the console reads.
std::string audit_answer(const std::deque<AuditSummary>& kept, const AuditQuery& query,
                         std::size_t skipped);

class AuditTail {
 public:
  static constexpr std::size_t kMaxKept = 50'000;
  using PartitionOffsets = std::map<std::int32_t, std::int64_t>;
  // Reads every message from these offsets (a partition not named from its beginning) to the
  // topic's current end.
  using Reader = std::function<Result<std::vector<ports::SourceEvent>>(const PartitionOffsets&)>;

  explicit AuditTail(Reader reader) : reader_(std::move(reader)) {}

  // What was written since the last look, then the answer to `query`. A topic that cannot be
  // read fails the call (kUnavailable); what was kept stays.
  Result<std::string> query(const AuditQuery& query);

 private:
  Reader reader_;
  std::mutex mutex_;  // one request reads the topic at a time; the others wait for its result
  PartitionOffsets next_;
  std::deque<AuditSummary> kept_;
  std::size_t skipped_ = 0;
};

}  // namespace fl::cli
