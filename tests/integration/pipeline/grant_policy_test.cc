// Grant-time policy against real services: the patient's country recorded in a real Redis
// directory, the grantee registered on the contract on anvil, the AuditEvents produced to the
// Kafka mock cluster's audit topic and read back from it. With the shipped bundle, a German
// patient's data goes to a US participant for treatment only with consent, for at most 30 days.
#include "fl/adapters/evm/evm_pointer_ledger.h"
#include "fl/adapters/kafka/kafka_producers.h"
#include "fl/adapters/kafka/tools.h"
#include "fl/adapters/redis/redis_blob_store.h"
#include "fl/gateway/access.h"
#include "fl/gateway/mapping_files.h"
#include "fl/gateway/policy/policy_compiler.h"
#include "fl/ledger/json_rpc.h"
#include "fl/ledger/pointer_registry.h"

#include "support/corpus.h"
#include "support/services.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <ctime>

namespace fl::gateway {
namespace {

using namespace std::chrono_literals;

constexpr const char* kUsClinic = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

class GrantPolicy : public ::testing::Test {
 protected:
  void SetUp() override {
    auto contract = evm::deploy_pointer_registry(
        anvil_.rpc_url(), SecretBytes(parse_hex(testing::AnvilNode::kDevKey0).value()));
    ASSERT_TRUE(contract) << contract.error().message;
    auto transport = ledger::make_http_transport(anvil_.rpc_url(), 5s);
    rpc_ = std::make_unique<ledger::JsonRpcClient>(std::move(*transport), anvil_.rpc_url());
    signer_ = std::move(
        ledger::Signer::create(SecretBytes(parse_hex(testing::AnvilNode::kDevKey0).value()))
            .value());
    registry_ = std::make_unique<ledger::PointerRegistry>(*rpc_, *signer_, rpc_->chain_id().value(),
                                                          ledger::parse_address(*contract).value());
    clinic_ = ledger::parse_address(kUsClinic).value();
    auto registered = registry_->set_participant(clinic_, "US", true);
    ASSERT_TRUE(registered) << registered.error().message;
    ASSERT_TRUE(registry_->wait_for_receipt(*registered, 1, 30s));

    auto stores =
        redis::make_region_stores({.regions = {{"eu", {.host = "127.0.0.1", .port = eu_.port()}}}});
    ASSERT_TRUE(stores) << stores.error().message;
    stores_ = std::move(*stores);
    patient_.fill(0x42);
    const std::pair<ports::Hash32, std::string> de{patient_, "DE"};
    ASSERT_TRUE(stores_->record_countries("eu", std::span(&de, 1), 0));

    auto audit = kafka::make_audit_log({.bootstrap_servers = kafka_.bootstrap()});
    ASSERT_TRUE(audit) << audit.error().message;
    audit_ = std::move(*audit);
    const auto path =
        (testing::source_root() / "config" / "policies" / "example-cross-border.json").string();
    auto compiled = policy::compile_policy_bundle(path, file_reader());
    ASSERT_TRUE(compiled.bundle);
    engine_ = std::make_unique<policy::PolicyEngine>(compiled.bundle);
  }

  AccessContext context(bool consent) {
    auto participants = registry_->participants();
    EXPECT_TRUE(participants) << participants.error().message;
    std::string jurisdiction;
    for (const auto& p : participants.value()) {
      if (p.address == clinic_ && p.active) jurisdiction = p.jurisdiction;
    }
    return AccessContext{.now = now_,
                         .gateway = "fhir-ledger",
                         .operator_name = "test",
                         .participant = kUsClinic,
                         .jurisdiction = jurisdiction,
                         .purpose = "TREAT",
                         .consent = consent};
  }

