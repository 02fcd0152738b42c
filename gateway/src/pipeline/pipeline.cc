#include "fl/gateway/pipeline.h"

#include "fl/base/log.h"
#include "fl/gateway/audit_event.h"
#include "fl/gateway/crypto/hash.h"
#include "fl/gateway/pointer_record.h"

#include "policy/join.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <map>
#include <set>
#include <thread>
#include <tuple>

namespace fl::gateway {

struct Pipeline::Item {
  std::size_t event = 0;  // index into the batch
  std::string reference;
  std::string resource_type;
  const rapidjson::Value* json = nullptr;  // into the event's document, until decided
  ports::Pointer pointer;
  bool deleted = false;
  std::string country;        // a Patient's, recorded in the directory once it is stored
  std::string plaintext;      // canonical JSON until sealed; empty for a delete
  std::size_t placement = 0;  // index of its pointer in the anchored batch
  // This delivery stored the blob and claimed the version (not a claim found and reused): what
  // Pipeline::release gives up if the event is refused after all.
  bool claimed = false;
};

struct Pipeline::InFlight {
  std::vector<ports::SourceEvent> events;
  std::vector<Item> items;
  std::vector<ports::DeadLetter> dead;
  std::vector<ports::AuditRecord> audits;  // the resources the policy refused
  std::vector<ports::Pointer> pointers;
  ports::AnchorTicket ticket;
  std::chrono::steady_clock::time_point polled_at{};
};

namespace {

std::string detail_of(const Error& error) {
  return error.where.empty() ? error.message : error.message + " (at " + error.where + ")";
}

// Data errors send the event to the dead-letter topic; any other error stops the batch.
bool is_data_error(const Error& error) {
  return error.code == ErrorCode::kInvalidInput || error.code == ErrorCode::kPolicyDenied ||
         error.code == ErrorCode::kErased;
}

ports::DeadLetter dead_letter(const ports::SourceEvent& event, const Error& error) {
  return ports::DeadLetter{.event = event,
                           .error_code = std::string(error_code_name(error.code)),
                           .error_detail = detail_of(error),
                           .original_sha256 = to_hex(crypto::sha256(as_bytes(event.value)))};
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
      protect_(ports.keys, ports.master_keys, ports.blobs),
      options_(options) {}

Status Pipeline::run(const std::atomic<bool>& stop) {
  auto idle_since = ports_.clock.now();
  while (!stop.load()) {
    auto handled = run_once(stop);
    if (!handled) return handled.error();
    if (*handled == 0 && !in_flight_.empty()) continue;
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
  // 1. Consume.
  // While batches are in flight, a poll only picks up what is already there.
  const auto wait = in_flight_.empty() ? options_.batch_max_wait : std::chrono::milliseconds(0);
  auto polled = ports_.source.poll(options_.batch_max_events, wait);
  if (!polled) {
    log::warn("consume.unavailable", {{"error", polled.error().message}});
    if (auto done = drain(stop); !done) return done.error();
    std::this_thread::sleep_for(options_.retry_backoff);
    return std::size_t{0};
  }
  const std::size_t handled = polled->size();
  if (!polled->empty()) {
    if (stats_.consumed == 0) first_event_ = ports_.clock.now();
    if (auto begun = begin(*polled, stop); !begun) return begun.error();
  }
  // Confirm the oldest batch when the window is full, or when nothing new came in.
  const std::size_t window = std::max<std::size_t>(options_.max_in_flight, 1);
  while (!in_flight_.empty() && (in_flight_.size() >= window || handled == 0)) {
    if (auto done = finish(stop); !done) return done.error();
    if (handled == 0) break;
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
    std::vector<std::unique_ptr<rapidjson::Document>>& documents) {
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
    item.reference = resource.reference();
    item.resource_type = resource.type;
    item.json = resource.json;
    ports::Pointer& p = item.pointer;
    p.version = resource.version;
    p.mode = options_.anchoring.mode_for(event.origin.topic, resource.type);
    auto key = pseudonyms_.resource_key(item.reference);
    if (!key) return key.error();
    p.resource_key = *key;
    if (!resource.patient_reference.empty()) {
      auto patient = pseudonyms_.patient_key(resource.patient_reference);
      if (!patient) return patient.error();
      p.patient_key = *patient;
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

Status Pipeline::decide(const std::vector<ports::SourceEvent>& events, std::vector<Item>& items,
                        std::vector<ports::DeadLetter>& dead,
                        std::vector<ports::AuditRecord>& audits, const std::atomic<bool>& stop) {
  // What the directory recorded for the batch's patients; a Patient decided in this batch
  // replaces its own record below.
  std::vector<ports::Hash32> asked;
  for (const Item& item : items) {
    if (item.pointer.patient_key != ports::Hash32{}) asked.push_back(item.pointer.patient_key);
  }
  std::sort(asked.begin(), asked.end());
  asked.erase(std::unique(asked.begin(), asked.end()), asked.end());
  std::map<ports::Hash32, std::string> countries;
  if (!asked.empty()) {
    auto looked_up = retry(stop, "patient directory", [&]() -> Status {
      auto found = ports_.directory.recorded_countries(asked);
      if (!found) return found.error();
      for (std::size_t i = 0; i < asked.size(); ++i) {
        if ((*found)[i]) countries[asked[i]] = (*found)[i]->country;
      }
      return Ok{};
    });
    if (!looked_up) return looked_up;
  }

  std::map<std::size_t, Error> refused;  // event -> the first denial
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
      refused.try_emplace(item.event, decision.error());
      return Ok{};
    }
    if (!decision->permit) {
      if (ports_.audit != nullptr) audits.push_back(denial_record(item, event, *decision));
      const std::string rules = policy::join(decision->rule_ids);
      refused.try_emplace(
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
  for (const auto& [event, error] : refused) dead.push_back(dead_letter(events[event], error));
  std::erase_if(items, [&](const Item& item) { return refused.contains(item.event); });
  return Ok{};
}

// By pseudonyms only, with the source system that sent the resource and its Kafka message, so
// the auditor can find the dead letter.
ports::AuditRecord Pipeline::denial_record(const Item& item, const ports::SourceEvent& event,
                                           const Decision& decision) const {
  audit::Common common;
  // The same for the same resource of the same Kafka message: a batch re-delivered after a
  // restart writes its denials again, and the consumer recognises the copies by this id.
  const std::string message = event.origin.topic + "[" + std::to_string(event.origin.partition) +
                              "]@" + std::to_string(event.origin.offset);
  common.id = to_hex(crypto::sha256(as_bytes(message + " " + to_hex(item.pointer.resource_key))));
  common.recorded = audit::rfc3339_utc(static_cast<std::int64_t>(std::time(nullptr)));
  common.gateway = options_.service_name;
  const std::string source(event.header("fhir-source"));
  common.agents.push_back(audit::Agent{.address = "",
                                       .jurisdiction = "",
                                       .display = source.empty() ? "source system" : source,
                                       .requestor = true});
  const bool patient = item.pointer.patient_key != ports::Hash32{};
  if (patient) common.patient_key = to_0x_hex(item.pointer.patient_key);
  common.resource_key = to_0x_hex(item.pointer.resource_key);
  common.details = {{"country", decision.country}, {"message", message}};
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

Status Pipeline::record_countries(const std::vector<Item>& items, const std::atomic<bool>& stop) {
  // The last Patient of each patient in the batch decides its record: written per region, a
  // patient who moved within the batch must not be recorded in the region it left.
  std::map<ports::Hash32, const Item*> latest;
  for (const Item& item : items) {
    if (!item.country.empty()) latest[item.pointer.patient_key] = &item;
  }
  std::map<std::string, std::vector<std::pair<ports::Hash32, std::string>>> by_region;
  for (const auto& [patient, item] : latest) {
    by_region[item->pointer.region].emplace_back(patient, item->country);
  }
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  for (const auto& [region, countries] : by_region) {
    auto recorded = retry(stop, "patient directory", [&, &r = region, &c = countries] {
      return ports_.directory.record_countries(r, c, now_ms);
    });
    if (!recorded) return recorded;
  }
  return Ok{};
}

Status Pipeline::protect(const std::vector<ports::SourceEvent>& events, std::vector<Item>& items,
                         std::vector<ports::DeadLetter>& dead, const std::atomic<bool>& stop) {
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
  for (auto& [region, batch] : by_region) {
    auto stored = retry(stop, "store",
                        [&, &r = region, &b = batch] { return protect_.seal_and_store(r, b); });
    if (!stored) return stored;
  }
  // An event is all or nothing: one refused resource refuses the event.
  std::map<std::size_t, Error> refused;
  for (std::size_t i = 0; i < items.size(); ++i) {
    Item& item = items[i];
    OPENSSL_cleanse(item.plaintext.data(), item.plaintext.size());
    item.plaintext.clear();
    if (item.deleted) continue;
    const Sealing& sealed = sealings[i];
    if (sealed.refused) {
      refused.try_emplace(item.event, *sealed.refused);
      continue;
    }
    item.pointer.content_hash = sealed.content_hash;
    item.pointer.key_id = sealed.key_id;
    item.claimed = !sealed.reused;
  }
  for (const auto& [event, error] : refused) dead.push_back(dead_letter(events[event], error));
  if (refused.empty()) return Ok{};
  // Nothing of a refused event stays: what its other resources stored would keep their
  // versions claimed with nothing on chain, and refuse a corrected copy later.
  std::vector<bool> dropped(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) dropped[i] = refused.contains(items[i].event);
  if (auto released = release(items, dropped, stop); !released) return released;
  std::erase_if(items, [&](const Item& item) { return refused.contains(item.event); });
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
  for (const InFlight& other : in_flight_) {
    if (&other.items == &items) continue;
    for (const Item& item : other.items) in_use.insert(claim_of(item));
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

Status Pipeline::drop_erased(const std::vector<ports::SourceEvent>& events,
                             std::vector<Item>& items, std::vector<ports::DeadLetter>& dead,
                             const std::atomic<bool>& stop) {
  std::vector<ports::Hash32> patients;
  for (const Item& item : items) {
    if (item.pointer.patient_key != ports::Hash32{}) patients.push_back(item.pointer.patient_key);
  }
  std::sort(patients.begin(), patients.end());
  patients.erase(std::unique(patients.begin(), patients.end()), patients.end());
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
  std::set<std::size_t> refused;
  for (const Item& item : items) {
    if (gone.contains(item.pointer.patient_key)) refused.insert(item.event);
  }
  for (std::size_t event : refused) {
    dead.push_back(dead_letter(
        events[event],
        Error{ErrorCode::kErased,
              "the patient was erased: no new data is stored or anchored for them", "erasure"}));
  }
  std::erase_if(items, [&](const Item& item) { return refused.contains(item.event); });
  return Ok{};
}

void Pipeline::drop_conflicts(InFlight& batch, const ports::AnchorConfirmation& confirmation) {
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
  for (const auto& [event, error] : letters) {
    batch.dead.push_back(dead_letter(batch.events[event], error));
  }
  std::erase_if(batch.items, [&](const Item& item) {
    const auto& placement = confirmation.placements.at(item.placement);
    return placement.conflict.has_value() || placement.refused.has_value();
  });
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

Status Pipeline::submit(InFlight& batch, const std::atomic<bool>& stop) {
  if (auto skipped = skip_anchored_roots(batch, stop); !skipped) return skipped;
  if (batch.pointers.empty()) return Ok{};
  auto sent = retry(stop, "anchor", [&]() -> Status {
    auto ticket = ports_.ledger.submit(batch.pointers);
    if (!ticket) return ticket.error();
    batch.ticket = std::move(*ticket);
    return Ok{};
  });
  if (!sent) return sent;
  return note_pending_roots(batch, stop);
}

Status Pipeline::skip_anchored_roots(InFlight& batch, const std::atomic<bool>& stop) {
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
  const bool in_flight = std::any_of(in_flight_.begin(), in_flight_.end(), [&](const InFlight& b) {
    return std::any_of(b.pointers.begin(), b.pointers.end(), [&](const ports::Pointer& p) {
      return p.mode == ports::AnchorMode::kMerkle && merkle.contains(version_of(p));
    });
  });
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
    const auto& p = item.pointer;
    const std::string key = to_hex(p.content_hash);
    ports::Receipt receipt{.reference = item.reference,
                           .resource_key = to_0x_hex(p.resource_key),
                           .version = p.version,
                           .content_hash = "0x" + key,
                           .redis_key = item.deleted ? "" : ports_.blobs.storage_key(key),
                           .region = p.region,
                           .tx_hash = record.tx_hash,
                           .block = record.block,
                           .origin = batch.events[item.event].origin,
                           .anchor_mode = std::string(anchor_mode_name(p.mode)),
                           .deleted = item.deleted};
    receipt.merkle_root = to_0x_hex(record.proof->root);
    receipt.merkle_index = record.proof->index;
    receipt.merkle_leaf_count = record.proof->leaf_count;
    for (const auto& h : record.proof->siblings) receipt.merkle_proof.push_back(to_0x_hex(h));
    receipts.push_back(std::move(receipt));
  }
  // Flushed here, whole, before the items go: report() sends only what stays in the batch.
  auto reported = retry(stop, "report", [&]() -> Status {
    for (const auto& receipt : receipts) {
      if (auto sent = ports_.receipts.publish(receipt); !sent) return sent;
    }
    return ports_.receipts.flush(options_.flush_timeout);
  });
  if (!reported) return reported;
  log::info("anchor.already_in_root",
            {{"versions", anchored->size()}, {"resources", receipts.size()}});
  stats_.already_anchored += anchored->size();
  stats_.resources += receipts.size();
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
    const InFlight& batch, const std::atomic<bool>& stop) {
  std::map<std::string, std::vector<std::size_t>> by_region;
  for (std::size_t i = 0; i < batch.pointers.size(); ++i) {
    const auto& p = batch.pointers[i];
    if (p.mode == ports::AnchorMode::kMerkle) by_region[p.region].push_back(i);
  }
  std::map<std::size_t, PointerRecord> anchored;
  std::map<std::string, std::vector<std::pair<std::size_t, PointerRecord>>> pending;  // by tx
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
        pending[sent->tx_hash].emplace_back(at[j], std::move(*sent));
      }
    }
  }
  // A pending anchor is a transaction sent by a gateway that stopped before recording it: mined,
  // its root holds the version. Not retried: one the node never mined would be waited for
  // forever, so any failure (timeout, revert, node down) sends the version again.
  std::map<std::string, std::vector<ports::PointerRecordWrite>> confirmed;
  for (auto& [tx_hash, sent] : pending) {
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
      record.block = mined->transactions.front().block;
      confirmed[record.pointer.region].push_back(
          {.resource_key = to_hex(record.pointer.resource_key),
           .version = record.pointer.version,
           .json = to_json(record)});
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

Status Pipeline::note_pending_roots(const InFlight& batch, const std::atomic<bool>& stop) {
  const ports::AnchorTicket& ticket = batch.ticket;
  std::map<std::string, std::vector<ports::PointerRecordWrite>> writes;
  for (std::size_t i = 0; i < batch.pointers.size() && i < ticket.placements.size(); ++i) {
    const auto& p = batch.pointers[i];
    const auto& placement = ticket.placements[i];
    if (p.mode != ports::AnchorMode::kMerkle || placement.refused || !placement.proof ||
        placement.tx >= ticket.tx_hashes.size()) {
      continue;
    }
    const PointerRecord record{.pointer = p,
                               .tx_hash = ticket.tx_hashes[placement.tx],
                               .block = 0,
                               .proof = placement.proof};
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

Result<ports::AnchorConfirmation> Pipeline::confirm(InFlight& batch,
                                                    const std::atomic<bool>& stop) {
  ports::AnchorConfirmation confirmation;
  if (batch.pointers.empty()) return confirmation;
  // A transaction the node lost is sent again (the contract ignores repeated anchors); so is
  // one whose wait failed for any other passing reason.
  bool first = true;
  auto anchored = retry(stop, "confirm", [&]() -> Status {
    if (!first) {
      auto ticket = ports_.ledger.submit(batch.pointers);
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
  return confirmation;
}

Status Pipeline::keep_records(const std::vector<Item>& items,
                              const ports::AnchorConfirmation& confirmation,
                              const std::atomic<bool>& stop) {
  std::map<std::string, std::vector<ports::PointerRecordWrite>> writes;
  for (const Item& item : items) {
    const auto& placement = confirmation.placements.at(item.placement);
    const auto& tx = confirmation.transactions.at(placement.tx);
    const PointerRecord record{.pointer = item.pointer,
                               .tx_hash = tx.tx_hash,
                               .block = tx.block,
                               .proof = placement.proof};
    writes[item.pointer.region].push_back({.resource_key = to_hex(item.pointer.resource_key),
                                           .version = item.pointer.version,
                                           .json = to_json(record)});
  }
  for (const auto& [region, records] : writes) {
    auto kept = retry(stop, "keep records", [&, &r = region, &w = records] {
      return ports_.blobs.put_pointer_records(r, w);
    });
    if (!kept) return kept;
  }
  return Ok{};
}

Status Pipeline::report(const InFlight& batch, const ports::AnchorConfirmation& confirmation,
                        const std::atomic<bool>& stop) {
  const auto& events = batch.events;
  const auto& items = batch.items;
  std::vector<ports::Receipt> receipts;
  receipts.reserve(items.size());
  for (const Item& item : items) {
    const auto& p = item.pointer;
    const auto& placement = confirmation.placements.at(item.placement);
    const auto& tx = confirmation.transactions.at(placement.tx);
    const std::string key = to_hex(p.content_hash);
    ports::Receipt receipt{.reference = item.reference,
                           .resource_key = to_0x_hex(p.resource_key),
                           .version = p.version,
                           .content_hash = "0x" + key,
                           .redis_key = item.deleted ? "" : ports_.blobs.storage_key(key),
                           .region = p.region,
                           .tx_hash = tx.tx_hash,
                           .block = tx.block,
                           .origin = events[item.event].origin,
                           .anchor_mode = std::string(anchor_mode_name(p.mode)),
                           .deleted = item.deleted};
    if (placement.proof) {
      receipt.merkle_root = to_0x_hex(placement.proof->root);
      receipt.merkle_index = placement.proof->index;
      receipt.merkle_leaf_count = placement.proof->leaf_count;
      for (const auto& h : placement.proof->siblings) receipt.merkle_proof.push_back(to_0x_hex(h));
    }
    receipts.push_back(std::move(receipt));
  }
  // Each attempt sends everything again: a failed flush does not say which messages were lost,
  // so only a whole attempt flushed without error makes the batch durable. Consumers may see a
  // message twice (at least once, as after any restart before the commit), never miss one.
  return retry(stop, "report", [&]() -> Status {
    for (const auto& receipt : receipts) {
      if (auto sent = ports_.receipts.publish(receipt); !sent) return sent;
    }
    for (const auto& letter : batch.dead) {
      if (auto sent = ports_.dead_letters.send(letter); !sent) return sent;
    }
    if (!batch.audits.empty()) {
      if (auto sent = ports_.audit->record(batch.audits); !sent) return sent;
    }
    if (auto r = ports_.receipts.flush(options_.flush_timeout); !r) return r.error();
    if (!batch.audits.empty()) {
      if (auto r = ports_.audit->flush(options_.flush_timeout); !r) return r.error();
    }
    return ports_.dead_letters.flush(options_.flush_timeout);
  });
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

Status Pipeline::begin(std::vector<ports::SourceEvent>& events, const std::atomic<bool>& stop) {
  InFlight batch;
  batch.polled_at = ports_.clock.now();
  stats_.consumed += events.size();

  // 2-3. Validate and normalize each event; an event is all or nothing, so a Bundle with one
  // bad entry is dead-lettered whole.
  std::vector<std::unique_ptr<rapidjson::Document>> documents;
  for (std::size_t i = 0; i < events.size(); ++i) {
    auto prepared = prepare(events[i], i, documents);
    if (!prepared && !is_data_error(prepared.error())) return prepared.error();
    if (!prepared) {
      batch.dead.push_back(dead_letter(events[i], prepared.error()));
      continue;
    }
    std::move(prepared->begin(), prepared->end(), std::back_inserter(batch.items));
  }
  batch.events = std::move(events);

  if (auto resolved = resolve_deletes(batch.items, stop); !resolved) return resolved;
  // Erased patients get nothing new, off chain or on (and are not decided on).
  if (auto dropped = drop_erased(batch.events, batch.items, batch.dead, stop); !dropped) {
    return dropped;
  }
  // 4. Decide, for the whole batch at once (one directory look-up).
  if (auto decided = decide(batch.events, batch.items, batch.dead, batch.audits, stop); !decided) {
    return decided;
  }
  documents.clear();
  // 5-6. Encrypt and store off-chain, per region, content-addressed.
  if (auto stored = protect(batch.events, batch.items, batch.dead, stop); !stored) return stored;
  if (auto recorded = record_countries(batch.items, stop); !recorded) return recorded;
  // 7. Anchor: send the transactions (one per anchoring mode) and go on with the next batch
  // while they are mined.
  batch.pointers = pointers_of(batch.items);
  if (auto sent = submit(batch, stop); !sent) return sent;
  in_flight_.push_back(std::move(batch));
  return Ok{};
}

Status Pipeline::finish(const std::atomic<bool>& stop) {
  InFlight& batch = in_flight_.front();
  auto confirmation = confirm(batch, stop);
  if (!confirmation) return confirmation.error();
  drop_conflicts(batch, *confirmation);
  if (auto kept = keep_records(batch.items, *confirmation, stop); !kept) return kept;
  // 9. Report before committing: receipts, dead letters and AuditEvents must be durable first.
  if (auto reported = report(batch, *confirmation, stop); !reported) return reported;
  // 8. Commit: only now is the batch done. Batches finish in the order they were polled, so
  // offsets are committed in order.
  std::vector<ports::Origin> handled;
  handled.reserve(batch.events.size());
  for (const auto& event : batch.events) handled.push_back(event.origin);
  auto committed = retry(stop, "commit", [&] { return ports_.source.commit(handled); });
  if (!committed) return committed;

  stats_.resources += batch.items.size();
  stats_.dead_lettered += batch.dead.size();
  ++stats_.batches;
  const auto done = ports_.clock.now();
  stats_.busy_seconds = std::chrono::duration<double>(done - first_event_).count();
  // Bounded: a long-running gateway keeps the latest million samples (8 MB).
  if (stats_.latencies.size() + batch.events.size() > 1'000'000) stats_.latencies.clear();
  stats_.latencies.insert(stats_.latencies.end(), batch.events.size(),
                          std::chrono::duration<double>(done - batch.polled_at).count());
  log::debug("batch.committed", {{"events", batch.events.size()},
                                 {"resources", batch.items.size()},
                                 {"deadLettered", batch.dead.size()},
                                 {"transactions", confirmation->transactions.size()}});
  in_flight_.pop_front();
  return Ok{};
}

Status Pipeline::drain(const std::atomic<bool>& stop) {
  while (!in_flight_.empty()) {
    if (auto done = finish(stop); !done) return done;
  }
  return Ok{};
}

Status Pipeline::retry(const std::atomic<bool>& stop, const char* step,
                       const std::function<Status()>& op) const {
  auto backoff = options_.retry_backoff;
  for (;;) {
    Status status = op();
    if (status || status.error().code != ErrorCode::kUnavailable) return status;
    if (stop.load()) {
      return Error{ErrorCode::kUnavailable,
                   std::string("stopped while retrying ") + step + ": " + status.error().message,
                   status.error().where};
    }
    log::warn("pipeline.retry", {{"step", step},
                                 {"error", status.error().message},
                                 {"where", status.error().where},
                                 {"backoffMs", static_cast<std::int64_t>(backoff.count())}});
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, options_.retry_backoff * 16);
  }
}

}  // namespace fl::gateway
