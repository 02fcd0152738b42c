// The JSON-RPC client and PointerRegistry's transaction handling against a scripted node (a
// fake RpcTransport): how node errors are classified and kept, that malformed answers are
// errors rather than crashes, nonce resynchronisation, confirmations and receipt timeouts.
// The same code against a real anvil is tests/integration/ledger.
#include "fl/ledger/json_rpc.h"

#include "fl/ledger/abi.h"
#include "fl/ledger/pointer_registry.h"
#include "fl/ledger/transaction.h"

#include "support/child_process.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <deque>
#include <map>

namespace fl::ledger {
namespace {

using namespace std::chrono_literals;

constexpr const char* kUrl = "http://node.test:8545";
// anvil's first development key: public knowledge, test chains only.
constexpr const char* kDevKey = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

// A node that answers each method from a script. The last answer of a method repeats.
class ScriptedNode final : public RpcTransport {
 public:
  struct Call {
    std::string method;
    std::string first_param;  // the first parameter when it is a string
  };

  // `result` is the JSON of the "result" member.
  void result(const std::string& method, const std::string& result) {
    answers_[method].push_back(R"({"jsonrpc":"2.0","id":1,"result":)" + result + "}");
  }
  void error(const std::string& method, const std::string& error_object) {
    answers_[method].push_back(R"({"jsonrpc":"2.0","id":1,"error":)" + error_object + "}");
  }
  void raw(const std::string& method, const std::string& body) { answers_[method].push_back(body); }
  void forget(const std::string& method) { answers_.erase(method); }

  Result<std::string> post(const std::string& body) override {
    rapidjson::Document doc;
    doc.Parse(body.c_str());
    EXPECT_TRUE(doc.IsObject() && doc["jsonrpc"] == "2.0" && doc["id"].IsUint64()) << body;
    Call call{.method = doc["method"].GetString()};
    if (doc["params"].IsArray() && !doc["params"].Empty() && doc["params"][0].IsString()) {
      call.first_param = doc["params"][0].GetString();
    }
    calls_.push_back(call);
    auto& queue = answers_[call.method];
    if (queue.empty()) {
      ADD_FAILURE() << "unscripted method " << call.method;
      return Error{ErrorCode::kUnavailable, "unscripted", call.method};
    }
    std::string answer = queue.front();
    if (queue.size() > 1) queue.pop_front();
    return answer;
  }

  std::vector<Call> calls_of(const std::string& method) const {
    std::vector<Call> out;
    for (const auto& c : calls_) {
      if (c.method == method) out.push_back(c);
    }
    return out;
  }

 private:
  std::map<std::string, std::deque<std::string>> answers_;
  std::vector<Call> calls_;
};

class JsonRpcTest : public ::testing::Test {
 protected:
  JsonRpcTest() {
    auto node_owned = std::make_unique<ScriptedNode>();
    node = node_owned.get();
    rpc = std::make_unique<JsonRpcClient>(std::move(node_owned), kUrl);
  }

  ScriptedNode* node = nullptr;
  std::unique_ptr<JsonRpcClient> rpc;
};

std::string receipt_json(const std::string& status, const std::string& block,
                         const std::string& logs = "[]") {
  return R"({"transactionHash":"0x)" + std::string(64, 'a') + R"(","blockNumber":")" + block +
         R"(","status":")" + status + R"(","gasUsed":"0x5208","contractAddress":null,"logs":)" +
         logs + "}";
}

TEST_F(JsonRpcTest, ANodeErrorKeepsItsMessageAndRevertData) {
  node->error("eth_call", R"({"code":3,"message":"execution reverted","data":"0x751a1cd0"})");

  auto out = rpc->call(Address{}, Bytes{0x01});

  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(out.error().message.find("execution reverted"), std::string::npos);
  EXPECT_NE(out.error().message.find("0x751a1cd0"), std::string::npos);
  EXPECT_EQ(out.error().where, kUrl);
}