  // The transaction's outcome as the audit trail records it.
  audit::Transaction carried_out(const Result<ledger::Hash32>& tx) {
    Result<std::uint64_t> block = tx ? Result<std::uint64_t>(std::uint64_t{0}) : tx.error();
    if (tx) {
      auto mined = registry_->wait_for_receipt(*tx, 1, 30s);
      block = mined ? Result<std::uint64_t>(mined->block_number) : mined.error();
    }
    return transaction_outcome(tx ? to_0x_hex(*tx) : std::string(), block);
  }

  // What `ledger grant` does: the registered jurisdiction from the contract, the decision
  // (audited), the transaction only on permit, and its outcome (audited).
  Result<AccessVerdict> grant(bool consent) {
    GrantRequest request;
    request.context = context(consent);
    request.patient_key = patient_;
    request.expires_at = static_cast<std::uint64_t>(now_) + 365 * 86400;
    auto verdict = decide_grant(engine_.get(), *stores_, *audit_, request);
    if (verdict && verdict->permit) {
      tx_ = carried_out(registry_->grant(patient_, clinic_, "TREAT", verdict->expires_at));
      auto audited = record_grant_transaction(*audit_, request, verdict->expires_at, tx_);
      if (!audited) return audited.error();
      if (tx_.state != audit::Transaction::State::kMined) {
        return Error{ErrorCode::kUnavailable, tx_.error, "grant"};
      }
    }
    return verdict;
  }

  // What `ledger revoke` does: the transaction, then its outcome audited.
  Status revoke() {
    tx_ = carried_out(registry_->revoke(patient_, clinic_, "TREAT"));
    auto audited = record_revocation(*audit_, context(false), patient_, tx_);
    if (!audited) return audited.error();
    return Ok{};
  }

  // The audit topic's AuditEvents, in order.
  std::vector<rapidjson::Document> audit_topic() {
    std::vector<rapidjson::Document> out;
    auto messages = kafka::read_topic(kafka_.bootstrap(), "fhir.audit", 10s);
    EXPECT_TRUE(messages) << messages.error().message;
    if (!messages) return out;
    for (const auto& m : *messages) {
      EXPECT_EQ(m.key, to_0x_hex(patient_));
      rapidjson::Document d;
      d.Parse(m.value.c_str(), m.value.size());
      EXPECT_FALSE(d.HasParseError());
      out.push_back(std::move(d));
    }
    return out;
  }

  static std::string detail(const rapidjson::Value& event, const std::string& type) {
    for (const auto& e : event["entity"][0]["detail"].GetArray()) {
      if (e["type"].GetString() == type) return e["valueString"].GetString();
    }
    return "";
  }

