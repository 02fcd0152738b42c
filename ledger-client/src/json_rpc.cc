#include "fl/ledger/json_rpc.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <iterator>
#include <string_view>

namespace fl::ledger {
namespace {

class HttpTransport final : public RpcTransport {
 public:
  HttpTransport(std::string url, const Poco::URI& uri, std::chrono::milliseconds timeout)
      : url_(std::move(url)),
        path_(uri.getPathEtc().empty() ? "/" : uri.getPathEtc()),
        session_(uri.getHost(), uri.getPort()) {
    session_.setTimeout(Poco::Timespan(static_cast<long>(timeout.count()) * 1000));
    session_.setKeepAlive(true);
  }

  Result<std::string> post(const std::string& body) override {
    auto first = post_once(body);
    // A kept-alive connection the node closed (its restart, an idle timeout) fails the first
    // request on it; one more on a fresh connection tells a closed socket from a node that is
    // down. JSON-RPC requests are safe to repeat: a resent signed transaction has the same hash.
    if (first || !reused_) return first;
    return post_once(body);
  }

 private:
  Result<std::string> post_once(const std::string& body) {
    reused_ = session_.connected();
    // Poco reports network failures as exceptions; they end here, as values.
    try {
      Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_POST, path_,
                                     Poco::Net::HTTPMessage::HTTP_1_1);
      request.setContentType("application/json");
      request.setContentLength(static_cast<std::streamsize>(body.size()));
      request.setKeepAlive(true);
      session_.sendRequest(request) << body;
      Poco::Net::HTTPResponse response;
      std::istream& in = session_.receiveResponse(response);
      std::string out;
      Poco::StreamCopier::copyToString(in, out);
      if (response.getStatus() != Poco::Net::HTTPResponse::HTTP_OK) {
        return Error{ErrorCode::kUnavailable,
                     "JSON-RPC node answered HTTP " + std::to_string(response.getStatus()), url_};
      }
      return out;
    } catch (const Poco::Exception& e) {
      session_.reset();
      return Error{ErrorCode::kUnavailable, "JSON-RPC node unreachable: " + e.displayText(), url_};
    } catch (const std::exception& e) {
      session_.reset();
      return Error{ErrorCode::kUnavailable, std::string("JSON-RPC transport: ") + e.what(), url_};
    }
  }

  std::string url_;
  std::string path_;
  Poco::Net::HTTPClientSession session_;
  bool reused_ = false;
};

std::string quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

Error malformed(const std::string& what, const std::string& where) {
  return Error{ErrorCode::kUnavailable, "malformed answer from the node: " + what, where};
}

// "0x1a" -> 26. Nodes are not trusted to send well-formed text: anything that is not a
// 0x-prefixed hex number of at most 64 bits is nullopt (std::stoull would throw instead).
std::optional<std::uint64_t> hex_quantity(std::string_view text) {
  if (!text.starts_with("0x") || text.size() < 3 || text.size() > 18) return std::nullopt;
  std::uint64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data() + 2, end, value, 16);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

// 26 -> "0x1a", as JSON-RPC writes quantities (no leading zeros).
std::string to_quantity(std::uint64_t value) {
  char digits[16];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value, 16);
  return "0x" + std::string(digits, end);
}

// Hex data ("0x..."); quantities may have an odd number of digits ("0x1"), data never does.
std::optional<Bytes> hex_data(std::string_view text) {
  if (!text.starts_with("0x")) return std::nullopt;
  std::string even(text);
  if (even.size() % 2 == 1) even.insert(2, "0");
  auto bytes = parse_hex(even);
  if (!bytes) return std::nullopt;
  return std::move(*bytes);
}

// The string member `name` of a JSON object, if it is there and a string.
std::optional<std::string_view> string_member(const rapidjson::Value& object, const char* name) {
  if (!object.IsObject()) return std::nullopt;
  const auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsString()) return std::nullopt;
  return std::string_view(it->value.GetString(), it->value.GetStringLength());
}

Result<std::uint64_t> parse_quantity(const std::string& json, const std::string& where) {
  rapidjson::Document doc;
  doc.Parse(json.c_str());
  if (doc.HasParseError() || !doc.IsString()) return malformed("expected a hex quantity", where);
  auto value = hex_quantity(doc.GetString());
  if (!value) return malformed(std::string("bad hex quantity ") + doc.GetString(), where);
  return *value;
}

