// ReadService over fakes of every port, with a version sealed and stored as the pipeline does
// (ProtectStage, then its pointer record) and the shipped bundle deciding: the operator's own
// read, a participant's read decided by its registration, its grant and the policy, and the
// failures that are errors rather than denials. The patient is German (recorded country DE);
// the participant is registered in the US.
#include "fl/gateway/read_service.h"

#include "fl/gateway/audit_event.h"
#include "fl/gateway/mapping_files.h"
#include "fl/gateway/pointer_record.h"
#include "fl/gateway/policy/policy_compiler.h"
#include "fl/gateway/pseudonyms.h"
#include "fl/gateway/stages/protect_stage.h"

#include "support/audit_json.h"
#include "support/corpus.h"
#include "support/fakes.h"
#include "support/shipped_policy.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace fl::gateway {
namespace {

using namespace std::chrono_literals;

constexpr const char* kSource = "demo-ehr";
constexpr const char* kRegion = "eu";
constexpr const char* kReference = "Observation/o1";
constexpr const char* kPurpose = "TREAT";
// Canonical JSON, as the pipeline stores it: a release without obligations is byte for byte it.
constexpr const char* kObservation =
    R"({"code":{"text":"glucose"},"id":"o1","identifier":[{"system":"urn:mrn","value":"12345"}],)"
    R"("resourceType":"Observation","status":"final","subject":{"reference":"Patient/p1"}})";

std::shared_ptr<const policy::PolicyBundle> shipped() { return testing::shipped_policy_bundle(); }

rapidjson::Document parse(const std::string& json) { return testing::parse_json(json); }

std::string detail(const std::string& event, const std::string& type) {
  return testing::audit_detail(event, type);
}

std::string outcome(const std::string& event) { return parse(event)["outcome"].GetString(); }

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

ports::Address address(std::uint8_t fill) {
  ports::Address a{};
  a.fill(fill);
  return a;
}

class ReadServiceTest : public ::testing::Test {
 protected:
  ReadServiceTest()
      : engine_(shipped()),
        resource_key_(Pseudonyms(keks_).resource_key(kSource, kReference).value()),
        patient_key_(Pseudonyms(keks_).patient_key(kSource, "Patient/p1").value()) {
    const std::pair<ports::Hash32, std::string> de{patient_key_, "DE"};
    EXPECT_TRUE(directory_.record_countries(kRegion, std::span(&de, 1), 0));
    access_.participants[us_reader_] = ports::ParticipantState{
        .address = to_0x_hex(us_reader_), .jurisdiction = "US", .active = true};
    clock_.advance(90min);  // the wall clock reads 2026-12-01T01:30:00Z
  }

  void SetUp() override { store(kObservation); }

  // Seals `json` as version `version` of Observation/o1 and writes its pointer record, as the
  // pipeline's protect and commit stages do.
  void store(const char* json, std::uint64_t version = 1, const std::string& region = kRegion) {
    Sealing item{.resource_key = resource_key_,
                 .patient_key = patient_key_,
                 .version = version,
                 .policy_hash = shipped()->hash,
                 .plaintext = json};
    std::vector<Sealing*> items{&item};
    auto sealed = ProtectStage(keks_, master_keys_, blobs_).seal_and_store(region, items);
    ASSERT_TRUE(sealed) << sealed.error().message;
    ASSERT_FALSE(item.refused);
    const PointerRecord record{.pointer = {.resource_key = resource_key_,
                                           .patient_key = patient_key_,
                                           .version = version,
                                           .content_hash = item.content_hash,
                                           .policy_hash = shipped()->hash,
                                           .mapping_hash = {},
                                           .region = region,
                                           .key_id = item.key_id,
                                           .mode = ports::AnchorMode::kPointer},
                               .tx_hash = to_0x_hex(item.content_hash),
                               .block = 100 + version,
                               .proof = std::nullopt};
    const std::vector<ports::PointerRecordWrite> writes{{.resource_key = to_hex(resource_key_),
                                                         .version = version,
                                                         .json = to_json(record),
                                                         .patient_key = to_hex(patient_key_)}};
    ASSERT_TRUE(blobs_.put_pointer_records(region, writes));
    content_hash_ = item.content_hash;
  }

