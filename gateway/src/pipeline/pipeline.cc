#include "fl/gateway/pipeline.h"

#include "fl/base/log.h"
#include "fl/gateway/audit_event.h"
#include "fl/gateway/batch.h"
#include "fl/gateway/crypto/hash.h"
#include "fl/gateway/pointer_record.h"

#include "policy/join.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <future>
#include <limits>
#include <map>
#include <set>
#include <thread>
#include <tuple>

namespace fl::gateway {

struct Pipeline::Reported {
  std::vector<ports::Origin> committable;  // what ParkedEvents let this batch commit
  std::size_t handled = 0;                 // its events, but the parked ones
  std::size_t parked = 0;
  std::size_t resources = 0;
  std::size_t dead_lettered = 0;
  std::map<std::string, std::size_t, std::less<>> dead_letter_reasons;  // by error code
  std::size_t transactions = 0;
  bool audits = false;  // it recorded AuditEvents: the audit log is flushed too
  std::chrono::steady_clock::time_point polled_at{};
};

namespace {

// The patient's pseudonym as the stores index it; "" for a resource without a patient.
std::string patient_hex(const ports::Pointer& pointer) {
  return pointer.patient_key == ports::Hash32{} ? std::string() : to_hex(pointer.patient_key);
}

// Data errors send the event to the dead-letter topic; any other error stops the batch.
bool is_data_error(const Error& error) {
  return error.code == ErrorCode::kInvalidInput || error.code == ErrorCode::kPolicyDenied ||
         error.code == ErrorCode::kErased;
}

}  // namespace

Pipeline::~Pipeline() = default;

ports::AnchorMode AnchoringModes::mode_for(std::string_view topic,
                                           std::string_view resource_type) const {
  if (auto it = by_resource_type.find(resource_type); it != by_resource_type.end()) {
    return it->second;
  }
  if (auto it = by_topic.find(topic); it != by_topic.end()) return it->second;
  return fallback;
}

Pipeline::Pipeline(PipelinePorts ports, Normalizer& normalizer, IngestPolicy& policy,
                   PipelineOptions options)
    : ports_(ports),
      validate_(options.limits),
      normalize_(normalizer),
      policy_(policy),
      pseudonyms_(ports.keys),
      helper_pseudonyms_(ports.keys),
      protect_(ports.keys, ports.master_keys, ports.blobs),
      report_(ports.receipts, ports.dead_letters, ports.audit, ports.blobs),
      options_(options),
      parked_(options.retry_backoff, options.retry_backoff * 16),
      metrics_(ports.metrics != nullptr ? *ports.metrics : no_metrics_) {
  if (ports.record_blobs != nullptr) {
    recorder_ = std::make_unique<RecordAndReport>(*ports.record_blobs, report_, health_,
                                                  ports.clock, options_.retry_backoff);
  }
}

std::chrono::steady_clock::time_point Pipeline::timed(std::string_view stage,
                                                      std::chrono::steady_clock::time_point start) {
  const auto now = ports_.clock.now();
  stage_seconds(stage, std::chrono::duration<double>(now - start).count());
  return now;
}

void Pipeline::stage_seconds(std::string_view stage, double seconds) {
  metrics_.stage_seconds(stage, seconds);
  auto it = stats_.stage_seconds.find(stage);
  if (it == stats_.stage_seconds.end()) it = stats_.stage_seconds.emplace(stage, 0.0).first;
  it->second += seconds;
}

Status Pipeline::run(const std::atomic<bool>& stop) {
  health_.started();
  auto idle_since = ports_.clock.now();
  while (!stop.load()) {
    auto handled = run_once(stop);
    if (!handled) return handled.error();
    if (*handled == 0 && (!in_flight_.empty() || !recording_.empty())) continue;
    if (*handled > 0) {
      idle_since = ports_.clock.now();
      continue;
    }
    if (options_.until_caught_up && ports_.clock.now() - idle_since >= options_.idle_before_exit) {
      auto caught_up = ports_.source.caught_up();
      if (caught_up && *caught_up) return Ok{};
    }
  }
  // Stopping: what was sent is confirmed and committed first.
  return drain(stop);
}

Result<std::size_t> Pipeline::run_once(const std::atomic<bool>& stop) {
  // 1. Consume: parked events due to run again first (they are older), then what is polled.
  const bool rerun = parked_.due(ports_.clock.now());
  std::vector<ports::SourceEvent> polled;
  if (parked_.bytes() < options_.max_parked_bytes) {
    // While batches are in flight, a poll only picks up what is already there.
    const auto wait =
        in_flight_.empty() && !rerun ? options_.batch_max_wait : std::chrono::milliseconds(0);
    const auto poll_start = ports_.clock.now();
    auto got = ports_.source.poll(options_.batch_max_events, wait);
    if (got && !got->empty()) timed("poll", poll_start);
    if (!got) {
      health_.retrying("consume", got.error(), ports_.clock.now());
      metrics_.retried("consume");
      log::warn("consume.unavailable", {{"error", got.error().message}});
      if (auto done = drain(stop); !done) return done.error();
      ports_.clock.sleep_for(options_.retry_backoff);
      return std::size_t{0};
    }
    health_.recovered("consume");
    polled = std::move(*got);
  } else if (!rerun) {
    // Parked events fill the memory allowed them: nothing new until they have run again.
    if (auto done = drain(stop); !done) return done.error();
    ports_.clock.sleep_for(options_.batch_max_wait);
    return std::size_t{0};
  }
  const std::size_t handled = polled.size();
  std::vector<ports::SourceEvent> events =
      parked_.take_due(ports_.clock.now(), options_.batch_max_events);
  const std::size_t reruns = events.size();
  std::move(polled.begin(), polled.end(), std::back_inserter(events));
  if (!events.empty()) {
    if (stats_.consumed == 0 && handled > 0) first_event_ = ports_.clock.now();
    if (auto begun = begin(events, reruns, stop); !begun) return begun.error();
  }
  // Confirm the oldest batch when the window is full, or when nothing new came in.
  const std::size_t window = std::max<std::size_t>(options_.max_in_flight, 1);
  while (!in_flight_.empty() && (in_flight_.size() >= window || handled == 0)) {
    if (auto done = finish(stop); !done) return done.error();
    if (handled == 0) break;
  }
  // What the recording thread is done with joins the reported batches; all of it when idle.
  if (auto collected = collect(stop, handled == 0 ? 0 : std::numeric_limits<std::size_t>::max());
      !collected) {
    return collected.error();
  }
  // Reported batches are committed once their messages are delivered, which finish looks at
  // before it reports, and so does this when as many wait as may be in flight (not at each
  // round: a look is a flush, which sends at once what linger.ms would have gathered; on the
  // real broker looking each round measured slower); waited for when idle, or when
  // max_reported wait.
  const bool wait =
      handled == 0 || reported_.size() >= std::max<std::size_t>(options_.max_reported, 1);
  if (wait || reported_.size() >= window) {
    if (auto committed = commit_reported(stop, wait); !committed) return committed.error();
  }
  return handled;
}

double PipelineStats::latency_quantile(double q) const {
  if (latencies.empty()) return 0;
  std::vector<double> sorted = latencies;
  const auto rank =
      static_cast<std::size_t>(std::lround(q * static_cast<double>(sorted.size() - 1)));
  std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(rank),
                   sorted.end());
  return sorted[rank];
}

Result<std::vector<Pipeline::Item>> Pipeline::prepare(
    const ports::SourceEvent& event, std::size_t index,
    std::vector<std::unique_ptr<rapidjson::Document>>& documents, Pseudonyms& pseudonyms) {
  // 2. Validate.
  auto validated = validate_.run(event);
  if (!validated) return validated.error();
  std::vector<Item> items;
  for (ResourceView& resource : validated->resources) {
    // 3. Normalize, then canonical JSON (a delete has no content).
    std::string canonical;
    ports::Hash32 mapping_hash{};
    if (!resource.deleted) {
      auto normalized = normalize_.run(validated->source_system, *resource.json,
                                       validated->document->GetAllocator());
      if (!normalized) return normalized.error();
      canonical = std::move(normalized->canonical);
      mapping_hash = normalized->mapping_hash;
    }
    Item item;
    item.event = index;
    // The header names the source first; a Bundle entry's absolute fullUrl names its server.
    item.source = !validated->source_system.empty() ? validated->source_system
                  : !resource.base.empty()          ? resource.base
                                                    : options_.identity.default_source;
    item.reference = resource.reference();
    item.resource_type = resource.type;
    item.json = resource.json;
    ports::Pointer& p = item.pointer;
    p.version = resource.version;
    p.mode = options_.anchoring.mode_for(event.origin.topic, resource.type);
    auto key = pseudonyms.resource_key(item.source, item.reference);
    if (!key) return key.error();
    p.resource_key = *key;
    if (!resource.patient_reference.empty()) {
      // References are resolved within their source; an absolute one naming a server other
      // than the entry's own fullUrl names that server's patient.
      const bool elsewhere = !resource.base.empty() && !resource.patient_base.empty() &&
                             resource.patient_base != resource.base;
      auto record = pseudonyms.patient_key(elsewhere ? resource.patient_base : item.source,
                                           resource.patient_reference);
      if (!record) return record.error();
      item.record_key = *record;
      p.patient_key = *record;
    }
    auto person = linked_person(resource, pseudonyms);
    if (!person) return person.error();
    if (*person) {
      item.person = **person;
      p.patient_key = **person;
    }
    if (resource.deleted) {
      // The tombstone: a new version with no content, so nothing is stored off chain.
      p.content_hash.fill(0xff);
      p.key_id = "-";
      item.deleted = true;
    } else {
      p.mapping_hash = mapping_hash;
      item.plaintext = std::move(canonical);  // sealed per region by protect()
    }
    items.push_back(std::move(item));
  }
  documents.push_back(std::move(validated->document));
  return items;
}

