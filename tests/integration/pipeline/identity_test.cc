// Identity per source against real services (redis-server, anvil, the Kafka mock cluster): two
// EHRs that both publish Patient/23 for different people, and a lab that names one of them only
// by the linking identifier. Both patients are stored, each under its own keys; a grant for one
// never reads the other; the lab's result reaches the patient key of the EHR's record.
#include "fl/adapters/evm/evm_pointer_ledger.h"
#include "fl/adapters/kafka/kafka_event_source.h"
#include "fl/adapters/kafka/kafka_producers.h"
#include "fl/adapters/kafka/tools.h"
#include "fl/adapters/keys/keyring_key_provider.h"
#include "fl/adapters/redis/redis_blob_store.h"
#include "fl/gateway/crypto/topic_sealer.h"
#include "fl/gateway/pipeline.h"
#include "fl/gateway/pseudonyms.h"
#include "fl/gateway/reader.h"
#include "fl/ledger/json_rpc.h"
#include "fl/ledger/pointer_registry.h"

#include "support/services.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sys/stat.h>

namespace fl::gateway {
namespace {

using namespace std::chrono_literals;

constexpr const char* kNational = "urn:oid:2.999.40.1";
constexpr const char* kClinicA = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
constexpr const char* kClinicB = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";

constexpr const char* kKeyring = R"({
  "comment": "test keyring",
  "pepper": {"id": "pepper-1", "material": "1111111111111111111111111111111111111111111111111111111111111111"},
  "keys": [
    {"id": "eu-kek-1", "region": "eu", "created": "2026-11-01T00:00:00Z", "active": true,
     "material": "2222222222222222222222222222222222222222222222222222222222222222"}
  ]
})";

class InEu final : public IngestPolicy {
 public:
  Result<Decision> decide_ingest(const IngestRequest&) override {
    return Decision{.permit = true, .region = "eu", .rule_ids = {"test"}};
  }
};

struct Event {
  std::string source;
  std::string value;
};