  testing::KafkaCluster kafka_{{"fhir.audit"}};
  testing::RedisServer eu_;
  testing::AnvilNode anvil_;
  std::unique_ptr<ledger::JsonRpcClient> rpc_;
  std::unique_ptr<ledger::Signer> signer_;
  std::unique_ptr<ledger::PointerRegistry> registry_;
  ledger::Address clinic_{};
  std::unique_ptr<redis::RegionStores> stores_;
  std::unique_ptr<ports::AuditLog> audit_;
  std::unique_ptr<policy::PolicyEngine> engine_;
  ports::Hash32 patient_{};
  std::int64_t now_ = static_cast<std::int64_t>(std::time(nullptr));
  audit::Transaction tx_;  // the last grant's or revocation's
};

TEST_F(GrantPolicy, WithoutConsentNothingIsGrantedAndTheDenialIsAudited) {
  auto verdict = grant(false);
  ASSERT_TRUE(verdict) << verdict.error().message;
  EXPECT_FALSE(verdict->permit);
  EXPECT_FALSE(registry_->can_read(patient_, clinic_, "TREAT").value());
  auto events = audit_topic();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(detail(events[0], "effect"), "deny");
  EXPECT_EQ(detail(events[0], "policy-hash"), to_0x_hex(engine_->bundle().hash));
  // The shipped bundle has no rule for EU->US without consent: its default effect denies, and
  // the event says so (no rule ids) rather than naming a rule that did not apply.
  EXPECT_EQ(detail(events[0], "rule-ids"), "none");
  EXPECT_NE(std::string(events[0]["outcomeDesc"].GetString()).find("default effect"),
            std::string::npos);
  EXPECT_EQ(std::string(events[0]["outcome"].GetString()), "4");
  EXPECT_EQ(std::string(events[0]["agent"][1]["location"]["display"].GetString()), "US");
}

TEST_F(GrantPolicy, WithConsentTheGrantIsOnChainForThirtyDaysAndAudited) {
  auto verdict = grant(true);
  ASSERT_TRUE(verdict) << verdict.error().message;
  ASSERT_TRUE(verdict->permit) << verdict->reason;
  EXPECT_TRUE(verdict->capped);
  EXPECT_EQ(verdict->expires_at, static_cast<std::uint64_t>(now_) + 30 * 86400);
  EXPECT_TRUE(registry_->can_read(patient_, clinic_, "TREAT").value());
  auto events = audit_topic();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(detail(events[0], "effect"), "permit");
  EXPECT_EQ(detail(events[0], "rule-ids"), "eea-to-us-consent");
  EXPECT_EQ(detail(events[0], "policy-hash"), to_0x_hex(engine_->bundle().hash));
  // Then the transaction that carried the decision out, as mined on anvil.
  EXPECT_EQ(std::string(events[1]["subtype"][1]["code"].GetString()), "grant-transaction");
  EXPECT_EQ(std::string(events[1]["outcome"].GetString()), "0");
  EXPECT_EQ(detail(events[1], "transaction"), tx_.hash);
  EXPECT_EQ(detail(events[1], "block"), std::to_string(tx_.block));
  EXPECT_GT(tx_.block, 0u);
  EXPECT_EQ(detail(events[1], "expires-at"),
            audit::rfc3339_utc(now_ + static_cast<std::int64_t>(30 * 86400)));
}

TEST_F(GrantPolicy, ARevocationTakesTheGrantOffTheChainAndIsAuditedWithItsTransaction) {
  auto verdict = grant(true);
  ASSERT_TRUE(verdict && verdict->permit);
  ASSERT_TRUE(registry_->can_read(patient_, clinic_, "TREAT").value());

  ASSERT_TRUE(revoke());

  EXPECT_FALSE(registry_->can_read(patient_, clinic_, "TREAT").value());
  auto events = audit_topic();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(std::string(events[2]["subtype"][1]["code"].GetString()), "revocation");
  EXPECT_EQ(std::string(events[2]["outcome"].GetString()), "0");
  EXPECT_EQ(detail(events[2], "transaction"), tx_.hash);
  EXPECT_NE(detail(events[2], "transaction"), detail(events[1], "transaction"));
}

TEST_F(GrantPolicy, AGrantTransactionTheLedgerRefusesIsAuditedAsFailed) {
  // The clinic's grant sent by an account that is neither admin nor writer: the contract
  // reverts it (or the node refuses it), after the policy permitted it.
  auto outsider =
      ledger::Signer::create(SecretBytes(parse_hex(testing::AnvilNode::kDevKey1).value()));
  ASSERT_TRUE(outsider);
  registry_ = std::make_unique<ledger::PointerRegistry>(*rpc_, **outsider, rpc_->chain_id().value(),
                                                        registry_->contract());
  signer_ = std::move(*outsider);

  auto verdict = grant(true);

  ASSERT_FALSE(verdict);
  EXPECT_FALSE(registry_->can_read(patient_, clinic_, "TREAT").value());
  auto events = audit_topic();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(detail(events[0], "effect"), "permit");
  EXPECT_EQ(std::string(events[1]["outcome"].GetString()), "8");
  EXPECT_EQ(detail(events[1], "failure"), tx_.error);
  EXPECT_FALSE(tx_.error.empty());
}

}  // namespace
}  // namespace fl::gateway
