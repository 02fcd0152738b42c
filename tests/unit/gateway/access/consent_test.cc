// The Consent compiler on the R4 Consent examples as published (shared/corpora/fhir-examples/
// consent, CC0) and on Consents written for the cases the examples do not cover:
// purpose-limited, time-limited, a deny inside a permit, an inactive Consent.
#include "fl/gateway/consent.h"

#include "support/corpus.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <string>

namespace fl::gateway {
namespace {

constexpr std::int64_t kNow = 1796083200;  // 2026-12-01T00:00:00Z

ports::Address address(std::uint8_t fill) {
  ports::Address a{};
  a.fill(fill);
  return a;
}

ConsentSettings settings() {
  return ConsentSettings{.actors = {{"Organization/f001", address(0xa1)},
                                    {"Practitioner/13", address(0xb2)},
                                    {"Organization/eu-hospital", address(0xc3)},
                                    {"Organization/us-clinic", address(0xd4)}},
                         .default_purposes = {"TREAT"}};
}

Result<CompiledConsent> compile_text(const std::string& json) {
  rapidjson::Document d;
  d.Parse(json.c_str());
  EXPECT_FALSE(d.HasParseError()) << json;
  return compile_consent(d, settings(), kNow);
}

Result<CompiledConsent> compile_example(const std::string& name) {
  return compile_text(testing::read_file(
      testing::corpus_path("fhir-examples/consent/Consent-consent-example-" + name + ".json")));
}

bool refused_because(const CompiledConsent& c, const std::string& reason) {
  for (const auto& r : c.refused) {
    if (r.reason.find(reason) != std::string::npos) return true;
  }
  return false;
}

TEST(ConsentExamples, EveryPublishedExampleCompiles) {
  for (const char* name : {"basic", "Emergency", "grantor", "notAuthor", "notOrg", "notThem",
                           "notThis", "notTime", "pkb", "signature"}) {
    SCOPED_TRACE(name);
    auto compiled = compile_example(name);
    ASSERT_TRUE(compiled) << compiled.error().message << " at " << compiled.error().where;
    EXPECT_TRUE(compiled->active);
    EXPECT_EQ(compiled->patient.rfind("Patient/", 0), 0u);
  }
}

TEST(ConsentExamples, NotAuthorGrantsTheOrganizationTheDefaultPurposeForTheDefaultLifetime) {
  auto c = compile_example("notAuthor");
  ASSERT_TRUE(c);
  ASSERT_EQ(c->grants.size(), 1u);
  EXPECT_EQ(c->grants[0].grantee, address(0xa1));
  EXPECT_EQ(c->grants[0].purpose, "TREAT");
  EXPECT_EQ(c->grants[0].expires_at, static_cast<std::uint64_t>(kNow + 365 * 86400));
}

TEST(ConsentExamples, NotOrgIsADenyAndGrantsNothing) {
  auto c = compile_example("notOrg");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->grants.empty());
}

TEST(ConsentExamples, SignaturesPeriodHasEndedAndItsNarrowedPermitIsRefused) {
  auto c = compile_example("signature");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->grants.empty());
  EXPECT_TRUE(refused_because(*c, "period has ended"));
  EXPECT_TRUE(refused_because(*c, "narrowed to class, code"));
}

TEST(ConsentExamples, EmergencyOptOutGrantsNothing) {
  auto c = compile_example("Emergency");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->grants.empty());
}

TEST(ConsentExamples, BasicAndNotThisNameNoActorToGrantTo) {
  for (const char* name : {"basic", "notThis"}) {
    auto c = compile_example(name);
    ASSERT_TRUE(c);
    EXPECT_TRUE(c->grants.empty()) << name;
    EXPECT_TRUE(refused_because(*c, "names no actor")) << name;
  }
}

TEST(ConsentExamples, PkbsUntypedNestedProvisionsUnderAnOptOutGrantNothing) {
  auto c = compile_example("pkb");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->grants.empty());
}

TEST(ConsentExamples, GrantorsPatientActorIsNotAParticipant) {
  auto c = compile_example("grantor");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->grants.empty());  // OPTOUT: the root denies
}

constexpr const char* kHead =
    R"({"resourceType":"Consent","id":"c1","status":"active",)"
    R"("scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}]},)"
    R"("patient":{"reference":"Patient/pat-de-0001"},)";

std::string consent(const std::string& rest) { return std::string(kHead) + rest + "}"; }

std::string actor(const std::string& reference) {
  return R"({"reference":{"reference":")" + reference + R"("}})";
}

