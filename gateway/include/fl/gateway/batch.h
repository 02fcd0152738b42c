// One batch of the pipeline (pipeline.h): the events polled together, the resources made of
// them, the events refused (dead letters) and the AuditEvents of what the policy refused, the
// pointers sent for it and its transactions' ticket. The steps refuse an event through
// reject() and never edit the dead letters themselves: an event gets one letter, a step's
// letters are in event order, and a refused event's resources leave the batch with it.
#pragma once

#include "fl/base/result.h"
#include "fl/ports/audit_log.h"
#include "fl/ports/dead_letters.h"
#include "fl/ports/event_source.h"
#include "fl/ports/pointer_ledger.h"

#include <rapidjson/document.h>

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace fl::gateway {

// One resource of an event, from its validation to its receipt.
struct BatchItem {
  std::size_t event = 0;  // index into the batch
  std::string source;     // whose id space `reference` is in (pseudonyms.h)
  std::string reference;
  std::string resource_type;
  const rapidjson::Value* json = nullptr;  // into the event's document, until decided
  ports::Pointer pointer;
  bool deleted = false;
  std::string country;    // a Patient's, recorded in the directory once it is stored
  std::string plaintext;  // canonical JSON until sealed; empty for a delete
  // A Consent's canonical JSON, kept past sealing for the ConsentSink (with one), until applied.
  std::string consent;
  std::size_t placement = 0;  // index of its pointer in the anchored batch
  // This delivery stored the blob and claimed the version (not a claim found and reused): what
  // Pipeline::release gives up if the event is refused after all.
  bool claimed = false;
  // The key of the patient record the resource names within its source (zero for none), and
  // the person its linking identifier names: pointer.patient_key is the person once
  // resolve_persons has looked the record's link up, else the record's own key.
  ports::Hash32 record_key{};
  std::optional<ports::Hash32> person;
};

// An error's message, and where it arose when it says.
std::string detail_of(const Error& error);

// The dead letter of an event refused with `error`: the event whole, the error's code and
// detail, and the SHA-256 of the message as it came.
ports::DeadLetter dead_letter(const ports::SourceEvent& event, const Error& error);

class Batch {
 public:
  std::vector<ports::SourceEvent> events;
  std::vector<BatchItem> items;
  std::vector<ports::Pointer> pointers;
  ports::AnchorTicket ticket;
  std::chrono::steady_clock::time_point polled_at{};
  // Events parked (ParkedEvents) with their items: neither reported nor committed with the batch.
  std::set<std::size_t> parked;

  // Refuses the event: it goes to the dead letters with `error` at the next prune() (the first
  // error given for an event is the one sent), and its resources leave the batch then.
  void reject(std::size_t event, Error error);
  // Sends the events rejected since the last prune to the dead letters, in event order, and
  // takes their resources out of the batch.
  void prune();
  // Refuses the event for some of its resources only, which the caller has taken out: it goes
  // to the dead letters now, and its other resources stay (anchored, they get their receipts).
  void reject_part(std::size_t event, const Error& error);
  // Records an AuditEvent the report makes durable with the dead letters (a refusal's reason).
  void audit(ports::AuditRecord record) { audits_.push_back(std::move(record)); }

  const std::vector<ports::DeadLetter>& dead_letters() const { return dead_; }
  const std::vector<ports::AuditRecord>& audits() const { return audits_; }

  // The batch's patients (pointer.patient_key, and the record keys with `records`), sorted and
  // distinct. Computed at the first call, once persons are resolved: events that leave the
  // batch later leave their patients in it, which the look-ups it serves may ask about.
  const std::vector<ports::Hash32>& patient_keys();
  const std::vector<ports::Hash32>& patient_and_record_keys();

 private:
  std::map<std::size_t, Error> rejected_;  // since the last prune, by event
  std::vector<ports::DeadLetter> dead_;
  std::vector<ports::AuditRecord> audits_;
  std::optional<std::vector<ports::Hash32>> patient_keys_;
  std::optional<std::vector<ports::Hash32>> patient_and_record_keys_;
};

}  // namespace fl::gateway