// anvil's answer to a read of "latest" that overlaps the block it mines (foundry-rs/foundry#10709).
constexpr const char* kMiningRace =
    R"({"code":-32602,"message":"BlockOutOfRangeError: block height is 65 but requested was 64"})";

TEST_F(JsonRpcTest, AReadThatRacedWithMiningIsAskedAgainAtOnce) {
  node->error("eth_call", kMiningRace);
  node->result("eth_call", R"("0x01")");

  auto out = rpc->call(Address{}, Bytes{0x01});

  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(*out, Bytes{0x01});
  EXPECT_EQ(node->calls_of("eth_call").size(), 2u);
}

TEST_F(JsonRpcTest, ARaceThatDoesNotPassIsUnavailableAfterThreeAsks) {
  node->error("eth_call", kMiningRace);

  auto out = rpc->call(Address{}, Bytes{0x01});

  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code, ErrorCode::kUnavailable);  // the caller's backoff takes over
  EXPECT_NE(out.error().message.find("BlockOutOfRangeError"), std::string::npos);
  EXPECT_EQ(node->calls_of("eth_call").size(), 3u);
}

TEST_F(JsonRpcTest, ATransactionIsNeverSentTwiceForARace) {
  node->error("eth_sendRawTransaction", kMiningRace);

  auto out = rpc->send_raw_transaction(Bytes{0xc0});

  ASSERT_FALSE(out);
  EXPECT_EQ(node->calls_of("eth_sendRawTransaction").size(), 1u);
}

TEST_F(JsonRpcTest, OtherErrorsAreNotAskedAgain) {
  node->error("eth_call", R"({"code":-32000,"message":"header not found"})");

  ASSERT_FALSE(rpc->call(Address{}, Bytes{0x01}));
  EXPECT_EQ(node->calls_of("eth_call").size(), 1u);
}

TEST_F(JsonRpcTest, ANonceTheNodeAlreadySawIsAConflict) {
  node->error("eth_sendRawTransaction", R"({"code":-32003,"message":"Nonce too low"})");

  auto out = rpc->send_raw_transaction(Bytes{0xc0});

  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code, ErrorCode::kConflict);
}

TEST_F(JsonRpcTest, MalformedQuantitiesAreErrorsNotCrashes) {
  for (const char* bad : {R"("0xzz")", R"("12")", R"("0x")", "12", "null", R"("0x1g")",
                          R"("0x10000000000000000")", R"("")"}) {
    node->forget("eth_chainId");
    node->result("eth_chainId", bad);
    auto out = rpc->chain_id();
    ASSERT_FALSE(out) << bad;
    EXPECT_EQ(out.error().code, ErrorCode::kUnavailable) << bad;
  }
  node->forget("eth_chainId");
  node->result("eth_chainId", R"("0x7a69")");
  EXPECT_EQ(rpc->chain_id().value(), 31337u);
}

TEST_F(JsonRpcTest, AnAnswerThatIsNotJsonRpcIsUnavailable) {
  node->raw("eth_blockNumber", "<html>bad gateway</html>");
  node->raw("eth_gasPrice", R"({"jsonrpc":"2.0","id":1})");

  auto block = rpc->block_number();
  auto price = rpc->gas_price();

  ASSERT_FALSE(block);
  EXPECT_EQ(block.error().code, ErrorCode::kUnavailable);
  ASSERT_FALSE(price);
  EXPECT_EQ(price.error().code, ErrorCode::kUnavailable);
}

TEST_F(JsonRpcTest, HexDataWithAnOddNumberOfDigitsIsAQuantity) {
  node->result("eth_gasPrice", R"("0x3b9aca0")");
  EXPECT_EQ(to_hex(rpc->gas_price().value()), "03b9aca0");
}

TEST_F(JsonRpcTest, APendingTransactionHasNoReceiptYet) {
  node->result("eth_getTransactionReceipt", "null");

  auto receipt = rpc->transaction_receipt(Hash32{});

  ASSERT_TRUE(receipt);
  EXPECT_FALSE(receipt->has_value());
}