class IdentityPerSource : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string keyring = dir_.path() + "/keyring.json";
    std::ofstream(keyring) << kKeyring;
    ::chmod(keyring.c_str(), 0600);
    keys_ = std::move(fl::keys::make_keyring_key_provider(keyring).value());
    contract_ = evm::deploy_pointer_registry(
                    anvil_.rpc_url(), SecretBytes(parse_hex(testing::AnvilNode::kDevKey0).value()))
                    .value();
    stores_ = std::move(
        redis::make_region_stores({.regions = {{"eu", {.host = "127.0.0.1", .port = eu_.port()}}}})
            .value());
    ledger_ =
        std::move(evm::make_pointer_ledger(
                      {.rpc_url = anvil_.rpc_url(),
                       .contract_address = contract_,
                       .private_key = SecretBytes(parse_hex(testing::AnvilNode::kDevKey0).value())})
                      .value());
    auto transport = ledger::make_http_transport(anvil_.rpc_url(), 5s);
    rpc_ = std::make_unique<ledger::JsonRpcClient>(std::move(*transport), anvil_.rpc_url());
    signer_ = std::move(
        ledger::Signer::create(SecretBytes(parse_hex(testing::AnvilNode::kDevKey0).value()))
            .value());
    registry_ = std::make_unique<ledger::PointerRegistry>(*rpc_, *signer_, rpc_->chain_id().value(),
                                                          ledger::parse_address(contract_).value());
  }

  void ingest(const std::vector<Event>& events) {
    std::vector<kafka::OutgoingMessage> messages;
    for (const auto& e : events) {
      messages.push_back(
          {.key = e.source, .value = e.value, .headers = {{"fhir-source", e.source}}});
    }
    ASSERT_TRUE(kafka::publish(kafka_.bootstrap(), "fhir.events", messages));
    const kafka::KafkaConfig config{.bootstrap_servers = kafka_.bootstrap(),
                                    .group_id = "gateway",
                                    .input_topics = {"fhir.events"},
                                    .dead_letter_topic = "fhir.dead-letters",
                                    .results_topic = "fhir.receipts"};
    auto source = kafka::make_event_source(config);
    std::shared_ptr<ports::TopicSealer> sealer = crypto::make_topic_sealer(*keys_, "eu").value();
    auto dead = kafka::make_dead_letters(config, sealer);
    auto receipts = kafka::make_receipts(config, sealer);
    ASSERT_TRUE(source && dead && receipts);
    ports::SteadyClock clock;
    PassThroughNormalizer normalizer;
    InEu policy;
    PipelineOptions options{.until_caught_up = true, .idle_before_exit = 300ms};
    options.identity.linking_identifier_system = kNational;
    Pipeline pipeline({.source = **source,
                       .dead_letters = **dead,
                       .receipts = **receipts,
                       .blobs = *stores_,
                       .master_keys = *stores_,
                       .directory = *stores_,
                       .ledger = *ledger_,
                       .keys = *keys_,
                       .clock = clock},
                      normalizer, policy, options);
    std::atomic<bool> stop{false};
    auto ran = pipeline.run(stop);
    ASSERT_TRUE(ran) << ran.error().message;
    ASSERT_TRUE((*source)->close());
  }

  Result<ReadResource> read(const std::string& source, const std::string& reference) {
    ResourceReader reader(*keys_, *stores_, *stores_, *ledger_, {"eu"});
    return reader.read(source, reference, std::nullopt);
  }

  // What a participant's read checks on chain: its grant for the resource's patient key.
  bool readable_by(const ReadResource& resource, const char* participant) {
    auto granted = registry_->can_read(resource.record.pointer.patient_key,
                                       ledger::parse_address(participant).value(), "TREAT");
    EXPECT_TRUE(granted) << granted.error().message;
    return granted && *granted;
  }

  void grant(const ports::Hash32& patient, const char* participant) {
    // A participant reads only while registered and active.
    auto registered =
        registry_->set_participant(ledger::parse_address(participant).value(), "DE", true);
    ASSERT_TRUE(registered) << registered.error().message;
    ASSERT_TRUE(registry_->wait_for_receipt(*registered, 1, 30s));
    auto tx = registry_->grant(patient, ledger::parse_address(participant).value(), "TREAT",
                               static_cast<std::uint64_t>(std::time(nullptr)) + 86400);
    ASSERT_TRUE(tx) << tx.error().message;
    ASSERT_TRUE(registry_->wait_for_receipt(*tx, 1, 30s));
  }

  std::vector<ports::SourceEvent> dead_letters() {
    return kafka::read_topic(kafka_.bootstrap(), "fhir.dead-letters", 5s).value();
  }

  ports::Hash32 person(const std::string& value) {
    return Pseudonyms(*keys_).person_key(kNational, value).value();
  }

  static std::string patient(const std::string& national, const std::string& family) {
    return R"({"resourceType":"Patient","id":"23","identifier":[{"system":")" +
           std::string(kNational) + R"(","value":")" + national + R"("}],"name":[{"family":")" +
           family + R"("}]})";
  }

  testing::TempDir dir_;
  testing::KafkaCluster kafka_{{"fhir.events", "fhir.dead-letters", "fhir.receipts"}};
  testing::RedisServer eu_;
  testing::AnvilNode anvil_;
  std::string contract_;
  std::unique_ptr<redis::RegionStores> stores_;
  std::unique_ptr<ports::PointerLedger> ledger_;
  std::unique_ptr<ports::KeyProvider> keys_;
  std::unique_ptr<ledger::JsonRpcClient> rpc_;
  std::unique_ptr<ledger::Signer> signer_;
  std::unique_ptr<ledger::PointerRegistry> registry_;
};

