// Grant- and read-time decisions with the shipped bundle, and the FHIR AuditEvents they write:
// every decision is audited with the policy hash and rule ids, the patient appears only by
// pseudonym, and every event is valid FHIR R4.
#include "fl/gateway/access.h"

#include "fl/gateway/audit_event.h"
#include "fl/gateway/mapping_files.h"
#include "fl/gateway/policy/policy_compiler.h"

#include "support/audit_json.h"
#include "support/corpus.h"
#include "support/fakes.h"
#include "support/fhir_schema.h"
#include "support/shipped_policy.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

namespace fl::gateway {
namespace {

constexpr std::int64_t kNow = 1'700'000'000;
constexpr std::uint64_t kDay = 86400;

std::shared_ptr<const policy::PolicyBundle> shipped() { return testing::shipped_policy_bundle(); }

// The shipped rules with a permitting default, under a hash of its own: a shadow candidate
// that would let EU data go to the US for treatment without consent.
std::shared_ptr<const policy::PolicyBundle> permissive_candidate() {
  auto candidate = std::make_shared<policy::PolicyBundle>(*shipped());
  candidate->default_effect = policy::Effect::kPermit;
  candidate->hash[0] ^= 0xff;
  return candidate;
}

ports::Hash32 key(std::uint8_t fill) {
  ports::Hash32 k{};
  k.fill(fill);
  return k;
}

rapidjson::Document parse(const std::string& json) { return testing::parse_json(json); }

std::string detail(const std::string& event, const std::string& type) {
  return testing::audit_detail(event, type);
}

class Access : public ::testing::Test {
 protected:
  Access() : engine_(shipped()) {
    const std::pair<ports::Hash32, std::string> de{key(1), "DE"};
    EXPECT_TRUE(directory_.record_countries("eu", std::span(&de, 1), 0));
  }

  GrantRequest us_treatment(bool consent) {
    GrantRequest r;
    r.context = AccessContext{.now = kNow,
                              .gateway = "fhir-ledger-test",
                              .operator_name = "alice",
                              .participant = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
                              .jurisdiction = "US",
                              .purpose = "TREAT",
                              .consent = consent};
    r.patient_key = key(1);
    r.expires_at = static_cast<std::uint64_t>(kNow) + 365 * kDay;
    return r;
  }

  // A read by the US participant of an EU patient's Observation whose identifier is "12345".
  Result<AccessVerdict> read(bool consent, bool granted,
                             const policy::PolicyEngine* candidate = nullptr) {
    ReadRequest r;
    r.context = us_treatment(consent).context;
    r.patient_key = key(1);
    r.resource_key = key(2);
    r.granted = granted;
    resource_ = parse(kObservation);
    return decide_read(
        &engine_, directory_, audit_,
        [](std::string_view, std::string_view) { return std::string("pseudonym"); }, r, resource_,
        candidate);
  }

  static constexpr const char* kObservation = R"({"resourceType":"Observation","id":"o1",
    "status":"final","code":{"text":"glucose"},"subject":{"reference":"Patient/p1"},
    "identifier":[{"system":"urn:mrn","value":"12345"}]})";

  rapidjson::Document resource_;
  policy::PolicyEngine engine_;
  testing::FakePatientDirectory directory_;
  testing::FakeAuditLog audit_;
};

TEST_F(Access, AGrantFromAnEuPatientToTheUsWithoutConsentIsDeniedAndAudited) {
  auto v = decide_grant(&engine_, directory_, audit_, us_treatment(false));
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_FALSE(v->permit);
  EXPECT_NE(v->reason.find(to_0x_hex(shipped()->hash)), std::string::npos) << v->reason;
  ASSERT_EQ(audit_.records.size(), 1u);
  EXPECT_EQ(audit_.flushed, 1u);
  EXPECT_EQ(audit_.records[0].key, to_0x_hex(key(1)));
  const std::string& event = audit_.records[0].json;
  EXPECT_EQ(detail(event, "effect"), "deny");
  EXPECT_EQ(detail(event, "policy-hash"), to_0x_hex(shipped()->hash));
  EXPECT_EQ(parse(event)["outcome"].GetString(), std::string("4"));
}

