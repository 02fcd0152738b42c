// EraseService over fakes of its ports with a simulated clock: the patient's master keys are
// destroyed in every region before the ledger is asked to mark them erased, the directory
// forgets their country, the AuditEvent names only the pseudonym, and an erasure that stopped
// part way (a store, the ledger or the audit log down) is finished by running it again.
#include "fl/gateway/erase_service.h"

#include "fl/gateway/keys/master_keys.h"

#include "support/audit_json.h"
#include "support/fakes.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <array>
#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace fl::gateway {
namespace {

using namespace std::chrono_literals;

using Regions = std::vector<std::pair<std::string, bool>>;

using testing::audit_detail;
using testing::parse_json;

// The first transaction the fake ledger sends: 0x7e, zeros; mined in block 100.
constexpr const char* kFirstTx =
    "0x7e00000000000000000000000000000000000000000000000000000000000000";

// The fake access ledger, with a look at the other stores at the moment the erasure mark is
// sent: what the order of the steps is about.
class WatchedLedger final : public ports::AccessLedger {
 public:
  WatchedLedger(testing::FakeAccessLedger& ledger, std::function<void()> on_erasure)
      : ledger_(ledger), on_erasure_(std::move(on_erasure)) {}

  Result<ports::ParticipantState> participant(const ports::Address& who) override {
    return ledger_.participant(who);
  }
  Result<bool> can_read(const ports::Hash32& patient_key, const ports::Address& reader,
                        std::string_view purpose) override {
    return ledger_.can_read(patient_key, reader, purpose);
  }
  Result<ports::Hash32> send_grant(const ports::Hash32& patient_key, const ports::Address& grantee,
                                   std::string_view purpose, std::uint64_t expires_at) override {
    return ledger_.send_grant(patient_key, grantee, purpose, expires_at);
  }
  Result<ports::Hash32> send_revoke(const ports::Hash32& patient_key, const ports::Address& grantee,
                                    std::string_view purpose) override {
    return ledger_.send_revoke(patient_key, grantee, purpose);
  }
  Result<ports::Hash32> send_erasure(const ports::Hash32& patient_key) override {
    on_erasure_();
    return ledger_.send_erasure(patient_key);
  }
  Result<std::uint64_t> wait_mined(const ports::Hash32& tx) override {
    return ledger_.wait_mined(tx);
  }

 private:
  testing::FakeAccessLedger& ledger_;
  std::function<void()> on_erasure_;
};

// The fake directory, except that forgetting fails while `down`.
class FlakyDirectory final : public ports::PatientDirectory {
 public:
  explicit FlakyDirectory(testing::FakePatientDirectory& directory) : directory_(directory) {}

  Result<std::vector<std::optional<ports::PatientCountry>>> recorded_countries(
      std::span<const ports::Hash32> patient_keys) override {
    return directory_.recorded_countries(patient_keys);
  }
  Status record_countries(const std::string& region,
                          std::span<const std::pair<ports::Hash32, std::string>> countries,
                          std::int64_t now_ms) override {
    return directory_.record_countries(region, countries, now_ms);
  }
  Result<bool> forget_patient(const ports::Hash32& patient_key) override {
    if (down) return Error{ErrorCode::kUnavailable, "injected failure", "eu"};
    return directory_.forget_patient(patient_key);
  }
  Result<std::vector<std::optional<ports::Hash32>>> linked_persons(
      std::span<const ports::Hash32> records) override {
    return directory_.linked_persons(records);
  }
  Result<std::vector<ports::Hash32>> link_persons(
      std::span<const std::pair<ports::Hash32, ports::Hash32>> links) override {
    return directory_.link_persons(links);
  }

  bool down = false;

 private:
  testing::FakePatientDirectory& directory_;
};

class EraseServiceTest : public ::testing::Test {
 protected:
  EraseServiceTest() {
    // The patient's data reached the EU and US regions; the default region never had any.
    for (const char* region : {"eu", "us"}) {
      const std::array<ports::Hash32, 1> patients{patient_};
      EXPECT_TRUE(MasterKeys(keks_, master_keys_).for_writing(region, patients));
    }
    const std::pair<ports::Hash32, std::string> de{patient_, "DE"};
    EXPECT_TRUE(directory_.record_countries("eu", std::span(&de, 1), 0));
    clock_.advance(90min);  // the wall clock reads 2026-12-01T01:30:00Z
  }

  Result<EraseReport> erase() {
    return service_.erase(
        {.patient_key = patient_, .operator_name = "alice", .reason = "patient request"});
  }

  // Whether the patient's key in `region` is destroyed (an erasure mark in its place).
  bool key_erased(const std::string& region) {
    auto found = MasterKeys(keks_, master_keys_).for_reading(region, patient_);
    return !found && found.error().code == ErrorCode::kErased;
  }

