// ConsentService on fakes with a simulated clock: a Consent's grants decided by the shipped
// bundle (with the patient's consent), the diff against the Consent's record, the dry run that
// sends and records nothing, re-delivery as a no-op, deactivation revoking, and a ledger that
// is down leaving nothing recorded so that applying again finishes the work.
#include "fl/gateway/consent_service.h"

#include "fl/gateway/pseudonyms.h"

#include "support/fakes.h"
#include "support/shipped_policy.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>

namespace fl::gateway {
namespace {

constexpr const char* kSource = "demo-ehr";

class FakeConsentRecords final : public ports::ConsentRecords {
 public:
  Result<std::optional<std::string>> consent_record(const ports::Hash32& key) override {
    auto it = records.find(key);
    return it == records.end() ? std::optional<std::string>() : std::optional(it->second);
  }
  Status put_consent_record(const ports::Hash32& key, const std::string& json) override {
    records[key] = json;
    return Ok{};
  }
  Result<std::vector<ports::ConsentedGrant>> consented_grants(const ports::Hash32& p) override {
    std::vector<ports::ConsentedGrant> out;
    for (const auto& [key, grants] : consented) {
      if (key.first == p) out.insert(out.end(), grants.begin(), grants.end());
    }
    return out;
  }
  Status put_consented_grants(const ports::Hash32& p, const ports::Hash32& consent,
                              std::span<const ports::ConsentedGrant> grants) override {
    if (grants.empty()) {
      consented.erase({p, consent});
    } else {
      consented[{p, consent}].assign(grants.begin(), grants.end());
    }
    return Ok{};
  }
  std::map<ports::Hash32, std::string> records;
  std::map<std::pair<ports::Hash32, ports::Hash32>, std::vector<ports::ConsentedGrant>> consented;
};

ports::Address address(std::uint8_t fill) {
  ports::Address a{};
  a.fill(fill);
  return a;
}

const ports::Address kHospital = address(0xc3);  // DE
const ports::Address kClinic = address(0xd4);    // US

std::string consent(const std::string& status, const std::string& provision,
                    const std::string& version = "1") {
  return R"({"resourceType":"Consent","id":"c1","meta":{"versionId":")" + version +
         R"("},"status":")" + status +
         R"(","scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}]},)"
         R"("patient":{"reference":"Patient/p1"},"provision":)" +
         provision + "}";
}

std::string actors_provision(const std::string& purpose) {
  return R"({"actor":[{"reference":{"reference":"Organization/eu-hospital"}},)"
         R"({"reference":{"reference":"Organization/us-clinic"}}],"purpose":[{"code":")" +
         purpose + R"("}]})";
}

class ConsentServiceTest : public ::testing::Test {
 protected:
  ConsentServiceTest() : engine_(testing::shipped_policy_bundle()) {
    access_.participants[kHospital] = {
        .address = "0xhospital", .jurisdiction = "DE", .active = true};
    access_.participants[kClinic] = {.address = "0xclinic", .jurisdiction = "US", .active = true};
    Pseudonyms pseudonyms(keys_);
    patient_ = pseudonyms.patient_key(kSource, "Patient/p1").value();
    const std::pair<ports::Hash32, std::string> de{patient_, "DE"};
    EXPECT_TRUE(directory_.record_countries("eu", std::span(&de, 1), 0));
  }

  Result<ConsentReport> apply(const std::string& json, bool dry_run = false) {
    ConsentService service({.keys = keys_,
                            .directory = directory_,
                            .access = access_,
                            .audit = audit_,
                            .records = records_,
                            .clock = clock_},
                           {.gateway = "fhir-ledger",
                            .consent = {.actors = {{"Organization/eu-hospital", kHospital},
                                                   {"Organization/us-clinic", kClinic}},
                                        .default_purposes = {"TREAT"}},
                            .engine = &engine_});
    return service.apply(
        {.source = kSource, .json = json, .dry_run = dry_run, .operator_name = "test"});
  }

