// The pipeline: the nine stages of shared/ARCHITECTURE.md over batches of Kafka events.
// One batch: poll -> validate -> normalize -> decide -> (drop erased patients) -> protect and
// store (and record Patients' countries) -> anchor (one transaction per anchoring mode) -> keep
// pointer records -> report -> commit. Offsets are committed only after the blobs are stored, the
// transaction is confirmed, and receipts and dead letters are acknowledged; a crash anywhere
// before that re-delivers the batch, and content addressing plus idempotent anchors make the
// replay a no-op. Environment failures (kUnavailable) are retried with backoff until stop is
// requested; data failures send the event to the dead-letter topic. What overlaps: up to
// max_in_flight batches' transactions are mined while later batches are prepared and stored; a
// confirmed batch's pointer records are written and its messages queued on the recording thread
// (RecordAndReport, when PipelinePorts::record_blobs is set) while this thread works on the next
// batches; and a reported batch's messages are delivered by the producers meanwhile (it is
// committed, in order with the batches before it, once they are: commit_reported); a large
// batch's second half is validated and normalized on a helper thread while this thread does the
// first (parallel_prepare_bytes). Everything else runs on the pipeline's thread, which alone
// changes the pipeline's state.
// One region's Redis down stops only its own events (issue 14): after a short retry they are
// parked (ParkedEvents), with every later event about the same resources or patients, and the
// rest of the batch goes on; parked events run again, oldest first, with a capped backoff, and
// no partition is committed at or past one of them until it is done. The steps still retried
// without bound while a region is down are named at Pipeline::in_region.
// With a ConsentSink, each Consent of a confirmed batch (and each deletion of one) is handed to
// it before the report and the commit (Pipeline::apply_consents).
#pragma once

#include "fl/base/result.h"
#include "fl/gateway/audit_event.h"
#include "fl/gateway/batch.h"
#include "fl/gateway/health.h"
#include "fl/gateway/parked_events.h"
#include "fl/gateway/pointer_record.h"
#include "fl/gateway/pseudonyms.h"
#include "fl/gateway/stages/decide_stage.h"
#include "fl/gateway/stages/normalize_stage.h"
#include "fl/gateway/stages/protect_stage.h"
#include "fl/gateway/stages/record_and_report.h"
#include "fl/gateway/stages/report_stage.h"
#include "fl/gateway/stages/validate_stage.h"
#include "fl/ports/audit_log.h"
#include "fl/ports/blob_store.h"
#include "fl/ports/clock.h"
#include "fl/ports/consent_sink.h"
#include "fl/ports/dead_letters.h"
#include "fl/ports/event_source.h"
#include "fl/ports/key_provider.h"
#include "fl/ports/master_key_store.h"
#include "fl/ports/metrics.h"
#include "fl/ports/patient_directory.h"
#include "fl/ports/pointer_ledger.h"
#include "fl/ports/receipts.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
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
  // Counters and timings for operators (/metrics). None when null.
  ports::Metrics* metrics = nullptr;
  // Where the Consents the pipeline anchors become grants (and their deletions revocations).
  // Consents are only stored and anchored, like any resource, when null.
  ports::ConsentSink* consents = nullptr;
  // The stores again, on connections of their own, for the thread that keeps the pointer
  // records of confirmed batches and reports them (stages/record_and_report.h) while this one
  // works on the next batches. Everything runs on the pipeline's thread when null.
  ports::BlobStore* record_blobs = nullptr;
};

// Which anchoring mode a resource gets: by resource type, else by input topic, else the default.
struct AnchoringModes {
  ports::AnchorMode fallback = ports::AnchorMode::kPointer;
  std::map<std::string, ports::AnchorMode, std::less<>> by_topic;
  std::map<std::string, ports::AnchorMode, std::less<>> by_resource_type;

  ports::AnchorMode mode_for(std::string_view topic, std::string_view resource_type) const;
};

// Whose id a FHIR id is (pseudonyms.h, config `identity`).
struct IdentityOptions {
  // The source of events with neither a fhir-source header nor an absolute fullUrl.
  std::string default_source = "default";
  // Identifier.system that links one person's records across sources; "" for none.
  std::string linking_identifier_system;
};

