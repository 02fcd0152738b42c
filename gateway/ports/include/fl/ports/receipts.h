// Receipts: one message per anchored resource version on the results topic, so the sending
// system learns where its resource went (content hash, transaction, block). Re-delivery after a
// crash may repeat a receipt with the same content; consumers key on (resourceKey, version).
// `source` and `reference` name a record in clear: an adapter writes them only sealed
// (ports/topic_sealer.h), the sender matching its receipts by origin or by resource key.
#pragma once

#include "fl/base/result.h"
#include "fl/ports/types.h"

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace fl::ports {

struct Receipt {
  std::string source;        // the id space of `reference`: the sender's fhir-source (or base)
  std::string reference;     // "Type/id" as the sender named it (the sender's own id space)
  std::string resource_key;  // 0x-hex HMAC pseudonym, as on the ledger
  std::uint64_t version = 0;
  std::string content_hash;  // 0x-hex SHA-256 of the stored ciphertext
  std::string redis_key;     // key of the blob in its region's store
  std::string region;
  std::string tx_hash;  // 0x-hex
  std::uint64_t block = 0;
  Origin origin;
  std::string anchor_mode = "pointer";  // "pointer" or "merkle"
  bool deleted = false;                 // a tombstone: no blob
  // Merkle mode: the leaf's place under the anchored root and its proof (0x-hex, bottom up).
  std::string merkle_root;
  std::uint32_t merkle_index = 0;
  std::uint32_t merkle_leaf_count = 0;
  std::vector<std::string> merkle_proof;
};

class Receipts {
 public:
  virtual ~Receipts() = default;
  // Queues the receipt; it is durable only after flush() succeeds.
  virtual Status publish(const Receipt& receipt) = 0;
  // Waits until everything published so far is acknowledged. A failed flush loses nothing queued:
  // kUnavailable means some is not acknowledged yet and stays queued (flush again; queuing it again
  // would send it twice); any other code means the broker refused a message for good.
  virtual Status flush(std::chrono::milliseconds timeout) = 0;
};

}  // namespace fl::ports
