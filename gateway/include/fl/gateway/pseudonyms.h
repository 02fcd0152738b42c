// Pseudonyms: what the ledger, Redis keys and receipts call a resource and a patient instead of
// their FHIR ids. HMAC-SHA256 under the keyring's pepper, so nobody without the pepper can
// enumerate or confirm an id, and the same id always gets the same pseudonym (which is what
// lets a patient's later events join their grants and erasure). One instance per thread: it
// keeps the pepper's HMAC state, set up at its first use (a pepper never changes while the
// gateway runs: every pseudonym would).
//
// A FHIR id is unique only within the server that assigned it, so resource and patient keys
// are derived from the source (the `fhir-source` system, or the base of an absolute fullUrl)
// and the id together: two EHRs' `Patient/23` are two patients. A person known to several
// sources is linked by a business identifier (identity.linkingIdentifierSystem): the person
// key is derived from that identifier, and every source's patient record linked to it shares
// it (grants, residency, erasure). Each input is length-prefixed, so no choice of source or id
// can make one input read as another; the kinds are domain-separated.
#pragma once

#include "fl/base/result.h"
#include "fl/ports/key_provider.h"
#include "fl/ports/pointer_ledger.h"

#include <memory>
#include <string_view>

namespace fl::gateway {

namespace crypto {
class KeyedHmacSha256;
}

class Pseudonyms {
 public:
  explicit Pseudonyms(ports::KeyProvider& keys);
  Pseudonyms(Pseudonyms&&) noexcept;
  ~Pseudonyms();

  // The resource key of `reference` ("Type/id") as `source` names it.
  Result<ports::Hash32> resource_key(std::string_view source, std::string_view reference);
  // The key of the patient record "Patient/<id>" of `source`: the patient key for grants and
  // erasure unless the record is linked to a person; domain-separated from the Patient
  // resource's own resource key.
  Result<ports::Hash32> patient_key(std::string_view source, std::string_view patient_reference);
  // The person key of a linking identifier (system and value): the patient key of every record
  // linked to it, whichever source it comes from.
  Result<ports::Hash32> person_key(std::string_view system, std::string_view value);
  // HMAC-SHA256(pepper, "identifier:<system>|<value>"): what a policy's "pseudonymize
  // identifiers" obligation puts in place of an identifier's value at read time. Keyed, so a
  // reader cannot confirm a guessed MRN by hashing it; domain-separated from the other keys.
  Result<ports::Hash32> identifier(std::string_view system, std::string_view value);

  // Whether the pepper is set up (and sets it up): another thread may then use this instance
  // without asking the key provider. False when the provider does not answer now.
  bool keyed();

 private:
  Status key();
  Result<ports::Hash32> mac(std::string_view input);

  ports::KeyProvider& keys_;
  std::unique_ptr<crypto::KeyedHmacSha256> keyed_;
};

}  // namespace fl::gateway
