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

  // Removes the patient's record from every region (erasure); true when one was there.
  virtual Result<bool> forget_patient(const Hash32& patient_key) = 0;
};

}  // namespace fl::ports
