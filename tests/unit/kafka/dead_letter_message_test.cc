#include "fl/adapters/kafka/dead_letter_message.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace fl::kafka {
namespace {

// Stands in for the topic key so the layout can be checked as pure logic: a fixed-size
// marker naming the context, then the plaintext. The real sealing is tested in
// tests/unit/gateway/crypto/topic_sealer_test.cc and, end to end, in the pipeline's tests.
class MarkerSealer final : public ports::TopicSealer {
 public:
  static constexpr std::size_t kOverhead = 80;
  bool fail = false;

  std::string key_id() const override { return "kek-1"; }
  std::size_t overhead() const override { return kOverhead; }
  Result<Bytes> seal(std::string_view context, ByteView plaintext) override {
    if (fail) return Error{ErrorCode::kUnavailable, "no key", ""};
    std::string marker = "SEALED:" + std::string(context) + "|";
    marker.resize(kOverhead, '#');
    marker += as_chars(plaintext);
    return Bytes(marker.begin(), marker.end());
  }
};

// The original event a message carries, checking it was sealed as a dead letter.
OriginalEvent opened(const KafkaMessage& m) {
  EXPECT_EQ(m.value.substr(0, 19), "SEALED:dead-letter|");
  return unpack_original(std::string_view(m.value).substr(MarkerSealer::kOverhead)).value();
}

std::string header(const Headers& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return "<absent>";
}

ports::DeadLetter letter(std::string value, Headers headers = {}) {
  ports::DeadLetter l;
  l.event.origin = {.topic = "fhir.events", .partition = 3, .offset = 41};
  l.event.key = "k";
  l.event.value = std::move(value);
  l.event.headers = std::move(headers);
  l.error_code = "invalid-input";
  l.error_detail = "invalid JSON (at /entry/0)";
  l.original_sha256 = std::string(64, 'a');
  return l;
}

std::string header(const KafkaMessage& m, std::string_view name) { return header(m.headers, name); }

std::size_t count(const KafkaMessage& m, std::string_view name) {
  return static_cast<std::size_t>(std::count_if(m.headers.begin(), m.headers.end(),
                                                [&](const auto& h) { return h.first == name; }));
}

// What librdkafka compares with message.max.bytes, within our own generous bound.
std::size_t wire_size(const KafkaMessage& m) {
  std::size_t size = m.key.size() + m.value.size() + 64;
  for (const auto& [k, v] : m.headers) size += k.size() + v.size() + 10;
  return size;
}

TEST(DeadLetterMessage, ASmallLetterKeepsEverythingSealedAndOnlyOurHeadersInClear) {
  MarkerSealer sealer;
  auto m = dead_letter_message(letter("{not json", {{"fhir-source", "adt"}}), 1000000, sealer);

  const OriginalEvent original = opened(m);
  EXPECT_EQ(original.value, "{not json");
  EXPECT_EQ(original.key, "k");
  EXPECT_EQ(header(original.headers, "fhir-source"), "adt");
  // In clear: the origin as the key, our headers, none of the sender's.
  EXPECT_EQ(m.key, "fhir.events/3");
  EXPECT_EQ(header(m, "fhir-source"), "<absent>");
  EXPECT_EQ(header(m, "original-sealed"), "kek-1");
  EXPECT_EQ(m.headers.front().first, "error-code");
  EXPECT_EQ(header(m, "error-detail"), "invalid JSON (at /entry/0)");
  EXPECT_EQ(header(m, "origin-topic"), "fhir.events");
  EXPECT_EQ(header(m, "origin-partition"), "3");
  EXPECT_EQ(header(m, "origin-offset"), "41");
  EXPECT_EQ(header(m, "original-bytes"), "9");
  EXPECT_EQ(header(m, "original-sha256"), std::string(64, 'a'));
  EXPECT_EQ(header(m, "original-truncated"), "<absent>");
}

TEST(DeadLetterMessage, PackingKeepsEveryByteOfKeyHeadersAndValue) {
  const OriginalEvent original{.key = std::string("k\0ey", 4),
                               .headers = {{"a", ""}, {"", std::string(70000, 'v')}},
                               .value = std::string("\xff\0{", 3)};
  auto back = unpack_original(pack_original(original)).value();
  EXPECT_EQ(back.key, original.key);
  EXPECT_EQ(back.headers, original.headers);
  EXPECT_EQ(back.value, original.value);
  const std::string packed = pack_original(original);
  for (std::size_t size : {std::size_t{0}, std::size_t{3}, std::size_t{12}, std::size_t{20}}) {
    EXPECT_FALSE(unpack_original(std::string_view(packed).substr(0, size))) << size;
  }
}

TEST(DeadLetterMessage, ALetterThatCannotBeSealedKeepsOurHeadersAndNoOriginal) {
  MarkerSealer sealer;
  sealer.fail = true;
  auto m = dead_letter_message(letter("{not json", {{"fhir-source", "adt"}}), 1000000, sealer);
  EXPECT_TRUE(m.value.empty());
  EXPECT_EQ(m.key, "fhir.events/3");
  EXPECT_EQ(header(m, "error-code"), "invalid-input");
  EXPECT_EQ(header(m, "original-truncated"), "value,key,headers");
}

TEST(DeadLetterMessage, InputHeadersUnderOurNamesAreDroppedSoTheyCannotForgeTheReasonOrOrigin) {
  MarkerSealer sealer;
  auto m = dead_letter_message(letter("{}", {{"error-code", "forged"},
                                             {"origin-offset", "0"},
                                             {"original-truncated", "no"},
                                             {"fhir-source", "adt"}}),
                               1000000, sealer);

  EXPECT_EQ(count(m, "error-code"), 1u);
  EXPECT_EQ(header(m, "error-code"), "invalid-input");
  EXPECT_EQ(count(m, "origin-offset"), 1u);
  EXPECT_EQ(header(m, "origin-offset"), "41");
  EXPECT_EQ(count(m, "original-truncated"), 0u);
  const OriginalEvent original = opened(m);
  EXPECT_EQ(original.headers, (Headers{{"fhir-source", "adt"}}));
}

TEST(DeadLetterMessage, AValueOverTheLimitIsCutToFitAndSaysSo) {
  MarkerSealer sealer;
  const std::string big(2 * 1024 * 1024, 'x');
  auto m = dead_letter_message(letter(big), 1000000, sealer);

  EXPECT_LE(wire_size(m), 1000000u);
  const OriginalEvent original = opened(m);
  EXPECT_GT(original.value.size(), 900000u);
  EXPECT_EQ(big.compare(0, original.value.size(), original.value), 0);  // a prefix
  EXPECT_EQ(header(m, "original-truncated"), "value");
  EXPECT_EQ(header(m, "original-bytes"), std::to_string(big.size()));
  EXPECT_EQ(header(m, "original-sha256"), std::string(64, 'a'));
}

TEST(DeadLetterMessage, AHeaderTooLargeForTheTopicIsDroppedAndNamed) {
  MarkerSealer sealer;
  auto m = dead_letter_message(
      letter("{}", {{"fhir-source", "adt"}, {"x-junk", std::string(3 * 1024 * 1024, 'j')}}),
      1000000, sealer);

  EXPECT_LE(wire_size(m), 1000000u);
  const OriginalEvent original = opened(m);
  EXPECT_EQ(original.headers, (Headers{{"fhir-source", "adt"}}));
  EXPECT_EQ(header(m, "original-dropped-headers"), "x-junk");
  EXPECT_EQ(header(m, "original-truncated"), "headers");
  EXPECT_EQ(original.value, "{}");
}

TEST(DeadLetterMessage, AKeyTooLargeIsDroppedAndTheDetailIsCutOnACharacterBoundary) {
  MarkerSealer sealer;
  auto l = letter("{}");
  l.event.key = std::string(40000, 'k');
  l.error_detail = std::string(2047, 'd') + "\xc3\xa9 and more";
  auto m = dead_letter_message(l, 32 * 1024, sealer);

  EXPECT_LE(wire_size(m), 32u * 1024);
  EXPECT_TRUE(opened(m).key.empty());
  EXPECT_EQ(header(m, "original-truncated"), "key");
  EXPECT_EQ(header(m, "error-detail"), std::string(2047, 'd'));
}

TEST(DeadLetterMessage, TheMinimalLetterHasOurHeadersOnly) {
  auto m = minimal_dead_letter_message(letter("{}", {{"fhir-source", "adt"}}));

  EXPECT_TRUE(m.value.empty());
  EXPECT_EQ(m.key, "fhir.events/3");
  EXPECT_EQ(header(m, "fhir-source"), "<absent>");
  EXPECT_EQ(header(m, "error-code"), "invalid-input");
  EXPECT_EQ(header(m, "original-truncated"), "value,key,headers");
}

}  // namespace
}  // namespace fl::kafka
