// The pipeline: the nine stages of shared/ARCHITECTURE.md over batches of Kafka events.
// One batch: poll -> validate -> normalize -> decide -> (drop erased patients) -> protect and
// store (and record Patients' countries) -> anchor (one transaction per anchoring mode) -> keep
// pointer records -> report -> commit. Offsets are committed only after the blobs are stored, the
// transaction is confirmed, and receipts and dead letters are acknowledged; a crash anywhere
// before that re-delivers the batch, and content addressing plus idempotent anchors make the
// replay a no-op. Environment failures (kUnavailable) are retried with backoff until stop is
// requested; data failures send the event to the dead-letter topic. Runs on one thread.
#pragma once

#include "fl/base/result.h"
#include "fl/gateway/pointer_record.h"
#include "fl/gateway/pseudonyms.h"
#include "fl/gateway/stages/decide_stage.h"
#include "fl/gateway/stages/normalize_stage.h"
#include "fl/gateway/stages/protect_stage.h"
#include "fl/gateway/stages/validate_stage.h"
#include "fl/ports/audit_log.h"
#include "fl/ports/blob_store.h"
#include "fl/ports/clock.h"
#include "fl/ports/dead_letters.h"
#include "fl/ports/event_source.h"
#include "fl/ports/key_provider.h"
#include "fl/ports/master_key_store.h"
#include "fl/ports/patient_directory.h"
#include "fl/ports/pointer_ledger.h"
#include "fl/ports/receipts.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace fl::gateway {

struct PipelinePorts {
  ports::EventSource& source;
  ports::DeadLetters& dead_letters;
  ports::Receipts& receipts;
  ports::BlobStore& blobs;
  ports::MasterKeyStore& master_keys;
  ports::PatientDirectory& directory;
  ports::PointerLedger& ledger;
  ports::KeyProvider& keys;
  ports::Clock& clock;
  // Where each resource the policy refuses at ingest is recorded as a FHIR AuditEvent, made
  // durable with the batch's dead letters before its offsets are committed (at least once: a
  // batch re-delivered after a restart is audited again). None when null.
  ports::AuditLog* audit = nullptr;
};

// Which anchoring mode a resource gets: by resource type, else by input topic, else the default.
struct AnchoringModes {
  ports::AnchorMode fallback = ports::AnchorMode::kPointer;
  std::map<std::string, ports::AnchorMode, std::less<>> by_topic;
  std::map<std::string, ports::AnchorMode, std::less<>> by_resource_type;

  ports::AnchorMode mode_for(std::string_view topic, std::string_view resource_type) const;
};

struct PipelineOptions {
  ValidationLimits limits;
  AnchoringModes anchoring;
  std::size_t batch_max_events = 200;
  // Batches whose transactions may be awaiting confirmation at once; the oldest is confirmed
  // and committed before another is sent beyond this.
  // 1: each batch is confirmed before the next is polled.
  std::size_t max_in_flight = 1;
  std::chrono::milliseconds batch_max_wait{250};
  std::chrono::milliseconds retry_backoff{500};
  std::chrono::milliseconds flush_timeout{30000};
  // Batch mode for the demo and tests: return once every assigned partition is committed to
  // its end, after at least `idle_before_exit` without new events.
  bool until_caught_up = false;
  std::chrono::milliseconds idle_before_exit{1000};
  // The gateway's name in the AuditEvents it writes (their source site).
  std::string service_name = "fhir-ledger";
};

struct PipelineStats {
  std::uint64_t consumed = 0;       // Kafka messages taken in
  std::uint64_t resources = 0;      // resources anchored (confirmed), including replays
  std::uint64_t dead_lettered = 0;  // messages sent to the dead-letter topic
  std::uint64_t batches = 0;
  // Anchoring transactions this gateway sent that were mined (each counted once, however often
  // its batch was confirmed or sent again).
  std::uint64_t transactions = 0;
  std::uint64_t pointers = 0;  // versions those transactions anchored (new on chain)
  // Versions a re-delivery found anchored already (by an earlier transaction): not sent again.
  std::uint64_t already_anchored = 0;
  std::uint64_t gas_used = 0;  // by all anchoring transactions
  double busy_seconds = 0;     // from the first event polled to the last commit
  // Per event: from the poll that returned it to the commit that covered it, in seconds.
  std::vector<double> latencies;

  // The q-quantile (0..1) of `latencies`, 0 when there are none.
  double latency_quantile(double q) const;
};

class Pipeline {
 public:
  Pipeline(PipelinePorts ports, Normalizer& normalizer, IngestPolicy& policy,
           PipelineOptions options);
  ~Pipeline();

  // Runs batches until `stop` is set (the current batch is finished first) or, in batch mode,
  // until caught up. An error is fatal: the caller exits non-zero and nothing uncommitted is lost.
  Status run(const std::atomic<bool>& stop);

  // One poll and, if anything came, one batch. Returns the number of messages handled.
  Result<std::size_t> run_once(const std::atomic<bool>& stop);

  const PipelineStats& stats() const { return stats_; }