std::vector<std::optional<Result<std::vector<Pipeline::Item>>>> Pipeline::prepare_all(
    const std::vector<ports::SourceEvent>& events,
    std::vector<std::unique_ptr<rapidjson::Document>>& documents) {
  std::vector<std::optional<Result<std::vector<Item>>>> results(events.size());
  const std::size_t n = events.size();
  std::size_t bytes = 0;
  for (const auto& event : events) bytes += event.value.size();
  std::size_t split = n;
  // The helper's pseudonyms are keyed here, so that only this thread asks the key provider.
  if (options_.parallel_prepare_bytes != 0 && bytes >= options_.parallel_prepare_bytes && n >= 2 &&
      helper_pseudonyms_.keyed()) {
    split = n / 2;
  }
  std::vector<std::unique_ptr<rapidjson::Document>> helper_documents;
  std::future<void> helper;
  if (split < n) {
    ++stats_.prepared_in_halves;
    helper = std::async(std::launch::async, [&] {
      for (std::size_t i = split; i < n; ++i) {
        results[i] = prepare(events[i], i, helper_documents, helper_pseudonyms_);
      }
    });
  }
  for (std::size_t i = 0; i < split; ++i) {
    results[i] = prepare(events[i], i, documents, pseudonyms_);
  }
  if (helper.valid()) helper.get();
  std::move(helper_documents.begin(), helper_documents.end(), std::back_inserter(documents));
  return results;
}

Result<std::optional<ports::Hash32>> Pipeline::linked_person(const ResourceView& resource,
                                                             Pseudonyms& pseudonyms) {
  const std::string& system = options_.identity.linking_identifier_system;
  if (system.empty()) return std::optional<ports::Hash32>();
  const std::string* value = nullptr;
  for (const auto& [s, v] : resource.patient_identifiers) {
    if (s != system) continue;
    if (value != nullptr && *value != v) {
      return Error{ErrorCode::kInvalidInput,
                   "the patient has two different values of the linking identifier system "
                   "(identity.linkingIdentifierSystem): it cannot be one person",
                   resource.type == "Patient" ? "/identifier" : "/subject/identifier"};
    }
    value = &v;
  }
  if (value == nullptr) return std::optional<ports::Hash32>();
  auto person = pseudonyms.person_key(system, *value);
  if (!person) return person.error();
  return std::optional(*person);
}

Status Pipeline::resolve_persons(Batch& batch, const std::atomic<bool>& stop) {
  if (options_.identity.linking_identifier_system.empty()) return Ok{};
  std::vector<Item>& items = batch.items;
  std::vector<ports::Hash32> records;
  for (const Item& item : items) {
    if (item.record_key != ports::Hash32{}) records.push_back(item.record_key);
  }
  std::sort(records.begin(), records.end());
  records.erase(std::unique(records.begin(), records.end()), records.end());
  if (records.empty()) return Ok{};
  std::map<ports::Hash32, ports::Hash32> linked;  // record -> person, as the directory has it
  auto looked_up = retry(stop, "identity links", [&]() -> Status {
    auto found = ports_.directory.linked_persons(records);
    if (!found) return found.error();
    for (std::size_t i = 0; i < records.size(); ++i) {
      if ((*found)[i]) linked[records[i]] = *(*found)[i];
    }
    return Ok{};
  });
  if (!looked_up) return looked_up;

  // A Patient that carries the linking identifier links its record (the first link wins).
  std::map<ports::Hash32, ports::Hash32> wanted;
  for (const Item& item : items) {
    if (item.resource_type != "Patient" || !item.person || item.record_key == ports::Hash32{}) {
      continue;
    }
    if (!linked.contains(item.record_key)) wanted.try_emplace(item.record_key, *item.person);
  }
  if (!wanted.empty()) {
    const std::vector<std::pair<ports::Hash32, ports::Hash32>> links(wanted.begin(), wanted.end());
    auto made = retry(stop, "identity links", [&]() -> Status {
      auto winners = ports_.directory.link_persons(links);
      if (!winners) return winners.error();
      for (std::size_t i = 0; i < links.size(); ++i) linked[links[i].first] = (*winners)[i];
      return Ok{};
    });
    if (!made) return made;
  }

  // Every resource about a linked record is about its person; one naming another person by
  // the identifier contradicts the link, and is refused rather than moved.
  for (Item& item : items) {
    if (item.record_key == ports::Hash32{}) continue;
    auto link = linked.find(item.record_key);
    if (link == linked.end()) continue;
    if (item.person && *item.person != link->second) {
      batch.reject(
          item.event,
          Error{ErrorCode::kInvalidInput,
                "the patient record is linked to another person by its linking identifier "
                "(identity.linkingIdentifierSystem); a record's data never moves to another person",
                "identity"});
      continue;
    }
    item.pointer.patient_key = link->second;
  }
  batch.prune();
  return Ok{};
}

Status Pipeline::decide(Batch& batch) {
  const std::vector<ports::SourceEvent>& events = batch.events;
  std::vector<Item>& items = batch.items;
  // What the directory recorded for the batch's patients (look_up_countries read them before);
  // a Patient decided in this batch replaces its own record below.
  std::map<ports::Hash32, std::string> countries;
  for (const auto& [key, found] : looked_up_) countries.emplace(key, found.country);

  // An event gets the first denial of its resources (Patients first).
  auto run = [&](Item& item) -> Status {
    const ports::SourceEvent& event = events[item.event];
    const auto known = countries.find(item.pointer.patient_key);
    auto decision = policy_.decide_ingest(
        {.resource_type = item.resource_type,
         .resource = item.json,
         .source_system = event.header("fhir-source"),
         .jurisdiction_header = event.header("fhir-jurisdiction"),
         .recorded_country = known == countries.end() ? std::string_view() : known->second,
         .resource_key = item.pointer.resource_key});
    if (!decision) {
      if (!is_data_error(decision.error())) return decision.error();
      batch.reject(item.event, decision.error());
      return Ok{};
    }
    if (!decision->permit) {
      if (ports_.audit != nullptr) batch.audit(denial_record(item, event, *decision));
      const std::string rules = policy::join(decision->rule_ids);
      batch.reject(
          item.event,
          Error{ErrorCode::kPolicyDenied,
                "storage of " + item.resource_type + " denied by policy " +
                    to_0x_hex(decision->policy_hash) +
                    (rules.empty() ? " (no rule applies: the bundle's default effect is deny)"
                                   : " (rules: " + rules + ")"),
                decision->rule_ids.empty() ? "default-effect" : decision->rule_ids.front()});
      return Ok{};
    }
    item.pointer.policy_hash = decision->policy_hash;
    item.pointer.region = decision->region;
    if (item.resource_type == "Patient" && !item.deleted &&
        !decision->patient_address_country.empty()) {
      item.country = decision->patient_address_country;
      countries[item.pointer.patient_key] = item.country;
    }
    return Ok{};
  };
  // Patients first, so that their resources in the same batch follow their country.
  for (Item& item : items) {
    if (item.resource_type == "Patient") {
      if (auto s = run(item); !s) return s;
    }
  }
  for (Item& item : items) {
    if (item.resource_type != "Patient") {
      if (auto s = run(item); !s) return s;
    }
  }
  for (Item& item : items) item.json = nullptr;  // the documents go after this step
  batch.prune();
  return Ok{};
}

namespace {

// The Kafka message an event came in: topic[partition]@offset.
std::string message_of(const ports::SourceEvent& event) {
  return event.origin.topic + "[" + std::to_string(event.origin.partition) + "]@" +
         std::to_string(event.origin.offset);
}

}  // namespace