TEST_F(Access, WithConsentTheGrantIsPermittedAndItsExpiryCappedAtThirtyDays) {
  auto v = decide_grant(&engine_, directory_, audit_, us_treatment(true));
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_TRUE(v->permit) << v->reason;
  EXPECT_TRUE(v->capped);
  EXPECT_EQ(v->expires_at, static_cast<std::uint64_t>(kNow) + 30 * kDay);
  ASSERT_EQ(audit_.records.size(), 1u);
  const std::string& event = audit_.records[0].json;
  EXPECT_EQ(detail(event, "effect"), "permit");
  EXPECT_EQ(detail(event, "rule-ids"), "eea-to-us-consent");
  EXPECT_NE(detail(event, "obligations").find("max days: 30"), std::string::npos);
  EXPECT_EQ(parse(event)["outcome"].GetString(), std::string("0"));
}

TEST_F(Access, AParticipantWithoutAnActiveRegistrationGetsNoGrantAndTheRefusalIsAudited) {
  GrantRequest request = us_treatment(true);
  request.context.jurisdiction = "";  // unregistered, or deactivated, on the contract

  auto v = decide_grant(&engine_, directory_, audit_, request);

  ASSERT_TRUE(v) << v.error().message;
  EXPECT_FALSE(v->permit);
  EXPECT_EQ(v->reason, "the participant is not registered, or not active, on the contract");
  ASSERT_EQ(audit_.records.size(), 1u);
  EXPECT_EQ(detail(audit_.records[0].json, "refusal"), v->reason);
}

TEST_F(Access, AShorterAskedExpiryIsKept) {
  auto request = us_treatment(true);
  request.expires_at = static_cast<std::uint64_t>(kNow) + 7 * kDay;
  auto v = decide_grant(&engine_, directory_, audit_, request);
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->permit);
  EXPECT_FALSE(v->capped);
  EXPECT_EQ(v->expires_at, request.expires_at);
}

TEST_F(Access, WithoutABundleTheGrantIsTheOperatorsAndStillAudited) {
  auto v = decide_grant(nullptr, directory_, audit_, us_treatment(false));
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->permit);
  ASSERT_EQ(audit_.records.size(), 1u);
  EXPECT_EQ(detail(audit_.records[0].json, "policy-hash"), "");
}

TEST_F(Access, ADecisionThatCannotBeAuditedIsNotMade) {
  audit_.fail_next = true;
  auto v = decide_grant(&engine_, directory_, audit_, us_treatment(true));
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code, ErrorCode::kUnavailable);
}

TEST_F(Access, AMinedGrantTransactionIsAuditedWithItsHashBlockAndExpiry) {
  const GrantRequest request = us_treatment(true);
  const std::uint64_t expires = static_cast<std::uint64_t>(kNow) + 30 * kDay;
  const audit::Transaction tx = transaction_outcome(to_0x_hex(key(5)), std::uint64_t{42});
  ASSERT_EQ(tx.state, audit::Transaction::State::kMined);

  auto event = record_grant_transaction(audit_, request, expires, tx);

  ASSERT_TRUE(event) << event.error().message;
  ASSERT_EQ(audit_.records.size(), 1u);
  EXPECT_EQ(audit_.flushed, 1u);
  EXPECT_EQ(audit_.records[0].key, to_0x_hex(key(1)));
  EXPECT_EQ(audit_.records[0].json, *event);
  const auto d = parse(*event);
  EXPECT_EQ(d["outcome"].GetString(), std::string("0"));
  EXPECT_EQ(d["subtype"][1]["code"].GetString(), std::string("grant-transaction"));
  EXPECT_EQ(detail(*event, "transaction"), to_0x_hex(key(5)));
  EXPECT_EQ(detail(*event, "block"), "42");
  EXPECT_EQ(detail(*event, "expires-at"), "2023-12-14T22:13:20Z");
  EXPECT_EQ(detail(*event, "failure"), "");
}