  ConsentService service() {
    return ConsentService({.keys = keys_,
                           .directory = directory_,
                           .access = access_,
                           .audit = audit_,
                           .records = records_,
                           .clock = clock_},
                          {.gateway = "fhir-ledger",
                           .consent = {.actors = {{"Organization/eu-hospital", kHospital},
                                                  {"Organization/us-clinic", kClinic}},
                                       .default_purposes = {"TREAT"}},
                           .engine = &engine_});
  }

  Result<ConsentReport> withdraw() {
    return service().withdraw(
        {.source = kSource, .reference = "Consent/c1", .operator_name = "kafka:fhir.events"});
  }

  static std::vector<std::string> kinds(const ConsentReport& r) {
    std::vector<std::string> out;
    for (const auto& c : r.changes) out.push_back(c.kind + " " + c.participant + " " + c.purpose);
    std::sort(out.begin(), out.end());
    return out;
  }

  bool granted(const ports::Address& who, const std::string& purpose) {
    return access_.can_read(patient_, who, purpose).value();
  }

  testing::FakeKeyProvider keys_;
  testing::FakePatientDirectory directory_;
  testing::FakeAccessLedger access_;
  testing::FakeAuditLog audit_;
  FakeConsentRecords records_;
  testing::ManualClock clock_;
  policy::PolicyEngine engine_;
  ports::Hash32 patient_{};
};

TEST_F(ConsentServiceTest, EachGrantIsDecidedByThePolicyAsConsentedSentAndAudited) {
  auto r = apply(consent("active", actors_provision("TREAT")));

  ASSERT_TRUE(r) << r.error().message;
  // DE -> DE within the EEA; DE -> US for treatment with consent, capped at 30 days.
  EXPECT_EQ(kinds(*r),
            (std::vector<std::string>{"added 0xclinic TREAT", "added 0xhospital TREAT"}));
  EXPECT_EQ(access_.sent, (std::vector<std::string>{"grant", "grant"}));
  EXPECT_TRUE(granted(kHospital, "TREAT"));
  EXPECT_TRUE(granted(kClinic, "TREAT"));
  const auto now = ports::unix_seconds(clock_.wall());
  const auto expiry = [&](const ports::Address& who) {
    return access_.expiries[std::make_tuple(patient_, who, std::string("TREAT"))];
  };
  EXPECT_EQ(expiry(kClinic), static_cast<std::uint64_t>(now + 30 * 86400));
  EXPECT_EQ(expiry(kHospital), static_cast<std::uint64_t>(now + 365 * 86400));
  // Per grant: the decision before its transaction and the transaction's outcome after it.
  EXPECT_EQ(audit_.records.size(), 4u);
  EXPECT_EQ(records_.records.size(), 1u);
}

TEST_F(ConsentServiceTest, TheDryRunShowsTheSameDiffAndSendsAuditsAndRecordsNothing) {
  auto dry = apply(consent("active", actors_provision("TREAT")), true);

  ASSERT_TRUE(dry) << dry.error().message;
  EXPECT_TRUE(dry->dry_run);
  EXPECT_EQ(kinds(*dry),
            (std::vector<std::string>{"added 0xclinic TREAT", "added 0xhospital TREAT"}));
  EXPECT_TRUE(access_.sent.empty());
  EXPECT_TRUE(audit_.records.empty());
  EXPECT_TRUE(records_.records.empty());
  auto real = apply(consent("active", actors_provision("TREAT")));
  ASSERT_TRUE(real);
  EXPECT_EQ(kinds(*real), kinds(*dry));
}

TEST_F(ConsentServiceTest, ARedeliveredVersionChangesNothing) {
  ASSERT_TRUE(apply(consent("active", actors_provision("TREAT"))));
  const auto sent = access_.sent.size();
  const auto audited = audit_.records.size();

  auto again = apply(consent("active", actors_provision("TREAT")));

  ASSERT_TRUE(again);
  EXPECT_TRUE(again->unchanged);
  EXPECT_EQ(access_.sent.size(), sent);
  EXPECT_EQ(audit_.records.size(), audited);
}