// What the pipeline's AuditEvents about one resource of one message share: an id that is the
// same each time the message is delivered (`kind` tells the events about it apart), the source
// system as the requestor, the pseudonyms.
audit::Common Pipeline::event_audit_common(const Item& item, const ports::SourceEvent& event,
                                           std::string_view kind) const {
  audit::Common common;
  common.id = to_hex(crypto::sha256(
      as_bytes(message_of(event) + " " + std::string(kind) + to_hex(item.pointer.resource_key))));
  common.recorded = audit::rfc3339_utc(ports::unix_seconds(ports_.clock.wall()));
  common.gateway = options_.service_name;
  const std::string source(event.header("fhir-source"));
  common.agents.push_back(audit::Agent{.address = "",
                                       .jurisdiction = "",
                                       .display = source.empty() ? "source system" : source,
                                       .requestor = true});
  if (item.pointer.patient_key != ports::Hash32{}) {
    common.patient_key = to_0x_hex(item.pointer.patient_key);
  }
  common.resource_key = to_0x_hex(item.pointer.resource_key);
  return common;
}

// By pseudonyms only, with the source system that sent the resource and its Kafka message, so
// the auditor can find the dead letter.
ports::AuditRecord Pipeline::denial_record(const Item& item, const ports::SourceEvent& event,
                                           const Decision& decision) const {
  // The same for the same resource of the same Kafka message: a batch re-delivered after a
  // restart writes its denials again, and the consumer recognises the copies by this id.
  audit::Common common = event_audit_common(item, event, "");
  const bool patient = item.pointer.patient_key != ports::Hash32{};
  common.details = {{"country", decision.country}, {"message", message_of(event)}};
  if (!decision.refusal.empty()) common.details.emplace_back("refusal", decision.refusal);
  audit::PolicyFacts facts;
  facts.policy_hash = decision.policy_hash;
  facts.effect = decision.refusal.empty() ? policy::Effect::kDeny : policy::Effect::kPermit;
  facts.rule_ids = decision.rule_ids;
  facts.obligations = "none";
  ports::AuditRecord record;
  record.key = patient ? common.patient_key : common.resource_key;
  record.json = audit::ingest_denial_event(common, common.resource_key, item.resource_type,
                                           item.deleted, facts);
  return record;
}

Status Pipeline::record_countries(Batch& batch, const std::atomic<bool>& stop) {
  // The last Patient of each patient in the batch decides its record: written per region, a
  // patient who moved within the batch must not be recorded in the region it left.
  std::map<ports::Hash32, const Item*> latest;
  for (const Item& item : batch.items) {
    if (!item.country.empty()) latest[item.pointer.patient_key] = &item;
  }
  std::map<std::string, std::vector<std::pair<ports::Hash32, std::string>>> by_region;
  for (const auto& [patient, item] : latest) {
    by_region[item->pointer.region].emplace_back(patient, item->country);
  }
  const auto now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(ports_.clock.wall().time_since_epoch())
          .count();
  std::set<std::size_t> seeds;
  std::set<std::string> down;
  for (const auto& [region, countries] : by_region) {
    const auto now = ports_.clock.now();
    const std::vector<std::string> skip = parked_.unusable(now);
    std::vector<std::string> left;
    auto recorded = in_region(stop, "patient directory", region, [&, &r = region, &c = countries] {
      auto answer = ports_.directory.record_countries_reachable(r, c, now_ms, skip);
      if (!answer) return Status(answer.error());
      left = std::move(*answer);
      return Status(Ok{});
    });
    if (!recorded) return recorded.error();
    if (!*recorded) {
      for (const auto& [patient, item] : latest) {
        if (item->pointer.region == region) seeds.insert(item->event);
      }
      down.insert(region);
      continue;
    }
    // Regions that did not answer keep older records of these patients, outranked by the new
    // ones; they are removed once those regions answer again.
    for (const std::string& other : left) {
      if (std::find(skip.begin(), skip.end(), other) == skip.end()) {
        parked_.failed(other, now);
        log::warn("pipeline.region_unavailable", {{"step", "patient directory cleanup"},
                                                  {"region", other},
                                                  {"patients", countries.size()}});
      }
      auto& owed = moved_countries_[other];
      for (const auto& entry : countries) owed.emplace_back(entry.first, now_ms);
    }
  }
  park(batch, behind(batch, seeds), "patient directory", joined(down));
  return Ok{};
}

Status Pipeline::forget_moved_countries(const std::atomic<bool>& stop) {
  for (auto it = moved_countries_.begin(); it != moved_countries_.end();) {
    auto forgotten = in_region(stop, "patient directory cleanup", it->first, [&] {
      return ports_.directory.forget_countries_before(it->first, it->second);
    });
    if (!forgotten) return forgotten.error();
    it = *forgotten ? moved_countries_.erase(it) : std::next(it);
  }
  return Ok{};
}

Status Pipeline::look_up_countries(Batch& batch, const std::atomic<bool>& stop) {
  looked_up_.clear();
  const std::vector<ports::Hash32>& asked = batch.patient_keys();
  if (asked.empty()) return Ok{};
  const auto now = ports_.clock.now();
  const std::vector<std::string> skip = parked_.unusable(now);
  ports::CountryAnswers answers;
  auto read = retry(stop, "patient directory", [&]() -> Status {
    auto found = ports_.directory.reachable_countries(asked, skip);
    if (!found) return found.error();
    answers = std::move(*found);
    return Ok{};
  });
  if (!read) return read;
  for (std::size_t i = 0; i < asked.size(); ++i) {
    if (answers.countries[i]) looked_up_[asked[i]] = std::move(*answers.countries[i]);
  }
  const auto unanswered = [&](const std::string& region) {
    return std::find(answers.unanswered.begin(), answers.unanswered.end(), region) !=
           answers.unanswered.end();
  };
  for (const std::string& region : parked_.down()) {
    if (!unanswered(region) && parked_.answered(region)) {
      log::info("pipeline.region_back", {{"step", "patient directory"}, {"region", region}});
    }
  }
  if (answers.unanswered.empty()) return Ok{};
  for (const std::string& region : answers.unanswered) {
    if (std::find(skip.begin(), skip.end(), region) != skip.end()) continue;
    const auto retry_at = parked_.failed(region, now);
    log::warn("pipeline.region_unavailable",
              {{"step", "patient directory"},
               {"region", region},
               {"retryInMs",
                std::chrono::duration_cast<std::chrono::milliseconds>(retry_at - now).count()}});
  }
  // A patient found nowhere may be recorded in a region that did not answer: their events wait
  // for it, unless the batch has their Patient, which decides by its own address.
  std::set<ports::Hash32> deciding;
  for (const Item& item : batch.items) {
    if (item.resource_type == "Patient" && !item.deleted) deciding.insert(item.pointer.patient_key);
  }
  std::set<std::size_t> seeds;
  for (const Item& item : batch.items) {
    const auto& patient = item.pointer.patient_key;
    if (patient != ports::Hash32{} && !looked_up_.contains(patient) &&
        !deciding.contains(patient)) {
      seeds.insert(item.event);
    }
  }
  park(batch, behind(batch, seeds), "patient directory",
       joined({answers.unanswered.begin(), answers.unanswered.end()}));
  return Ok{};
}

Status Pipeline::protect(Batch& batch, const std::atomic<bool>& stop) {
  std::vector<Item>& items = batch.items;
  std::vector<Sealing> sealings(items.size());
  std::map<std::string, std::vector<Sealing*>> by_region;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const Item& item = items[i];
    if (item.deleted) continue;
    const auto& p = item.pointer;
    sealings[i] = Sealing{.resource_key = p.resource_key,
                          .patient_key = p.patient_key,
                          .version = p.version,
                          .policy_hash = p.policy_hash,
                          .plaintext = item.plaintext};
    by_region[p.region].push_back(&sealings[i]);
  }
  std::set<std::string> down;
  for (auto& [region, sealed] : by_region) {
    auto stored = in_region(stop, "store", region, [&, &r = region, &b = sealed] {
      return protect_.seal_and_store(r, b);
    });
    if (!stored) return stored.error();
    if (!*stored) down.insert(region);
  }
  // An event with a resource in a region that did not answer waits, whole, and so does what
  // would overtake it.
  const std::set<std::size_t> waiting = behind(batch, events_in(batch, down));
  // An event is all or nothing: one refused resource refuses the event.
  std::map<std::size_t, Error> refused;
  for (std::size_t i = 0; i < items.size(); ++i) {
    Item& item = items[i];
    if (ports_.consents != nullptr && item.resource_type == "Consent" && !item.deleted) {
      item.consent = item.plaintext;
    }
    OPENSSL_cleanse(item.plaintext.data(), item.plaintext.size());
    item.plaintext.clear();
    if (item.deleted || down.contains(item.pointer.region)) continue;
    const Sealing& sealed = sealings[i];
    if (sealed.refused) {
      if (!waiting.contains(item.event)) refused.try_emplace(item.event, *sealed.refused);
      continue;
    }
    item.pointer.content_hash = sealed.content_hash;
    item.pointer.key_id = sealed.key_id;
    item.claimed = !sealed.reused;
  }
  for (const auto& [event, error] : refused) batch.reject(event, error);
  if (refused.empty() && waiting.empty()) return Ok{};
  // Nothing of a refused event stays: what its other resources stored would keep their
  // versions claimed with nothing on chain, and refuse a corrected copy later. Nor of a waiting
  // one, in the regions that answered: it stores again when it runs again.
  std::vector<bool> dropped(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    dropped[i] = refused.contains(items[i].event) || waiting.contains(items[i].event);
  }
  if (auto released = release(items, dropped, stop); !released) return released;
  park(batch, waiting, "store", joined(down));
  batch.prune();
  return Ok{};
}

