// Sealing for the topics that belong to no region: dead letters and receipts. What could name a
// patient or a record there (a dead letter's original bytes, key and headers; a receipt's
// `Type/id` and source) is written only sealed, so the topics carry no clear identifier and no
// PHI; pseudonyms, hashes, origins and error codes stay in clear for operators. Whoever holds the
// KEK the sealed form names can open it (`fhir-ledger unseal`, `report`). Safe to call from any
// thread.
#pragma once

#include "fl/base/bytes.h"
#include "fl/base/result.h"

#include <cstddef>
#include <string>
#include <string_view>

namespace fl::ports {

class TopicSealer {
 public:
  virtual ~TopicSealer() = default;

  // The KEK the sealed forms name: safe to show in a header.
  virtual std::string key_id() const = 0;

  // How many bytes a sealed form adds to its plaintext.
  virtual std::size_t overhead() const = 0;

  // `context` says what is sealed ("dead-letter", "receipt") and is authenticated with it, so a
  // sealed receipt cannot be passed off as a dead letter.
  virtual Result<Bytes> seal(std::string_view context, ByteView plaintext) = 0;
};

}  // namespace fl::ports
