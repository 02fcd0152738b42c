// AES-GCM through our wrapper against every Wycheproof AES-GCM vector (valid and invalid).
#include "fl/gateway/crypto/aead.h"

#include "support/corpus.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <cstdio>

namespace fl::gateway::crypto {
namespace {

Bytes hex(const rapidjson::Value& v) { return parse_hex(v.GetString()).value(); }

TEST(AesGcm, PassesEveryWycheproofVector) {
  rapidjson::Document doc;
  doc.Parse(testing::read_file(testing::corpus_path("wycheproof/testvectors_v1/aes_gcm_test.json"))
                .c_str());
  ASSERT_FALSE(doc.HasParseError());
  int valid = 0;
  int invalid = 0;
  int skipped = 0;
  for (const auto& group : doc["testGroups"].GetArray()) {
    ASSERT_EQ(group["tagSize"].GetInt(), 128);  // the only tag size we support
    for (const auto& t : group["tests"].GetArray()) {
      const Bytes key = hex(t["key"]), iv = hex(t["iv"]), aad = hex(t["aad"]), msg = hex(t["msg"]);
      Bytes sealed = hex(t["ct"]);
      const Bytes tag = hex(t["tag"]);
      sealed.insert(sealed.end(), tag.begin(), tag.end());
      const int id = t["tcId"].GetInt();
      auto opened = aes_gcm_open(key, iv, aad, sealed);
      if (std::string(t["result"].GetString()) == "valid" && iv.size() > 128) {
        // OpenSSL 3's GCM takes IVs up to 1024 bits; our envelope always uses 96. The refusal
        // must still be an error, never a wrong ciphertext.
        ++skipped;
        EXPECT_FALSE(aes_gcm_seal(key, iv, aad, msg)) << "tcId " << id;
        continue;
      }
      if (std::string(t["result"].GetString()) == "valid") {
        ++valid;
        auto encrypted = aes_gcm_seal(key, iv, aad, msg);
        ASSERT_TRUE(encrypted) << "tcId " << id;
        EXPECT_EQ(*encrypted, sealed) << "tcId " << id;
        ASSERT_TRUE(opened) << "tcId " << id;
        EXPECT_EQ(*opened, msg) << "tcId " << id;
      } else {
        ++invalid;
        EXPECT_FALSE(opened) << "tcId " << id << " must be refused";
      }
    }
  }
  EXPECT_EQ(valid + invalid + skipped, doc["numberOfTests"].GetInt());
  EXPECT_LE(skipped, 3);  // the three 2056-bit-IV vectors
  EXPECT_GT(invalid, 0);
  std::printf("wycheproof aes-gcm: %d valid, %d invalid, %d skipped (IV > 1024 bits)\n", valid,
              invalid, skipped);
}

TEST(AesGcm, OneReusedContextPassesEveryWycheproofVectorInTurn) {
  // The sealer keeps one AesGcm for its lifetime: no state may leak from one call to the next,
  // whatever key size, nonce length or failure came before.
  auto gcm = AesGcm::create();
  ASSERT_TRUE(gcm);
  rapidjson::Document doc;
  doc.Parse(testing::read_file(testing::corpus_path("wycheproof/testvectors_v1/aes_gcm_test.json"))
                .c_str());
  ASSERT_FALSE(doc.HasParseError());
  int checked = 0;
  for (const auto& group : doc["testGroups"].GetArray()) {
    for (const auto& t : group["tests"].GetArray()) {
      const Bytes key = hex(t["key"]), iv = hex(t["iv"]), aad = hex(t["aad"]), msg = hex(t["msg"]);
      if (iv.size() > 128) continue;
      Bytes sealed = hex(t["ct"]);
      const Bytes tag = hex(t["tag"]);
      sealed.insert(sealed.end(), tag.begin(), tag.end());
      const int id = t["tcId"].GetInt();
      Bytes opened(sealed.size() - kGcmTagBytes);
      const bool valid = std::string(t["result"].GetString()) == "valid";
      EXPECT_EQ(static_cast<bool>((*gcm)->open(key, iv, aad, sealed, opened)), valid)
          << "tcId " << id;
      if (!valid) continue;
      EXPECT_EQ(opened, msg) << "tcId " << id;
      Bytes encrypted(msg.size() + kGcmTagBytes);
      ASSERT_TRUE((*gcm)->seal(key, iv, aad, msg, encrypted)) << "tcId " << id;
      EXPECT_EQ(encrypted, sealed) << "tcId " << id;
      ++checked;
    }
  }
  EXPECT_GT(checked, 200);
}

TEST(AesGcm, ATamperedCiphertextTagOrAadIsAnIntegrityError) {
  const Bytes key(32, 7), nonce(12, 9), aad = {1, 2, 3}, msg = {'h', 'e', 'l', 'l', 'o'};
  const Bytes sealed = *aes_gcm_seal(key, nonce, aad, msg);

  for (std::size_t i = 0; i < sealed.size(); ++i) {
    Bytes tampered = sealed;
    tampered[i] ^= 0x01;
    auto opened = aes_gcm_open(key, nonce, aad, tampered);
    ASSERT_FALSE(opened) << "flipped byte " << i;
    EXPECT_EQ(opened.error().code, ErrorCode::kIntegrity);
  }
  EXPECT_FALSE(aes_gcm_open(key, nonce, Bytes{1, 2, 4}, sealed));
  EXPECT_FALSE(aes_gcm_open(key, nonce, aad, ByteView(sealed).first(10)));
}

TEST(AesGcm, RefusesBadKeySizesAndEmptyNonces) {
  EXPECT_FALSE(aes_gcm_seal(Bytes(31, 0), Bytes(12, 0), {}, Bytes{1}));
  EXPECT_FALSE(aes_gcm_seal(Bytes(32, 0), Bytes{}, {}, Bytes{1}));
}

}  // namespace
}  // namespace fl::gateway::crypto
