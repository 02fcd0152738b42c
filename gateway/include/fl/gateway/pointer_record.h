// The pointer record kept beside each blob in its region's store: what was anchored for one
// resource version, in which transaction, and for merkle mode its inclusion proof. With it a
// resource can be verified end to end (blob -> pointer -> proof -> on-chain root) from the
// region's store and the chain alone. JSON, one text per version; no PHI (pseudonyms, hashes).
#pragma once

#include "fl/base/result.h"
#include "fl/ports/pointer_ledger.h"

#include <cstdint>
#include <optional>
#include <string>

namespace fl::gateway {

struct PointerRecord {
  ports::Pointer pointer;
  std::string tx_hash;  // 0x-hex
  std::uint64_t block = 0;
  std::optional<ports::InclusionProof> proof;  // merkle mode only
  std::string sender;  // pending anchors: the account that sends it (0x-hex); "" in old notes
};

std::string to_json(const PointerRecord& record);
// kIntegrity with the JSON pointer of what is missing or malformed.
Result<PointerRecord> parse_pointer_record(std::string_view json);

std::string_view anchor_mode_name(ports::AnchorMode mode);
std::optional<ports::AnchorMode> parse_anchor_mode(std::string_view name);

}  // namespace fl::gateway