 private:
  struct Item;
  // A batch whose transactions were sent: what it needs to be confirmed, reported, committed.
  struct InFlight;
  // Stages 2-3 for one event: its resources, normalized (their JSON in the event's document,
  // which joins `documents`), or the error that rejects it.
  Result<std::vector<Item>> prepare(const ports::SourceEvent& event, std::size_t index,
                                    std::vector<std::unique_ptr<rapidjson::Document>>& documents);
  // Stage 4 for the batch: each resource's policy decision, with the patient's country from a
  // Patient in the batch or the directory; moves events with a denied resource to the dead
  // letters, naming the rules, and adds an AuditEvent per denied resource to `audits`.
  Status decide(const std::vector<ports::SourceEvent>& events, std::vector<Item>& items,
                std::vector<ports::DeadLetter>& dead, std::vector<ports::AuditRecord>& audits,
                const std::atomic<bool>& stop);
  // The AuditEvent of a resource the policy refused at ingest.
  ports::AuditRecord denial_record(const Item& item, const ports::SourceEvent& event,
                                   const Decision& decision) const;
  // Gives each delete that names no version (R4 allows it) the version after the one anchored
  // last (or earlier in the batch); a delete of what was never anchored is dropped (a no-op).
  // Waits for the batches in flight first, so the ledger's answer includes them.
  Status resolve_deletes(std::vector<Item>& items, const std::atomic<bool>& stop);
  // Records the countries of the Patients stored in this batch, in their regions.
  Status record_countries(const std::vector<Item>& items, const std::atomic<bool>& stop);
  // Moves the events whose patient was erased to the dead letters, with their items.
  Status drop_erased(const std::vector<ports::SourceEvent>& events, std::vector<Item>& items,
                     std::vector<ports::DeadLetter>& dead, const std::atomic<bool>& stop);
  // Stages 5-6: seals and stores the items per region; moves the events with a refused item
  // (an erased patient, a version stored with other content) to the dead letters.
  Status protect(const std::vector<ports::SourceEvent>& events, std::vector<Item>& items,
                 std::vector<ports::DeadLetter>& dead, const std::atomic<bool>& stop);
  // Moves the items the ledger refused to the dead letters, one letter per event: a version
  // anchored with other content (kConflict), or a pointer no transaction the chain takes can
  // carry (kInvalidInput, with the ledger's reason). The event's other resources keep their
  // receipts.
  static void drop_conflicts(InFlight& batch, const ports::AnchorConfirmation& confirmation);
  // Writes each item's pointer record (with its transaction and proof) beside its blob.
  Status keep_records(const std::vector<Item>& items, const ports::AnchorConfirmation& confirmation,
                      const std::atomic<bool>& stop);
  // Gives up what this delivery stored for items whose events are dead-lettered after protect
  // (`dropped[i]` for items[i]): the version claims it made and their blobs, so that nothing of
  // a refused event stays in its region and a corrected copy of one of its versions can be
  // stored later. Claims an earlier delivery made stay, and so do those that an item kept in
  // `items` or in another batch in flight uses (a duplicate that adopted the blob). The store
  // removes a claim only while it names this delivery's blob and nothing anchored its version.
  // Call before keep_records (and never for a version this batch anchored: its pointer would
  // name nothing). Retried while the store is unavailable, until stop.
  Status release(const std::vector<Item>& items, const std::vector<bool>& dropped,
                 const std::atomic<bool>& stop);
  // The distinct pointers of a batch; each item learns its pointer's index.
  static std::vector<ports::Pointer> pointers_of(std::vector<Item>& items);
  // Stage 7: sends the batch's pointers, except merkle-mode versions an earlier root holds.
  Status submit(InFlight& batch, const std::atomic<bool>& stop);
  // Merkle mode anchors one root per batch, so a version sent again (re-delivered, re-published)
  // would go under a second root. The merkle-mode versions whose pointer record names a root
  // (or whose pending anchor's transaction is found mined) leave the batch instead: their
  // receipts name that root and are made durable here. A version still in flight in an earlier
  // batch has that batch confirmed first.
  Status skip_anchored_roots(InFlight& batch, const std::atomic<bool>& stop);
  // Merkle-mode versions of `batch` that an earlier root holds: pointer index -> the record of
  // that anchoring (with its block).
  Result<std::map<std::size_t, PointerRecord>> anchored_roots(const InFlight& batch,
                                                              const std::atomic<bool>& stop);
  // Records the merkle-mode anchors just sent as pending (PointerRecord with block 0), so a
  // crash before keep_records leaves a transaction to look for rather than nothing.
  Status note_pending_roots(const InFlight& batch, const std::atomic<bool>& stop);
  Result<ports::AnchorConfirmation> confirm(InFlight& batch, const std::atomic<bool>& stop);
  // Stage 9: receipts, dead letters and AuditEvents, durable before the commit.
  Status report(const InFlight& batch, const ports::AnchorConfirmation& confirmation,
                const std::atomic<bool>& stop);
  // Stages 2-7 up to sending the transactions; the batch joins in_flight_.
  Status begin(std::vector<ports::SourceEvent>& events, const std::atomic<bool>& stop);
  // The oldest batch in flight: confirmation, pointer records, report, commit.
  Status finish(const std::atomic<bool>& stop);
  Status drain(const std::atomic<bool>& stop);
  Status retry(const std::atomic<bool>& stop, const char* step,
               const std::function<Status()>& op) const;

  PipelinePorts ports_;
  ValidateStage validate_;
  NormalizeStage normalize_;
  IngestPolicy& policy_;
  Pseudonyms pseudonyms_;
  ProtectStage protect_;
  PipelineOptions options_;
  PipelineStats stats_;
  std::chrono::steady_clock::time_point first_event_{};
  std::list<InFlight> in_flight_;  // oldest first (a list: InFlight is defined in the .cc)
};

}  // namespace fl::gateway