TEST(Consent, APurposeLimitedPermitGrantsThatPurposeOnly) {
  auto c = compile_text(consent(
      R"("provision":{"actor":[)" + actor("Organization/eu-hospital") +
      R"(],"purpose":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ActReason","code":"HRESCH"}]})"));
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->grants.size(), 1u);
  EXPECT_EQ(c->grants[0].purpose, "HRESCH");
  EXPECT_EQ(c->grants[0].grantee, address(0xc3));
}

TEST(Consent, ATimeLimitedPermitExpiresAtTheEndOfItsLastDay) {
  auto c = compile_text(consent(
      R"("provision":{"period":{"start":"2026-11-01","end":"2027-01-31"},"actor":[)" +
      actor("Organization/eu-hospital") + R"(],"purpose":[{"code":"TREAT"},{"code":"ETREAT"}]})"));
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->grants.size(), 2u);
  for (const auto& g : c->grants) {
    EXPECT_EQ(g.expires_at, 1801440000u) << g.purpose;  // 2027-02-01T00:00:00Z
  }
}

TEST(Consent, APeriodThatHasNotStartedGrantsNothingYet) {
  auto c = compile_text(consent(R"("provision":{"period":{"start":"2027-06-01"},"actor":[)" +
                                actor("Organization/eu-hospital") + R"(]})"));
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->grants.empty());
  EXPECT_TRUE(refused_because(*c, "not in effect yet"));
}

TEST(Consent, ADenyInsideAPermitWinsForItsActor) {
  auto c = compile_text(
      consent(R"("provision":{"actor":[)" + actor("Organization/eu-hospital") + "," +
              actor("Organization/us-clinic") +
              R"(],"purpose":[{"code":"TREAT"}],"provision":[{"type":"deny","actor":[)" +
              actor("Organization/us-clinic") + R"(]}]})"));
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->grants.size(), 1u);
  EXPECT_EQ(c->grants[0].grantee, address(0xc3));
  EXPECT_TRUE(refused_because(*c, "a deny provision excludes it"));
}

TEST(Consent, ANestedPermitForAnotherPurposeAddsAGrant) {
  auto c = compile_text(consent(
      R"("provision":{"actor":[)" + actor("Organization/eu-hospital") +
      R"(],"purpose":[{"code":"TREAT"}],"provision":[{"type":"permit","purpose":[{"code":"ETREAT"}]}]})"));
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->grants.size(), 2u);
  EXPECT_EQ(c->grants[1].purpose, "ETREAT");
}

TEST(Consent, AnUnknownActorIsRefusedNotGranted) {
  auto c =
      compile_text(consent(R"("provision":{"actor":[)" + actor("Organization/elsewhere") + "]}"));
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->grants.empty());
  EXPECT_TRUE(refused_because(*c, "not a ledger participant"));
}

TEST(Consent, AnInactiveConsentGrantsNothing) {
  std::string text =
      consent(R"("provision":{"actor":[)" + actor("Organization/eu-hospital") + "]}");
  text.replace(text.find("\"active\""), 8, "\"inactive\"");
  auto c = compile_text(text);
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->active);
  EXPECT_TRUE(c->grants.empty());
}

TEST(Consent, WhatIsNotAPatientPrivacyConsentIsRefusedWithItsPointer) {
  std::string text = consent(R"("provision":{})");
  text.replace(text.find("patient-privacy"), 15, "research");
  auto c = compile_text(text);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(c.error().where, "/scope");
  auto nested = compile_text(consent(R"("provision":{"provision":[{"type":"maybe"}]})"));
  ASSERT_FALSE(nested);
  EXPECT_EQ(nested.error().where, "/provision/provision/0/type");
}

TEST(FhirInstant, DatesAndDateTimesAtTheirStartOrEnd) {
  EXPECT_EQ(fhir_instant("2026-12-01", false), kNow);
  EXPECT_EQ(fhir_instant("2026-11-30", true), kNow);
  EXPECT_EQ(fhir_instant("2026-11", true), kNow);
  EXPECT_EQ(fhir_instant("2026", false), 1767225600);  // 2026-01-01
  EXPECT_EQ(fhir_instant("2026-12-01T01:00:00+01:00", false), kNow);
  EXPECT_EQ(fhir_instant("2026-12-01T00:00:00.123Z", false), kNow);
  EXPECT_FALSE(fhir_instant("2026-13-01", false));
  EXPECT_FALSE(fhir_instant("yesterday", false));
}

}  // namespace
}  // namespace fl::gateway