Result<Bytes> parse_data(const std::string& json, const std::string& where) {
  rapidjson::Document doc;
  doc.Parse(json.c_str());
  if (doc.HasParseError() || !doc.IsString()) return malformed("expected hex data", where);
  auto bytes = hex_data(doc.GetString());
  if (!bytes) return malformed("bad hex data", where);
  return std::move(*bytes);
}

// A quantity of any size ("0x3b9aca00") as minimal big-endian bytes, for wei amounts.
Result<Bytes> parse_big_quantity(const std::string& json, const std::string& where) {
  auto bytes = parse_data(json, where);
  if (!bytes) return bytes.error();
  const auto first =
      std::find_if(bytes->begin(), bytes->end(), [](std::uint8_t b) { return b != 0; });
  return Bytes(first, bytes->end());
}

Hash32 to_hash(const Bytes& b) {
  Hash32 h{};
  std::copy_n(b.begin(), std::min<std::size_t>(32, b.size()), h.begin());
  return h;
}

Result<LogEntry> parse_log(const rapidjson::Value& log, const std::string& where) {
  if (!log.IsObject()) return malformed("a log is not an object", where);
  LogEntry entry;
  const auto address = string_member(log, "address");
  if (!address) return malformed("log without an address", where);
  auto parsed = parse_address(*address);
  if (!parsed) return malformed("log address is not 20 bytes", where);
  entry.address = *parsed;
  const auto topics = log.FindMember("topics");
  if (topics == log.MemberEnd() || !topics->value.IsArray()) {
    return malformed("log without topics", where);
  }
  for (const auto& t : topics->value.GetArray()) {
    auto topic = t.IsString() ? hex_data(t.GetString()) : std::nullopt;
    if (!topic || topic->size() != 32) return malformed("log topic is not 32 bytes", where);
    entry.topics.push_back(to_hash(*topic));
  }
  const auto data = string_member(log, "data");
  auto bytes = data ? hex_data(*data) : std::nullopt;
  if (!bytes) return malformed("log without data", where);
  entry.data = std::move(*bytes);
  return entry;
}

Result<TxReceipt> parse_receipt(const rapidjson::Value& doc, const Hash32& tx_hash,
                                const std::string& where) {
  TxReceipt receipt;
  receipt.tx_hash = tx_hash;
  const auto block = string_member(doc, "blockNumber");
  const auto block_number = block ? hex_quantity(*block) : std::nullopt;
  // Byzantium and later receipts carry a status; an EVM chain without one is not supported.
  const auto status = string_member(doc, "status");
  const auto status_value = status ? hex_quantity(*status) : std::nullopt;
  if (!block_number || !status_value) {
    return malformed("receipt without blockNumber or status", where);
  }
  receipt.block_number = *block_number;
  receipt.success = *status_value == 1;
  if (const auto gas = string_member(doc, "gasUsed")) {
    receipt.gas_used = hex_quantity(*gas).value_or(0);
  }
  if (const auto contract = string_member(doc, "contractAddress")) {
    if (auto a = parse_address(*contract)) receipt.contract_address = *a;
  }
  if (const auto logs = doc.FindMember("logs"); logs != doc.MemberEnd() && logs->value.IsArray()) {
    for (const auto& l : logs->value.GetArray()) {
      auto entry = parse_log(l, where);
      if (!entry) return entry.error();
      receipt.logs.push_back(std::move(*entry));
    }
  }
  return receipt;
}