Status Pipeline::release(const std::vector<Item>& items, const std::vector<bool>& dropped,
                         const std::atomic<bool>& stop) {
  using Claim = std::tuple<std::string, ports::Hash32, std::uint64_t, ports::Hash32>;
  const auto claim_of = [](const Item& item) {
    const auto& p = item.pointer;
    return Claim{p.region, p.resource_key, p.version, p.content_hash};
  };
  // A duplicate of a dropped version that adopted its blob (in this batch or a later one in
  // flight) anchors that blob: the claim stays for it.
  std::set<Claim> in_use;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (!dropped[i]) in_use.insert(claim_of(items[i]));
  }
  for (const Batch& other : in_flight_) {
    if (&other.items == &items) continue;
    for (const Item& item : other.items) in_use.insert(claim_of(item));
  }
  // Confirmed, their records perhaps not yet written: only read here, as on the recording
  // thread.
  for (const Recording& other : recording_) {
    for (const Item& item : other.batch.items) in_use.insert(claim_of(item));
  }
  std::map<std::string, std::vector<ports::ClaimedBlob>> by_region;
  std::set<Claim> released;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const Item& item = items[i];
    if (!dropped[i] || !item.claimed) continue;
    const Claim claim = claim_of(item);
    if (in_use.contains(claim) || !released.insert(claim).second) continue;
    by_region[item.pointer.region].push_back({.resource_key = to_hex(item.pointer.resource_key),
                                              .version = item.pointer.version,
                                              .key = to_hex(item.pointer.content_hash)});
  }
  for (const auto& [region, claims] : by_region) {
    auto done = retry(stop, "release claims",
                      [&, &r = region, &c = claims] { return ports_.blobs.release_claims(r, c); });
    if (!done) return done;
  }
  return Ok{};
}

Status Pipeline::drop_erased(Batch& batch, const std::atomic<bool>& stop) {
  // A record erased before it was linked stays erased once linked: both keys are checked.
  const std::vector<ports::Hash32>& patients = batch.patient_and_record_keys();
  if (patients.empty()) return Ok{};
  std::vector<bool> erased;
  auto checked = retry(stop, "erasure check", [&]() -> Status {
    auto answer = ports_.ledger.erased(patients);
    if (!answer) return answer.error();
    erased = std::move(*answer);
    return Ok{};
  });
  if (!checked) return checked;
  std::set<ports::Hash32> gone;
  for (std::size_t i = 0; i < patients.size(); ++i) {
    if (erased[i]) gone.insert(patients[i]);
  }
  if (gone.empty()) return Ok{};
  for (const Item& item : batch.items) {
    if (gone.contains(item.pointer.patient_key) || gone.contains(item.record_key)) {
      batch.reject(item.event, Error{ErrorCode::kErased,
                                     "the patient was erased: no new data is stored or anchored "
                                     "for them",
                                     "erasure"});
    }
  }
  batch.prune();
  return Ok{};
}

void Pipeline::drop_conflicts(Batch& batch, const ports::AnchorConfirmation& confirmation) {
  std::map<std::size_t, std::string> conflicts;  // event -> why
  // event -> (how many of its resources, why): a Bundle of thousands refused alike gets one
  // sentence, not thousands.
  std::map<std::size_t, std::pair<std::size_t, std::string>> refused;
  for (const Item& item : batch.items) {
    const auto& placement = confirmation.placements.at(item.placement);
    if (placement.refused) {
      auto& [count, why] = refused[item.event];
      ++count;
      if (why.find(*placement.refused) == std::string::npos) {
        why += (why.empty() ? "" : "; ") + *placement.refused;
      }
      continue;
    }
    const auto& conflict = placement.conflict;
    if (!conflict) continue;
    // Pseudonymous keys only: dead-letter details end up in logs and dashboards.
    log::warn("anchor.conflict", {{"resourceKey", to_0x_hex(item.pointer.resource_key)},
                                  {"version", item.pointer.version}});
    std::string& why = conflicts[item.event];
    if (!why.empty()) why += "; ";
    why += "version " + std::to_string(item.pointer.version) + " of resource key " +
           to_0x_hex(item.pointer.resource_key) + " is already anchored with content hash " +
           to_0x_hex(*conflict) + ", not " + to_0x_hex(item.pointer.content_hash) +
           " (the ledger keeps the first; publish the change as a new version)";
  }
  std::map<std::size_t, Error> letters;  // one per event, in event order
  for (const auto& [event, why] : conflicts) {
    letters.emplace(event, Error{ErrorCode::kConflict, why, "anchor"});
  }
  for (const auto& [event, refusal] : refused) {
    const auto& [count, why] = refusal;
    log::warn("anchor.refused", {{"resources", count}, {"reason", why}});
    // A resource the chain can never take outranks a conflict in the same event.
    std::string detail =
        std::to_string(count) + " of the event's resources could not be anchored: " + why;
    if (auto it = letters.find(event); it != letters.end()) detail += "; " + it->second.message;
    letters.insert_or_assign(event, Error{ErrorCode::kInvalidInput, detail, "anchor"});
  }
  std::erase_if(batch.items, [&](const Item& item) {
    const auto& placement = confirmation.placements.at(item.placement);
    return placement.conflict.has_value() || placement.refused.has_value();
  });
  for (const auto& [event, error] : letters) batch.reject_part(event, error);
}

std::vector<ports::Pointer> Pipeline::pointers_of(std::vector<Item>& items) {
  // A batch may hold the same version twice (a duplicate publish): one pointer is enough.
  std::vector<ports::Pointer> pointers;
  std::map<std::tuple<ports::Hash32, std::uint64_t, ports::Hash32>, std::size_t> seen;
  for (Item& item : items) {
    const auto& p = item.pointer;
    auto [it, fresh] =
        seen.try_emplace({p.resource_key, p.version, p.content_hash}, pointers.size());
    if (fresh) pointers.push_back(p);
    item.placement = it->second;
  }
  return pointers;
}

Status Pipeline::submit(Batch& batch, const std::atomic<bool>& stop) {
  if (auto skipped = skip_anchored_roots(batch, stop); !skipped) return skipped;
  if (batch.pointers.empty()) return Ok{};
  // Merkle roots are noted before they are sent, so that a crash right after the send finds
  // its root. Not again once sent: a re-delivery finds the transaction through the root on
  // chain, after the sender's pool has settled (transactions_of_roots), never by a noted hash.
  const ports::BeforeSend note_roots = [&](const ports::AnchorTicket& planned) {
    return note_pending_roots(batch.pointers, planned, stop);
  };
  return retry(stop, "anchor", [&]() -> Status {
    auto ticket = ports_.ledger.submit(batch.pointers, note_roots);
    if (!ticket) return ticket.error();
    batch.ticket = std::move(*ticket);
    return Ok{};
  });
}