struct PipelineOptions {
  ValidationLimits limits;
  AnchoringModes anchoring;
  std::size_t batch_max_events = 200;
  // Batches whose transactions may be awaiting confirmation at once; the oldest is confirmed
  // and committed before another is sent beyond this. As many confirmed batches may wait for
  // the recording thread (their records and report) when there is one.
  // 1: each batch is confirmed before the next is polled.
  std::size_t max_in_flight = 1;
  // Batches reported whose messages the broker has not yet acknowledged; beyond this the
  // pipeline waits for the acknowledgements before it goes on. Not max_in_flight: a broker
  // that takes longer to acknowledge than a batch takes to work (the mock cluster takes
  // 50-70 ms) would stall every batch. The cost is what a crash re-delivers: at most this many
  // batches more.
  std::size_t max_reported = 16;
  std::chrono::milliseconds batch_max_wait{250};
  std::chrono::milliseconds retry_backoff{500};
  // A region that stops answering (kUnavailable) is tried this many times in a row, with
  // retry_backoff between, before its events are parked; a region already down is tried once
  // each time it is due again (retry_backoff, doubling, at most 16 times as long).
  std::size_t region_attempts = 2;
  // Parked events are kept in memory up to this many bytes; beyond that nothing new is polled
  // until they have run (every region then waits for the one that is down).
  std::size_t max_parked_bytes = 256u * 1024 * 1024;
  std::chrono::milliseconds flush_timeout{30000};
  // Batch mode for the demo and tests: return once every assigned partition is committed to
  // its end, after at least `idle_before_exit` without new events.
  bool until_caught_up = false;
  std::chrono::milliseconds idle_before_exit{1000};
  // The gateway's name in the AuditEvents it writes (their source site).
  std::string service_name = "fhir-ledger";
  IdentityOptions identity;
  // Batches of at least this many bytes of events are validated and normalized in two halves
  // at once, the second on a helper thread (0: never). Those stages are pure CPU work, the
  // pipeline thread's largest on Synthea data, where halves measured 6-16% more resources/s
  // (batches of ~550 KB); with batches of small Observations (~160 KB) they measured 8-11%
  // fewer: the helper then costs the recording thread and Redis more than it saves.
  std::size_t parallel_prepare_bytes = 512 * 1024;
};

struct PipelineStats {
  std::uint64_t consumed = 0;       // Kafka messages taken in
  std::uint64_t resources = 0;      // resources anchored (confirmed), including replays
  std::uint64_t dead_lettered = 0;  // messages sent to the dead-letter topic
  std::uint64_t batches = 0;
  // Batches validated and normalized in two halves at once (options.parallel_prepare_bytes).
  std::uint64_t prepared_in_halves = 0;
  // Anchoring transactions this gateway sent that were mined (each counted once, however often
  // its batch was confirmed or sent again).
  std::uint64_t transactions = 0;
  std::uint64_t pointers = 0;  // versions those transactions anchored (new on chain)
  // Versions a re-delivery found anchored already (by an earlier transaction): not sent again.
  std::uint64_t already_anchored = 0;
  // Events parked because a region was down (each time one was parked), and parked now.
  std::uint64_t parked = 0;
  std::uint64_t waiting = 0;
  // The storage regions that did not answer when last asked, and are not known to be back.
  std::vector<std::string> regions_down;
  // Consents (and deletions of Consents) handed to the ConsentSink: applied, including those a
  // re-delivery found applied already, and those it refused for good (anchored, not applied).
  std::uint64_t consents_applied = 0;
  std::uint64_t consents_failed = 0;
  std::uint64_t gas_used = 0;  // by all anchoring transactions
  double busy_seconds = 0;     // from the first event polled to the last commit
  // Seconds spent in each stage over every batch ("poll": the polls that returned events),
  // where the gateway's time goes for its summary; the metrics have the same per batch.
  // "record" (pointer records) and "report" are mostly the recording thread's, overlapping
  // the others: the stages add up to more than busy_seconds.
  std::map<std::string, double, std::less<>> stage_seconds;
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
  // For the readiness probe; safe to read from another thread.
  const Health& health() const { return health_; }
  // For what watches the gateway from outside the pipeline (the dependency probes).
  Health& health() { return health_; }