std::string lower_case(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// How nodes word a gas limit no block will take: anvil ("intrinsic gas too high -- tx.gas_limit
// > env.block.gas_limit"), geth ("exceeds block gas limit", "transaction gas limit too high"
// under EIP-7825, "intrinsic gas too low") and Besu ("Transaction gas limit exceeds block gas
// limit", "Intrinsic gas exceeds gas limit").
constexpr std::string_view kGasLimitRefusals[] = {
    "intrinsic gas too high",  "intrinsic gas too low", "intrinsic gas exceeds gas limit",
    "exceeds block gas limit", "gas limit too high",
};

bool refused_for_gas_limit(const std::string& lower) {
  return std::any_of(std::begin(kGasLimitRefusals), std::end(kGasLimitRefusals),
                     [&](std::string_view s) { return lower.find(s) != std::string::npos; });
}

ErrorCode classify(const std::string& message) {
  const std::string lower = lower_case(message);
  // Retrying such a transaction would spin forever: it is what was sent that is wrong.
  if (refused_for_gas_limit(lower)) return ErrorCode::kInvalidInput;
  if (lower.find("nonce too low") != std::string::npos ||
      lower.find("already known") != std::string::npos ||
      lower.find("replacement transaction underpriced") != std::string::npos) {
    return ErrorCode::kConflict;
  }
  if (lower.find("revert") != std::string::npos ||
      lower.find("insufficient funds") != std::string::npos) {
    return ErrorCode::kPermissionDenied;
  }
  return ErrorCode::kUnavailable;
}

}  // namespace

bool is_gas_limit_error(const Error& error) {
  return error.code == ErrorCode::kInvalidInput && refused_for_gas_limit(lower_case(error.message));
}

Result<std::unique_ptr<RpcTransport>> make_http_transport(const std::string& url,
                                                          std::chrono::milliseconds timeout) {
  try {
    Poco::URI uri(url);
    if (uri.getScheme() != "http") {
      return Error{ErrorCode::kInvalidInput, "only http:// JSON-RPC URLs are supported for now",
                   url};
    }
    return std::unique_ptr<RpcTransport>(std::make_unique<HttpTransport>(url, uri, timeout));
  } catch (const Poco::Exception& e) {
    return Error{ErrorCode::kInvalidInput, "bad JSON-RPC URL: " + e.displayText(), url};
  }
}

JsonRpcClient::JsonRpcClient(std::unique_ptr<RpcTransport> transport, std::string url)
    : transport_(std::move(transport)), url_(std::move(url)) {}

Result<std::string> JsonRpcClient::request(const std::string& method,
                                           const std::string& params_json) {
  // anvil answers a read of "latest" that overlaps the block it is mining with
  // "BlockOutOfRangeError: block height is N but requested was M" (foundry-rs/foundry#10709,
  // open in anvil 1.7.1); asked again, it answers. Left to the caller's backoff, each such
  // race cost a mixed load run 0.5 s of 5 (one or two per run). A read asked twice is the same
  // read; a transaction is never sent twice here.
  constexpr int kRaceAttempts = 3;
  for (int attempt = 1;; ++attempt) {
    auto answer = request_once(method, params_json);
    if (answer || attempt == kRaceAttempts || method == "eth_sendRawTransaction" ||
        answer.error().message.find("BlockOutOfRangeError") == std::string::npos) {
      return answer;
    }
  }
}

Result<std::string> JsonRpcClient::request_once(const std::string& method,
                                                const std::string& params_json) {
  const std::string body = R"({"jsonrpc":"2.0","id":)" + std::to_string(next_id_++) +
                           R"(,"method":")" + method + R"(","params":)" + params_json + "}";
  auto response = transport_->post(body);
  if (!response) return response.error();
  rapidjson::Document doc;
  doc.Parse(response->c_str());
  if (doc.HasParseError() || !doc.IsObject()) {
    return Error{ErrorCode::kUnavailable, method + ": the node's answer is not JSON", url_};
  }
  if (auto err = doc.FindMember("error"); err != doc.MemberEnd() && err->value.IsObject()) {
    std::string message = method + ": ";
    if (err->value.HasMember("message") && err->value["message"].IsString()) {
      message += err->value["message"].GetString();
    }
    if (err->value.HasMember("data") && err->value["data"].IsString()) {
      message += std::string(" (data ") + err->value["data"].GetString() + ")";
    }
    return Error{classify(message), message, url_};
  }
  auto result = doc.FindMember("result");
  if (result == doc.MemberEnd()) {
    return Error{ErrorCode::kUnavailable, method + ": the node's answer has no result", url_};
  }
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  result->value.Accept(writer);
  return std::string(buffer.GetString());
}

Result<std::uint64_t> JsonRpcClient::chain_id() {
  auto r = request("eth_chainId", "[]");
  if (!r) return r.error();
  return parse_quantity(*r, url_);
}

