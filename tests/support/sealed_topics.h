// Opening what the gateway seals on its topics, for tests that read them back: a dead letter's
// original event, a receipt's source and reference. Header-only: its users link fl::gateway and
// fl::kafka.
#pragma once

#include "fl/adapters/kafka/dead_letter_message.h"
#include "fl/adapters/kafka/kafka_producers.h"
#include "fl/gateway/crypto/topic_sealer.h"
#include "fl/ports/event_source.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <string>
#include <utility>
#include <vector>

namespace fl::testing {

inline Result<kafka::OriginalEvent> open_dead_letter(ports::KeyProvider& keys,
                                                     const ports::SourceEvent& letter) {
  auto opened =
      gateway::crypto::open_sealed(keys, kafka::kDeadLetterContext, as_bytes(letter.value));
  if (!opened) return opened.error();
  return kafka::unpack_original(as_chars(*opened));
}

// (source, reference) of a receipt, opened from its sealedReference.
inline Result<std::pair<std::string, std::string>> open_receipt(ports::KeyProvider& keys,
                                                                const rapidjson::Value& receipt) {
  if (!receipt.IsObject() || !receipt.HasMember("sealedReference") ||
      !receipt["sealedReference"].IsString()) {
    return Error{ErrorCode::kInvalidInput, "no sealedReference", ""};
  }
  auto sealed = parse_hex(receipt["sealedReference"].GetString());
  if (!sealed) return sealed.error();
  auto opened = gateway::crypto::open_sealed(keys, kafka::kReceiptContext, *sealed);
  if (!opened) return opened.error();
  rapidjson::Document d;
  d.Parse(reinterpret_cast<const char*>(opened->data()), opened->size());
  if (d.HasParseError() || !d.IsObject()) return Error{ErrorCode::kIntegrity, "not JSON", ""};
  return std::pair<std::string, std::string>(d["source"].GetString(), d["reference"].GetString());
}

// Fails the test when any of `needles` (ids, names, sources) shows in clear anywhere in
// `messages`: key, value, header names and values.
inline void expect_nothing_in_clear(const std::vector<ports::SourceEvent>& messages,
                                    const std::vector<std::string>& needles) {
  for (const auto& m : messages) {
    for (const auto& needle : needles) {
      const auto where = m.origin.topic + "@" + std::to_string(m.origin.offset) + ": ";
      EXPECT_EQ(m.key.find(needle), std::string::npos) << where << needle << " in the key";
      EXPECT_EQ(m.value.find(needle), std::string::npos) << where << needle << " in the value";
      for (const auto& [name, value] : m.headers) {
        EXPECT_EQ((name + value).find(needle), std::string::npos)
            << where << needle << " in header " << name;
      }
    }
  }
}

}  // namespace fl::testing