  const ports::Hash32 patient_{1, 2, 3, 4};
  testing::FakeKeyProvider keks_;
  testing::FakeMasterKeyStore master_keys_;
  testing::FakePatientDirectory directory_;
  FlakyDirectory flaky_directory_{directory_};
  testing::FakeAccessLedger access_;
  testing::FakeAuditLog audit_;
  testing::ManualClock clock_;
  // At the moment the erasure mark is sent: each region's key state and the directory's.
  std::vector<bool> erased_when_marked_;
  bool country_when_marked_ = false;
  WatchedLedger watched_{
      access_, [this] {
        erased_when_marked_ = {key_erased("default"), key_erased("eu"), key_erased("us")};
        country_when_marked_ = directory_.records.contains(patient_);
      }};
  EraseService service_{{.keys = keks_,
                         .master_keys = master_keys_,
                         .directory = flaky_directory_,
                         .access = watched_,
                         .audit = audit_,
                         .clock = clock_},
                        {.gateway = "fhir-ledger-test", .regions = {"default", "eu", "us"}}};
};

TEST_F(EraseServiceTest, KeysAreDestroyedInEveryRegionAndTheCountryForgottenBeforeTheLedgerMark) {
  ASSERT_FALSE(key_erased("eu"));

  auto report = erase();

  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(erased_when_marked_, (std::vector<bool>{true, true, true}));
  EXPECT_FALSE(country_when_marked_);
  EXPECT_EQ(access_.sent, std::vector<std::string>{"erasure"});
  EXPECT_TRUE(access_.erased.contains(patient_));
  EXPECT_TRUE(directory_.records.empty());
  EXPECT_EQ(report->regions, (Regions{{"default", false}, {"eu", true}, {"us", true}}));
  EXPECT_TRUE(report->directory_record);
  EXPECT_EQ(report->patient_key, to_0x_hex(patient_));
  EXPECT_EQ(report->erased_at, "2026-12-01T01:30:00Z");
  EXPECT_EQ(master_keys_.entries.at({"eu", patient_}).erased_at, "2026-12-01T01:30:00Z");
  EXPECT_EQ(report->tx, kFirstTx);
  EXPECT_EQ(report->block, 100u);
}

TEST_F(EraseServiceTest, TheErasureIsAuditedNamingOnlyThePseudonym) {
  auto report = erase();

  ASSERT_TRUE(report) << report.error().message;
  ASSERT_EQ(audit_.records.size(), 1u);
  EXPECT_EQ(audit_.flushed, 1u);
  EXPECT_EQ(audit_.records[0].key, to_0x_hex(patient_));
  const std::string& event = audit_.records[0].json;
  EXPECT_EQ(event, report->audit_event);
  const auto d = parse_json(event);
  EXPECT_EQ(d["subtype"][1]["code"].GetString(), std::string("erasure"));
  EXPECT_EQ(d["outcome"].GetString(), std::string("0"));
  EXPECT_EQ(d["outcomeDesc"].GetString(), std::string("patient request"));
  EXPECT_EQ(d["recorded"].GetString(), std::string("2026-12-01T01:30:00Z"));
  EXPECT_EQ(d["agent"][0]["who"]["display"].GetString(), std::string("alice"));
  EXPECT_EQ(d["entity"][0]["what"]["identifier"]["value"].GetString(), to_0x_hex(patient_));
  EXPECT_EQ(d["entity"].Size(), 1u);
  EXPECT_EQ(audit_detail(event, "ledgerTransaction"), report->tx);
  EXPECT_EQ(audit_detail(event, "regions"), "default=none,eu=destroyed,us=destroyed");
  EXPECT_EQ(audit_detail(event, "directoryRecord"), "forgotten");
  EXPECT_EQ(event.find("Patient/"), std::string::npos) << event;
}

TEST_F(EraseServiceTest, ALedgerDownIsAnErrorAfterTheKeysAreDestroyedAndErasingAgainFinishes) {
  access_.unavailable = true;

  auto failed = erase();

  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE(key_erased("eu"));
  EXPECT_TRUE(key_erased("us"));
  EXPECT_TRUE(directory_.records.empty());
  EXPECT_TRUE(access_.erased.empty());
  EXPECT_TRUE(audit_.records.empty());

  access_.unavailable = false;
  auto again = erase();

  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->regions, (Regions{{"default", false}, {"eu", false}, {"us", false}}));
  EXPECT_FALSE(again->directory_record);
  EXPECT_TRUE(access_.erased.contains(patient_));
  ASSERT_EQ(audit_.records.size(), 1u);
  EXPECT_EQ(audit_detail(audit_.records[0].json, "regions"), "default=none,eu=none,us=none");
  EXPECT_EQ(audit_detail(audit_.records[0].json, "directoryRecord"), "none");
}

TEST_F(EraseServiceTest, AnErasureMarkNotMinedInTimeIsAnErrorAndNothingIsAudited) {
  access_.unmined = true;

  auto report = erase();

  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(access_.sent, std::vector<std::string>{"erasure"});
  EXPECT_TRUE(audit_.records.empty());
}

TEST_F(EraseServiceTest, ADirectoryDownStopsBeforeTheLedgerAndSaysErasingAgainLosesNothing) {
  flaky_directory_.down = true;

  auto report = erase();

  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(report.error().message, "injected failure (nothing is lost by running erase again)");
  EXPECT_EQ(report.error().where, "eu");
  EXPECT_TRUE(key_erased("eu"));
  EXPECT_TRUE(access_.sent.empty());
  EXPECT_EQ(directory_.records.size(), 1u);
}

TEST_F(EraseServiceTest, AnAuditLogDownIsAnErrorAfterTheMarkAndErasingAgainRecordsIt) {
  audit_.fail_next = true;

  auto failed = erase();
  auto again = erase();

  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, ErrorCode::kUnavailable);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(access_.sent, (std::vector<std::string>{"erasure", "erasure"}));
  ASSERT_EQ(audit_.records.size(), 1u);
  EXPECT_EQ(audit_.records[0].json, again->audit_event);
}

}  // namespace
}  // namespace fl::gateway
