// The ingest decision over the shipped bundle: residency from the patient's country in the
// bundle's order, and shadow mode, which never enforces the candidate but counts and audits
// every decision it would make differently.
#include "fl/gateway/stages/decide_stage.h"

#include "fl/base/bytes.h"
#include "fl/gateway/mapping_files.h"
#include "fl/gateway/policy/policy_compiler.h"

#include "support/corpus.h"
#include "support/fakes.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

namespace fl::gateway {
namespace {

std::shared_ptr<const policy::PolicyBundle> shipped() {
  static const auto bundle = [] {
    auto compiled = policy::compile_policy_bundle(
        (testing::source_root() / "config" / "policies" / "example-cross-border.json").string(),
        file_reader());
    EXPECT_TRUE(compiled.bundle);
    return compiled.bundle;
  }();
  return bundle;
}

rapidjson::Document parse(const char* json) {
  rapidjson::Document doc;
  doc.Parse(json);
  return doc;
}

TEST(BundlePolicy, ResidencyFollowsThePatientsAddressThenTheRecordThenTheHeader) {
  BundlePolicy policy(shipped());
  const auto patient = parse(R"({"resourceType":"Patient","address":[{"country":"FR"}]})");
  const auto observation = parse(R"({"resourceType":"Observation"})");

  auto own = policy.decide_ingest(
      {.resource_type = "Patient", .resource = &patient, .jurisdiction_header = "US"});
  auto recorded = policy.decide_ingest({.resource_type = "Observation",
                                        .resource = &observation,
                                        .jurisdiction_header = "DE",
                                        .recorded_country = "US"});
  auto by_header = policy.decide_ingest(
      {.resource_type = "Observation", .resource = &observation, .jurisdiction_header = "RU"});
  auto unknown = policy.decide_ingest({.resource_type = "Observation", .resource = &observation});

  ASSERT_TRUE(own && recorded && by_header && unknown);
  EXPECT_TRUE(own->permit);
  EXPECT_EQ(own->region, "eu");
  EXPECT_EQ(own->country, "FR");
  EXPECT_EQ(own->patient_address_country, "FR");
  EXPECT_EQ(own->rule_ids, std::vector<std::string>{"eea-store-in-eu"});
  EXPECT_EQ(own->policy_hash, shipped()->hash);
  EXPECT_EQ(recorded->region, "us");
  EXPECT_EQ(by_header->region, "ru");
  EXPECT_FALSE(unknown->permit);
  EXPECT_EQ(unknown->rule_ids, std::vector<std::string>{"undetermined-jurisdiction"});
}

TEST(BundlePolicy, APermitWithoutAStorageRegionIsNotCarriedOut) {
  // Without a default region, a Swiss patient (adequacy, no region of its own) has nowhere to go.
  auto no_default = std::make_shared<policy::PolicyBundle>(*shipped());
  no_default->default_region.clear();
  BundlePolicy policy(no_default);
  const auto swiss = parse(R"({"resourceType":"Patient","address":[{"country":"CH"}]})");

  auto decided = policy.decide_ingest({.resource_type = "Patient", .resource = &swiss});

  ASSERT_TRUE(decided);
  EXPECT_FALSE(decided->permit);
  EXPECT_EQ(decided->rule_ids, std::vector<std::string>{"no-storage-region"});
}

TEST(BundlePolicy, AShadowCandidateIsNeverEnforcedAndEachDifferenceIsCountedAndAudited) {
  // The candidate: the shipped rules with a permitting default (so a Brazilian patient would be
  // stored), under a hash of its own.
  auto candidate = std::make_shared<policy::PolicyBundle>(*shipped());
  candidate->default_effect = policy::Effect::kPermit;
  candidate->hash[0] ^= 0xff;
  testing::FakeAuditLog audit;
  BundlePolicy policy(shipped(), candidate, &audit);
  const auto brazil = parse(R"({"resourceType":"Patient","address":[{"country":"BR"}]})");
  const auto germany = parse(R"({"resourceType":"Patient","address":[{"country":"DE"}]})");

  const ports::Hash32 key{0xab, 0x12};
  auto denied =
      policy.decide_ingest({.resource_type = "Patient", .resource = &brazil, .resource_key = key});
  auto same = policy.decide_ingest({.resource_type = "Patient", .resource = &germany});

  ASSERT_TRUE(denied && same);
  EXPECT_FALSE(denied->permit);  // the active bundle decides
  EXPECT_TRUE(same->permit);
  EXPECT_EQ(policy.shadow_stats().decisions, 2u);
  EXPECT_EQ(policy.shadow_stats().differences, 1u);
  ASSERT_EQ(audit.records.size(), 1u);
  const std::string& event = audit.records[0].json;
  EXPECT_NE(event.find("\"resourceType\":\"AuditEvent\""), std::string::npos) << event;
  EXPECT_NE(event.find(to_hex(shipped()->hash)), std::string::npos) << event;
  EXPECT_NE(event.find(to_hex(candidate->hash)), std::string::npos) << event;
  EXPECT_EQ(audit.records[0].key, to_0x_hex(key));
  EXPECT_EQ(event.find("BR"), std::string::npos) << "no patient data in the record: " << event;
}

}  // namespace
}  // namespace fl::gateway