Result<std::uint64_t> JsonRpcClient::block_number() {
  auto r = request("eth_blockNumber", "[]");
  if (!r) return r.error();
  return parse_quantity(*r, url_);
}

Result<std::uint64_t> JsonRpcClient::pending_nonce(const Address& account) {
  auto r = request("eth_getTransactionCount", "[" + quote(to_0x_hex(account)) + ",\"pending\"]");
  if (!r) return r.error();
  return parse_quantity(*r, url_);
}

Result<std::uint64_t> JsonRpcClient::mined_nonce(const Address& account) {
  auto r = request("eth_getTransactionCount", "[" + quote(to_0x_hex(account)) + ",\"latest\"]");
  if (!r) return r.error();
  return parse_quantity(*r, url_);
}

Result<Bytes> JsonRpcClient::gas_price() {
  auto r = request("eth_gasPrice", "[]");
  if (!r) return r.error();
  return parse_big_quantity(*r, url_);
}

Result<Bytes> JsonRpcClient::max_priority_fee() {
  auto r = request("eth_maxPriorityFeePerGas", "[]");
  if (!r) return r.error();
  return parse_big_quantity(*r, url_);
}

Result<Bytes> JsonRpcClient::base_fee() {
  auto r = request("eth_getBlockByNumber", R"(["latest",false])");
  if (!r) return r.error();
  rapidjson::Document doc;
  doc.Parse(r->c_str());
  if (!doc.IsObject() || !doc.HasMember("baseFeePerGas") || !doc["baseFeePerGas"].IsString()) {
    return Bytes{};  // before London, or a node that has no base fee
  }
  return parse_big_quantity(std::string("\"") + doc["baseFeePerGas"].GetString() + "\"", url_);
}

Result<Bytes> JsonRpcClient::next_base_fee() {
  auto r = request("eth_feeHistory", R"(["0x1","latest",[]])");
  // A node without the method (pre-London clients, some permissioned ones) still has blocks;
  // a node that is down fails the fallback as well, with the same error.
  if (!r) return base_fee();
  rapidjson::Document doc;
  doc.Parse(r->c_str());
  if (!doc.IsObject()) return malformed("eth_feeHistory: not an object", url_);
  const auto it = doc.FindMember("baseFeePerGas");
  if (it == doc.MemberEnd() || !it->value.IsArray() || it->value.Empty()) {
    return Bytes{};  // a chain without base fee
  }
  const auto& next = it->value[it->value.Size() - 1];
  if (!next.IsString()) return malformed("eth_feeHistory: baseFeePerGas is not hex", url_);
  auto fee = parse_big_quantity(std::string("\"") + next.GetString() + "\"", url_);
  if (!fee) return fee.error();
  // Pre-London blocks report a zero base fee here; the caller treats empty as "none".
  return fee;
}

Result<std::uint64_t> JsonRpcClient::block_gas_limit() {
  auto r = request("eth_getBlockByNumber", R"(["latest",false])");
  if (!r) return r.error();
  rapidjson::Document doc;
  doc.Parse(r->c_str());
  const auto limit = string_member(doc, "gasLimit");
  const auto value = limit ? hex_quantity(*limit) : std::nullopt;
  if (!value) return malformed("eth_getBlockByNumber: latest block without a gasLimit", url_);
  return *value;
}

Result<std::uint64_t> JsonRpcClient::estimate_gas(const Address& from,
                                                  const std::optional<Address>& to, ByteView data) {
  std::string params = R"([{"from":)" + quote(to_0x_hex(from));
  if (to) params += R"(,"to":)" + quote(to_0x_hex(*to));
  params += R"(,"data":)" + quote(to_0x_hex(data)) + "}]";
  auto r = request("eth_estimateGas", params);
  if (!r) return r.error();
  return parse_quantity(*r, url_);
}

Result<Hash32> JsonRpcClient::send_raw_transaction(ByteView raw) {
  auto r = request("eth_sendRawTransaction", "[" + quote(to_0x_hex(raw)) + "]");
  if (!r) return r.error();
  auto bytes = parse_data(*r, url_);
  if (!bytes || bytes->size() != 32) {
    return Error{ErrorCode::kUnavailable, "eth_sendRawTransaction: bad transaction hash", url_};
  }
  return to_hash(*bytes);
}