  void grant(const ports::Address& who, const std::string& purpose = kPurpose) {
    access_.grants[{patient_key_, who, purpose}] = true;
  }

  static ReadQuery operator_query() {
    return ReadQuery{.source = kSource,
                     .reference = kReference,
                     .version = std::nullopt,
                     .participant = std::nullopt,
                     .purpose = "",
                     .consent = false,
                     .operator_name = "alice"};
  }

  ReadQuery participant_query(const ports::Address& who, bool consent) const {
    ReadQuery q = operator_query();
    q.participant = who;
    q.purpose = kPurpose;
    q.consent = consent;
    return q;
  }

  Result<ReadReport> read(const ReadQuery& query) { return service_.read(query); }

  std::string identifier_pseudonym(std::string_view system, std::string_view value) {
    return to_hex(Pseudonyms(keks_).identifier(system, value).value());
  }

  const ports::Address us_reader_ = address(0x11);
  policy::PolicyEngine engine_;
  testing::FakeKeyProvider keks_;
  testing::FakeMasterKeyStore master_keys_;
  testing::FakeBlobStore blobs_;
  testing::FakePatientDirectory directory_;
  testing::FakePointerLedger ledger_;
  testing::FakeAccessLedger access_;
  testing::FakeAuditLog audit_;
  testing::ManualClock clock_;
  const ports::Hash32 resource_key_;
  const ports::Hash32 patient_key_;
  ports::Hash32 content_hash_{};
  ReadServicePorts ports() {
    return {.keys = keks_,
            .blobs = blobs_,
            .master_keys = master_keys_,
            .directory = directory_,
            .pointers = ledger_,
            .access = access_,
            .audit = audit_,
            .clock = clock_};
  }
  ReadSettings settings(RegionHints* hints = nullptr) {
    return {.gateway = "fhir-ledger-test",
            .regions = {"default", kRegion},
            .engine = &engine_,
            .shadow = nullptr,
            .hints = hints};
  }
  ReadService service_{ports(), settings()};
};

// 1. The operator's own read.

TEST_F(ReadServiceTest, TheOperatorsReadReleasesTheStoredJsonUnchangedAndIsAudited) {
  auto report = read(operator_query());

  ASSERT_TRUE(report) << report.error().message;
  EXPECT_TRUE(report->permit) << report->reason;
  EXPECT_EQ(report->released, kObservation);
  EXPECT_TRUE(report->reason.empty());
  EXPECT_FALSE(report->decision);  // no policy decides it
  EXPECT_EQ(report->record.pointer.resource_key, resource_key_);
  EXPECT_EQ(report->record.pointer.content_hash, content_hash_);
  EXPECT_EQ(access_.calls, 0);  // no registration or grant is asked for
  ASSERT_EQ(audit_.records.size(), 1u);
  EXPECT_EQ(audit_.flushed, 1u);
  EXPECT_EQ(audit_.records[0].key, to_0x_hex(patient_key_));
  EXPECT_EQ(audit_.records[0].json, report->audit_event);
  EXPECT_EQ(outcome(report->audit_event), "0");
  EXPECT_EQ(detail(report->audit_event, "access"), "operator read: no policy");
}

TEST_F(ReadServiceTest, TheLatestVersionIsReadUnlessOneIsAsked) {
  constexpr const char* kSecond = R"({"id":"o1","resourceType":"Observation","status":"amended"})";
  store(kSecond, 2);

  auto latest = read(operator_query());
  ReadQuery first_query = operator_query();
  first_query.version = 1;
  auto first = read(first_query);

  ASSERT_TRUE(latest) << latest.error().message;
  EXPECT_EQ(latest->released, kSecond);
  EXPECT_EQ(latest->record.pointer.version, 2u);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->released, kObservation);
  EXPECT_EQ(first->record.pointer.version, 1u);
}