TEST_F(Access, ARevertedGrantTransactionIsAuditedAsASeriousFailureWithWhy) {
  const audit::Transaction tx = transaction_outcome(
      to_0x_hex(key(5)), Error{ErrorCode::kPermissionDenied, "transaction reverted", ""});
  ASSERT_EQ(tx.state, audit::Transaction::State::kFailed);

  auto event = record_grant_transaction(audit_, us_treatment(true), 0, tx);

  ASSERT_TRUE(event) << event.error().message;
  const auto d = parse(*event);
  EXPECT_EQ(d["outcome"].GetString(), std::string("8"));
  EXPECT_NE(std::string(d["outcomeDesc"].GetString()).find("not carried out"), std::string::npos);
  EXPECT_EQ(detail(*event, "failure"), "transaction reverted");
  EXPECT_EQ(detail(*event, "block"), "");
}

TEST_F(Access, ATransactionNeverSentFailedButOneNotConfirmedInTimeHasAnUnknownOutcome) {
  const Error node_down{ErrorCode::kUnavailable, "no confirmed receipt before the timeout", ""};
  EXPECT_EQ(transaction_outcome("", node_down).state, audit::Transaction::State::kFailed);
  const audit::Transaction tx = transaction_outcome(to_0x_hex(key(5)), node_down);
  ASSERT_EQ(tx.state, audit::Transaction::State::kUnconfirmed);

  auto event = record_grant_transaction(audit_, us_treatment(true), 0, tx);

  ASSERT_TRUE(event) << event.error().message;
  const auto d = parse(*event);
  EXPECT_EQ(d["outcome"].GetString(), std::string("4"));
  EXPECT_NE(std::string(d["outcomeDesc"].GetString()).find("outcome is unknown"),
            std::string::npos);
  EXPECT_EQ(detail(*event, "transaction"), to_0x_hex(key(5)));
}

TEST_F(Access, ARevocationIsAuditedWithItsTransactionAndAnAuditLogDownIsReported) {
  const audit::Transaction tx = transaction_outcome(to_0x_hex(key(6)), std::uint64_t{43});
  auto event = record_revocation(audit_, us_treatment(false).context, key(1), tx);
  ASSERT_TRUE(event) << event.error().message;
  const auto d = parse(*event);
  EXPECT_EQ(d["subtype"][1]["code"].GetString(), std::string("revocation"));
  EXPECT_EQ(d["action"].GetString(), std::string("D"));
  EXPECT_EQ(d["outcome"].GetString(), std::string("0"));
  EXPECT_EQ(detail(*event, "transaction"), to_0x_hex(key(6)));
  EXPECT_EQ(d["agent"][1]["who"]["identifier"]["value"].GetString(),
            std::string("0x70997970C51812dc3A010C7d01b50e0d17dc79C8"));

  audit_.fail_next = true;
  auto lost = record_revocation(audit_, us_treatment(false).context, key(1), tx);
  ASSERT_FALSE(lost);
  EXPECT_EQ(lost.error().code, ErrorCode::kUnavailable);
}

TEST_F(Access, AReadWithAGrantAndConsentReleasesThePseudonymizedResource) {
  auto v = read(true, true);
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_TRUE(v->permit) << v->reason;
  EXPECT_NE(v->released.find("\"pseudonym\""), std::string::npos) << v->released;
  EXPECT_EQ(v->released.find("12345"), std::string::npos) << v->released;
  ASSERT_EQ(audit_.records.size(), 1u);
  EXPECT_EQ(detail(audit_.records[0].json, "rule-ids"), "eea-to-us-consent");
}

