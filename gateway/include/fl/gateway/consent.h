// FHIR R4 Consent (scope patient-privacy) compiled into the ledger grants it implies. The ledger
// holds one kind of grant: a participant may read all of one patient's data for one purpose of
// use until a time. A Consent is read into that shape, and what cannot be held to it is refused
// with a reason rather than granted more widely:
//   - status active: its permits become grants; any other status (draft, proposed, rejected,
//     inactive, entered-in-error) grants nothing, so what it granted before is revoked;
//   - the root provision permits, unless it says `type: deny` or policyRule is OPTOUT; nested
//     provisions say their own type and inherit actor, purpose and period from their parent;
//   - a permit grants each actor (a participant: /consent/actors maps a reference such as
//     "Organization/eu-hospital" to its ledger address) each purpose (provision.purpose codes,
//     else /consent/defaultPurposes) until period.end (a date's end of day; else a default
//     lifetime); a period that has not started or has ended grants nothing;
//   - a permit narrowed to data (class, code, securityLabel, dataPeriod, data) is refused: a
//     grant would cover all of the patient's data;
//   - a deny removes the grants to its actors (all, when it names none) for its purposes (all,
//     when it names none), at any depth: a deny inside a permit wins;
//   - a provision whose actions (when it names any) include neither `access` nor `use` is not
//     about reading and grants nothing.
// Pure: the policy check of each grant and the ledger are the consent service's.
#pragma once

#include "fl/base/result.h"
#include "fl/ports/access_ledger.h"

#include <rapidjson/document.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace fl::gateway {

struct ConsentSettings {
  std::map<std::string, ports::Address> actors;  // FHIR reference -> participant
  std::vector<std::string> default_purposes;     // for a permit that names none
  std::int64_t default_lifetime_seconds = 365 * 86400;
};

struct ConsentGrant {
  ports::Address grantee{};
  std::string actor;  // the reference it came from
  std::string purpose;
  std::uint64_t expires_at = 0;  // Unix seconds
};

struct ConsentRefusal {
  std::string actor;    // "" when the refusal is not about one actor
  std::string purpose;  // "" when not about one purpose
  std::string reason;
};

struct CompiledConsent {
  std::string id;
  std::string status;
  std::string patient;  // "Patient/<id>"
  bool active = false;
  std::vector<ConsentGrant> grants;  // one per (grantee, purpose), the latest expiry kept
  std::vector<ConsentRefusal> refused;
};

// kInvalidInput (with the JSON pointer in `where`) when it is not a Consent this can read: no
// id, no status, not scope patient-privacy, no Patient reference, a malformed element.
Result<CompiledConsent> compile_consent(const rapidjson::Value& consent,
                                        const ConsentSettings& settings, std::int64_t now);

// A FHIR date or dateTime as Unix seconds: a dateTime as given (UTC when it has no offset), a
// date, year-month or year at its start, or with `end_of` at the start of the day, month or year
// after it. nullopt when it is not one.
std::optional<std::int64_t> fhir_instant(std::string_view text, bool end_of);

}  // namespace fl::gateway