 private:
  // A resource of a batch (batch.h).
  using Item = BatchItem;
  // Stages 2-3 for one event: its resources, normalized (their JSON in the event's document,
  // which joins `documents`), or the error that rejects it.
  // `pseudonyms` is the calling thread's own.
  Result<std::vector<Item>> prepare(const ports::SourceEvent& event, std::size_t index,
                                    std::vector<std::unique_ptr<rapidjson::Document>>& documents,
                                    Pseudonyms& pseudonyms);
  // prepare() for each event of the batch, in order (each one set); the second half on a
  // helper thread when the batch is large enough (options.parallel_prepare_bytes).
  std::vector<std::optional<Result<std::vector<Item>>>> prepare_all(
      const std::vector<ports::SourceEvent>& events,
      std::vector<std::unique_ptr<rapidjson::Document>>& documents);
  // The person the resource's linking identifier names (identity.linkingIdentifierSystem),
  // or nullopt; two different values of the system refuse the event.
  Result<std::optional<ports::Hash32>> linked_person(const ResourceView& resource,
                                                     Pseudonyms& pseudonyms);
  // Gives each resource about a patient record linked to a person the person's key, linking
  // the records of this batch's Patients that carry the linking identifier first (the first
  // link of a record wins); an event that contradicts a record's link is dead-lettered.
  Status resolve_persons(Batch& batch, const std::atomic<bool>& stop);
  // Stage 4 for the batch: each resource's policy decision, with the patient's country from a
  // Patient in the batch or the directory; moves events with a denied resource to the dead
  // letters, naming the rules, and records an AuditEvent per denied resource (Batch::audit).
  Status decide(Batch& batch);
  // The AuditEvent of a resource the policy refused at ingest.
  audit::Common event_audit_common(const Item& item, const ports::SourceEvent& event,
                                   std::string_view kind) const;
  ports::AuditRecord denial_record(const Item& item, const ports::SourceEvent& event,
                                   const Decision& decision) const;
  // Gives each delete that names no version (R4 allows it) the version after the one anchored
  // last (or earlier in the batch); a delete of what was never anchored is dropped (a no-op).
  // Waits for the batches in flight first, so the ledger's answer includes them.
  Status resolve_deletes(std::vector<Item>& items, const std::atomic<bool>& stop);
  // Records the countries of the Patients stored in this batch, in their regions; the events
  // of a region that stops answering are parked. Older records in other regions that are down
  // are removed once they answer (forget_moved_countries).
  Status record_countries(Batch& batch, const std::atomic<bool>& stop);
  // Removes the older records record_countries left in regions that were down, where they answer.
  Status forget_moved_countries(const std::atomic<bool>& stop);
  // The directory's records of the batch's patients, from the regions that answer (kept for
  // decide). Events about a patient found in none of them, while a region did not answer, are
  // parked (the record may be there), unless the batch has the patient's Patient to decide by.
  Status look_up_countries(Batch& batch, const std::atomic<bool>& stop);
  // Moves the events whose patient was erased to the dead letters, with their items.
  Status drop_erased(Batch& batch, const std::atomic<bool>& stop);
  // Stages 5-6: seals and stores the items per region; moves the events with a refused item
  // (an erased patient, a version stored with other content) to the dead letters, and parks the
  // events with an item in a region that does not answer (what they stored elsewhere released).
  Status protect(Batch& batch, const std::atomic<bool>& stop);
  // Moves the items the ledger refused to the dead letters, one letter per event: a version
  // anchored with other content (kConflict), or a pointer no transaction the chain takes can
  // carry (kInvalidInput, with the ledger's reason). The event's other resources keep their
  // receipts.
  static void drop_conflicts(Batch& batch, const ports::AnchorConfirmation& confirmation);
  // Writes each item's pointer record (with its transaction and proof) beside its blob. The
  // events with an item in a region that does not answer are parked, anchored: run again, they
  // find their anchors (idempotent on chain; a merkle root through its pending record) and
  // write their records then.
  Status keep_records(Batch& batch, const ports::AnchorConfirmation& confirmation,
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
  Status submit(Batch& batch, const std::atomic<bool>& stop);
  // Merkle mode anchors one root per batch, so a version sent again (re-delivered, re-published)
  // would go under a second root. The merkle-mode versions whose pointer record names a root
  // (or whose pending anchor's root is found on chain) leave the batch instead: their
  // receipts name that root and are made durable here. A version still in flight in an earlier
  // batch has that batch confirmed first.
  Status skip_anchored_roots(Batch& batch, const std::atomic<bool>& stop);
  // Merkle-mode versions of `batch` that an earlier root holds: pointer index -> the record of
  // that anchoring (with its block).
  Result<std::map<std::size_t, PointerRecord>> anchored_roots(const Batch& batch,
                                                              const std::atomic<bool>& stop);
  // The transaction to await for each root of `pending` (versions with a pending anchor, by
  // root): the one that anchored it, else the one noted with it. A root noted without its
  // transaction and not on chain once ours are mined was never sent: its versions are left out.
  Result<std::map<std::string, std::vector<std::pair<std::size_t, PointerRecord>>>>
  transactions_of_roots(
      std::map<ports::Hash32, std::vector<std::pair<std::size_t, PointerRecord>>>& pending,
      const std::atomic<bool>& stop);
  // Records the merkle-mode anchors of `ticket` as pending (PointerRecord with block 0, the
  // root in its proof, the sending account), before the send. A crash before keep_records then
  // leaves a root to look for rather than nothing; the chain names its transaction.
  Status note_pending_roots(std::span<const ports::Pointer> pointers,
                            const ports::AnchorTicket& ticket, const std::atomic<bool>& stop);
  Result<ports::AnchorConfirmation> confirm(Batch& batch, const std::atomic<bool>& stop);
  // After confirmation, before the report: hands each Consent of the batch (its normalized
  // JSON, or its deletion) to ports_.consents, in batch order. kUnavailable is retried with the
  // capped backoff until it succeeds or stop is requested (then the error stops the pipeline and
  // nothing is committed: the re-delivered Consent is applied again, a no-op where it was). Any
  // other error cannot change by retrying: the Consent stays anchored, the failure is logged by
  // pseudonym, counted, and (with an AuditLog) recorded as an AuditEvent that the report makes
  // durable before the commit; the partition moves on.
  Status apply_consents(Batch& batch, const std::atomic<bool>& stop);
  // The AuditEvent of a Consent anchored but not applied.
  ports::AuditRecord consent_failure_record(const Item& item, const ports::SourceEvent& event,
                                            const Error& error) const;
  // Stage 9: queues the batch's receipts, dead letters and AuditEvents with their producers
  // (report_); retried while they cannot be queued, until stop.
  Status report(const Batch& batch, const ports::AnchorConfirmation& confirmation,
                const std::atomic<bool>& stop);
  // Stage 8 for the batches reported: once every message they queued is delivered, commits
  // their offsets, in one call, in order. Without `wait` it only looks (flushes for no time)
  // and leaves them for a later call while messages are on their way, so that the next batch
  // is worked on meanwhile; with it, the flush is retried until it succeeds or stop.
  Status commit_reported(const std::atomic<bool>& stop, bool wait);
  // Stages 2-7 up to sending the transactions; the batch joins in_flight_. The first `reruns`
  // events are parked ones run again (older than every event polled).
  Status begin(std::vector<ports::SourceEvent>& events, std::size_t reruns,
               const std::atomic<bool>& stop);
  // Parks the polled events (from `reruns` on) that touch a resource or patient of an event
  // still parked: they must not overtake it.
  void park_behind_parked(Batch& batch, std::size_t reruns);
  // Parks the events with an item in a region that is down and not yet due to be tried again.
  void park_for_regions(Batch& batch);
  // The events `seeds` and every later event of the batch that touches a resource or patient
  // one of them touches: an event waits whole, and nothing about the same resource or patient
  // overtakes it.
  static std::set<std::size_t> behind(const Batch& batch, const std::set<std::size_t>& seeds);
  // What an item's event would overtake if it ran first: its resource, patient and record keys.
  static void append_keys(const Item& item, std::vector<ports::Hash32>& keys);
  // The events with an item stored in one of `regions`.
  static std::set<std::size_t> events_in(const Batch& batch, const std::set<std::string>& regions);
  // "eu,us": region names for the log.
  static std::string joined(const std::set<std::string>& regions);
  // After parking or a region's answer: the stats, the health and the metrics say which
  // regions are down and how many events wait.
  void note_regions_down();
  // Moves these events (from behind()) to parked_, in batch order, and their items out of the
  // batch; `step` and `regions` say why, in the log.
  void park(Batch& batch, const std::set<std::size_t>& events, std::string_view step,
            const std::string& regions);
  // One region's step: `op` is tried while it answers kUnavailable, region_attempts times (once
  // when the region is down already, and not at all before it is due again). False when the
  // region stays unavailable: it is marked down and the caller parks its events. Other errors
  // are returned. The region steps that go through it: the directory look-up and the recording
  // of countries (and removal of older records), store (master keys, claims, blobs), keep
  // records. Still retried without bound, so every region waits while one of these is down:
  // - identity links (resolve_persons), in the links region, when identity linking is on;
  // - release of a refused event's claims (protect, finish), and merkle mode's anchor records
  //   (skip_anchored_roots) and pending roots (note_pending_roots): each in a region that
  //   answered earlier in the same batch, so only when it goes down in between (a merkle
  //   version sent and re-run without its pending record would go under a second root);
  // - above max_parked_bytes of parked events, nothing new is polled until they have run.
  Result<bool> in_region(const std::atomic<bool>& stop, std::string_view step,
                         const std::string& region, const std::function<Status()>& op);
  // The oldest batch in flight: confirmation, pointer records, report; committed when its
  // messages are delivered (commit_reported). With a recording thread (record_blobs), the
  // records and the report of a batch without Consents to apply are handed to it; a batch
  // with them is finished here once every batch handed over is collected.
  Status finish(const std::atomic<bool>& stop);
  // Takes the batches the recording thread is done with, in order, into reported_, waiting
  // while more than `keep` are handed over. One whose records a region did not take has them
  // kept and is reported here (keep_records: retried, parked), then the thread goes on.
  Status collect(const std::atomic<bool>& stop, std::size_t keep);
  // A batch reported: it joins reported_, to be committed once its messages are delivered.
  void reported(const Batch& batch, const ports::AnchorConfirmation& confirmation);
  // Finishes every batch in flight and commits every batch reported.
  Status drain(const std::atomic<bool>& stop);
  Status retry(const std::atomic<bool>& stop, const char* step,
               const std::function<Status()>& op) const;

  PipelinePorts ports_;
  ValidateStage validate_;
  NormalizeStage normalize_;
  IngestPolicy& policy_;
  Pseudonyms pseudonyms_;
  // The helper thread's, while it prepares the second half of a batch (one at a time).
  Pseudonyms helper_pseudonyms_;
  ProtectStage protect_;
  ReportStage report_;
  PipelineOptions options_;
  PipelineStats stats_;
  // Written as steps fail and recover; retry() is const, and the health is observation only.
  mutable Health health_;
  // Records the seconds since `start` as one batch's time in `stage`; returns now.
  std::chrono::steady_clock::time_point timed(std::string_view stage,
                                              std::chrono::steady_clock::time_point start);
  void stage_seconds(std::string_view stage, double seconds);
  std::chrono::steady_clock::time_point first_event_{};
  std::list<Batch> in_flight_;  // sent, oldest first
  // Confirmed and handed to the recording thread, oldest first; a list, so that the batch and
  // the job the thread holds stay in place.
  struct Recording {
    explicit Recording(Batch b) : batch(std::move(b)) {}
    Batch batch;
    RecordAndReport::Job job;
  };
  std::list<Recording> recording_;
  // Finished batches whose messages may still be on their way, oldest first.
  struct Reported;
  std::list<Reported> reported_;
  ParkedEvents parked_;  // events waiting for a region that is down
  ports::NoMetrics no_metrics_;
  ports::Metrics& metrics_;  // ports_.metrics, or no_metrics_
  // This batch's directory look-up (look_up_countries), for decide.
  std::map<ports::Hash32, ports::PatientCountry> looked_up_;
  // Region -> (patient, time of the newer record): older records to remove where it answers.
  // Lost on a restart: such a record stays, outranked by the newer one, until the patient's
  // next move or erasure removes it.
  std::map<std::string, std::vector<std::pair<ports::Hash32, std::int64_t>>> moved_countries_;
  // Last: destroyed (its thread ended) before the batches and stages it uses.
  std::unique_ptr<RecordAndReport> recorder_;
};

}  // namespace fl::gateway