TEST_F(Access, AReadWithoutAGrantOnTheLedgerIsDeniedAndAudited) {
  auto v = read(true, false);
  ASSERT_TRUE(v);
  EXPECT_FALSE(v->permit);
  EXPECT_TRUE(v->released.empty());
  ASSERT_EQ(audit_.records.size(), 1u);
  EXPECT_EQ(parse(audit_.records[0].json)["outcome"].GetString(), std::string("4"));
}

TEST_F(Access, AReadWithoutConsentIsDeniedByThePolicy) {
  auto v = read(false, true);
  ASSERT_TRUE(v);
  EXPECT_FALSE(v->permit);
  EXPECT_TRUE(v->released.empty());
  EXPECT_EQ(detail(audit_.records.at(0).json, "effect"), "deny");
}

TEST_F(Access, AShadowCandidateIsNotEnforcedAtGrantTimeButItsDifferenceIsAudited) {
  const policy::PolicyEngine candidate(permissive_candidate());

  auto v = decide_grant(&engine_, directory_, audit_, us_treatment(false), &candidate);

  ASSERT_TRUE(v) << v.error().message;
  EXPECT_FALSE(v->permit);               // the active bundle decides
  ASSERT_EQ(audit_.records.size(), 2u);  // the decision, then the difference
  EXPECT_EQ(audit_.records[0].json, v->audit_event);
  EXPECT_EQ(audit_.records[1].json, v->shadow_event);
  EXPECT_EQ(detail(v->shadow_event, "stage"), "grant");
  EXPECT_EQ(detail(v->shadow_event, "effect"), "deny");
  EXPECT_EQ(detail(v->shadow_event, "candidate-effect"), "permit");
  EXPECT_EQ(detail(v->shadow_event, "policy-hash"), to_0x_hex(shipped()->hash));
  EXPECT_EQ(detail(v->shadow_event, "candidate-policy-hash"), to_0x_hex(candidate.bundle().hash));
}

TEST_F(Access, AShadowCandidateThatAgreesRecordsNothingMore) {
  const policy::PolicyEngine candidate(permissive_candidate());
  auto v = decide_grant(&engine_, directory_, audit_, us_treatment(true), &candidate);
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->permit);
  EXPECT_TRUE(v->shadow_event.empty());
  EXPECT_EQ(audit_.records.size(), 1u);
}

TEST_F(Access, AShadowCandidateWithOtherObligationsDiffers) {
  // Same rules, same effect: only the time window changes, which changes what a grant carries.
  auto changed = std::make_shared<policy::PolicyBundle>(*shipped());
  for (auto& rule : changed->rules) {
    if (rule.id == "eea-to-us-consent") rule.obligations.max_days = 7;
  }
  changed->hash[0] ^= 0xff;
  const policy::PolicyEngine candidate(changed);

  auto v = decide_grant(&engine_, directory_, audit_, us_treatment(true), &candidate);

  ASSERT_TRUE(v);
  EXPECT_TRUE(v->capped);
  EXPECT_EQ(v->expires_at, static_cast<std::uint64_t>(kNow) + 30 * kDay);  // the active's
  ASSERT_FALSE(v->shadow_event.empty());
  EXPECT_NE(detail(v->shadow_event, "candidate-obligations").find("max days: 7"),
            std::string::npos);
}

TEST_F(Access, AtReadTimeTheShadowCandidateJudgesTheResourceAndIsNotEnforced) {
  const policy::PolicyEngine candidate(permissive_candidate());

  auto v = read(false, true, &candidate);

  ASSERT_TRUE(v) << v.error().message;
  EXPECT_FALSE(v->permit);
  EXPECT_TRUE(v->released.empty());
  ASSERT_EQ(audit_.records.size(), 2u);
  EXPECT_EQ(detail(v->shadow_event, "stage"), "read");
  EXPECT_EQ(detail(v->shadow_event, "resource-type"), "Observation");
  EXPECT_EQ(detail(v->shadow_event, "resource-key"), to_0x_hex(key(2)));
  EXPECT_EQ(detail(v->shadow_event, "candidate-effect"), "permit");
}