Status Pipeline::skip_anchored_roots(Batch& batch, const std::atomic<bool>& stop) {
  using Version = std::tuple<ports::Hash32, std::uint64_t, ports::Hash32>;
  const auto version_of = [](const ports::Pointer& p) {
    return Version{p.resource_key, p.version, p.content_hash};
  };
  std::set<Version> merkle;
  for (const auto& p : batch.pointers) {
    if (p.mode == ports::AnchorMode::kMerkle) merkle.insert(version_of(p));
  }
  if (merkle.empty()) return Ok{};
  // A version's record is written once its batch is confirmed: an earlier batch still in
  // flight with one of these versions is confirmed (and committed, in order) first.
  const auto holds = [&](const Batch& b) {
    return std::any_of(b.pointers.begin(), b.pointers.end(), [&](const ports::Pointer& p) {
      return p.mode == ports::AnchorMode::kMerkle && merkle.contains(version_of(p));
    });
  };
  const bool in_flight = std::any_of(in_flight_.begin(), in_flight_.end(), holds) ||
                         std::any_of(recording_.begin(), recording_.end(),
                                     [&](const Recording& r) { return holds(r.batch); });
  if (in_flight) {
    if (auto drained = drain(stop); !drained) return drained;
  }
  auto anchored = anchored_roots(batch, stop);
  if (!anchored) return anchored.error();
  if (anchored->empty()) return Ok{};

  // Their receipts now, as report() would make them: these items leave the batch.
  std::vector<ports::Receipt> receipts;
  for (const Item& item : batch.items) {
    auto it = anchored->find(item.placement);
    if (it == anchored->end()) continue;
    const PointerRecord& record = it->second;
    receipts.push_back(report_.receipt(batch, item, record.tx_hash, record.block, record.proof));
  }
  // Flushed here, whole, before the items go: report() sends only what stays in the batch.
  const std::size_t count = receipts.size();
  ReportStage::Queue queue(report_, std::move(receipts), {}, {});
  auto reported = retry(stop, "report", [&]() -> Status {
    if (auto queued = queue.next(); !queued) return queued;
    return report_.delivered(/*audits=*/false, options_.flush_timeout);
  });
  if (!reported) return reported;
  log::info("anchor.already_in_root", {{"versions", anchored->size()}, {"resources", count}});
  stats_.already_anchored += anchored->size();
  stats_.resources += count;
  std::erase_if(batch.items, [&](const Item& item) { return anchored->contains(item.placement); });
  batch.pointers = pointers_of(batch.items);
  return Ok{};
}

namespace {

// The record `json` holds, if it anchors `p` (same version and content) under a root.
std::optional<PointerRecord> root_holding(const std::optional<std::string>& json,
                                          const ports::Pointer& p) {
  if (!json) return std::nullopt;
  auto record = parse_pointer_record(*json);
  if (!record) {
    // Read as absent: the version is anchored again (under a new root) and its record rewritten.
    log::warn("anchor.record_unreadable", {{"resourceKey", to_0x_hex(p.resource_key)},
                                           {"version", p.version},
                                           {"error", record.error().message}});
    return std::nullopt;
  }
  const auto& r = record->pointer;
  if (!record->proof || r.resource_key != p.resource_key || r.version != p.version ||
      r.content_hash != p.content_hash) {
    return std::nullopt;
  }
  return std::move(*record);
}

}  // namespace

Result<std::map<std::size_t, PointerRecord>> Pipeline::anchored_roots(
    const Batch& batch, const std::atomic<bool>& stop) {
  // A version this delivery claimed (its claim was not in the store before protect) was stored
  // by nobody before: no root can hold it, since a root is noted and sent only for a version
  // stored and claimed, and a claim is given up only while nothing anchored its version. Only
  // the versions whose claim was found are looked up: one exchange and two reads per version
  // fewer for new data.
  std::vector<bool> claimed_now(batch.pointers.size(), false);
  for (const Item& item : batch.items) {
    if (item.claimed) claimed_now.at(item.placement) = true;
  }
  std::map<std::string, std::vector<std::size_t>> by_region;
  for (std::size_t i = 0; i < batch.pointers.size(); ++i) {
    const auto& p = batch.pointers[i];
    if (p.mode == ports::AnchorMode::kMerkle && !claimed_now[i]) by_region[p.region].push_back(i);
  }
  std::map<std::size_t, PointerRecord> anchored;
  // Versions with a pending anchor, by the root it names.
  std::map<ports::Hash32, std::vector<std::pair<std::size_t, PointerRecord>>> pending;
  for (const auto& [region, at] : by_region) {
    std::vector<ports::VersionRef> refs;
    refs.reserve(at.size());
    for (std::size_t i : at) {
      refs.push_back({.resource_key = to_hex(batch.pointers[i].resource_key),
                      .version = batch.pointers[i].version});
    }
    std::vector<ports::AnchorRecords> found;
    auto read = retry(stop, "anchor records", [&, &r = region]() -> Status {
      auto answer = ports_.blobs.anchor_records(r, refs);
      if (!answer) return answer.error();
      found = std::move(*answer);
      return Ok{};
    });
    if (!read) return read.error();
    for (std::size_t j = 0; j < at.size(); ++j) {
      const auto& p = batch.pointers[at[j]];
      if (auto record = root_holding(found[j].record, p); record && record->block != 0) {
        anchored.emplace(at[j], std::move(*record));
      } else if (auto sent = root_holding(found[j].pending, p)) {
        const ports::Hash32 root = sent->proof->root;
        pending[root].emplace_back(at[j], std::move(*sent));
      }
    }
  }
  // A pending anchor is a root a gateway noted before sending it and stopped before recording
  // it: on chain (now, or once its sender's transactions are mined), it holds the version, and
  // the transaction that put it there is awaited for its confirmations.
  auto by_tx = transactions_of_roots(pending, stop);
  if (!by_tx) return by_tx.error();
  // Not retried: one the node never mined would be waited for forever, so any failure
  // (timeout, revert, node down) sends the version again.
  std::map<std::string, std::vector<ports::PointerRecordWrite>> confirmed;
  for (auto& [tx_hash, sent] : *by_tx) {
    ports::AnchorTicket ticket{.tx_hashes = {tx_hash}};
    for (const auto& [at, record] : sent) {
      ticket.placements.push_back({.tx = 0, .proof = record.proof});
      ticket.batch.push_back(record.pointer);
    }
    auto mined = ports_.ledger.await(ticket);
    if (!mined || mined->transactions.empty()) {
      log::warn("anchor.pending_root_not_found",
                {{"txHash", tx_hash},
                 {"versions", sent.size()},
                 {"error", mined ? std::string("no transaction") : mined.error().message}});
      continue;
    }
    for (auto& [at, record] : sent) {
      record.tx_hash = tx_hash;
      record.sender.clear();  // a pending note's, not the record's
      record.block = mined->transactions.front().block;
      confirmed[record.pointer.region].push_back(
          {.resource_key = to_hex(record.pointer.resource_key),
           .version = record.pointer.version,
           .json = to_json(record),
           .patient_key = patient_hex(record.pointer)});
      anchored.emplace(at, std::move(record));
    }
  }
  for (const auto& [region, records] : confirmed) {
    auto kept = retry(stop, "keep records", [&, &r = region, &w = records] {
      return ports_.blobs.put_pointer_records(r, w);
    });
    if (!kept) return kept.error();
  }
  return anchored;
}

Result<std::map<std::string, std::vector<std::pair<std::size_t, PointerRecord>>>>
Pipeline::transactions_of_roots(
    std::map<ports::Hash32, std::vector<std::pair<std::size_t, PointerRecord>>>& pending,
    const std::atomic<bool>& stop) {
  std::map<std::string, std::vector<std::pair<std::size_t, PointerRecord>>> by_tx;
  const auto anchor_of = [&](const ports::Hash32& root) {
    std::optional<ports::RootAnchor> where;
    auto read = retry(stop, "root anchor", [&]() -> Status {
      auto answer = ports_.ledger.root_anchor(root);
      if (!answer) return answer.error();
      where = std::move(*answer);
      return Ok{};
    });
    return read ? Result<std::optional<ports::RootAnchor>>(std::move(where))
                : Result<std::optional<ports::RootAnchor>>(read.error());
  };
  std::set<std::string> settled;  // accounts waited for
  for (auto& [root, sent] : pending) {
    auto where = anchor_of(root);
    if (!where) return where.error();
    if (!*where) {
      // Noted, and the gateway that noted it stopped (or lost the partition) before recording
      // it: whether its transaction was sent, and which of them carries the root (the one noted
      // or one that replaced it with higher fees), only the chain can say, once the account
      // that sent it has nothing waiting in the node's pool.
      std::string account = sent.front().second.sender;
      if (account.empty()) account = ports_.ledger.sender();  // noted by an older gateway
      if (settled.insert(account).second) {
        if (auto done = ports_.ledger.settle(account); !done) {
          log::warn("anchor.unsettled", {{"account", account}, {"error", done.error().message}});
        }
      }
      where = anchor_of(root);
      if (!where) return where.error();
      if (!*where) {
        log::info("anchor.pending_root_never_sent",
                  {{"root", to_0x_hex(root)}, {"versions", sent.size()}, {"account", account}});
        continue;
      }
    }
    auto& into = by_tx[(*where)->tx_hash];
    for (auto& entry : sent) into.push_back(std::move(entry));
  }
  return by_tx;
}