Result<std::optional<TxReceipt>> JsonRpcClient::transaction_receipt(const Hash32& tx_hash) {
  auto r = request("eth_getTransactionReceipt", "[" + quote(to_0x_hex(tx_hash)) + "]");
  if (!r) return r.error();
  rapidjson::Document doc;
  doc.Parse(r->c_str());
  if (doc.IsNull()) return std::optional<TxReceipt>();
  if (!doc.IsObject()) return malformed("eth_getTransactionReceipt: not an object", url_);
  auto receipt = parse_receipt(doc, tx_hash, url_);
  if (!receipt) return receipt.error();
  return std::optional<TxReceipt>(std::move(*receipt));
}

Result<bool> JsonRpcClient::transaction_known(const Hash32& tx_hash) {
  auto r = request("eth_getTransactionByHash", "[" + quote(to_0x_hex(tx_hash)) + "]");
  if (!r) return r.error();
  return *r != "null";
}

Result<Bytes> JsonRpcClient::call(const Address& to, ByteView data) {
  auto r = request("eth_call", R"([{"to":)" + quote(to_0x_hex(to)) + R"(,"data":)" +
                                   quote(to_0x_hex(data)) + R"(},"latest"])");
  if (!r) return r.error();
  return parse_data(*r, url_);
}

Result<Bytes> JsonRpcClient::replay(const Hash32& tx_hash,
                                    std::optional<std::uint64_t> state_block) {
  auto r = request("eth_getTransactionByHash", "[" + quote(to_0x_hex(tx_hash)) + "]");
  if (!r) return r.error();
  rapidjson::Document tx;
  tx.Parse(r->c_str());
  const auto from = string_member(tx, "from");
  const auto to = string_member(tx, "to");
  const auto input = string_member(tx, "input");
  const auto gas = string_member(tx, "gas");
  if (!from || !to || !input || !gas) {
    return malformed("eth_getTransactionByHash: no from, to, input or gas", to_0x_hex(tx_hash));
  }
  const std::string block = state_block ? to_quantity(*state_block) : "latest";
  auto out = request("eth_call", R"([{"from":)" + quote(*from) + R"(,"to":)" + quote(*to) +
                                     R"(,"gas":)" + quote(*gas) + R"(,"data":)" + quote(*input) +
                                     "}," + quote(block) + "]");
  if (!out) return out.error();
  return parse_data(*out, url_);
}

Result<Bytes> JsonRpcClient::code_at(const Address& address) {
  auto r = request("eth_getCode", "[" + quote(to_0x_hex(address)) + ",\"latest\"]");
  if (!r) return r.error();
  return parse_data(*r, url_);
}

Result<std::vector<LogEntry>> JsonRpcClient::logs(const Address& address,
                                                  const std::vector<std::optional<Hash32>>& topics,
                                                  std::uint64_t from_block) {
  std::string filter = R"([{"address":)" + quote(to_0x_hex(address)) + R"(,"fromBlock":)" +
                       quote(to_quantity(from_block)) + R"(,"toBlock":"latest","topics":[)";
  for (std::size_t i = 0; i < topics.size(); ++i) {
    if (i > 0) filter += ',';
    filter += topics[i] ? quote(to_0x_hex(*topics[i])) : "null";
  }
  filter += "]}]";
  auto r = request("eth_getLogs", filter);
  if (!r) return r.error();
  rapidjson::Document doc;
  doc.Parse(r->c_str());
  if (doc.HasParseError() || !doc.IsArray()) return malformed("eth_getLogs: not an array", url_);
  std::vector<LogEntry> out;
  for (const auto& l : doc.GetArray()) {
    auto entry = parse_log(l, url_);
    if (!entry) return entry.error();
    const auto tx = string_member(l, "transactionHash");
    auto tx_bytes = tx ? hex_data(*tx) : std::nullopt;
    const auto block = string_member(l, "blockNumber");
    const auto block_number = block ? hex_quantity(*block) : std::nullopt;
    if (!tx_bytes || tx_bytes->size() != 32 || !block_number) {
      return malformed("a log without its transaction or block", url_);
    }
    entry->tx_hash = to_hash(*tx_bytes);
    entry->block_number = *block_number;
    out.push_back(std::move(*entry));
  }
  return out;
}

}  // namespace fl::ledger