// 2. A participant's read that its grant and the policy permit.

TEST_F(ReadServiceTest, AGrantedConsentedReadIsReleasedWithIdentifiersPseudonymized) {
  grant(us_reader_);

  auto report = read(participant_query(us_reader_, true));

  ASSERT_TRUE(report) << report.error().message;
  EXPECT_TRUE(report->permit) << report->reason;
  ASSERT_TRUE(report->decision);
  EXPECT_EQ(report->decision->effect, policy::Effect::kPermit);
  EXPECT_EQ(report->decision->rule_ids, std::vector<std::string>{"eea-to-us-consent"});
  EXPECT_TRUE(report->decision->obligations.pseudonymize_identifiers);
  // The identifier's value is replaced by its keyed pseudonym; everything else is kept.
  const auto released = parse(report->released);
  ASSERT_TRUE(released.IsObject()) << report->released;
  EXPECT_EQ(released["identifier"][0]["value"].GetString(),
            identifier_pseudonym("urn:mrn", "12345"));
  EXPECT_EQ(released["identifier"][0]["system"].GetString(), std::string("urn:mrn"));
  EXPECT_EQ(released["code"]["text"].GetString(), std::string("glucose"));
  EXPECT_FALSE(contains(report->released, "12345")) << report->released;

  ASSERT_EQ(audit_.records.size(), 1u);
  const std::string& event = audit_.records[0].json;
  EXPECT_EQ(event, report->audit_event);
  EXPECT_EQ(outcome(event), "0");
  EXPECT_EQ(detail(event, "rule-ids"), "eea-to-us-consent");
  EXPECT_EQ(detail(event, "policy-hash"), to_0x_hex(shipped()->hash));
  // Recorded at the clock port's wall time, not the machine's.
  EXPECT_EQ(parse(event)["recorded"].GetString(),
            audit::rfc3339_utc(ports::unix_seconds(clock_.wall())));
  EXPECT_EQ(parse(event)["recorded"].GetString(), std::string("2026-12-01T01:30:00Z"));
  EXPECT_EQ(parse(event)["agent"][1]["who"]["identifier"]["value"].GetString(),
            to_0x_hex(us_reader_));
  EXPECT_FALSE(contains(event, "12345"));
}

// 3. No grant on the ledger.

TEST_F(ReadServiceTest, AParticipantWithoutAGrantIsDeniedAndTheDenialAudited) {
  grant(us_reader_, "HPAYMT");  // a grant for another purpose does not count

  auto report = read(participant_query(us_reader_, true));

  ASSERT_TRUE(report) << report.error().message;
  EXPECT_FALSE(report->permit);
  EXPECT_TRUE(contains(report->reason, "grant")) << report->reason;
  EXPECT_TRUE(report->released.empty());
  ASSERT_EQ(audit_.records.size(), 1u);
  EXPECT_EQ(audit_.records[0].json, report->audit_event);
  EXPECT_EQ(outcome(report->audit_event), "4");
  EXPECT_EQ(detail(report->audit_event, "refusal"), report->reason);
  EXPECT_FALSE(contains(report->audit_event, "12345"));
}

// 4. No active registration.

TEST_F(ReadServiceTest, AnUnregisteredParticipantIsDeniedEvenWithAGrant) {
  const ports::Address stranger = address(0x22);
  grant(stranger);

  auto report = read(participant_query(stranger, true));

  ASSERT_TRUE(report) << report.error().message;
  EXPECT_FALSE(report->permit);
  EXPECT_TRUE(contains(report->reason, "not registered")) << report->reason;
  EXPECT_TRUE(report->released.empty());
  ASSERT_EQ(audit_.records.size(), 1u);
  EXPECT_EQ(outcome(audit_.records[0].json), "4");
}