Status Pipeline::note_pending_roots(std::span<const ports::Pointer> pointers,
                                    const ports::AnchorTicket& ticket,
                                    const std::atomic<bool>& stop) {
  std::map<std::string, std::vector<ports::PointerRecordWrite>> writes;
  const std::string sender = ports_.ledger.sender();
  for (std::size_t i = 0; i < pointers.size() && i < ticket.placements.size(); ++i) {
    const auto& p = pointers[i];
    const auto& placement = ticket.placements[i];
    if (p.mode != ports::AnchorMode::kMerkle || placement.refused || !placement.proof) continue;
    // Before the send the transaction is not known yet: the root alone finds it.
    const PointerRecord record{
        .pointer = p, .tx_hash = "", .block = 0, .proof = placement.proof, .sender = sender};
    writes[p.region].push_back(
        {.resource_key = to_hex(p.resource_key), .version = p.version, .json = to_json(record)});
  }
  for (const auto& [region, records] : writes) {
    auto noted = retry(stop, "note pending roots", [&, &r = region, &w = records] {
      return ports_.blobs.put_pending_anchors(r, w);
    });
    if (!noted) return noted;
  }
  return Ok{};
}

Result<ports::AnchorConfirmation> Pipeline::confirm(Batch& batch, const std::atomic<bool>& stop) {
  ports::AnchorConfirmation confirmation;
  if (batch.pointers.empty()) return confirmation;
  // A transaction the node lost is sent again (the contract ignores repeated anchors); so is
  // one whose wait failed for any other passing reason.
  bool first = true;
  auto anchored = retry(stop, "confirm", [&]() -> Status {
    if (!first) {
      // The same pointers make the same root: the pending anchors noted before the first send
      // stay right.
      auto ticket = ports_.ledger.submit(batch.pointers, {});
      if (!ticket) return ticket.error();
      batch.ticket = std::move(*ticket);
    }
    first = false;
    auto confirmed = ports_.ledger.await(batch.ticket);
    if (!confirmed) return confirmed.error();
    confirmation = std::move(*confirmed);
    return Ok{};
  });
  if (!anchored) return anchored.error();
  // A transaction named for pointers an earlier one anchored carries no gas of ours: the
  // summary counts what this gateway put on chain, not what a re-delivery found there.
  std::set<std::string> sent;
  for (const auto& tx : confirmation.transactions) {
    if (tx.gas_used > 0) sent.insert(tx.tx_hash);
  }
  stats_.transactions += sent.size();
  for (const auto& placement : confirmation.placements) {
    if (placement.conflict || placement.refused) continue;
    if (confirmation.transactions.at(placement.tx).gas_used > 0) {
      ++stats_.pointers;
    } else {
      ++stats_.already_anchored;
    }
  }
  stats_.gas_used += confirmation.gas_used();
  metrics_.transactions(sent.size(), confirmation.gas_used());
  return confirmation;
}

Status Pipeline::keep_records(Batch& batch, const ports::AnchorConfirmation& confirmation,
                              const std::atomic<bool>& stop) {
  const auto writes = pointer_record_writes(batch, confirmation);
  std::set<std::string> down;
  for (const auto& [region, records] : writes) {
    auto kept = in_region(stop, "keep records", region, [&, &r = region, &w = records] {
      return ports_.blobs.put_pointer_records(r, w);
    });
    if (!kept) return kept.error();
    if (!*kept) down.insert(region);
  }
  park(batch, behind(batch, events_in(batch, down)), "keep records", joined(down));
  return Ok{};
}

Status Pipeline::apply_consents(Batch& batch, const std::atomic<bool>& stop) {
  for (Item& item : batch.items) {
    if (item.resource_type != "Consent") continue;
    ports::ConsentDelivery delivery{.source = item.source,
                                    .reference = item.reference,
                                    .deleted = item.deleted,
                                    .json = std::move(item.consent),
                                    .submitter = "kafka:" + batch.events[item.event].origin.topic};
    item.consent.clear();
    Result<ports::ConsentOutcome> outcome = ports::ConsentOutcome{};
    Status done = retry(stop, "consent", [&]() -> Status {
      outcome = ports_.consents->apply(delivery);
      if (!outcome) return outcome.error();
      return Ok{};
    });
    OPENSSL_cleanse(delivery.json.data(), delivery.json.size());
    if (!done && done.error().code == ErrorCode::kUnavailable) return done;  // stop requested
    // Named by pseudonym and version only: the Consent's id and patient are PHI.
    const std::string key = to_0x_hex(item.pointer.resource_key);
    const auto version = static_cast<std::int64_t>(item.pointer.version);
    if (!done) {
      // A Consent the gateway cannot read, a grant the contract refuses: retrying changes
      // nothing, and holding the partition would stop every patient's data behind it. The
      // resource is valid FHIR and stays anchored; the operator and the auditor learn that it
      // is not enforced.
      ++stats_.consents_failed;
      metrics_.consents("failed");
      log::warn("consent.not_applied", {{"resourceKey", key},
                                        {"version", version},
                                        {"deleted", item.deleted},
                                        {"error", std::string(error_code_name(done.error().code))},
                                        {"detail", done.error().message},
                                        {"where", done.error().where}});
      if (ports_.audit != nullptr) {
        batch.audit(consent_failure_record(item, batch.events[item.event], done.error()));
      }
      continue;
    }
    ++stats_.consents_applied;
    metrics_.consents(outcome->unchanged ? "unchanged" : "applied");
    metrics_.consent_changes("added", outcome->added);
    metrics_.consent_changes("changed", outcome->changed);
    metrics_.consent_changes("revoked", outcome->revoked);
    metrics_.consent_changes("refused", outcome->refused);
    // Consents are rare beside the data they govern: each one is worth a line.
    log::info("consent.applied", {{"resourceKey", key},
                                  {"version", version},
                                  {"deleted", item.deleted},
                                  {"unchanged", outcome->unchanged},
                                  {"added", outcome->added},
                                  {"changed", outcome->changed},
                                  {"kept", outcome->kept},
                                  {"revoked", outcome->revoked},
                                  {"refused", outcome->refused}});
  }
  return Ok{};
}

ports::AuditRecord Pipeline::consent_failure_record(const Item& item,
                                                    const ports::SourceEvent& event,
                                                    const Error& error) const {
  // As for denials: a re-delivered batch writes the same event again, with the same id.
  audit::Common common = event_audit_common(item, event, "consent ");
  const bool patient = item.pointer.patient_key != ports::Hash32{};
  common.details = {{"message", message_of(event)},
                    {"version", std::to_string(item.pointer.version)},
                    {"error", std::string(error_code_name(error.code))}};
  ports::AuditRecord record;
  record.key = patient ? common.patient_key : common.resource_key;
  record.json =
      audit::consent_failure_event(common, common.resource_key, item.deleted, detail_of(error));
  return record;
}

Status Pipeline::report(const Batch& batch, const ports::AnchorConfirmation& confirmation,
                        const std::atomic<bool>& stop) {
  ReportStage::Queue queue(report_, report_.receipts(batch, confirmation), batch.dead_letters(),
                           batch.audits());
  return retry(stop, "report", [&] { return queue.next(); });
}

Status Pipeline::commit_reported(const std::atomic<bool>& stop, bool wait) {
  if (reported_.empty()) return Ok{};
  const bool audits =
      std::any_of(reported_.begin(), reported_.end(), [](const Reported& r) { return r.audits; });
  auto stage_start = ports_.clock.now();
  if (!wait) {
    // Not delivered yet is no failure: the producers deliver in the background while the next
    // batch is worked on, and a later call commits.
    Status now = report_.delivered(audits, std::chrono::milliseconds(0));
    if (!now && now.error().code == ErrorCode::kUnavailable) return Ok{};
    if (!now) return now;
    health_.recovered("report");
  } else {
    auto flushed =
        retry(stop, "report", [&] { return report_.delivered(audits, options_.flush_timeout); });
    if (!flushed) return flushed;
  }
  stage_start = timed("deliver", stage_start);
  // 8. Commit: only now are the batches done. They were reported in the order they were
  // polled, so offsets are committed in order; never at or past an event that is parked (or
  // running again in a later batch): ParkedEvents held what comes after it.
  std::vector<ports::Origin> committable;
  for (const Reported& r : reported_) {
    committable.insert(committable.end(), r.committable.begin(), r.committable.end());
  }
  if (!committable.empty()) {
    // Without waiting for the broker while batches go on; waited for when idle, at drain and
    // when max_reported wait, so that what is done is committed before the gateway stops.
    auto committed = retry(stop, "commit", [&] {
      return wait ? ports_.source.commit(committable) : ports_.source.commit_async(committable);
    });
    if (!committed) return committed;
  }
  timed("commit", stage_start);
  const auto done = ports_.clock.now();
  for (const Reported& r : reported_) {
    const double seconds = std::chrono::duration<double>(done - r.polled_at).count();
    metrics_.events("committed", r.committable.size());
    metrics_.events("dead-lettered", r.dead_lettered);
    for (const auto& [reason, count] : r.dead_letter_reasons) metrics_.dead_letters(reason, count);
    metrics_.resources_anchored(r.resources);
    metrics_.event_latency_seconds(seconds, r.handled);
    stats_.resources += r.resources;
    stats_.dead_lettered += r.dead_lettered;
    ++stats_.batches;
    // Bounded: a long-running gateway keeps the latest million samples (8 MB).
    if (stats_.latencies.size() + r.handled > 1'000'000) stats_.latencies.clear();
    stats_.latencies.insert(stats_.latencies.end(), r.handled, seconds);
    log::debug("batch.committed", {{"events", r.handled},
                                   {"parked", r.parked},
                                   {"resources", r.resources},
                                   {"deadLettered", r.dead_lettered},
                                   {"transactions", r.transactions}});
  }
  stats_.busy_seconds = std::chrono::duration<double>(done - first_event_).count();
  reported_.clear();
  return Ok{};
}

