// AES-GCM through our wrapper against every Wycheproof AES-GCM vector (valid and invalid).
#include "fl/gateway/crypto/aead.h"

#include "support/corpus.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <cstdio>

namespace fl::gateway::crypto {
namespace {

Bytes hex(const rapidjson::Value& v) { return parse_hex(v.GetString()).value(); }

struct Vector {
  int id = 0;
  Bytes key, iv, aad, msg;
  Bytes sealed;  // ct || tag
  bool valid = false;
};

// Every Wycheproof AES-GCM vector, in file order; the file's numberOfTests beside them.
const std::vector<Vector>& vectors(int* declared = nullptr) {
  static int number_of_tests = 0;
  static const std::vector<Vector> all = [] {
    rapidjson::Document doc;
    doc.Parse(
        testing::read_file(testing::corpus_path("wycheproof/testvectors_v1/aes_gcm_test.json"))
            .c_str());
    std::vector<Vector> out;
    if (doc.HasParseError()) return out;
    number_of_tests = doc["numberOfTests"].GetInt();
    for (const auto& group : doc["testGroups"].GetArray()) {
      if (group["tagSize"].GetInt() != 128) continue;  // counted as missing below
      for (const auto& t : group["tests"].GetArray()) {
        Vector v{.id = t["tcId"].GetInt(),
                 .key = hex(t["key"]),
                 .iv = hex(t["iv"]),
                 .aad = hex(t["aad"]),
                 .msg = hex(t["msg"]),
                 .sealed = hex(t["ct"]),
                 .valid = std::string(t["result"].GetString()) == "valid"};
        const Bytes tag = hex(t["tag"]);
        v.sealed.insert(v.sealed.end(), tag.begin(), tag.end());
        out.push_back(std::move(v));
      }
    }
    return out;
  }();
  if (declared != nullptr) *declared = number_of_tests;
  return all;
}

TEST(AesGcm, PassesEveryWycheproofVector) {
  int declared = 0;
  const auto& all = vectors(&declared);
  int valid = 0;
  int invalid = 0;
  int skipped = 0;
  for (const Vector& v : all) {
    auto opened = aes_gcm_open(v.key, v.iv, v.aad, v.sealed);
    if (v.valid && v.iv.size() > 128) {
      // OpenSSL 3's GCM takes IVs up to 1024 bits; our envelope always uses 96. The refusal
      // must still be an error, never a wrong ciphertext.
      ++skipped;
      EXPECT_FALSE(aes_gcm_seal(v.key, v.iv, v.aad, v.msg)) << "tcId " << v.id;
      continue;
    }
    if (v.valid) {
      ++valid;
      auto encrypted = aes_gcm_seal(v.key, v.iv, v.aad, v.msg);
      ASSERT_TRUE(encrypted) << "tcId " << v.id;
      EXPECT_EQ(*encrypted, v.sealed) << "tcId " << v.id;
      ASSERT_TRUE(opened) << "tcId " << v.id;
      EXPECT_EQ(*opened, v.msg) << "tcId " << v.id;
    } else {
      ++invalid;
      EXPECT_FALSE(opened) << "tcId " << v.id << " must be refused";
    }
  }
  // Every vector is here: none of another tag size (the only one we support is 128 bits).
  EXPECT_EQ(valid + invalid + skipped, declared);
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
  int checked = 0;
  for (const Vector& v : vectors()) {
    if (v.iv.size() > 128) continue;
    Bytes opened(v.sealed.size() - kGcmTagBytes);
    EXPECT_EQ(static_cast<bool>((*gcm)->open(v.key, v.iv, v.aad, v.sealed, opened)), v.valid)
        << "tcId " << v.id;
    if (!v.valid) continue;
    EXPECT_EQ(opened, v.msg) << "tcId " << v.id;
    Bytes encrypted(v.msg.size() + kGcmTagBytes);
    ASSERT_TRUE((*gcm)->seal(v.key, v.iv, v.aad, v.msg, encrypted)) << "tcId " << v.id;
    EXPECT_EQ(encrypted, v.sealed) << "tcId " << v.id;
    ++checked;
  }
  EXPECT_GT(checked, 200);
}

TEST(AesGcm, AnAadGivenInPartsIsTheirConcatenation) {
  auto gcm = AesGcm::create();
  ASSERT_TRUE(gcm);
  int checked = 0;
  for (const Vector& v : vectors()) {
    if (v.iv.size() > 128 || v.aad.size() < 2 || !v.valid) continue;
    for (std::size_t cut : {std::size_t{1}, v.aad.size() / 2, v.aad.size() - 1}) {
      const ByteView head = ByteView(v.aad).first(cut), tail = ByteView(v.aad).subspan(cut);
      Bytes encrypted(v.msg.size() + kGcmTagBytes);
      ASSERT_TRUE((*gcm)->seal(v.key, v.iv, {head, ByteView{}, tail}, v.msg, encrypted));
      EXPECT_EQ(encrypted, v.sealed) << "tcId " << v.id << " cut at " << cut;
      Bytes opened(v.msg.size());
      EXPECT_TRUE((*gcm)->open(v.key, v.iv, {head, tail}, v.sealed, opened)) << "tcId " << v.id;
      EXPECT_EQ(opened, v.msg) << "tcId " << v.id;
    }
    ++checked;
  }
  EXPECT_GT(checked, 20);
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
