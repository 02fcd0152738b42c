// The sealed-resource format: what is stored off-chain for one resource version.
//
//   blob = "FLB1" | key-id length (1 byte) | key id | nonce (12) | ciphertext | tag (16)
//
// The data key is HKDF-SHA256(kek, salt = "fhir-ledger/data-key/v1", info = context), where the
// caller's context binds resource key, version, region and policy hash; the AAD is the blob
// header (magic, key id, nonce) followed by the context, so a blob moved to another resource,
// version, region or policy, or relabelled with another key id, fails to open.
//
// The nonce is deterministic: the first 12 bytes of HMAC-SHA256(data key, "nonce" | plaintext).
// Sealing the same resource version twice (re-delivery after a crash) therefore gives the same
// blob and the same content hash, which is what makes content addressing and idempotent ledger
// anchors work. It is safe because a data key is used for one (resource, version, region,
// policy) only, and the nonce is a PRF of the plaintext under it: a (key, nonce) pair repeats
// only for identical plaintext, which reveals nothing but that equality (the SIV argument).
#pragma once

#include "fl/base/bytes.h"
#include "fl/base/result.h"
#include "fl/base/secret_bytes.h"

#include <functional>
#include <string>
#include <string_view>

namespace fl::gateway::crypto {

// Conveniences for tools and tests; they fetch the algorithms on every call. The pipeline uses
// a long-lived Sealer (sealer.h), which gives identical output.
Result<Bytes> seal_resource(const SecretBytes& kek, std::string_view key_id, ByteView context,
                            ByteView plaintext);

// The key id named in a blob's header, so the reader can fetch that key.
Result<std::string> sealed_key_id(ByteView blob);

Result<Bytes> open_resource(const SecretBytes& kek, ByteView blob, ByteView context);

}  // namespace fl::gateway::crypto