TEST_F(ReadServiceTest, AnInactiveParticipantIsDeniedEvenWithAGrantAndConsent) {
  access_.participants[us_reader_].active = false;  // deactivated; its jurisdiction stays US
  grant(us_reader_);

  auto report = read(participant_query(us_reader_, true));

  ASSERT_TRUE(report) << report.error().message;
  EXPECT_FALSE(report->permit);
  EXPECT_TRUE(contains(report->reason, "not active")) << report->reason;
  EXPECT_TRUE(report->released.empty());
  ASSERT_EQ(audit_.records.size(), 1u);
  EXPECT_EQ(outcome(audit_.records[0].json), "4");
}

// 5. The policy denies.

TEST_F(ReadServiceTest, WithoutConsentTheBundleDeniesAGermanPatientsDataToTheUs) {
  grant(us_reader_);

  auto report = read(participant_query(us_reader_, false));

  ASSERT_TRUE(report) << report.error().message;
  EXPECT_FALSE(report->permit);
  EXPECT_TRUE(report->released.empty());
  ASSERT_TRUE(report->decision);
  EXPECT_EQ(report->decision->effect, policy::Effect::kDeny);
  EXPECT_TRUE(contains(report->reason, to_0x_hex(shipped()->hash))) << report->reason;
  ASSERT_EQ(audit_.records.size(), 1u);
  EXPECT_EQ(detail(audit_.records[0].json, "effect"), "deny");
  EXPECT_EQ(detail(audit_.records[0].json, "policy-hash"), to_0x_hex(shipped()->hash));
}

// Consent as the patient gave it: the grants their Consents hold (ConsentRecords).
class ConsentedReadTest : public ReadServiceTest {
 protected:
  class Consents final : public ports::ConsentRecords {
   public:
    Result<std::optional<std::string>> consent_record(const ports::Hash32&) override {
      return std::optional<std::string>();
    }
    Status put_consent_record(const ports::Hash32&, const std::string&) override { return Ok{}; }
    Result<std::vector<ports::ConsentedGrant>> consented_grants(const ports::Hash32& p) override {
      ++asked;
      return by_patient[p];
    }
    std::map<ports::Hash32, std::vector<ports::ConsentedGrant>> by_patient;
    int asked = 0;
  };
  bool permitted(const ReadQuery& query) {
    auto report = consented_.read(query);
    EXPECT_TRUE(report) << report.error().message;
    return report && report->permit;
  }
  ReadServicePorts consented_ports() {
    ReadServicePorts p = ports();
    p.consents = &consents_;
    return p;
  }
  Consents consents_;
  ReadService consented_{consented_ports(), settings()};
};

TEST_F(ConsentedReadTest, AConsentThePatientGaveLetsTheCrossBorderReadThrough) {
  grant(us_reader_);
  EXPECT_FALSE(permitted(participant_query(us_reader_, false)));
  const std::uint64_t now = ports::unix_seconds(clock_.wall());
  consents_.by_patient[patient_key_] = {{us_reader_, kPurpose, now + 60}};
  EXPECT_TRUE(permitted(participant_query(us_reader_, false)));
}

TEST_F(ConsentedReadTest, AnExpiredConsentAnotherPurposeOrParticipantIsNoConsent) {
  grant(us_reader_);
  const std::uint64_t now = ports::unix_seconds(clock_.wall());
  consents_.by_patient[patient_key_] = {
      {us_reader_, kPurpose, now}, {us_reader_, "HRESCH", 0}, {address(0x22), kPurpose, 0}};
  EXPECT_FALSE(permitted(participant_query(us_reader_, false)));
}

TEST_F(ConsentedReadTest, WithoutAGrantTheConsentsAreNotAsked) {
  consents_.by_patient[patient_key_] = {{us_reader_, kPurpose, 0}};
  EXPECT_FALSE(permitted(participant_query(us_reader_, false)));
  EXPECT_EQ(consents_.asked, 0);
}

// 6. What cannot be read at all.

