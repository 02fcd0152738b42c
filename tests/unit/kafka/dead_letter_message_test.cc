#include "fl/adapters/kafka/dead_letter_message.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace fl::kafka {
namespace {

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

std::string header(const KafkaMessage& m, std::string_view name) {
  for (const auto& [k, v] : m.headers) {
    if (k == name) return v;
  }
  return "<absent>";
}

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

TEST(DeadLetterMessage, ASmallLetterKeepsEverythingAndOurHeadersComeFirst) {
  auto m = dead_letter_message(letter("{not json", {{"fhir-source", "adt"}}), 1000000);

  EXPECT_EQ(m.value, "{not json");
  EXPECT_EQ(m.key, "k");
  EXPECT_EQ(m.headers.front().first, "error-code");
  EXPECT_EQ(header(m, "error-detail"), "invalid JSON (at /entry/0)");
  EXPECT_EQ(header(m, "origin-topic"), "fhir.events");
  EXPECT_EQ(header(m, "origin-partition"), "3");
  EXPECT_EQ(header(m, "origin-offset"), "41");
  EXPECT_EQ(header(m, "original-bytes"), "9");
  EXPECT_EQ(header(m, "original-sha256"), std::string(64, 'a'));
  EXPECT_EQ(header(m, "fhir-source"), "adt");
  EXPECT_EQ(header(m, "original-truncated"), "<absent>");
}

TEST(DeadLetterMessage, InputHeadersUnderOurNamesAreDroppedSoTheyCannotForgeTheReasonOrOrigin) {
  auto m = dead_letter_message(letter("{}", {{"error-code", "forged"},
                                             {"origin-offset", "0"},
                                             {"original-truncated", "no"},
                                             {"fhir-source", "adt"}}),
                               1000000);

  EXPECT_EQ(count(m, "error-code"), 1u);
  EXPECT_EQ(header(m, "error-code"), "invalid-input");
  EXPECT_EQ(count(m, "origin-offset"), 1u);
  EXPECT_EQ(header(m, "origin-offset"), "41");
  EXPECT_EQ(count(m, "original-truncated"), 0u);
  EXPECT_EQ(header(m, "fhir-source"), "adt");
}

TEST(DeadLetterMessage, AValueOverTheLimitIsCutToFitAndSaysSo) {
  const std::string big(2 * 1024 * 1024, 'x');
  auto m = dead_letter_message(letter(big), 1000000);

  EXPECT_LE(wire_size(m), 1000000u);
  EXPECT_GT(m.value.size(), 900000u);
  EXPECT_EQ(big.compare(0, m.value.size(), m.value), 0);  // a prefix of the original
  EXPECT_EQ(header(m, "original-truncated"), "value");
  EXPECT_EQ(header(m, "original-bytes"), std::to_string(big.size()));
  EXPECT_EQ(header(m, "original-sha256"), std::string(64, 'a'));
}

TEST(DeadLetterMessage, AHeaderTooLargeForTheTopicIsDroppedAndNamed) {
  auto m = dead_letter_message(
      letter("{}", {{"fhir-source", "adt"}, {"x-junk", std::string(3 * 1024 * 1024, 'j')}}),
      1000000);

  EXPECT_LE(wire_size(m), 1000000u);
  EXPECT_EQ(header(m, "x-junk"), "<absent>");
  EXPECT_EQ(header(m, "fhir-source"), "adt");
  EXPECT_EQ(header(m, "original-dropped-headers"), "x-junk");
  EXPECT_EQ(header(m, "original-truncated"), "headers");
  EXPECT_EQ(m.value, "{}");
}

TEST(DeadLetterMessage, AKeyTooLargeIsDroppedAndTheDetailIsCutOnACharacterBoundary) {
  auto l = letter("{}");
  l.event.key = std::string(40000, 'k');
  l.error_detail = std::string(2047, 'd') + "\xc3\xa9 and more";
  auto m = dead_letter_message(l, 32 * 1024);

  EXPECT_LE(wire_size(m), 32u * 1024);
  EXPECT_TRUE(m.key.empty());
  EXPECT_EQ(header(m, "original-truncated"), "key");
  EXPECT_EQ(header(m, "error-detail"), std::string(2047, 'd'));
}

TEST(DeadLetterMessage, TheMinimalLetterHasOurHeadersOnly) {
  auto m = minimal_dead_letter_message(letter("{}", {{"fhir-source", "adt"}}));

  EXPECT_TRUE(m.value.empty());
  EXPECT_TRUE(m.key.empty());
  EXPECT_EQ(header(m, "fhir-source"), "<absent>");
  EXPECT_EQ(header(m, "error-code"), "invalid-input");
  EXPECT_EQ(header(m, "original-truncated"), "value,key,headers");
}

}  // namespace
}  // namespace fl::kafka
