// GrantService over fakes of its ports, with the shipped bundle deciding and a simulated clock:
// a grant decided, audited, sent, waited for and its outcome audited; the denials and failures
// that send nothing; a transaction that is not confirmed; and revocations, which no policy or
// audit log holds up. The patient is German (recorded country DE); the participants are
// registered in France and in the US.
#include "fl/gateway/grant_service.h"

#include "fl/gateway/audit_event.h"
#include "fl/gateway/mapping_files.h"
#include "fl/gateway/policy/policy_compiler.h"

#include "support/audit_json.h"
#include "support/corpus.h"
#include "support/fakes.h"
#include "support/shipped_policy.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <chrono>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace fl::gateway {
namespace {

using namespace std::chrono_literals;

constexpr const char* kPurpose = "TREAT";
constexpr std::uint64_t kDay = 86400;

std::shared_ptr<const policy::PolicyBundle> shipped() { return testing::shipped_policy_bundle(); }

using testing::audit_detail;
using testing::parse_json;

std::string outcome(const std::string& event) { return parse_json(event)["outcome"].GetString(); }

std::string kind(const std::string& event) {
  return parse_json(event)["subtype"][1]["code"].GetString();
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

ports::Address address(std::uint8_t fill) {
  ports::Address a{};
  a.fill(fill);
  return a;
}

ports::Hash32 key(std::uint8_t fill) {
  ports::Hash32 k{};
  k.fill(fill);
  return k;
}

// The hash the fake ledger gives its n-th transaction (from 0), mined in block 100 + n.
std::string tx_hash(std::uint8_t n) {
  ports::Hash32 tx{};
  tx[0] = 0x7e;
  tx[31] = n;
  return to_0x_hex(tx);
}

class GrantServiceTest : public ::testing::Test {
 protected:
  GrantServiceTest() : engine_(shipped()) {
    const std::pair<ports::Hash32, std::string> de{patient_, "DE"};
    EXPECT_TRUE(directory_.record_countries("eu", std::span(&de, 1), 0));
    access_.participants[fr_clinic_] = ports::ParticipantState{
        .address = to_0x_hex(fr_clinic_), .jurisdiction = "FR", .active = true};
    access_.participants[us_clinic_] = ports::ParticipantState{
        .address = to_0x_hex(us_clinic_), .jurisdiction = "US", .active = true};
    clock_.advance(90min);  // the wall clock reads 2026-12-01T01:30:00Z
  }

  GrantQuery query(const ports::Address& to, bool consent = false) const {
    return GrantQuery{.patient_key = patient_,
                      .grantee = to,
                      .purpose = kPurpose,
                      .expires_at = std::nullopt,
                      .days = kDefaultGrantDays,
                      .consent = consent,
                      .operator_name = "alice"};
  }

  RevokeQuery revocation(const ports::Address& to) const {
    return RevokeQuery{
        .patient_key = patient_, .grantee = to, .purpose = kPurpose, .operator_name = "alice"};
  }

  std::uint64_t now() const {
    return static_cast<std::uint64_t>(ports::unix_seconds(clock_.wall()));
  }

  std::uint64_t expiry_on_chain(const ports::Address& to) const {
    return access_.expiries.at({patient_, to, kPurpose});
  }

  const ports::Hash32 patient_ = key(1);
  const ports::Address fr_clinic_ = address(0x11);
  const ports::Address us_clinic_ = address(0x22);
  policy::PolicyEngine engine_;
  testing::FakePatientDirectory directory_;
  testing::FakeAccessLedger access_;
  testing::FakeAuditLog audit_;
  testing::ManualClock clock_;
  GrantService service_{
      {.access = access_, .directory = &directory_, .audit = audit_, .clock = clock_},
      {.gateway = "fhir-ledger-test", .engine = &engine_, .shadow = nullptr}};
};

// 1. A permitted grant.

TEST_F(GrantServiceTest, APermittedGrantIsAuditedSentMinedAndItsOutcomeAudited) {
  auto report = service_.grant(query(fr_clinic_));

  ASSERT_TRUE(report) << report.error().message;
  EXPECT_TRUE(report->permit) << report->reason;
  EXPECT_FALSE(report->capped);
  ASSERT_TRUE(report->decision);
  EXPECT_EQ(report->decision->rule_ids, std::vector<std::string>{"eea-within-eea"});
  // Expiry: the clock's wall time plus the default 365 days, on chain as reported.
  EXPECT_EQ(report->expires_at, now() + 365 * kDay);
  EXPECT_EQ(expiry_on_chain(fr_clinic_), report->expires_at);
  EXPECT_EQ(access_.sent, std::vector<std::string>{"grant"});
  EXPECT_TRUE(access_.grants.at({patient_, fr_clinic_, kPurpose}));

  ASSERT_TRUE(report->transaction);
  const TransactionReport& tx = *report->transaction;
  EXPECT_EQ(tx.outcome.state, audit::Transaction::State::kMined);
  EXPECT_EQ(tx.outcome.hash, tx_hash(0));
  EXPECT_EQ(tx.outcome.block, 100u);
  EXPECT_FALSE(tx.error);
  EXPECT_FALSE(tx.audit_error);

  // The decision first, then the transaction's outcome, both about the patient's pseudonym.
  ASSERT_EQ(audit_.records.size(), 2u);
  EXPECT_EQ(audit_.flushed, 2u);
  EXPECT_EQ(audit_.records[0].json, report->audit_event);
  EXPECT_EQ(audit_.records[1].json, tx.audit_event);
  EXPECT_EQ(audit_.records[0].key, to_0x_hex(patient_));
  EXPECT_EQ(audit_.records[1].key, to_0x_hex(patient_));
  EXPECT_EQ(kind(report->audit_event), "grant");
  EXPECT_EQ(outcome(report->audit_event), "0");
  EXPECT_EQ(kind(tx.audit_event), "grant-transaction");
  EXPECT_EQ(outcome(tx.audit_event), "0");
  EXPECT_EQ(audit_detail(tx.audit_event, "transaction"), tx_hash(0));
  EXPECT_EQ(audit_detail(tx.audit_event, "block"), "100");
  EXPECT_EQ(audit_detail(tx.audit_event, "expires-at"), "2027-12-01T01:30:00Z");
  // Recorded at the clock port's wall time, not the machine's.
  EXPECT_EQ(parse_json(report->audit_event)["recorded"].GetString(),
            std::string("2026-12-01T01:30:00Z"));
  EXPECT_EQ(parse_json(tx.audit_event)["recorded"].GetString(),
            std::string("2026-12-01T01:30:00Z"));
  EXPECT_EQ(parse_json(tx.audit_event)["agent"][1]["who"]["identifier"]["value"].GetString(),
            to_0x_hex(fr_clinic_));
  EXPECT_TRUE(report->shadow_event.empty());
}

TEST_F(GrantServiceTest, TheExpiryRunsTheAskedDaysFromTheClocksWallTimeOrIsGivenOutright) {
  GrantQuery week = query(fr_clinic_);
  week.days = 7;
  GrantQuery until = query(fr_clinic_);
  until.expires_at = now() + 12345;
  until.days = 0;  // ignored beside an absolute expiry

  auto first = service_.grant(week);
  clock_.advance(24h);
  auto second = service_.grant(until);

  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->expires_at, now() - 24 * 3600 + 7 * kDay);
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(second->expires_at, *until.expires_at);
  EXPECT_EQ(expiry_on_chain(fr_clinic_), *until.expires_at);
  EXPECT_EQ(access_.sent, (std::vector<std::string>{"grant", "grant"}));
}

TEST_F(GrantServiceTest, TheBundleCapsAnEuPatientsConsentedGrantToTheUsAtThirtyDays) {
  auto report = service_.grant(query(us_clinic_, true));

  ASSERT_TRUE(report) << report.error().message;
  EXPECT_TRUE(report->permit) << report->reason;
  EXPECT_TRUE(report->capped);
  EXPECT_EQ(report->expires_at, now() + 30 * kDay);
  EXPECT_EQ(expiry_on_chain(us_clinic_), now() + 30 * kDay);
  EXPECT_EQ(audit_detail(report->audit_event, "expires-at"), "2026-12-31T01:30:00Z");
  ASSERT_TRUE(report->transaction);
  EXPECT_EQ(audit_detail(report->transaction->audit_event, "expires-at"), "2026-12-31T01:30:00Z");
}

// 2. Grants that send nothing.

TEST_F(GrantServiceTest, AGrantTheBundleDeniesIsAuditedAndSendsNoTransaction) {
  auto report = service_.grant(query(us_clinic_, false));

  ASSERT_TRUE(report) << report.error().message;
  EXPECT_FALSE(report->permit);
  EXPECT_TRUE(contains(report->reason, to_0x_hex(shipped()->hash))) << report->reason;
  EXPECT_FALSE(report->transaction);
  EXPECT_TRUE(access_.sent.empty());
  EXPECT_TRUE(access_.expiries.empty());
  ASSERT_EQ(audit_.records.size(), 1u);
  EXPECT_EQ(audit_.records[0].json, report->audit_event);
  EXPECT_EQ(outcome(report->audit_event), "4");
  EXPECT_EQ(audit_detail(report->audit_event, "effect"), "deny");
}

TEST_F(GrantServiceTest, AParticipantNotRegisteredGetsNoGrantAndTheRefusalIsAudited) {
  const ports::Address stranger = address(0x33);

  auto report = service_.grant(query(stranger, true));

  ASSERT_TRUE(report) << report.error().message;
  EXPECT_FALSE(report->permit);
  EXPECT_EQ(report->reason, "the participant is not registered, or not active, on the contract");
  EXPECT_FALSE(report->transaction);
  EXPECT_TRUE(access_.sent.empty());
  ASSERT_EQ(audit_.records.size(), 1u);
  EXPECT_EQ(audit_detail(audit_.records[0].json, "refusal"), report->reason);
}

TEST_F(GrantServiceTest, AnAuditLogDownBeforeTheDecisionIsAnErrorAndNothingIsSent) {
  audit_.fail_next = true;

  auto report = service_.grant(query(fr_clinic_));

  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE(access_.sent.empty());
  EXPECT_TRUE(audit_.records.empty());
}

TEST_F(GrantServiceTest, AnAccessLedgerThatIsDownIsAnErrorBeforeAnyDecision) {
  access_.unavailable = true;

  auto report = service_.grant(query(fr_clinic_));

  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE(audit_.records.empty());
}

TEST_F(GrantServiceTest, DaysOutsideOneToAHundredYearsOrNoPurposeAreInvalidAndNothingIsAsked) {
  GrantQuery none = query(fr_clinic_);
  none.days = 0;
  GrantQuery too_long = query(fr_clinic_);
  too_long.days = kMaxGrantDays + 1;
  GrantQuery no_purpose = query(fr_clinic_);
  no_purpose.purpose.clear();

  for (const GrantQuery& q : {none, too_long, no_purpose}) {
    auto report = service_.grant(q);
    ASSERT_FALSE(report);
    EXPECT_EQ(report.error().code, ErrorCode::kInvalidInput);
  }
  EXPECT_EQ(access_.calls, 0);
  EXPECT_TRUE(access_.sent.empty());
  EXPECT_TRUE(audit_.records.empty());
  GrantQuery longest = query(fr_clinic_);
  longest.days = kMaxGrantDays;
  EXPECT_TRUE(service_.grant(longest));
}

// 3. What became of the transaction.

TEST_F(GrantServiceTest, ATransactionNotConfirmedInTimeIsReportedAndAuditedAsUnknown) {
  access_.unmined = true;

  auto report = service_.grant(query(fr_clinic_));

  ASSERT_TRUE(report) << report.error().message;
  EXPECT_TRUE(report->permit);
  ASSERT_TRUE(report->transaction);
  const TransactionReport& tx = *report->transaction;
  EXPECT_EQ(tx.outcome.state, audit::Transaction::State::kUnconfirmed);
  EXPECT_EQ(tx.outcome.hash, tx_hash(0));
  ASSERT_TRUE(tx.error);
  EXPECT_EQ(tx.error->code, ErrorCode::kUnavailable);
  EXPECT_EQ(tx.error->where, "fake-node");
  EXPECT_FALSE(tx.audit_error);
  ASSERT_EQ(audit_.records.size(), 2u);
  EXPECT_EQ(audit_.records[1].json, tx.audit_event);
  EXPECT_EQ(outcome(tx.audit_event), "4");
  EXPECT_EQ(audit_detail(tx.audit_event, "transaction"), tx_hash(0));
  EXPECT_EQ(audit_detail(tx.audit_event, "block"), "");
}

TEST_F(GrantServiceTest, AMinedGrantWhoseOutcomeCannotBeAuditedSaysItIsOnChain) {
  audit_.fail_after = 1;  // the decision is recorded, the transaction's outcome is not

  auto report = service_.grant(query(fr_clinic_));

  ASSERT_TRUE(report) << report.error().message;
  ASSERT_TRUE(report->transaction);
  const TransactionReport& tx = *report->transaction;
  EXPECT_EQ(tx.outcome.state, audit::Transaction::State::kMined);
  EXPECT_FALSE(tx.error);
  EXPECT_TRUE(tx.audit_event.empty());
  ASSERT_TRUE(tx.audit_error);
  EXPECT_EQ(tx.audit_error->code, ErrorCode::kUnavailable);
  EXPECT_EQ(tx.audit_error->message, "the grant is on chain (transaction " + tx_hash(0) +
                                         ") but its outcome could not be audited: audit topic "
                                         "unavailable (injected)");
  EXPECT_EQ(access_.sent, std::vector<std::string>{"grant"});
}

// 4. Revocations.

TEST_F(GrantServiceTest, ARevocationIsSentMinedAndAuditedWithItsTransaction) {
  ASSERT_TRUE(service_.grant(query(fr_clinic_)));
  clock_.advance(1h);

  auto report = service_.revoke(revocation(fr_clinic_));

  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(access_.sent, (std::vector<std::string>{"grant", "revoke"}));
  EXPECT_FALSE(access_.grants.at({patient_, fr_clinic_, kPurpose}));
  EXPECT_EQ(report->outcome.state, audit::Transaction::State::kMined);
  EXPECT_EQ(report->outcome.hash, tx_hash(1));
  EXPECT_EQ(report->outcome.block, 101u);
  EXPECT_FALSE(report->error);
  EXPECT_FALSE(report->audit_error);
  ASSERT_EQ(audit_.records.size(), 3u);
  EXPECT_EQ(audit_.records[2].json, report->audit_event);
  EXPECT_EQ(kind(report->audit_event), "revocation");
  EXPECT_EQ(outcome(report->audit_event), "0");
  EXPECT_EQ(audit_detail(report->audit_event, "transaction"), tx_hash(1));
  EXPECT_EQ(parse_json(report->audit_event)["recorded"].GetString(),
            std::string("2026-12-01T02:30:00Z"));
  EXPECT_EQ(parse_json(report->audit_event)["agent"][1]["who"]["identifier"]["value"].GetString(),
            to_0x_hex(fr_clinic_));
}

TEST_F(GrantServiceTest, ARevocationIsSentWithTheAuditLogDownAndTheLostRecordReported) {
  audit_.fail_next = true;

  auto report = service_.revoke(revocation(fr_clinic_));

  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(access_.sent, std::vector<std::string>{"revoke"});
  EXPECT_EQ(report->outcome.state, audit::Transaction::State::kMined);
  EXPECT_TRUE(report->audit_event.empty());
  ASSERT_TRUE(report->audit_error);
  EXPECT_EQ(report->audit_error->code, ErrorCode::kUnavailable);
  EXPECT_TRUE(contains(report->audit_error->message,
                       "the revoke is on chain (transaction " + tx_hash(0) + ")"))
      << report->audit_error->message;
  EXPECT_TRUE(audit_.records.empty());
}

TEST_F(GrantServiceTest, AParticipantNoLongerRegisteredStillLosesItsGrant) {
  access_.participants[fr_clinic_].active = false;

  auto report = service_.revoke(revocation(fr_clinic_));

  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(access_.sent, std::vector<std::string>{"revoke"});
  EXPECT_EQ(outcome(report->audit_event), "0");
}

TEST_F(GrantServiceTest, ARevocationThatCouldNotBeSentIsAuditedAsFailed) {
  access_.unavailable = true;

  auto report = service_.revoke(revocation(fr_clinic_));

  ASSERT_TRUE(report) << report.error().message;
  EXPECT_TRUE(access_.sent.empty());
  EXPECT_EQ(report->outcome.state, audit::Transaction::State::kFailed);
  EXPECT_TRUE(report->outcome.hash.empty());
  ASSERT_TRUE(report->error);
  EXPECT_EQ(report->error->code, ErrorCode::kUnavailable);
  ASSERT_EQ(audit_.records.size(), 1u);
  EXPECT_EQ(outcome(report->audit_event), "8");
  // Without the ledger's answer the grantee is named by its plain address.
  EXPECT_EQ(parse_json(report->audit_event)["agent"][1]["who"]["identifier"]["value"].GetString(),
            to_0x_hex(fr_clinic_));
}

}  // namespace
}  // namespace fl::gateway