TEST_F(ReadServiceTest, ABlobAlteredInTheStoreIsAnIntegrityError) {
  const std::string key = to_hex(content_hash_);
  ports::Bytes altered = blobs_.blobs_in(kRegion).at(key);
  altered.back() ^= 0x01;
  const std::vector<std::string> keys{key};
  ASSERT_TRUE(blobs_.remove_unclaimed(kRegion, keys));
  ASSERT_TRUE(blobs_.put_if_absent_streamed(kRegion, 1, [&](std::size_t) {
    return Result<ports::BlobWrite>(ports::BlobWrite{
        .key = key, .blob = altered, .resource_key = to_hex(resource_key_), .version = 1});
  }));

  auto report = read(operator_query());

  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().code, ErrorCode::kIntegrity);
}

TEST_F(ReadServiceTest, APatientErasedOnTheLedgerIsErased) {
  grant(us_reader_);
  ASSERT_TRUE(read(operator_query()));  // readable until the erasure
  ledger_.erased_patients.insert(patient_key_);

  auto as_operator = read(operator_query());
  auto as_participant = read(participant_query(us_reader_, true));

  ASSERT_FALSE(as_operator);
  EXPECT_EQ(as_operator.error().code, ErrorCode::kErased);
  ASSERT_FALSE(as_participant);
  EXPECT_EQ(as_participant.error().code, ErrorCode::kErased);
}

TEST_F(ReadServiceTest, APatientWhoseMasterKeyIsDestroyedIsErased) {
  ASSERT_TRUE(read(operator_query()));  // readable until the erasure
  ASSERT_TRUE(master_keys_.erase_master_key(kRegion, patient_key_, "2026-11-30T00:00:00Z"));

  auto report = read(operator_query());

  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().code, ErrorCode::kErased);
}

TEST_F(ReadServiceTest, AReferenceNeverStoredIsNotFound) {
  ASSERT_TRUE(read(operator_query()));  // what is stored is found
  ReadQuery unknown = operator_query();
  unknown.reference = "Observation/o2";
  ReadQuery other_source = operator_query();
  other_source.source = "acme-lab";  // the same id in another source's id space
  ReadQuery missing_version = operator_query();
  missing_version.version = 2;

  for (const ReadQuery& q : {unknown, other_source, missing_version}) {
    SCOPED_TRACE(q.source + " " + q.reference);
    auto report = read(q);
    ASSERT_FALSE(report);
    EXPECT_EQ(report.error().code, ErrorCode::kNotFound);
  }
}

// 7. Errors before any decision.

TEST_F(ReadServiceTest, AParticipantsReadWithoutAPurposeIsInvalidInput) {
  grant(us_reader_);
  ReadQuery q = participant_query(us_reader_, true);
  q.purpose.clear();

  auto report = read(q);

  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().code, ErrorCode::kInvalidInput);
  EXPECT_TRUE(audit_.records.empty());
  EXPECT_EQ(access_.calls, 0);
  // The operator's own read needs none.
  auto own = read(operator_query());
  ASSERT_TRUE(own) << own.error().message;
  EXPECT_TRUE(own->permit);
}

TEST_F(ReadServiceTest, AnAccessLedgerThatIsDownIsUnavailableAndNothingIsReleasedOrDecided) {
  grant(us_reader_);
  access_.unavailable = true;

  auto report = read(participant_query(us_reader_, true));

  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE(audit_.records.empty());
  // Back up, the same read is permitted.
  access_.unavailable = false;
  auto again = read(participant_query(us_reader_, true));
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_TRUE(again->permit) << again->reason;
}

TEST_F(ReadServiceTest, AReadThatCannotBeAuditedIsNotAnswered) {
  grant(us_reader_);
  audit_.fail_next = true;

  auto report = read(participant_query(us_reader_, true));

  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE(audit_.records.empty());
}

// $everything: the patient's resources found through the index beside the pointer records.