TEST_F(JsonRpcTest, AReceiptCarriesItsLogs) {
  const std::string topic = "0x" + std::string(64, 'b');
  node->result(
      "eth_getTransactionReceipt",
      receipt_json("0x1", "0x10",
                   R"([{"address":"0x5fbdb2315678afecb367f032d93f642f64180aa3","topics":[")" +
                       topic + R"("],"data":"0x01"}])"));

  auto receipt = rpc->transaction_receipt(Hash32{});

  ASSERT_TRUE(receipt) << receipt.error().message;
  ASSERT_TRUE(receipt->has_value());
  const TxReceipt& r = **receipt;
  EXPECT_TRUE(r.success);
  EXPECT_EQ(r.block_number, 16u);
  EXPECT_EQ(r.gas_used, 21000u);
  ASSERT_EQ(r.logs.size(), 1u);
  EXPECT_EQ(to_0x_hex(r.logs[0].topics.at(0)), topic);
  EXPECT_EQ(r.logs[0].data, Bytes{0x01});
}

TEST_F(JsonRpcTest, AMalformedReceiptIsAnErrorNotACrash) {
  for (const std::string& bad :
       {std::string(R"({"blockNumber":"0x1"})"),  // no status
        std::string(R"({"status":"0x1"})"),       // no block
        std::string("[1,2]"),
        receipt_json("0x1", "0x1", R"([{"address":"0x00","topics":[],"data":"0x"}])"),
        receipt_json("0x1", "0x1", R"([{"address":"0x5fbdb2315678afecb367f032d93f642f64180aa3"}])"),
        receipt_json("0x1", "0x1", R"([7])")}) {
    node->forget("eth_getTransactionReceipt");
    node->result("eth_getTransactionReceipt", bad);
    auto receipt = rpc->transaction_receipt(Hash32{});
    ASSERT_FALSE(receipt) << bad;
    EXPECT_EQ(receipt.error().code, ErrorCode::kUnavailable) << bad;
  }
}

TEST(HttpTransport, AnUnreachableNodeIsUnavailableWithItsUrl) {
  const std::string url = "http://127.0.0.1:" + std::to_string(testing::free_port());
  auto transport = make_http_transport(url, 2s);
  ASSERT_TRUE(transport);
  JsonRpcClient rpc(std::move(*transport), url);

  auto out = rpc.chain_id();

  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(out.error().where, url);
}

TEST(HttpTransport, RefusesUrlsItCannotServe) {
  auto tls = make_http_transport("https://node.example:8545", 2s);

  ASSERT_FALSE(tls);
  EXPECT_EQ(tls.error().code, ErrorCode::kInvalidInput);
}

// PointerRegistry's sending and receipt logic over the scripted node.
class RegistryOverScriptedNode : public JsonRpcTest {
 protected:
  void SetUp() override {
    auto s = Signer::create(SecretBytes(parse_hex(kDevKey).value()));
    ASSERT_TRUE(s);
    signer = std::move(*s);
    registry = std::make_unique<PointerRegistry>(*rpc, *signer, 31337, Address{0xaa});
    node->result("eth_estimateGas", R"("0x186a0")");  // 100000
    node->result("eth_gasPrice", R"("0x3b9aca00")");
  }

  // The nonce and gas limit of each transaction sent, decoded from the raw bytes.
  std::vector<LegacyTransaction> sent() const {
    std::vector<LegacyTransaction> out;
    for (const auto& call : node->calls_of("eth_sendRawTransaction")) {
      auto decoded = decode_legacy(parse_hex(call.first_param).value());
      EXPECT_TRUE(decoded) << decoded.error().message;
      EXPECT_EQ(decoded->chain_id, 31337u);
      EXPECT_EQ(decoded->sender, signer->address());
      out.push_back(decoded->tx);
    }
    return out;
  }

