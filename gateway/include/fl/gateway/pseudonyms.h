// Pseudonyms: what the ledger, Redis keys and receipts call a resource and a patient instead of
// their FHIR ids. HMAC-SHA256 under the keyring's pepper, so nobody without the pepper can
// enumerate or confirm an id, and the same id always gets the same pseudonym (which is what
// lets a patient's later events join their grants and erasure). Any thread.
#pragma once

#include "fl/base/result.h"
#include "fl/ports/key_provider.h"
#include "fl/ports/pointer_ledger.h"

#include <string_view>

namespace fl::gateway {

class Pseudonyms {
 public:
  explicit Pseudonyms(ports::KeyProvider& keys) : keys_(keys) {}

  // HMAC-SHA256(pepper, "Type/id"): the resource key.
  Result<ports::Hash32> resource_key(std::string_view reference);
  // HMAC-SHA256(pepper, "patient:Patient/<id>"): the patient key for grants and erasure,
  // domain-separated from the Patient resource's own resource key.
  Result<ports::Hash32> patient_key(std::string_view patient_reference);
  // HMAC-SHA256(pepper, "identifier:<system>|<value>"): what a policy's "pseudonymize
  // identifiers" obligation puts in place of an identifier's value at read time. Keyed, so a
  // reader cannot confirm a guessed MRN by hashing it; domain-separated from the other keys.
  Result<ports::Hash32> identifier(std::string_view system, std::string_view value);

 private:
  ports::KeyProvider& keys_;
};

}  // namespace fl::gateway
