// The normalize stage with mapping sets: the event's fhir-source picks the set, a failing rule
// dead-letters the event with the rule id, and the set's hash is what the pointer carries.
#include "fl/gateway/stages/mapping_normalizer.h"

#include "fl/gateway/crypto/hash.h"
#include "fl/gateway/pipeline.h"

#include "support/fakes.h"

#include <gtest/gtest.h>

#include <map>

namespace fl::gateway {
namespace {

std::shared_ptr<const mappings::MappingCatalog> catalog(const std::string& status) {
  const std::map<std::string, std::string> files{
      {"/m/acme/mapping.json",
       R"J({"id": "acme", "version": "1", "source": "acme", "resourceTypes": ["Observation"],
            "rules": [
              {"id": "subject", "action": "require", "select": "Observation.subject.exists()",
               "message": "a lab result needs a subject"},
              {"id": "status", "action": "set", "element": "status", "value": ")J" +
           status + R"J("}]})J"}};
  auto compiled = mappings::compile_catalog({"/m/acme/mapping.json"},
                                            [&](const std::string& path) -> Result<std::string> {
                                              auto it = files.find(path);
                                              if (it == files.end())
                                                return Error{ErrorCode::kNotFound, "missing", path};
                                              return it->second;
                                            });
  EXPECT_TRUE(compiled.catalog) << compiled.diagnostics.size();
  return compiled.catalog;
}

ports::Hash32 sha256_of(const std::string& text) {
  const Bytes d =
      crypto::sha256(ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
  ports::Hash32 h{};
  std::copy_n(d.begin(), h.size(), h.begin());
  return h;
}

TEST(MappingNormalizer, MapsBySourceAndReturnsTheSetsHash) {
  auto set_catalog = catalog("final");
  MappingNormalizer normalizer(set_catalog, false);
  rapidjson::Document doc;
  doc.Parse(R"({"resourceType":"Observation","id":"o","subject":{"reference":"Patient/p"}})");

  auto hash = normalizer.normalize("acme", doc, doc.GetAllocator());

  ASSERT_TRUE(hash) << hash.error().message;
  EXPECT_EQ(*hash, sha256_of(set_catalog->find("acme")->canonical_text()));
  EXPECT_NE(*hash, ports::Hash32{});
  EXPECT_STREQ(doc["status"].GetString(), "final");
}

TEST(MappingNormalizer, OtherSourcesPassUnmappedOrAreRefused) {
  MappingNormalizer pass(catalog("final"), false);
  MappingNormalizer refuse(catalog("final"), true);
  rapidjson::Document doc;
  doc.Parse(R"({"resourceType":"Observation","id":"o"})");

  auto passed = pass.normalize("other", doc, doc.GetAllocator());
  auto refused = refuse.normalize("other", doc, doc.GetAllocator());

  ASSERT_TRUE(passed);
  EXPECT_EQ(*passed, ports::Hash32{});
  EXPECT_FALSE(doc.HasMember("status"));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(refused.error().where, "fhir-source");
}

TEST(MappingNormalizer, AReloadedCatalogChangesTheHash) {
  MappingNormalizer normalizer(catalog("final"), false);
  const auto before = normalizer.hash_of("acme");

  normalizer.replace(catalog("amended"));

  ASSERT_TRUE(before && normalizer.hash_of("acme"));
  EXPECT_NE(*before, *normalizer.hash_of("acme"));
}

TEST(MappingNormalizer, ThePipelineAnchorsTheHashAndDeadLettersAFailingRule) {
  testing::FakeEventSource source;
  testing::FakeDeadLetters dead;
  testing::FakeReceipts receipts;
  testing::FakeBlobStore blobs;
  testing::FakeMasterKeyStore master_keys;
  testing::FakePatientDirectory directory;
  testing::FakePointerLedger ledger;
  testing::FakeKeyProvider keys;
  testing::ManualClock clock;
  MappingNormalizer normalizer(catalog("final"), false);
  PermitAllPolicy policy{"default"};
  PipelineOptions options;
  options.retry_backoff = std::chrono::milliseconds(1);
  options.batch_max_wait = std::chrono::milliseconds(1);
  Pipeline pipeline({.source = source,
                     .dead_letters = dead,
                     .receipts = receipts,
                     .blobs = blobs,
                     .master_keys = master_keys,
                     .directory = directory,
                     .ledger = ledger,
                     .keys = keys,
                     .clock = clock},
                    normalizer, policy, options);
  source.push(R"({"resourceType":"Observation","id":"o1","subject":{"reference":"Patient/p"}})",
              {{"fhir-source", "acme"}});
  source.push(R"({"resourceType":"Observation","id":"o2"})", {{"fhir-source", "acme"}});
  source.push(R"({"resourceType":"Observation","id":"o3"})", {{"fhir-source", "elsewhere"}});
  std::atomic<bool> stop{false};

  auto handled = pipeline.run_once(stop);

  ASSERT_TRUE(handled) << handled.error().message;
  ASSERT_EQ(ledger.submitted.size(), 2u);
  EXPECT_EQ(ledger.submitted[0].mapping_hash, *normalizer.hash_of("acme"));
  EXPECT_EQ(ledger.submitted[1].mapping_hash, ports::Hash32{});
  ASSERT_EQ(dead.letters.size(), 1u);
  EXPECT_EQ(dead.letters[0].event.origin.offset, 1);
  EXPECT_EQ(dead.letters[0].error_code, "invalid-input");
  EXPECT_NE(dead.letters[0].error_detail.find("mapping rule 'subject'"), std::string::npos)
      << dead.letters[0].error_detail;
  EXPECT_EQ(source.committed(), 3);
}

}  // namespace
}  // namespace fl::gateway
