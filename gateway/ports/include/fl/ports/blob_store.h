// Where encrypted resources live off-chain. The pipeline knows only this interface;
// adapters/redis implements it, tests/support has an in-memory fake. Called from the pipeline
// thread.
#pragma once

#include "fl/base/result.h"
#include "fl/ports/types.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace fl::ports {

struct BlobWrite {
  std::string key;  // content address: the hex SHA-256 of `blob`
  Bytes blob;
  // The resource version the blob holds. Its claim records which blob a version was first
  // stored as: sealing uses random nonces, so a re-delivered event seals to a new blob, and the
  // claim is how the pipeline finds (and reuses) the first one instead of anchoring another.
  std::string resource_key;  // hex HMAC pseudonym
  std::uint64_t version = 0;
};

struct VersionRef {
  std::string resource_key;  // hex HMAC pseudonym
  std::uint64_t version = 0;
};

struct PointerRecordWrite {
  std::string resource_key;  // hex HMAC pseudonym
  std::uint64_t version = 0;
  std::string json;
  std::string patient_key;  // hex pseudonym of the resource's patient; "" when it has none
};

// A version this caller claimed for a blob it stored (put_if_absent_streamed answered the
// write's own key).
struct ClaimedBlob {
  std::string resource_key;  // hex HMAC pseudonym
  std::uint64_t version = 0;
  std::string key;  // the blob's content hash (hex)
};

// What the store knows of one version's anchoring: its pointer record, and the record of an
// anchoring transaction sent but not yet confirmed (merkle mode), as JSON texts.
struct AnchorRecords {
  std::optional<std::string> record;
  std::optional<std::string> pending;
};

class BlobStore {
 public:
  virtual ~BlobStore() = default;

  // Stores `count` blobs, each under its key in `region` unless the key is already there (keys
  // are content hashes, so an existing key holds the same bytes), and claims its version for it
  // unless the version is claimed already. Answers, per write, the content hash (hex) the
  // version is claimed for: the write's own key, or the one claimed first. The caller makes the
  // writes one at a time: make_write(0), make_write(1), ... in order, each index once. A store
  // sends each write as soon as it is made and waits for the answers only after the last, so the
  // store works on the first writes while the caller makes (seals) the next. Still one batch:
  // the call returns when every write is acknowledged or one failed. When make_write fails, so
  // does the call, with that error and no answers (make_write is not called again); the writes
  // made before it may be stored and claimed already, as after any failure mid-batch, and a
  // retry finds their claims.
  // make_write may run while the store holds the region's connection: it must not call the
  // store, and other calls for the region wait for it.
  using MakeWrite = std::function<Result<BlobWrite>(std::size_t index)>;
  virtual Result<std::vector<std::string>> put_if_absent_streamed(const std::string& region,
                                                                  std::size_t count,
                                                                  const MakeWrite& make_write) = 0;

  // Deletes blobs that no version claims: ones a caller stored and then lost the claim for
  // (the version was claimed for another sealing first). Their keys hash freshly sealed bytes
  // under a random nonce, so nothing else can refer to them. Absent keys are not an error.
  virtual Status remove_unclaimed(const std::string& region, std::span<const std::string> keys) = 0;

  // Gives up versions this caller claimed, for an event refused after its blobs were stored, so
  // that nothing of it stays and a corrected version can be stored later. Each claim is removed
  // only if it still names the caller's blob and its version has no pointer record or pending
  // anchor (checked and removed in one step, so a claim another writer made or anchored stays),
  // and the blob goes with it (sealed under a random nonce: only that claim named it). Idempotent:
  // absent claims and blobs are not an error. Only for versions the caller claimed itself; a
  // claim it found and reused belongs to an earlier delivery.
  virtual Status release_claims(const std::string& region, std::span<const ClaimedBlob> claims) = 0;

  // The content hash (hex) each version was first stored as, in order; nullopt if none.
  virtual Result<std::vector<std::optional<std::string>>> claimed_versions(
      const std::string& region, std::span<const VersionRef> versions) = 0;

  // kNotFound when the key is absent.
  virtual Result<Bytes> get(const std::string& region, const std::string& key) = 0;

  // Pointer records beside the blobs: per resource key, one JSON text per version (what was
  // anchored, in which transaction, and for merkle mode the inclusion proof), so a resource
  // can be verified end to end from its region alone. Rewriting a version's record replaces it;
  // writing one removes the version's pending anchor (below).
  virtual Status put_pointer_records(const std::string& region,
                                     std::span<const PointerRecordWrite> records) = 0;
  // version -> record JSON; empty when the resource key has none in `region`.
  virtual Result<std::map<std::uint64_t, std::string>> pointer_records(
      const std::string& region, const std::string& resource_key) = 0;
  // The resource keys (hex) whose pointer records name this patient (hex), in `region`, in no
  // particular order: what GET /fhir/Patient/{id}/$everything reads. Pseudonyms only.
  virtual Result<std::vector<std::string>> patient_resources(const std::string& region,
                                                             const std::string& patient_key) = 0;
  // Records of merkle-mode anchors sent and not yet confirmed (block 0), written as soon as the
  // transaction is sent: a re-delivery after a crash before put_pointer_records finds the
  // transaction and waits for it instead of putting the version under a second root. Kept apart
  // from the pointer records, which readers trust; put_pointer_records removes a version's.
  virtual Status put_pending_anchors(const std::string& region,
                                     std::span<const PointerRecordWrite> records) = 0;
  // The pointer record and pending anchor of each version, in order: one round trip.
  virtual Result<std::vector<AnchorRecords>> anchor_records(
      const std::string& region, std::span<const VersionRef> versions) = 0;

  // The name under which the store itself holds `key` (e.g. a Redis key with its prefix), for
  // receipts and for operators checking a blob with the store's own tools.
  virtual std::string storage_key(const std::string& key) const { return key; }
};

}  // namespace fl::ports