TEST_F(ConsentServiceTest, ANewVersionRevokesWhatItNoLongerGrants) {
  ASSERT_TRUE(apply(consent("active", actors_provision("TREAT"))));
  const std::string only_hospital =
      R"({"actor":[{"reference":{"reference":"Organization/eu-hospital"}}],"purpose":[{"code":"TREAT"}]})";

  auto r = apply(consent("active", only_hospital, "2"));

  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(kinds(*r),
            (std::vector<std::string>{"kept 0xhospital TREAT", "revoked 0xclinic TREAT"}));
  EXPECT_FALSE(granted(kClinic, "TREAT"));
  EXPECT_TRUE(granted(kHospital, "TREAT"));
  EXPECT_EQ(access_.sent.back(), "revoke");
}

TEST_F(ConsentServiceTest, WhatAConsentHoldsIsIndexedForReadsAndGoesWithIt) {
  ASSERT_TRUE(apply(consent("active", actors_provision("TREAT"))));
  const auto now = static_cast<std::uint64_t>(ports::unix_seconds(clock_.wall()));
  auto held = records_.consented_grants(patient_);
  ASSERT_TRUE(held);
  EXPECT_EQ(held->size(), 2u);
  EXPECT_TRUE(ports::consents_to(*held, kClinic, "TREAT", now));
  EXPECT_FALSE(ports::consents_to(*held, kClinic, "TREAT", now + 30 * 86400));  // its expiry
  EXPECT_FALSE(ports::consents_to(*held, kClinic, "HRESCH", now));

  const std::string only_hospital =
      R"({"actor":[{"reference":{"reference":"Organization/eu-hospital"}}],"purpose":[{"code":"TREAT"}]})";
  ASSERT_TRUE(apply(consent("active", only_hospital, "2")));
  held = records_.consented_grants(patient_);
  EXPECT_FALSE(ports::consents_to(*held, kClinic, "TREAT", now));
  EXPECT_TRUE(ports::consents_to(*held, kHospital, "TREAT", now));

  ASSERT_TRUE(withdraw());
  held = records_.consented_grants(patient_);
  EXPECT_TRUE(held->empty());
}

TEST_F(ConsentServiceTest, ADryRunIndexesNothing) {
  ASSERT_TRUE(apply(consent("active", actors_provision("TREAT")), true));
  EXPECT_TRUE(records_.consented.empty());
}

TEST_F(ConsentServiceTest, AnInactiveConsentRevokesEverythingItGranted) {
  ASSERT_TRUE(apply(consent("active", actors_provision("TREAT"))));

  auto r = apply(consent("inactive", actors_provision("TREAT"), "2"));

  ASSERT_TRUE(r);
  EXPECT_EQ(kinds(*r),
            (std::vector<std::string>{"revoked 0xclinic TREAT", "revoked 0xhospital TREAT"}));
  EXPECT_FALSE(granted(kClinic, "TREAT"));
  EXPECT_FALSE(granted(kHospital, "TREAT"));
}

TEST_F(ConsentServiceTest, ADeletedConsentRevokesEverythingItGrantedOnce) {
  ASSERT_TRUE(apply(consent("active", actors_provision("TREAT"))));

  auto r = withdraw();
  const auto sent = access_.sent.size();
  auto again = withdraw();

  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, "deleted");
  EXPECT_EQ(kinds(*r),
            (std::vector<std::string>{"revoked 0xclinic TREAT", "revoked 0xhospital TREAT"}));
  EXPECT_FALSE(granted(kClinic, "TREAT"));
  EXPECT_FALSE(granted(kHospital, "TREAT"));
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->unchanged);
  EXPECT_EQ(access_.sent.size(), sent);
}

TEST_F(ConsentServiceTest, ADeletionOutranksARedeliveryOfTheVersionItDeleted) {
  ASSERT_TRUE(apply(consent("active", actors_provision("TREAT"))));
  ASSERT_TRUE(withdraw());

  auto replayed = apply(consent("active", actors_provision("TREAT")));
  auto newer = apply(consent("active", actors_provision("TREAT"), "3"));

  ASSERT_TRUE(replayed);
  EXPECT_TRUE(replayed->unchanged);
  ASSERT_TRUE(newer) << newer.error().message;
  EXPECT_EQ(kinds(*newer),
            (std::vector<std::string>{"added 0xclinic TREAT", "added 0xhospital TREAT"}));
  EXPECT_TRUE(granted(kHospital, "TREAT"));
}

