// The topic key: what dead letters and receipts carry sealed opens with the KEK alone, for its
// own context only, and not at all once altered. AES-256-GCM itself is checked against
// Wycheproof in aead_test.cc.
#include "fl/gateway/crypto/topic_sealer.h"

#include "support/fakes.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace fl::gateway::crypto {
namespace {

constexpr std::string_view kPlain =
    R"({"source":"https://ehr-a.example/fhir","reference":"Patient/23"})";

bool contains(ByteView haystack, std::string_view needle) {
  return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end()) !=
         haystack.end();
}

TEST(TopicSealer, ASealedFormOpensWithTheKeyProviderAloneAndShowsNoPlaintext) {
  testing::FakeKeyProvider keys;
  auto sealer = make_topic_sealer(keys, "default").value();
  const Bytes sealed = sealer->seal("receipt", as_bytes(kPlain)).value();

  EXPECT_EQ(sealed.size(), kPlain.size() + sealer->overhead());
  EXPECT_EQ(sealer->key_id(), "test-kek-1");
  EXPECT_FALSE(contains(sealed, "Patient/23"));
  EXPECT_FALSE(contains(sealed, "ehr-a"));
  // Another process (the report, `unseal`) holds no state of the sealer's: the KEK suffices.
  testing::FakeKeyProvider elsewhere;
  EXPECT_EQ(as_chars(open_sealed(elsewhere, "receipt", sealed).value()), kPlain);
}

TEST(TopicSealer, TheSamePlaintextSealsDifferentlyEachTime) {
  testing::FakeKeyProvider keys;
  auto sealer = make_topic_sealer(keys, "default").value();
  EXPECT_NE(sealer->seal("receipt", as_bytes(kPlain)).value(),
            sealer->seal("receipt", as_bytes(kPlain)).value());
}

TEST(TopicSealer, AnotherContextAnAlteredByteOrACutFormDoesNotOpen) {
  testing::FakeKeyProvider keys;
  auto sealer = make_topic_sealer(keys, "default").value();
  const Bytes sealed = sealer->seal("receipt", as_bytes(kPlain)).value();

  EXPECT_EQ(open_sealed(keys, "dead-letter", sealed).error().code, ErrorCode::kIntegrity);
  for (std::size_t at : {std::size_t{6}, sealed.size() - kPlain.size() - 20, sealed.size() - 1}) {
    Bytes altered = sealed;
    altered[at] ^= 0x01;
    EXPECT_FALSE(open_sealed(keys, "receipt", altered)) << "byte " << at;
  }
  for (std::size_t size : {std::size_t{0}, std::size_t{3}, std::size_t{40}, sealed.size() - 1}) {
    EXPECT_FALSE(open_sealed(keys, "receipt", ByteView(sealed).first(size))) << size;
  }
  EXPECT_EQ(open_sealed(keys, "receipt", as_bytes("FLB2 a blob")).error().code,
            ErrorCode::kIntegrity);
}

TEST(TopicSealer, ARetiredKekNoLongerOpensWhatItSealed) {
  testing::FakeKeyProvider keys;
  auto sealer = make_topic_sealer(keys, "default").value();
  const Bytes sealed = sealer->seal("dead-letter", as_bytes(kPlain)).value();
  keys.retired.insert("test-kek-1");
  EXPECT_EQ(open_sealed(keys, "dead-letter", sealed).error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace fl::gateway::crypto