  static std::string tx_hash(char fill) { return "\"0x" + std::string(64, fill) + "\""; }

  const std::vector<PointerRecord> batch = {{.resource_key = Hash32{1},
                                             .version = 1,
                                             .content_hash = Hash32{2},
                                             .policy_hash = Hash32{3},
                                             .region = "eu",
                                             .key_id = "kek-1"}};
  std::unique_ptr<Signer> signer;
  std::unique_ptr<PointerRegistry> registry;
};

TEST_F(RegistryOverScriptedNode, KeepsNoncesLocallyForTransactionsInFlight) {
  node->result("eth_getTransactionCount", R"("0x3")");
  node->result("eth_sendRawTransaction", tx_hash('1'));

  ASSERT_TRUE(registry->anchor_batch(batch));
  ASSERT_TRUE(registry->anchor_batch(batch));

  const auto txs = sent();
  ASSERT_EQ(txs.size(), 2u);
  EXPECT_EQ(txs[0].nonce, 3u);
  EXPECT_EQ(txs[1].nonce, 4u);
  EXPECT_EQ(node->calls_of("eth_getTransactionCount").size(), 1u);
  EXPECT_EQ(node->calls_of("eth_getTransactionCount")[0].first_param, to_0x_hex(signer->address()));
  EXPECT_GT(txs[0].gas_limit, 100000u);  // the estimate plus a margin
}

TEST_F(RegistryOverScriptedNode, ResynchronisesTheNonceWhenTheNodeSaysTooLow) {
  node->result("eth_getTransactionCount", R"("0x3")");
  node->result("eth_getTransactionCount", R"("0x7")");
  node->error("eth_sendRawTransaction", R"({"code":-32003,"message":"nonce too low"})");
  node->result("eth_sendRawTransaction", tx_hash('2'));

  auto first = registry->anchor_batch(batch);
  auto second = registry->anchor_batch(batch);

  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(to_0x_hex(*first), "0x" + std::string(64, '2'));
  ASSERT_TRUE(second);
  const auto txs = sent();
  ASSERT_EQ(txs.size(), 3u);
  EXPECT_EQ(txs[0].nonce, 3u);  // refused
  EXPECT_EQ(txs[1].nonce, 7u);  // re-read from the node
  EXPECT_EQ(txs[2].nonce, 8u);  // local again
}

TEST_F(RegistryOverScriptedNode, GivesUpAfterOneResynchronisation) {
  node->result("eth_getTransactionCount", R"("0x3")");
  node->error("eth_sendRawTransaction", R"({"code":-32003,"message":"nonce too low"})");

  auto tx = registry->anchor_batch(batch);

  ASSERT_FALSE(tx);
  EXPECT_EQ(tx.error().code, ErrorCode::kConflict);
  EXPECT_EQ(sent().size(), 2u);
}