TEST_F(ConsentServiceTest, DeletingAConsentNeverAppliedChangesNothing) {
  auto r = withdraw();

  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->unchanged);
  EXPECT_TRUE(access_.sent.empty());
  EXPECT_TRUE(records_.records.empty());
}

TEST_F(ConsentServiceTest, TheSinkCountsTheReportAndPassesErrorsOn) {
  ConsentService consents = service();
  ConsentServiceSink sink(consents);
  const ports::ConsentDelivery delivery{.source = kSource,
                                        .reference = "Consent/c1",
                                        .json = consent("active", actors_provision("TREAT")),
                                        .submitter = "kafka:fhir.events"};

  auto first = sink.apply(delivery);
  auto again = sink.apply(delivery);
  auto deleted = sink.apply({.source = kSource,
                             .reference = "Consent/c1",
                             .deleted = true,
                             .submitter = "kafka:fhir.events"});
  auto broken = sink.apply({.source = kSource, .reference = "Consent/c2", .json = "{"});

  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->added, 2u);
  EXPECT_FALSE(first->unchanged);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->unchanged);
  EXPECT_EQ(again->kept, 2u);
  ASSERT_TRUE(deleted);
  EXPECT_EQ(deleted->revoked, 2u);
  ASSERT_FALSE(broken);
  EXPECT_EQ(broken.error().code, ErrorCode::kInvalidInput);
}

TEST_F(ConsentServiceTest, WhatThePolicyRefusesIsReportedWithItsRulesAndNotSent) {
  // Marketing is no purpose the bundle permits for anyone.
  auto r = apply(consent("active", actors_provision("HMARKT")));

  ASSERT_TRUE(r);
  ASSERT_EQ(r->changes.size(), 2u);
  for (const auto& c : r->changes) {
    EXPECT_EQ(c.kind, "refused");
    EXPECT_NE(c.reason.find("of policy 0x"), std::string::npos) << c.reason;
  }
  EXPECT_TRUE(access_.sent.empty());
}

TEST_F(ConsentServiceTest, ALedgerThatIsDownRecordsNothingAndApplyingAgainFinishes) {
  access_.unavailable = true;
  auto failed = apply(consent("active", actors_provision("TREAT")));
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE(records_.records.empty());

  access_.unavailable = false;
  auto r = apply(consent("active", actors_provision("TREAT")));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(r->unchanged);
  EXPECT_TRUE(granted(kHospital, "TREAT"));
}

TEST_F(ConsentServiceTest, ANotMinedGrantIsAnErrorAndNothingIsRecorded) {
  access_.unmined = true;
  auto r = apply(consent("active", actors_provision("TREAT")));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE(records_.records.empty());
}

TEST_F(ConsentServiceTest, DeepNestingIsRefusedWithoutExhaustingTheStack) {
  auto brackets = apply(std::string(1'000'000, '['));
  ASSERT_FALSE(brackets);
  EXPECT_EQ(brackets.error().code, ErrorCode::kInvalidInput);
  std::string provision = R"({"type":"permit"})";
  for (int i = 0; i < 10'000; ++i) {
    provision = R"({"type":"permit","provision":[)" + provision + "]}";
  }
  auto nested = apply(consent("active", provision));
  ASSERT_FALSE(nested);
  EXPECT_EQ(nested.error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(nested.error().message.find("nested deeper"), std::string::npos);
  EXPECT_TRUE(access_.sent.empty());
}

TEST_F(ConsentServiceTest, WhatIsNotJsonOrNotAConsentIsInvalidInput) {
  auto text = apply("{not json");
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().code, ErrorCode::kInvalidInput);
  auto other = apply(R"({"resourceType":"Patient","id":"p1"})");
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().where, "/resourceType");
}

}  // namespace
}  // namespace fl::gateway