Status Pipeline::resolve_deletes(std::vector<Item>& items, const std::atomic<bool>& stop) {
  std::vector<ports::Hash32> keys;
  for (const Item& item : items) {
    if (item.deleted && item.pointer.version == 0) keys.push_back(item.pointer.resource_key);
  }
  if (keys.empty()) return Ok{};
  // What the ledger holds must include every batch sent before this one.
  if (auto drained = drain(stop); !drained) return drained;
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  std::vector<std::uint64_t> anchored;
  auto asked = retry(stop, "latest versions", [&]() -> Status {
    auto answer = ports_.ledger.latest_versions(keys);
    if (!answer) return answer.error();
    anchored = std::move(*answer);
    return Ok{};
  });
  if (!asked) return asked;
  std::map<ports::Hash32, std::uint64_t> latest;
  for (std::size_t i = 0; i < keys.size(); ++i) latest[keys[i]] = anchored.at(i);
  // In batch order, so a version created earlier in the batch is the one deleted.
  for (Item& item : items) {
    auto it = latest.find(item.pointer.resource_key);
    if (it == latest.end()) continue;
    if (item.deleted && item.pointer.version == 0) {
      item.pointer.version = it->second + 1;
    }
    it->second = std::max(it->second, item.pointer.version);
  }
  // Deleting what was never anchored changes nothing (R4: a delete is idempotent), and the
  // ledger's version 1 is never a tombstone.
  std::erase_if(items, [](const Item& item) { return item.deleted && item.pointer.version == 1; });
  return Ok{};
}

Status Pipeline::begin(std::vector<ports::SourceEvent>& events, std::size_t reruns,
                       const std::atomic<bool>& stop) {
  Batch batch;
  batch.polled_at = ports_.clock.now();
  stats_.consumed += events.size() - reruns;
  metrics_.events("consumed", events.size() - reruns);
  metrics_.batch_events(events.size());
  for (const auto& p : ports_.source.lag()) {
    metrics_.consumer_lag(p.topic, p.partition, p.messages);
  }
  auto stage_start = batch.polled_at;
  // Older country records left in regions that were down go first, before anything new is
  // written there.
  if (auto forgotten = forget_moved_countries(stop); !forgotten) return forgotten;

  // 2-3. Validate and normalize each event; an event is all or nothing, so a Bundle with one
  // bad entry is dead-lettered whole.
  std::vector<std::unique_ptr<rapidjson::Document>> documents;
  batch.events = std::move(events);
  auto all_prepared = prepare_all(batch.events, documents);
  for (std::size_t i = 0; i < batch.events.size(); ++i) {
    auto& prepared = *all_prepared[i];
    if (!prepared && !is_data_error(prepared.error())) return prepared.error();
    if (!prepared) {
      batch.reject(i, prepared.error());
      continue;
    }
    std::move(prepared->begin(), prepared->end(), std::back_inserter(batch.items));
  }
  batch.prune();
  stage_start = timed("validate", stage_start);

  // Resources about a linked patient record are about its person.
  if (auto linked = resolve_persons(batch, stop); !linked) return linked;
  stage_start = timed("identity", stage_start);
  // Nothing overtakes a parked event (before deletes are resolved: a parked version is the
  // one a delete may follow).
  park_behind_parked(batch, reruns);
  if (auto resolved = resolve_deletes(batch.items, stop); !resolved) return resolved;
  // Erased patients get nothing new, off chain or on (and are not decided on).
  if (auto dropped = drop_erased(batch, stop); !dropped) return dropped;
  // 4. Decide, for the whole batch at once (one directory look-up, in the regions that answer).
  if (auto looked_up = look_up_countries(batch, stop); !looked_up) return looked_up;
  if (auto decided = decide(batch); !decided) return decided;
  stage_start = timed("decide", stage_start);
  documents.clear();
  // 5-6. Encrypt and store off-chain, per region, content-addressed; nothing is asked of a
  // region that is down until it is due again.
  park_for_regions(batch);
  if (auto stored = protect(batch, stop); !stored) return stored;
  if (auto recorded = record_countries(batch, stop); !recorded) return recorded;
  stage_start = timed("protect", stage_start);
  // 7. Anchor: send the transactions (one per anchoring mode) and go on with the next batch
  // while they are mined.
  batch.pointers = pointers_of(batch.items);
  if (auto sent = submit(batch, stop); !sent) return sent;
  timed("submit", stage_start);
  in_flight_.push_back(std::move(batch));
  metrics_.batches_in_flight(in_flight_.size());
  return Ok{};
}

Status Pipeline::finish(const std::atomic<bool>& stop) {
  Batch& batch = in_flight_.front();
  auto stage_start = ports_.clock.now();
  auto confirmation = confirm(batch, stop);
  if (!confirmation) return confirmation.error();
  // What the ledger refused (a conflict, a pointer no transaction can carry) keeps nothing
  // this delivery stored for it: its claims and blobs go before it is dead-lettered.
  std::vector<bool> refused(batch.items.size());
  for (std::size_t i = 0; i < batch.items.size(); ++i) {
    const auto& placement = confirmation->placements.at(batch.items[i].placement);
    refused[i] = placement.conflict.has_value() || placement.refused.has_value();
  }
  if (std::find(refused.begin(), refused.end(), true) != refused.end()) {
    if (auto released = release(batch.items, refused, stop); !released) return released;
  }
  drop_conflicts(batch, *confirmation);
  const bool consents = ports_.consents != nullptr &&
                        std::any_of(batch.items.begin(), batch.items.end(), [](const Item& item) {
                          return item.resource_type == "Consent";
                        });
  if (recorder_ && !consents) {
    // Records and report on the recording thread; the batch is not changed here until done.
    Recording& handed = recording_.emplace_back(std::move(batch));
    in_flight_.pop_front();
    metrics_.batches_in_flight(in_flight_.size());
    handed.job.batch = &handed.batch;
    handed.job.confirmation = std::move(*confirmation);
    handed.job.stop = &stop;
    recorder_->add(handed.job);
    timed("confirm", stage_start);
    // As many may wait for their records as for their confirmation.
    if (auto collected = collect(stop, std::max<std::size_t>(options_.max_in_flight, 1));
        !collected) {
      return collected;
    }
    // One look per batch finished, as below: what was reported before has had this batch's
    // time to be delivered (at a steady 5,000/s, waiting for maxInFlightBatches reported
    // batches before looking measured p99 454-610 ms, looking here 352-458).
    return commit_reported(stop, /*wait=*/false);
  }
  stage_start = timed("confirm", stage_start);
  // On this thread, after what was handed over: batches are reported in the order polled.
  if (auto collected = collect(stop, 0); !collected) return collected;
  stage_start = ports_.clock.now();
  if (auto kept = keep_records(batch, *confirmation, stop); !kept) return kept;
  stage_start = timed("record", stage_start);
  if (consents) {
    if (auto applied = apply_consents(batch, stop); !applied) return applied;
    stage_start = timed("consent", stage_start);
  }
  // What earlier batches queued has had this batch's time to be delivered: they are committed
  // before this batch's messages join the producers' queues.
  if (auto committed = commit_reported(stop, /*wait=*/false); !committed) return committed;
  // 9. Report before committing: receipts, dead letters and AuditEvents are queued here and
  // must be delivered before the batch's offsets are committed (commit_reported).
  if (auto reported = report(batch, *confirmation, stop); !reported) return reported;
  timed("report", stage_start);
  reported(batch, *confirmation);
  in_flight_.pop_front();
  metrics_.batches_in_flight(in_flight_.size());
  return Ok{};
}