TEST_F(ReadServiceTest, EveryResourceOfThePatientIsDecidedAndTheGrantedOnesReleased) {
  ReadQuery query = participant_query(us_reader_, true);
  query.reference = "Patient/p1";
  auto none = service_.read_patient(query);  // no grant yet: decided, denied, audited
  ASSERT_TRUE(none) << none.error().message;
  EXPECT_TRUE(none->released.empty());
  EXPECT_EQ(none->denied, 1u);
  EXPECT_EQ(audit_.records.size(), 1u);

  grant(us_reader_);
  auto some = service_.read_patient(query);
  ASSERT_TRUE(some) << some.error().message;
  ASSERT_EQ(some->released.size(), 1u);
  EXPECT_EQ(some->released[0].record.pointer.resource_key, resource_key_);
  EXPECT_EQ(some->denied, 0u);

  query.reference = "Patient/nobody";
  auto unknown = service_.read_patient(query);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
}

// Region hints: where a resource's pointer records were found is asked first next time.

class HintedReadTest : public ReadServiceTest {
 protected:
  std::uint64_t read_version(std::optional<std::uint64_t> version = std::nullopt) {
    ReadQuery q = operator_query();
    q.version = version;
    blobs_.record_reads.clear();
    auto report = hinted_.read(q);
    EXPECT_TRUE(report) << report.error().message;
    return report ? report->record.pointer.version : 0;
  }

  RegionHints hints_{clock_, 5s};
  ReadService hinted_{ports(), settings(&hints_)};
};

TEST_F(HintedReadTest, TheRegionThatHeldTheRecordsIsTheOnlyOneAskedNextTime) {
  EXPECT_EQ(read_version(), 1u);
  EXPECT_EQ(blobs_.record_reads, (std::vector<std::string>{"default", kRegion}));
  EXPECT_EQ(read_version(), 1u);
  EXPECT_EQ(blobs_.record_reads, (std::vector<std::string>{kRegion}));
  store(kObservation, 2);  // a newer version in the same region is seen at once
  EXPECT_EQ(read_version(), 2u);
  EXPECT_EQ(blobs_.record_reads, (std::vector<std::string>{kRegion}));
}

TEST_F(HintedReadTest, AVersionTheHintedRegionDoesNotHoldIsLookedForEverywhere) {
  EXPECT_EQ(read_version(), 1u);
  store(kObservation, 2, "default");  // the patient's residency moved
  EXPECT_EQ(read_version(2), 2u);
  EXPECT_EQ(blobs_.record_reads, (std::vector<std::string>{kRegion, "default", kRegion}));
}

TEST_F(HintedReadTest, ANewerVersionInAnotherRegionIsReadOnceTheHintIsOlderThanItsTtl) {
  EXPECT_EQ(read_version(), 1u);
  store(kObservation, 2, "default");
  EXPECT_EQ(read_version(), 1u);  // the documented staleness: at most the hint's ttl
  clock_.advance(5s);
  EXPECT_EQ(read_version(), 2u);
  EXPECT_EQ(blobs_.record_reads, (std::vector<std::string>{"default", kRegion}));
  EXPECT_EQ(read_version(), 2u);
  EXPECT_EQ(blobs_.record_reads, (std::vector<std::string>{"default"}));
}

TEST(RegionHints, AZeroTtlRemembersNothing) {
  testing::ManualClock clock;
  RegionHints hints(clock, 0s);
  const ports::Hash32 key{};
  hints.remember(key, "eu");
  EXPECT_FALSE(hints.find(key));
}

TEST(RegionHints, BeyondItsSizeEverythingIsForgottenAndLearntAgain) {
  testing::ManualClock clock;
  RegionHints hints(clock, 5s, 2);
  ports::Hash32 a{}, b{}, c{};
  b[0] = 1;
  c[0] = 2;
  hints.remember(a, "eu");
  hints.remember(b, "us");
  hints.remember(c, "apac");
  EXPECT_FALSE(hints.find(a));
  EXPECT_FALSE(hints.find(b));
  EXPECT_EQ(hints.find(c), "apac");
}

}  // namespace
}  // namespace fl::gateway
