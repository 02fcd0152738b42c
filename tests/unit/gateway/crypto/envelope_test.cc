// The version-2 envelope: random nonces, data keys from the patient's master key, and every
// byte and every part of the blob's place bound by the tag.
#include "fl/gateway/crypto/envelope.h"

#include "fl/gateway/crypto/aead.h"
#include "fl/gateway/crypto/hash.h"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

namespace fl::gateway::crypto {
namespace {

constexpr std::string_view kPlain = R"({"id":"p1","resourceType":"Patient"})";
const Bytes kContext = {1, 2, 3, 4};

class EnvelopeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sealer = std::move(Sealer::create().value());
    key = std::move(sealer->master_key("mk-0011223344556677", raw()).value());
    Digest resource_key{};
    resource_key.fill(0xab);
    info = data_key_info(resource_key, 7);
  }
  static const SecretBytes& raw() {
    static const SecretBytes k(Bytes(32, 0x5a));
    return k;
  }
  Bytes seal(ByteView plain = as_bytes(kPlain)) {
    return sealer->seal(key, info, kContext, plain).value();
  }

  std::unique_ptr<Sealer> sealer;
  MasterKey key;
  Bytes info;
};

TEST_F(EnvelopeTest, RoundTripsAndNamesItsMasterKey) {
  const Bytes blob = seal();

  auto opened = sealer->open(key, info, blob, kContext);

  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_EQ(as_chars(*opened), kPlain);
  EXPECT_EQ(*sealed_key_id(blob), "mk-0011223344556677");
  EXPECT_EQ(std::string(as_chars(ByteView(blob).first(4))), "FLB2");
  EXPECT_EQ(blob.size(), 4 + 1 + 19 + 12 + kPlain.size() + 16);
}

TEST_F(EnvelopeTest, NoncesAreRandomSoSealingTwiceGivesTwoBlobsThatBothOpen) {
  const Bytes a = seal();
  const Bytes b = seal();

  EXPECT_NE(a, b);
  constexpr std::size_t kNonceAt = 4 + 1 + 19;
  EXPECT_FALSE(std::equal(a.begin() + kNonceAt, a.begin() + kNonceAt + 12, b.begin() + kNonceAt));
  EXPECT_TRUE(sealer->open(key, info, a, kContext));
  EXPECT_TRUE(sealer->open(key, info, b, kContext));
}

TEST_F(EnvelopeTest, AForkedChildNeverReusesTheParentsNonces) {
  // Nonces are drawn in batches; a child must not hand out the batch its parent holds.
  constexpr std::size_t kNonceAt = 4 + 1 + 19;
  auto nonce_of = [](const Bytes& blob) {
    return Bytes(blob.begin() + kNonceAt, blob.begin() + kNonceAt + kNonceBytes);
  };
  seal();  // the batch is drawn here, before the fork
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const Bytes nonce = nonce_of(seal());
    const bool sent =
        ::write(pipe_fds[1], nonce.data(), nonce.size()) == static_cast<ssize_t>(nonce.size());
    ::_exit(sent ? 0 : 1);
  }
  ::close(pipe_fds[1]);
  Bytes child_nonce(kNonceBytes);
  const ssize_t got = ::read(pipe_fds[0], child_nonce.data(), child_nonce.size());
  ::close(pipe_fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_EQ(got, static_cast<ssize_t>(kNonceBytes));

  EXPECT_NE(child_nonce, nonce_of(seal()));
}

TEST_F(EnvelopeTest, AFlippedBitAnywhereIsDetected) {
  const Bytes blob = seal();

  for (std::size_t i = 0; i < blob.size(); ++i) {
    Bytes tampered = blob;
    tampered[i] ^= 0x80;
    auto opened = sealer->open(key, info, tampered, kContext);
    ASSERT_FALSE(opened) << "byte " << i;
    EXPECT_EQ(opened.error().code, ErrorCode::kIntegrity) << "byte " << i;
  }
}

TEST_F(EnvelopeTest, AnotherPlaceVersionOrMasterKeyDoesNotOpen) {
  const Bytes blob = seal();
  Digest other_resource{};
  other_resource.fill(0xab);

  EXPECT_FALSE(sealer->open(key, info, blob, Bytes{1, 2, 3, 5}));                     // moved
  EXPECT_FALSE(sealer->open(key, data_key_info(other_resource, 8), blob, kContext));  // version
  auto other = sealer->master_key("mk-0011223344556677", SecretBytes(Bytes(32, 0x5b))).value();
  EXPECT_FALSE(sealer->open(other, info, blob, kContext));  // same id, other key (shredded)
  auto renamed = sealer->master_key("mk-ffffffffffffffff", raw()).value();
  auto refused = sealer->open(renamed, info, blob, kContext);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kIntegrity);
}

TEST_F(EnvelopeTest, OpensWithOpenSslsOwnHkdfAndAesGcm) {
  // The format as documented, rebuilt from OpenSSL's HKDF (RFC 5869) and the AEAD wrapper.
  const Bytes blob = seal();
  constexpr std::size_t kHeader = 4 + 1 + 19 + 12;
  const auto data_key = hkdf_sha256(raw().view(), as_bytes("fhir-ledger/data-key/v2"), info, 32);
  ASSERT_TRUE(data_key);
  Bytes aad(blob.begin(), blob.begin() + kHeader);
  for (std::uint8_t b : kContext) aad.push_back(b);  // (insert trips g++ 12's -Warray-bounds)

  auto plain = aes_gcm_open(data_key->view(), ByteView(blob).subspan(kHeader - 12, 12), aad,
                            ByteView(blob).subspan(kHeader));

  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_EQ(as_chars(*plain), kPlain);
}

TEST_F(EnvelopeTest, TheContentHashIsSha256OfTheBlob) {
  const Bytes blob = seal();
  const Bytes expected = sha256(blob);

  const Digest got = sealer->content_hash(blob);

  EXPECT_TRUE(std::equal(got.begin(), got.end(), expected.begin()));
}

TEST_F(EnvelopeTest, RefusesMalformedKeysAndHeaders) {
  EXPECT_FALSE(sealer->master_key("mk", SecretBytes(Bytes(16, 1))));
  EXPECT_FALSE(sealer->master_key("has space", raw()));
  EXPECT_FALSE(sealer->master_key("", raw()));
  EXPECT_EQ(sealer->open(key, info, Bytes{'F', 'L', 'B', '1', 0}, kContext).error().code,
            ErrorCode::kIntegrity);
  EXPECT_FALSE(sealed_key_id(Bytes{'F', 'L', 'B', '2', 40, 'x'}));
}

TEST_F(EnvelopeTest, SealsAnEmptyAndALargeResource) {
  const Bytes big(1 << 20, 'x');
  for (const Bytes& plain : {Bytes{}, big}) {
    const Bytes blob = seal(plain);
    auto opened = sealer->open(key, info, blob, kContext);
    ASSERT_TRUE(opened);
    EXPECT_EQ(*opened, plain);
  }
}

}  // namespace
}  // namespace fl::gateway::crypto
