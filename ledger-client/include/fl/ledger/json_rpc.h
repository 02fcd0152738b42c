// An Ethereum JSON-RPC client. The transport is an interface (HTTP via Poco in production, a
// fake in unit tests). Errors: the node unreachable or timing out is kUnavailable with the URL;
// a JSON-RPC error keeps the node's message (and revert data) and is classified: a nonce the
// node already saw is kConflict, a revert or missing funds is kPermissionDenied, a transaction
// the chain can never mine as it is (its gas limit above what a block or the chain takes, or
// below its intrinsic gas) is kInvalidInput, anything else kUnavailable. An answer that is not
// well-formed (bad hex, a receipt without status) is kUnavailable too, never a crash. Not
// thread-safe: one client per thread.
#pragma once

#include "fl/base/bytes.h"
#include "fl/base/result.h"
#include "fl/ledger/keccak.h"
#include "fl/ledger/signer.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fl::ledger {

class RpcTransport {
 public:
  virtual ~RpcTransport() = default;
  // Posts one JSON-RPC request body and returns the response body.
  virtual Result<std::string> post(const std::string& body) = 0;
};

Result<std::unique_ptr<RpcTransport>> make_http_transport(const std::string& url,
                                                          std::chrono::milliseconds timeout);

struct LogEntry {
  Address address{};
  std::vector<Hash32> topics;
  Bytes data;
  Hash32 tx_hash{};  // filled by logs(); receipts leave it zero (the receipt names the tx)
  std::uint64_t block_number = 0;
};

struct TxReceipt {
  Hash32 tx_hash{};
  std::uint64_t block_number = 0;
  bool success = false;
  std::uint64_t gas_used = 0;
  std::optional<Address> contract_address;
  std::vector<LogEntry> logs;
};

// Whether a node refused a transaction for its gas limit (above the block gas limit or the
// chain's per-transaction cap, or below the intrinsic gas): sent again as it is, it is refused
// again, but one with another gas limit may be taken. Such errors are kInvalidInput.
bool is_gas_limit_error(const Error& error);

class JsonRpcClient {
 public:
  JsonRpcClient(std::unique_ptr<RpcTransport> transport, std::string url);

  Result<std::uint64_t> chain_id();
  Result<std::uint64_t> block_number();
  Result<std::uint64_t> pending_nonce(const Address& account);
  // The account's transactions mined so far (its nonce in the latest block): below
  // pending_nonce while some wait in the node's pool.
  Result<std::uint64_t> mined_nonce(const Address& account);
  Result<Bytes> gas_price();  // big-endian wei
  // EIP-1559 fees: the node's suggested priority fee, and the latest block's base fee (empty
  // before London or on a zero-fee network).
  Result<Bytes> max_priority_fee();
  Result<Bytes> base_fee();
  // The base fee the next block will charge (the last of eth_feeHistory's baseFeePerGas), which
  // is what a transaction sent now pays at the earliest; empty on a chain without base fee.
  // Falls back to base_fee() when the node has no eth_feeHistory.
  Result<Bytes> next_base_fee();
  // The latest block's gas limit: no transaction asking for more is accepted.
  Result<std::uint64_t> block_gas_limit();
  Result<std::uint64_t> estimate_gas(const Address& from, const std::optional<Address>& to,
                                     ByteView data);
  Result<Hash32> send_raw_transaction(ByteView raw);
  // Empty while the transaction is pending.
  Result<std::optional<TxReceipt>> transaction_receipt(const Hash32& tx_hash);
  // Whether the node knows the transaction at all (pending or mined): false once it was dropped
  // (a restart without its pool, an eviction) or replaced by another with the same nonce.
  Result<bool> transaction_known(const Hash32& tx_hash);
  Result<Bytes> call(const Address& to, ByteView data);
  // A mined transaction run again as an eth_call (same sender, target, input and gas) against
  // the state after block `state_block` (nullopt: the latest): a receipt says only that it
  // reverted, the replay says why (the node's error carries the revert data as "(data 0x...)").
  // Success is the return data, e.g. when an earlier transaction of the block changed state.
  Result<Bytes> replay(const Hash32& tx_hash, std::optional<std::uint64_t> state_block);
  Result<Bytes> code_at(const Address& address);
  // eth_getLogs of one contract from block `from_block` (0: the first) to latest; `topics[i]`
  // empty matches anything at position i. Logs come with the transaction and block that
  // emitted them.
  Result<std::vector<LogEntry>> logs(const Address& address,
                                     const std::vector<std::optional<Hash32>>& topics,
                                     std::uint64_t from_block = 0);

  const std::string& url() const { return url_; }

 private:
  // The "result" member of the response, as compact JSON text; a read that raced with the
  // node's mining is asked again.
  Result<std::string> request(const std::string& method, const std::string& params_json);
  Result<std::string> request_once(const std::string& method, const std::string& params_json);

  std::unique_ptr<RpcTransport> transport_;
  std::string url_;
  std::uint64_t next_id_ = 1;
};

}  // namespace fl::ledger
