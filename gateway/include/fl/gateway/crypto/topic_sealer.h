// The topic key: how dead letters and receipts are sealed (ports/topic_sealer.h).
//
//   sealed = "FLT1" | region length (1) | region | KEK id length (1) | KEK id
//            | wrapped length (2, big endian) | wrapped topic key | nonce (12) | ciphertext | tag
//            (16)
//
// A gateway draws a random 256-bit topic key when it starts and has the default region's active
// KEK wrap it (AAD "fhir-ledger/topic-key/v1"); every sealed form carries that wrapped key, so
// it opens with nothing but the KEK: no state to keep, and a KEK rotation leaves old letters
// readable while the old KEK is not retired. AES-256-GCM, the AAD being the header (through the
// nonce) followed by the caller's context. Nonces are 96 random bits; a gateway process seals far
// fewer than the 2^32 messages random nonces allow per key.
#pragma once

#include "fl/base/bytes.h"
#include "fl/base/result.h"
#include "fl/ports/key_provider.h"
#include "fl/ports/topic_sealer.h"

#include <memory>
#include <string>
#include <string_view>

namespace fl::gateway::crypto {

// Draws the topic key and wraps it under `region`'s active KEK.
Result<std::unique_ptr<ports::TopicSealer>> make_topic_sealer(ports::KeyProvider& keys,
                                                              const std::string& region);

// Opens a sealed form; kIntegrity when it is not one, was altered or was sealed for another
// context; the key provider's errors when its KEK is unknown, retired or not at hand.
Result<Bytes> open_sealed(ports::KeyProvider& keys, std::string_view context, ByteView sealed);

}  // namespace fl::gateway::crypto