void Pipeline::reported(const Batch& batch, const ports::AnchorConfirmation& confirmation) {
  std::vector<ports::Origin> handled;
  handled.reserve(batch.events.size());
  for (std::size_t i = 0; i < batch.events.size(); ++i) {
    if (!batch.parked.contains(i)) handled.push_back(batch.events[i].origin);
  }
  std::map<std::string, std::size_t, std::less<>> reasons;
  for (const auto& letter : batch.dead_letters()) ++reasons[letter.error_code];
  // Asked in the order batches finish, which is the order they were polled.
  reported_.push_back({.committable = parked_.committable(handled),
                       .handled = handled.size(),
                       .parked = batch.parked.size(),
                       .resources = batch.items.size(),
                       .dead_lettered = batch.dead_letters().size(),
                       .dead_letter_reasons = std::move(reasons),
                       .transactions = confirmation.transactions.size(),
                       .audits = !batch.audits().empty(),
                       .polled_at = batch.polled_at});
  note_regions_down();
}

Status Pipeline::collect(const std::atomic<bool>& stop, std::size_t keep) {
  while (!recording_.empty()) {
    Recording& front = recording_.front();
    if (!recorder_->done(front.job, /*wait=*/recording_.size() > keep)) break;
    RecordAndReport::Job& job = front.job;
    if (!job.reported) return job.reported;
    if (!job.records_kept) {
      // A region did not answer: its records are kept here, with the retries and the parking
      // of every region step, and the batch is reported here; then the thread goes on.
      log::warn("pipeline.records_retried",
                {{"error", job.record_error.message}, {"where", job.record_error.where}});
      auto stage_start = ports_.clock.now();
      if (auto kept = keep_records(front.batch, job.confirmation, stop); !kept) return kept;
      stage_start = timed("record", stage_start);
      if (auto reported = report(front.batch, job.confirmation, stop); !reported) {
        return reported;
      }
      timed("report", stage_start);
      recorder_->resume();
    } else {
      stage_seconds("record", job.record_seconds);
      stage_seconds("report", job.report_seconds);
    }
    reported(front.batch, job.confirmation);
    recording_.pop_front();
  }
  return Ok{};
}

void Pipeline::park_behind_parked(Batch& batch, std::size_t reruns) {
  if (parked_.size() == 0) return;
  std::map<std::size_t, std::vector<ports::Hash32>> keys;
  for (const Item& item : batch.items) {
    if (item.event < reruns) continue;  // older than every event still parked
    append_keys(item, keys[item.event]);
  }
  std::set<std::size_t> seeds;
  for (const auto& [event, k] : keys) {
    if (parked_.blocks(k)) seeds.insert(event);
  }
  park(batch, behind(batch, seeds), "behind a parked event", "");
}

void Pipeline::park_for_regions(Batch& batch) {
  const auto now = ports_.clock.now();
  std::set<std::string> down;
  for (const Item& item : batch.items) {
    if (!parked_.usable(item.pointer.region, now)) down.insert(item.pointer.region);
  }
  park(batch, behind(batch, events_in(batch, down)), "store", joined(down));
}

void Pipeline::append_keys(const Item& item, std::vector<ports::Hash32>& keys) {
  keys.push_back(item.pointer.resource_key);
  if (item.pointer.patient_key != ports::Hash32{}) keys.push_back(item.pointer.patient_key);
  if (item.record_key != ports::Hash32{}) keys.push_back(item.record_key);
}

std::set<std::size_t> Pipeline::events_in(const Batch& batch,
                                          const std::set<std::string>& regions) {
  std::set<std::size_t> events;
  for (const Item& item : batch.items) {
    if (regions.contains(item.pointer.region)) events.insert(item.event);
  }
  return events;
}

std::string Pipeline::joined(const std::set<std::string>& regions) {
  std::string out;
  for (const auto& region : regions) out += (out.empty() ? "" : ",") + region;
  return out;
}

void Pipeline::note_regions_down() {
  stats_.waiting = parked_.size();
  stats_.regions_down = parked_.down();
  health_.regions_down(stats_.regions_down);
  metrics_.regions_down(stats_.regions_down.size(), parked_.size());
}

std::set<std::size_t> Pipeline::behind(const Batch& batch, const std::set<std::size_t>& seeds) {
  if (seeds.empty()) return {};
  std::map<std::size_t, std::vector<ports::Hash32>> keys;  // event -> what its items touch
  for (const Item& item : batch.items) {
    append_keys(item, keys[item.event]);
  }
  std::set<std::size_t> out = seeds;
  std::set<ports::Hash32> held;
  for (auto it = keys.lower_bound(*seeds.begin()); it != keys.end(); ++it) {
    const auto& [event, k] = *it;
    const bool touches =
        std::any_of(k.begin(), k.end(), [&](const auto& h) { return held.contains(h); });
    if (!out.contains(event) && !touches) continue;
    out.insert(event);
    held.insert(k.begin(), k.end());
  }
  return out;
}

void Pipeline::park(Batch& batch, const std::set<std::size_t>& events, std::string_view step,
                    const std::string& regions) {
  if (events.empty()) return;
  std::map<std::size_t, std::vector<ports::Hash32>> keys;
  for (const Item& item : batch.items) {
    if (!events.contains(item.event)) continue;
    append_keys(item, keys[item.event]);
  }
  std::size_t parked = 0;
  for (std::size_t event : events) {
    if (!batch.parked.insert(event).second) continue;
    // The batch keeps the event's origin (its place in the partition); the event itself waits.
    ports::SourceEvent waiting = std::move(batch.events[event]);
    batch.events[event] = ports::SourceEvent{.origin = waiting.origin};
    parked_.park(std::move(waiting), std::move(keys[event]));
    ++parked;
  }
  std::erase_if(batch.items, [&](const Item& item) { return events.contains(item.event); });
  stats_.parked += parked;
  metrics_.events("parked", parked);
  note_regions_down();
  log::warn("pipeline.parked", {{"step", std::string(step)},
                                {"region", regions},
                                {"events", parked},
                                {"waiting", parked_.size()}});
}

Result<bool> Pipeline::in_region(const std::atomic<bool>& stop, std::string_view step,
                                 const std::string& region, const std::function<Status()>& op) {
  if (!parked_.usable(region, ports_.clock.now())) return false;
  const std::size_t attempts =
      parked_.is_down(region) ? 1 : std::max<std::size_t>(options_.region_attempts, 1);
  for (std::size_t attempt = 1;; ++attempt) {
    Status status = op();
    if (status) {
      health_.recovered(step);
      if (parked_.answered(region)) {
        log::info("pipeline.region_back", {{"step", std::string(step)}, {"region", region}});
        note_regions_down();
      }
      return true;
    }
    if (status.error().code != ErrorCode::kUnavailable) return status.error();
    if (stop.load()) {
      return Error{ErrorCode::kUnavailable,
                   "stopped while retrying " + std::string(step) + ": " + status.error().message,
                   status.error().where};
    }
    if (attempt >= attempts) {
      const auto now = ports_.clock.now();
      const auto retry_at = parked_.failed(region, now);
      note_regions_down();
      log::warn("pipeline.region_unavailable",
                {{"step", std::string(step)},
                 {"region", region},
                 {"error", status.error().message},
                 {"retryInMs",
                  std::chrono::duration_cast<std::chrono::milliseconds>(retry_at - now).count()}});
      return false;
    }
    health_.retrying(step, status.error(), ports_.clock.now());
    metrics_.retried(step);
    metrics_.dependency_error(step, error_code_name(status.error().code));
    log::warn("pipeline.retry",
              {{"step", std::string(step)},
               {"region", region},
               {"error", status.error().message},
               {"backoffMs", static_cast<std::int64_t>(options_.retry_backoff.count())}});
    ports_.clock.sleep_for(options_.retry_backoff);
  }
}

Status Pipeline::drain(const std::atomic<bool>& stop) {
  while (!in_flight_.empty()) {
    if (auto done = finish(stop); !done) return done;
  }
  if (auto collected = collect(stop, 0); !collected) return collected;
  return commit_reported(stop, /*wait=*/true);
}

Status Pipeline::retry(const std::atomic<bool>& stop, const char* step,
                       const std::function<Status()>& op) const {
  auto backoff = options_.retry_backoff;
  for (;;) {
    Status status = op();
    if (status || status.error().code != ErrorCode::kUnavailable) {
      health_.recovered(step);
      return status;
    }
    health_.retrying(step, status.error(), ports_.clock.now());
    metrics_.retried(step);
    metrics_.dependency_error(step, error_code_name(status.error().code));
    if (stop.load()) {
      return Error{ErrorCode::kUnavailable,
                   std::string("stopped while retrying ") + step + ": " + status.error().message,
                   status.error().where};
    }
    log::warn("pipeline.retry", {{"step", step},
                                 {"error", status.error().message},
                                 {"where", status.error().where},
                                 {"backoffMs", static_cast<std::int64_t>(backoff.count())}});
    ports_.clock.sleep_for(backoff);
    backoff = std::min(backoff * 2, options_.retry_backoff * 16);
  }
}

}  // namespace fl::gateway
