// The envelope: how one resource version is sealed for off-chain storage (format version 2).
//
//   blob = "FLB2" | key-id length (1 byte) | key id | nonce (12) | ciphertext | tag (16)
//
// Keys. Each patient has a random 256-bit master key, stored only wrapped by the region's
// key-encryption key (gateway/keys). A resource version is sealed with AES-256-GCM under its
// own data key: HKDF-SHA256(IKM = master key, salt = "fhir-ledger/data-key/v2", info = resource
// key (32) | version (8, big endian)). The key id in the header is the master key's id, so a
// reader knows which key to unwrap, and destroying that one key makes every blob naming it
// unreadable (crypto-shredding).
//
// Binding. The AAD is the header (magic, key id, nonce) followed by the caller's context: the
// protect stage passes resource key, version, region, patient key and policy hash. A blob moved
// to another resource, version, region, patient or policy, or relabelled with another key id,
// fails to open.
//
// Nonces are 96 random bits from OpenSSL's CSPRNG (drawn 340 at a time, and drawn afresh after a
// fork so that parent and child never share one). A data key belongs to one resource version,
// and the pipeline seals a version once (a re-delivered event reuses the first blob through its
// version claim), so a data key meets a handful of random nonces at most, far below the 2^32
// messages that random GCM nonces allow per key.
//
// Version 1 blobs ("FLB1", one KEK per deployment, deterministic nonces) are not read: they
// were written only by development builds before this format.
#pragma once

#include "fl/base/bytes.h"
#include "fl/base/result.h"
#include "fl/base/secret_bytes.h"

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace fl::gateway::crypto {

inline constexpr std::size_t kNonceBytes = 12;
inline constexpr std::size_t kMasterKeyBytes = 32;

// A master key ready to derive data keys: its id and HKDF's pseudorandom key (the extract step,
// done once per master key instead of once per resource).
struct MasterKey {
  std::string id;
  SecretBytes prk;
};

using Digest = std::array<std::uint8_t, 32>;

// Seals and opens blobs, with the OpenSSL algorithms (HMAC-SHA256, AES-256-GCM, SHA-256) fetched
// once: fetching is most of the cost of sealing a small resource. Not thread-safe: one per
// thread.
class Sealer {
  struct Token {};

 public:
  static Result<std::unique_ptr<Sealer>> create();
  ~Sealer();
  Sealer(const Sealer&) = delete;
  Sealer& operator=(const Sealer&) = delete;

  // The HKDF-Extract of a raw master key (32 bytes); `id` is 1..64 printable characters.
  Result<MasterKey> master_key(std::string id, const SecretBytes& raw) const;

  // `info` is the data key's HKDF info (data_key_info()), `context` the caller's AAD tail.
  Result<Bytes> seal(const MasterKey& key, ByteView info, ByteView context, ByteView plaintext);
  // kIntegrity for a bad header, another key id than `key`'s, or any altered byte.
  Result<Bytes> open(const MasterKey& key, ByteView info, ByteView blob, ByteView context);

  // SHA-256: the blob's content address.
  Digest content_hash(ByteView blob);

  struct Impl;
  Sealer(Token, std::unique_ptr<Impl> impl);

 private:
  std::unique_ptr<Impl> impl_;
};

// The data key's HKDF info: resource key | version (8 bytes, big endian).
Bytes data_key_info(const Digest& resource_key, std::uint64_t version);

// The key id named in a blob's header, so the reader can fetch that key.
Result<std::string> sealed_key_id(ByteView blob);

}  // namespace fl::gateway::crypto
