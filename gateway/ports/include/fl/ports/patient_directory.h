// Where each patient's country is recorded, under the patient's pseudonym, when a Patient
// resource is ingested: resources that only reference the patient (an Observation's subject)
// take their jurisdiction from it. A record lives in the patient's own region, beside the
// patient's master key and data, so it is backed up, kept in the jurisdiction and erased with
// them; a look-up asks every region. Called from one thread per instance.
#pragma once

#include "fl/base/result.h"
#include "fl/ports/pointer_ledger.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace fl::ports {

struct PatientCountry {
  std::string country;           // ISO 3166-1 alpha-2
  std::string region;            // the region that holds the record
  std::int64_t recorded_ms = 0;  // when (Unix ms): the newest record wins after a move

  friend bool operator==(const PatientCountry&, const PatientCountry&) = default;
};

// What a look-up finds while some regions do not answer (PatientDirectory::reachable_countries).
struct CountryAnswers {
  // One per patient key, in order: the newest record in the regions that answered, or nullopt.
  std::vector<std::optional<PatientCountry>> countries;
  // The regions skipped or that did not answer (kUnavailable): what they hold is unknown.
  std::vector<std::string> unanswered;
};

class PatientDirectory {
 public:
  virtual ~PatientDirectory() = default;

  // One answer per patient key, in order: the newest record in any region, or nullopt.
  virtual Result<std::vector<std::optional<PatientCountry>>> recorded_countries(
      std::span<const Hash32> patient_keys) = 0;

  // Records each patient's country in `region` (at `now_ms`), then removes those patients'
  // records from every other region: a patient who moved is found in the new region only.
  virtual Status record_countries(const std::string& region,
                                  std::span<const std::pair<Hash32, std::string>> countries,
                                  std::int64_t now_ms) = 0;

  // The calls below let a caller go on while one region is down (issue 14). Regions in `skip`
  // are not asked (the caller knows they are down), and one that does not answer
  // (kUnavailable) is named rather than failing the call. The defaults suit a directory that is
  // never partly down: they ask everything through the calls above.

  // recorded_countries over the regions that answer. A patient found in one of them may still
  // have a newer record in an unanswered region only if a crash came between record_countries'
  // write and its removals (or the removals are still owed, below, and then the found one is
  // the newer); a patient found nowhere may be in an unanswered region.
  virtual Result<CountryAnswers> reachable_countries(std::span<const Hash32> patient_keys,
                                                     std::span<const std::string> skip) {
    (void)skip;
    auto found = recorded_countries(patient_keys);
    if (!found) return found.error();
    return CountryAnswers{.countries = std::move(*found), .unanswered = {}};
  }

  // record_countries, except that the other regions in `skip` or that do not answer keep their
  // older records of these patients, which the new one outranks on look-up: they are returned,
  // for forget_countries_before once they answer again. `region` itself must answer.
  virtual Result<std::vector<std::string>> record_countries_reachable(
      const std::string& region, std::span<const std::pair<Hash32, std::string>> countries,
      std::int64_t now_ms, std::span<const std::string> skip) {
    (void)skip;
    if (auto recorded = record_countries(region, countries, now_ms); !recorded) {
      return recorded.error();
    }
    return std::vector<std::string>{};
  }

  // Removes each patient's record from `region` if it was recorded before the time given with
  // it (Unix ms): what record_countries_reachable left behind. A newer record (the patient
  // moved back since) stays. Idempotent.
  virtual Status forget_countries_before(const std::string& region,
                                         std::span<const std::pair<Hash32, std::int64_t>> records) {
    (void)region;
    (void)records;
    return Ok{};
  }

  // Removes the patient's record from every region (erasure); true when one was there.
  virtual Result<bool> forget_patient(const Hash32& patient_key) = 0;

  // Identity links (pseudonyms.h): which person each source's patient record is linked to by
  // the linking identifier. Both sides are pseudonyms, so a link holds no PHI. One answer per
  // record, in order: the person, or nullopt when the record is not linked.
  virtual Result<std::vector<std::optional<Hash32>>> linked_persons(
      std::span<const Hash32> records) = 0;

  // Links each (record, person) unless the record is linked already: the first link wins, so
  // a record's data never moves to another person. Returns the person each record is linked to
  // afterwards. Links are kept after erasure: they are what keeps refusing the record's later
  // events.
  virtual Result<std::vector<Hash32>> link_persons(
      std::span<const std::pair<Hash32, Hash32>> links) = 0;
};

}  // namespace fl::ports
