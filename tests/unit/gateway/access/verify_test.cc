// The verify service on fakes: each link of blob -> pointer record -> chain is checked, and a
// broken one is named. Against anvil and Redis: tests/integration/pipeline/ledger_verify_test.cc.
#include "fl/gateway/verify.h"

#include "fl/gateway/crypto/hash.h"
#include "fl/gateway/pointer_record.h"

#include "support/fakes.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace fl::gateway {
namespace {

// Answers what the test says the chain holds.
class ScriptedLedger final : public ports::LedgerReader {
 public:
  ports::Hash32 stored{};     // the contract's storage for the version
  bool event_matches = true;  // an Anchored event carries every field
  ports::Hash32 leads_to{};   // where a proof leads
  std::optional<ports::AnchoredRoot> root;
  bool contract_agrees = true;

  Result<ports::Hash32> content_hash_of(const ports::Hash32&, std::uint64_t) override {
    return stored;
  }
  Result<bool> anchored_with(const ports::Pointer&) override { return event_matches; }
  Result<ports::Hash32> proof_root(const ports::Pointer&, const ports::InclusionProof&) override {
    return leads_to;
  }
  Result<std::optional<ports::AnchoredRoot>> anchored_root(const ports::Hash32&) override {
    return root;
  }
  Result<bool> contract_verifies(const ports::Pointer&, const ports::InclusionProof&) override {
    return contract_agrees;
  }
};

class VerifyService : public ::testing::Test {
 protected:
  // Stores `blob` in region "eu" with a pointer record for version 3 of `key_`.
  void store(const Bytes& blob, ports::AnchorMode mode) {
    const Bytes digest = crypto::sha256(blob);
    std::copy(digest.begin(), digest.end(), record_.pointer.content_hash.begin());
    record_.pointer.resource_key = key_;
    record_.pointer.version = 3;
    record_.pointer.region = "eu";
    record_.pointer.key_id = "mk-1";
    record_.pointer.mode = mode;
    record_.tx_hash = "0x" + std::string(64, 'a');
    record_.block = 9;
    if (mode == ports::AnchorMode::kMerkle) {
      record_.proof = ports::InclusionProof{
          .root = root_, .index = 1, .leaf_count = 2, .siblings = {ports::Hash32{}}};
    }
    ASSERT_TRUE(blobs_
                    .put_if_absent_streamed("eu", 1,
                                            [&](std::size_t) -> Result<ports::BlobWrite> {
                                              return ports::BlobWrite{.key = to_hex(digest),
                                                                      .blob = blob,
                                                                      .resource_key = to_hex(key_),
                                                                      .version = 3};
                                            })
                    .has_value());
    const ports::PointerRecordWrite write{
        .resource_key = to_hex(key_), .version = 3, .json = to_json(record_)};
    ASSERT_TRUE(blobs_.put_pointer_records("eu", {&write, 1}));
  }

  Result<Verification> verify() {
    return verify_resource(ledger_, blobs_, {"us", "eu"}, key_, std::nullopt);
  }

  ports::Hash32 key_{0x11};
  ports::Hash32 root_{0x22};
  PointerRecord record_;
  testing::FakeBlobStore blobs_;
  ScriptedLedger ledger_;
};

TEST_F(VerifyService, APointerModeVersionIsCheckedFromBlobToEvent) {
  store(Bytes{1, 2, 3}, ports::AnchorMode::kPointer);
  ledger_.stored = record_.pointer.content_hash;

  auto v = verify();

  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(v->version, 3u);
  EXPECT_EQ(v->mode, "pointer");
  EXPECT_EQ(v->region, "eu");
  EXPECT_EQ(v->block, 9u);
  EXPECT_EQ(v->checks.size(), 3u);
}

TEST_F(VerifyService, EachBrokenLinkIsAnIntegrityErrorThatNamesIt) {
  store(Bytes{1, 2, 3}, ports::AnchorMode::kPointer);
  auto none = verify();  // the chain holds nothing for the version
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, ErrorCode::kIntegrity);
  EXPECT_NE(none.error().message.find("no pointer for version 3 on chain"), std::string::npos);

  ledger_.stored = ports::Hash32{0x99};
  auto other = verify();
  ASSERT_FALSE(other);
  EXPECT_NE(other.error().message.find("the chain holds content hash"), std::string::npos);

  ledger_.stored = record_.pointer.content_hash;
  ledger_.event_matches = false;
  auto event = verify();
  ASSERT_FALSE(event);
  EXPECT_NE(event.error().message.find("no Anchored event"), std::string::npos);
}

TEST_F(VerifyService, AnAlteredBlobIsFoundBeforeTheChainIsAsked) {
  store(Bytes{1, 2, 3}, ports::AnchorMode::kPointer);
  // Another blob under the same content address: what an attacker with Redis access could do.
  auto stored = blobs_.blobs_in("eu");
  ASSERT_EQ(stored.size(), 1u);
  testing::FakeBlobStore tampered;
  ASSERT_TRUE(tampered
                  .put_if_absent_streamed("eu", 1,
                                          [&](std::size_t) -> Result<ports::BlobWrite> {
                                            return ports::BlobWrite{.key = stored.begin()->first,
                                                                    .blob = Bytes{9, 9, 9},
                                                                    .resource_key = to_hex(key_),
                                                                    .version = 3};
                                          })
                  .has_value());
  const ports::PointerRecordWrite write{
      .resource_key = to_hex(key_), .version = 3, .json = to_json(record_)};
  ASSERT_TRUE(tampered.put_pointer_records("eu", {&write, 1}));
  ledger_.stored = record_.pointer.content_hash;

  auto v = verify_resource(ledger_, tampered, {"eu"}, key_, 3);

  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code, ErrorCode::kIntegrity);
  EXPECT_NE(v.error().message.find("the blob was altered"), std::string::npos);
}

TEST_F(VerifyService, AMerkleVersionNeedsItsProofItsRootOnChainAndTheContractsAgreement) {
  store(Bytes{4, 5}, ports::AnchorMode::kMerkle);
  ledger_.leads_to = root_;
  auto unanchored = verify();
  ASSERT_FALSE(unanchored);
  EXPECT_NE(unanchored.error().message.find("is not anchored on chain"), std::string::npos);

  ledger_.root = ports::AnchoredRoot{.block = 12, .leaf_count = 3};
  auto count = verify();
  ASSERT_FALSE(count);
  EXPECT_NE(count.error().message.find("over 3 leaves, the proof says 2"), std::string::npos);

  ledger_.root->leaf_count = 2;
  ledger_.contract_agrees = false;
  EXPECT_FALSE(verify());

  ledger_.contract_agrees = true;
  auto v = verify();
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(v->mode, "merkle");
  EXPECT_NE(v->checks.at(2).find("block 12"), std::string::npos);

  ledger_.leads_to = ports::Hash32{0x33};
  auto wrong = verify();
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().message.find("does not lead to the recorded root"), std::string::npos);
}

TEST_F(VerifyService, AResourceNoRegionHoldsIsNotFound) {
  auto v = verify();
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace fl::gateway