TEST_F(Access, AShadowDifferenceThatCannotBeAuditedChangesNothing) {
  const policy::PolicyEngine candidate(permissive_candidate());
  audit_.fail_after = 1;  // the decision's record is written, the difference's is refused

  auto v = decide_grant(&engine_, directory_, audit_, us_treatment(false), &candidate);

  ASSERT_TRUE(v) << v.error().message;
  EXPECT_FALSE(v->permit);
  EXPECT_TRUE(v->shadow_event.empty());
  ASSERT_EQ(audit_.records.size(), 1u);
  EXPECT_EQ(audit_.records[0].json, v->audit_event);
}

TEST_F(Access, NoShadowIsRecordedForADecisionThatCannotBeAudited) {
  const policy::PolicyEngine candidate(permissive_candidate());
  audit_.fail_next = true;

  auto v = decide_grant(&engine_, directory_, audit_, us_treatment(false), &candidate);

  ASSERT_FALSE(v);
  EXPECT_TRUE(audit_.records.empty());
}

// Every kind of event is valid R4 and carries no FHIR id or identifier value.
TEST(AuditEvents, EveryKindIsValidFhirR4AndNamesThePatientOnlyByPseudonym) {
  audit::Common c;
  c.recorded = audit::rfc3339_utc(kNow);
  c.gateway = "fhir-ledger";
  c.patient_key = to_0x_hex(key(7));
  c.purpose = "TREAT";
  c.agents = {
      audit::Agent{.address = "", .jurisdiction = "", .display = "alice", .requestor = true},
      audit::Agent{.address = "0xabc", .jurisdiction = "US", .display = "", .requestor = false}};
  audit::PolicyFacts p{.policy_hash = key(9),
                       .effect = policy::Effect::kDeny,
                       .rule_ids = {"a", "b"},
                       .obligations = "none"};
  std::optional<audit::PolicyFacts> no_policy;
  audit::Common shadow = c;
  shadow.patient_key.clear();
  audit::Common with_id = c;
  with_id.id = std::string(64, 'a');
  const std::vector<std::string> events = {
      audit::grant_event(c, false, p),
      audit::grant_event(c, true, no_policy),
      audit::read_event(c, to_0x_hex(key(8)), "Observation", true, p),
      audit::erasure_event(c, ""),
      audit::shadow_difference_event(shadow, "ingest", to_0x_hex(key(8)), "Observation", p, p),
      audit::grant_transaction_event(c, transaction_outcome(to_0x_hex(key(3)), std::uint64_t{7})),
      audit::revocation_event(
          c, transaction_outcome("", Error{ErrorCode::kUnavailable, "the node is down", ""})),
      audit::revocation_event(
          c, transaction_outcome(to_0x_hex(key(3)), Error{ErrorCode::kUnavailable, "late", ""})),
      audit::ingest_denial_event(c, to_0x_hex(key(8)), "Observation", false, p),
      audit::ingest_denial_event(with_id, to_0x_hex(key(8)), "Observation", true, p)};
  auto verdicts = testing::validate_fhir_r4(events);
  ASSERT_TRUE(verdicts) << verdicts.error().message;
  for (std::size_t i = 0; i < events.size(); ++i) {
    EXPECT_TRUE((*verdicts)[i].valid) << events[i] << "\n" << testing::to_string((*verdicts)[i]);
  }
  EXPECT_EQ(detail(events[0], "rule-ids"), "a, b");
  EXPECT_EQ(detail(events[0], "policy-hash"), to_0x_hex(key(9)));
  EXPECT_EQ(detail(events[4], "candidate-policy-hash"), to_0x_hex(key(9)));
  EXPECT_EQ(parse(events[4])["subtype"][0]["code"].GetString(),
            std::string("policy-shadow-difference"));
  EXPECT_EQ(audit::rfc3339_utc(kNow), "2023-11-14T22:13:20Z");
}

}  // namespace
}  // namespace fl::gateway