TEST_F(IdentityPerSource, TwoSourcesPatient23AreTwoPatientsAndALabReachesOneByItsIdentifier) {
  ingest({
      {"ehr-a", patient("NAT-1", "Weber")},
      {"ehr-a", R"({"resourceType":"Observation","id":"o1","subject":{"reference":"Patient/23"}})"},
      {"ehr-b", patient("NAT-2", "Smith")},
      {"ehr-b", R"({"resourceType":"Observation","id":"o1","subject":{"reference":"Patient/23"},
                    "valueString":"b"})"},
      // The lab knows the patient only by the national identifier.
      {"lab-c",
       R"({"resourceType":"Observation","id":"lab-1","subject":{"identifier":{"system":")" +
           std::string(kNational) + R"(","value":"NAT-1"}}})"},
  });
  EXPECT_TRUE(dead_letters().empty()) << "no conflict between the two EHRs' Patient/23";

  auto a_patient = read("ehr-a", "Patient/23");
  auto b_patient = read("ehr-b", "Patient/23");
  auto a_obs = read("ehr-a", "Observation/o1");
  auto b_obs = read("ehr-b", "Observation/o1");
  auto lab = read("lab-c", "Observation/lab-1");
  ASSERT_TRUE(a_patient && b_patient && a_obs && b_obs && lab);
  EXPECT_NE(a_patient->json.find("Weber"), std::string::npos);
  EXPECT_NE(b_patient->json.find("Smith"), std::string::npos);
  EXPECT_NE(a_patient->record.pointer.resource_key, b_patient->record.pointer.resource_key);
  EXPECT_NE(a_obs->record.pointer.resource_key, b_obs->record.pointer.resource_key);

  // Each record is its person; the lab's result reaches the person of ehr-a's record.
  EXPECT_EQ(a_patient->record.pointer.patient_key, person("NAT-1"));
  EXPECT_EQ(a_obs->record.pointer.patient_key, person("NAT-1"));
  EXPECT_EQ(b_patient->record.pointer.patient_key, person("NAT-2"));
  EXPECT_EQ(b_obs->record.pointer.patient_key, person("NAT-2"));
  EXPECT_EQ(lab->record.pointer.patient_key, person("NAT-1"));

  grant(person("NAT-1"), kClinicA);
  grant(person("NAT-2"), kClinicB);
  for (const auto* r : {&*a_patient, &*a_obs, &*lab}) {
    EXPECT_TRUE(readable_by(*r, kClinicA));
    EXPECT_FALSE(readable_by(*r, kClinicB)) << "ehr-b's grant must not read ehr-a's patient";
  }
  for (const auto* r : {&*b_patient, &*b_obs}) {
    EXPECT_TRUE(readable_by(*r, kClinicB));
    EXPECT_FALSE(readable_by(*r, kClinicA)) << "ehr-a's grant must not read ehr-b's patient";
  }
}

TEST_F(IdentityPerSource, WithoutAnIdentifierTheRecordIsItsOwnPatient) {
  ingest({{"ehr-a", R"({"resourceType":"Patient","id":"23"})"},
          {"ehr-b", R"({"resourceType":"Patient","id":"23"})"}});
  auto a = read("ehr-a", "Patient/23");
  auto b = read("ehr-b", "Patient/23");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->record.pointer.patient_key,
            Pseudonyms(*keys_).patient_key("ehr-a", "Patient/23").value());
  EXPECT_EQ(b->record.pointer.patient_key,
            Pseudonyms(*keys_).patient_key("ehr-b", "Patient/23").value());
  EXPECT_NE(a->record.pointer.patient_key, b->record.pointer.patient_key);
}

TEST_F(IdentityPerSource, ARecordIsNeverMovedToAnotherPerson) {
  ingest({{"ehr-a", patient("NAT-1", "Weber")}});
  // A later version of the same record naming another person, and a result that names the
  // record and another person: both contradict the link, and are refused rather than moved.
  const std::string moved = R"({"resourceType":"Patient","id":"23","meta":{"versionId":"2"},
      "identifier":[{"system":")" +
                            std::string(kNational) + R"(","value":"NAT-9"}]})";
  const std::string contradicting =
      R"({"resourceType":"Observation","id":"o2","subject":{"reference":"Patient/23",
          "identifier":{"system":")" +
      std::string(kNational) + R"(","value":"NAT-9"}}})";
  ingest({{"ehr-a", moved}, {"ehr-a", contradicting}});
  const auto letters = dead_letters();
  ASSERT_EQ(letters.size(), 2u);
  for (const auto& letter : letters) {
    EXPECT_NE(letter.header("error-detail").find("linked to another person"), std::string::npos)
        << letter.header("error-detail");
    EXPECT_EQ(letter.header("error-detail").find("NAT-"), std::string::npos)
        << "the identifier's value is not repeated in the reason";
  }
  auto a = read("ehr-a", "Patient/23");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->record.pointer.version, 1u);
  EXPECT_EQ(a->record.pointer.patient_key, person("NAT-1"));
}

}  // namespace
}  // namespace fl::gateway