TEST_F(RegistryOverScriptedNode, NamesTheContractErrorOfARevert) {
  const std::string not_writer = to_hex(abi::selector("NotWriter()"));
  node->forget("eth_estimateGas");
  node->error("eth_estimateGas",
              R"({"code":3,"message":"execution reverted","data":"0x)" + not_writer + R"("})");

  auto tx = registry->anchor_batch(batch);

  ASSERT_FALSE(tx);
  EXPECT_EQ(tx.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(tx.error().message.find("NotWriter()"), std::string::npos) << tx.error().message;
  EXPECT_TRUE(node->calls_of("eth_sendRawTransaction").empty());
}

TEST_F(RegistryOverScriptedNode, WaitsForTheConfirmationDepth) {
  node->result("eth_getTransactionReceipt", receipt_json("0x1", "0x5"));
  node->result("eth_blockNumber", R"("0x5")");
  node->result("eth_blockNumber", R"("0x6")");
  node->result("eth_blockNumber", R"("0x7")");

  auto receipt = registry->wait_for_receipt(Hash32{}, 3, 10s);

  ASSERT_TRUE(receipt) << receipt.error().message;
  EXPECT_EQ(receipt->block_number, 5u);
  EXPECT_EQ(node->calls_of("eth_blockNumber").size(), 3u);  // blocks 5, 6, 7: three deep
}

TEST_F(RegistryOverScriptedNode, ARevertedTransactionIsRefusedWithTheReasonItsReplayGives) {
  node->result("eth_getTransactionReceipt", receipt_json("0x0", "0x5"));
  node->result("eth_getTransactionByHash",
               R"({"from":"0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",)"
               R"("to":"0x5fbdb2315678afecb367f032d93f642f64180aa3","input":"0x12345678",)"
               R"("gas":"0x30d40"})");
  // A node that prunes history refuses the parent block; the latest state reverts the same way.
  node->error("eth_call", R"({"code":-32000,"message":"header not found"})");
  node->error("eth_call", R"({"code":3,"message":"execution reverted","data":"0xd742c8e1)"
                          R"(00000000000000000000000000000000000000000000000000000000000000ab"})");

  auto receipt = registry->wait_for_receipt(Hash32{}, 1, 10s);

  ASSERT_FALSE(receipt);
  EXPECT_EQ(receipt.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(
      receipt.error().message.find(
          "PatientIsErased(0x00000000000000000000000000000000000000000000000000000000000000ab)"
          ", the patient was erased"),
      std::string::npos)
      << receipt.error().message;
  const auto calls = node->calls_of("eth_call");
  ASSERT_EQ(calls.size(), 2u);
}

TEST_F(RegistryOverScriptedNode, ATimeoutSaysWhatItWasWaitingFor) {
  node->result("eth_getTransactionReceipt", receipt_json("0x1", "0x5"));
  node->result("eth_blockNumber", R"("0x5")");
  node->result("eth_getCode", R"("0x6001")");
  node->result("eth_getTransactionByHash", R"({"hash":"0x00"})");

  const auto start = std::chrono::steady_clock::now();
  auto receipt = registry->wait_for_receipt(Hash32{}, 2, 150ms);

  ASSERT_FALSE(receipt);
  EXPECT_EQ(receipt.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(receipt.error().message.find("waiting for 2 confirmations"), std::string::npos)
      << receipt.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);  // the deadline bounds the sleeps
}

TEST_F(RegistryOverScriptedNode, ALateTransactionOnAChainWithoutTheContractIsAReset) {
  node->result("eth_getTransactionReceipt", "null");
  node->result("eth_getCode", R"("0x")");

  auto receipt = registry->wait_for_receipt(Hash32{}, 1, 50ms);

  ASSERT_FALSE(receipt);
  EXPECT_EQ(receipt.error().code, ErrorCode::kNotFound);
  EXPECT_NE(receipt.error().message.find("chain was reset"), std::string::npos);
}

TEST_F(RegistryOverScriptedNode, AForgottenTransactionMakesTheNextSendReReadTheNonce) {
  node->result("eth_getTransactionCount", R"("0x3")");
  node->result("eth_getTransactionCount", R"("0x3")");
  node->result("eth_sendRawTransaction", tx_hash('1'));
  node->result("eth_getTransactionReceipt", "null");
  node->result("eth_getCode", R"("0x6001")");
  node->result("eth_getTransactionByHash", "null");
  auto first = registry->anchor_batch(batch);
  ASSERT_TRUE(first);

  auto receipt = registry->wait_for_receipt(*first, 1, 50ms);
  auto again = registry->anchor_batch(batch);

  ASSERT_FALSE(receipt);
  EXPECT_EQ(receipt.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(receipt.error().message.find("no longer knows"), std::string::npos);
  ASSERT_TRUE(again);
  const auto txs = sent();
  ASSERT_EQ(txs.size(), 2u);
  EXPECT_EQ(txs[1].nonce, 3u);  // the node's, not the local 4
  EXPECT_EQ(node->calls_of("eth_getTransactionCount").size(), 2u);
}

}  // namespace
}  // namespace fl::ledger
