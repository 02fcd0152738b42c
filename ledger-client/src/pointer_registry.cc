#include "fl/ledger/pointer_registry.h"

#include "fl/base/assert.h"
#include "fl/ledger/abi.h"
#include "fl/ledger/abi_codec.h"
#include "fl/ledger/pointer_registry_artifact.h"
#include "fl/ledger/transaction.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <limits>
#include <thread>

namespace fl::ledger {
namespace {

// Estimates are exact for the state they ran against; a margin covers the state changing
// before the transaction is mined.
std::uint64_t with_margin(std::uint64_t gas) { return gas + gas / 4 + 10000; }

// The contract's custom errors, so a revert reads as what it means rather than as a selector.
struct KnownError {
  std::string_view signature;
  std::string_view meaning;
};
constexpr KnownError kContractErrors[] = {
    {"NotWriter()", "this account is not a gateway writer of the PointerRegistry"},
    {"NotAdmin()", "only the PointerRegistry's admin may do this"},
    {"ZeroContentHash()", "a pointer has an all-zero content hash"},
    {"ZeroVersion()", "a pointer has version 0; FHIR versions start at 1"},
    {"UnknownParticipant()", "the grantee is not a registered participant"},
    {"PatientIsErased(bytes32)", "the patient was erased; no new grants or anchors"},
    {"ExpiryInThePast()", "a grant must expire in the future"},
    {"EmptyBatch()", "a Merkle root must cover at least one pointer"},
    {"ZeroRoot()", "a Merkle root must not be zero"},
};

// A short ASCII code as a left-aligned bytesN word.
Result<abi::Word> code_word(std::string_view code, std::size_t max, const char* what) {
  const bool ascii =
      std::all_of(code.begin(), code.end(), [](char c) { return c > 0x20 && c < 0x7f; });
  if (code.empty() || code.size() > max || !ascii) {
    return Error{
        ErrorCode::kInvalidInput,
        std::string(what) + " must be 1 to " + std::to_string(max) + " printable ASCII characters",
        std::string(code)};
  }
  return abi::fixed_bytes_word(as_bytes(code));
}

// The revert data in a node's error message ("... (data 0x751a1cd0...)"), decoded against the
// contract's errors and appended with its meaning: "...: PatientIsErased(0x12...), the patient
// was erased; ...". Messages without data, or with data that does not decode, stay as they are.
Error explain_revert(Error error) {
  const auto at = error.message.find("(data 0x");
  if (at == std::string::npos) return error;
  const auto end = error.message.find(')', at);
  if (end == std::string::npos) return error;
  auto data = parse_hex(error.message.substr(at + 6, end - at - 6));
  if (!data) return error;
  static const std::vector<abi::Function> errors = [] {
    std::vector<abi::Function> parsed;
    for (const auto& known : kContractErrors) {
      auto f = abi::parse_signature(known.signature);
      FL_ASSERT(f.has_value(), "a contract error signature does not parse");
      parsed.push_back(std::move(*f));
    }
    return parsed;
  }();
  auto decoded = abi::decode_error(*data, errors);
  if (!decoded || !decoded->known()) return error;
  error.message += ": " + abi::to_string(*decoded);
  for (const auto& known : kContractErrors) {
    if (known.signature.starts_with(decoded->name + "(")) {
      error.message += ", " + std::string(known.meaning);
    }
  }
  return error;
}

// A node's "insufficient funds" said as what to do about it.
Error explain_unpaid(Error error, const Address& account) {
  std::string lower = error.message;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower.find("insufficient funds") == std::string::npos) return error;
  error.message = "account " + to_checksum_hex(account) +
                  " cannot pay for gas: fund it, or run the network with a zero gas price (" +
                  error.message + ")";
  return error;
}

// Why a mined transaction reverted: its replay's revert reason. The state before its block is
// the faithful one; a node that prunes history (anvil --prune-history, Besu's default) has
// only the latest, which usually fails the same way.
std::string revert_reason(JsonRpcClient& rpc, const TxReceipt& receipt) {
  auto replayed = receipt.block_number > 0 ? rpc.replay(receipt.tx_hash, receipt.block_number - 1)
                                           : rpc.replay(receipt.tx_hash, std::nullopt);
  const auto reverted = [](const Result<Bytes>& r) {
    return !r && r.error().message.find("revert") != std::string::npos;
  };
  if (!replayed && !reverted(replayed)) {
    auto latest = rpc.replay(receipt.tx_hash, std::nullopt);
    if (latest || reverted(latest)) replayed = std::move(latest);
  }
  if (replayed) return "it succeeds when replayed, so state changed before it in its block";
  return explain_revert(replayed.error()).message;
}

// Polls `hashes` (a transaction and its replacements so far, newest last: any of them may be
// the one mined) until one is mined `confirmations` deep. `while_pending` runs at each poll that
// finds none mined; it may append a replacement, and what it returns goes into the timeout
// error (why the transaction is stuck).
Result<TxReceipt> poll_receipt(
    JsonRpcClient& rpc, std::vector<Hash32>& hashes, std::uint64_t confirmations,
    std::chrono::milliseconds timeout,
    const std::function<std::optional<std::string>(std::vector<Hash32>&)>& while_pending) {
  FL_ASSERT(!hashes.empty(), "poll_receipt without a transaction");
  const auto started = std::chrono::steady_clock::now();
  const auto deadline = started + timeout;
  auto delay = std::chrono::milliseconds(20);
  int unknown_polls = 0;
  // A node that is briefly down or answers oddly is retried until the deadline; its last
  // complaint goes into the timeout error, so the operator sees why rather than just "late".
  std::string last_problem = "not mined yet";
  for (;;) {
    Result<std::optional<TxReceipt>> receipt = std::optional<TxReceipt>();
    for (const Hash32& hash : hashes) {
      receipt = rpc.transaction_receipt(hash);
      if (!receipt || receipt->has_value()) break;
    }
    if (receipt && receipt->has_value()) {
      const TxReceipt& r = **receipt;
      if (!r.success) {
        return Error{ErrorCode::kPermissionDenied,
                     "transaction reverted (" + revert_reason(rpc, r) + ")", to_0x_hex(r.tx_hash)};
      }
      // Confirmations count the receipt's block itself: head - block + 1 >= confirmations.
      auto head = rpc.block_number();
      if (head && *head + 1 >= r.block_number + std::max<std::uint64_t>(confirmations, 1)) {
        return r;
      }
      last_problem = head ? "mined in block " + std::to_string(r.block_number) + ", waiting for " +
                                std::to_string(confirmations) + " confirmations (head " +
                                std::to_string(*head) + ")"
                          : head.error().message;
    } else if (!receipt) {
      if (receipt.error().code != ErrorCode::kUnavailable) return receipt.error();
      last_problem = receipt.error().message;
    } else {
      if (std::chrono::steady_clock::now() - started > std::chrono::seconds(1)) {
        // Not mined after a second: a transaction the node has forgotten never will be. Only the
        // newest counts: a replaced one is forgotten by design.
        auto known = rpc.transaction_known(hashes.back());
        unknown_polls = known && !*known ? unknown_polls + 1 : 0;
        if (unknown_polls >= 2) {
          return Error{ErrorCode::kUnavailable, "the node does not know the transaction",
                       to_0x_hex(hashes.back())};
        }
        // Also only after a second: most transactions are mined sooner, and need no extra call.
        if (while_pending) {
          if (auto note = while_pending(hashes)) last_problem = std::move(*note);
        }
      }
    }
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      return Error{ErrorCode::kUnavailable,
                   "no confirmed receipt before the timeout: " + last_problem,
                   to_0x_hex(hashes.front())};
    }
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(delay, deadline - now));
    delay = std::min(delay * 2, std::chrono::milliseconds(500));
  }
}

}  // namespace

Result<std::vector<abi::Word>> pointer_words(const PointerRecord& p) {
  auto region = code_word(p.region, 16, "storage region");
  if (!region) return region.error();
  auto key_id = code_word(p.key_id, 32, "key id");
  if (!key_id) return key_id.error();
  return std::vector<abi::Word>{p.resource_key, p.patient_key, abi::uint_word(p.version),
                                p.content_hash, p.policy_hash, p.mapping_hash,
                                *region,        *key_id};
}

Result<Hash32> pointer_leaf(const PointerRecord& pointer) {
  auto words = pointer_words(pointer);
  if (!words) return words.error();
  std::uint8_t buffer[1 + 8 * 32];
  buffer[0] = 0x00;
  for (std::size_t i = 0; i < words->size(); ++i) {
    std::copy((*words)[i].begin(), (*words)[i].end(), buffer + 1 + 32 * i);
  }
  return keccak256(ByteView(buffer, sizeof buffer));
}

namespace {
// A left-aligned ASCII code word back to its text (up to the first zero byte).
std::string code_text(const abi::Word& word, std::size_t max) {
  std::string out;
  for (std::size_t i = 0; i < max && word[i] != 0; ++i) out.push_back(static_cast<char>(word[i]));
  return out;
}
}  // namespace

Result<std::vector<AnchorConflict>> decode_conflicts(std::span<const LogEntry> logs) {
  static const abi::Event event = [] {
    auto parsed = abi::parse_event(
        "AnchorConflict(bytes32 indexed resourceKey,uint64 version,bytes32 existing,"
        "bytes32 offered)");
    FL_ASSERT(parsed.has_value(), "the AnchorConflict signature does not parse");
    FL_ASSERT(parsed->signature() == kAnchorConflictEvent, "AnchorConflict signature drifted");
    return std::move(*parsed);
  }();
  const Hash32 topic = event.topic();
  const auto word = [](const abi::Value& v) {
    Hash32 h{};
    std::copy_n(v.bytes.begin(), std::min<std::size_t>(32, v.bytes.size()), h.begin());
    return h;
  };
  std::vector<AnchorConflict> out;
  for (const LogEntry& log : logs) {
    if (log.topics.empty() || log.topics[0] != topic) continue;
    auto fields = abi::decode_log(event, log);
    if (!fields) return fields.error();
    auto version = (*fields)[1].value.as_uint64();
    if (!version) {
      return Error{ErrorCode::kInvalidInput, "AnchorConflict version is not a uint64",
                   to_checksum_hex(log.address)};
    }
    out.push_back({.resource_key = word((*fields)[0].value),
                   .version = *version,
                   .existing = word((*fields)[2].value),
                   .offered = word((*fields)[3].value)});
  }
  return out;
}

Result<std::vector<PointerRecord>> decode_anchored(std::span<const LogEntry> logs) {
  static const Hash32 anchored_topic = abi::event_topic(kAnchoredEvent);
  static const Hash32 batch_topic = abi::event_topic(kBatchAnchoredEvent);
  std::vector<PointerRecord> out;
  std::size_t open = 0;  // first pointer still waiting for its BatchAnchored
  for (const LogEntry& log : logs) {
    if (log.topics.empty()) continue;
    if (log.topics[0] == anchored_topic) {
      if (log.topics.size() != 3 || log.data.size() != 4 * 32) {
        return Error{ErrorCode::kInvalidInput, "malformed Anchored event",
                     to_checksum_hex(log.address)};
      }
      PointerRecord p;
      p.resource_key = log.topics[1];
      p.patient_key = log.topics[2];
      auto version = abi::uint64_at(log.data, 0);
      if (!version) return version.error();
      p.version = *version;
      p.content_hash = *abi::word_at(log.data, 1);
      p.region = code_text(*abi::word_at(log.data, 2), 16);
      p.key_id = code_text(*abi::word_at(log.data, 3), 32);
      out.push_back(std::move(p));
    } else if (log.topics[0] == batch_topic) {
      auto count = log.topics.size() == 3 ? abi::uint64_at(log.data, 0) : Result<std::uint64_t>(0);
      if (!count || *count != out.size() - open) {
        return Error{ErrorCode::kInvalidInput,
                     "a BatchAnchored event does not match the Anchored events before it",
                     to_checksum_hex(log.address)};
      }
      for (std::size_t i = open; i < out.size(); ++i) {
        out[i].policy_hash = log.topics[1];
        out[i].mapping_hash = log.topics[2];
      }
      open = out.size();
    }
  }
  if (open != out.size()) {
    return Error{ErrorCode::kInvalidInput, "Anchored events without their BatchAnchored", ""};
  }
  return out;
}

std::uint64_t transaction_gas_cap(std::uint64_t block_gas_limit) {
  return std::min(block_gas_limit / 100 * kBlockGasSharePercent, kMaxTransactionGas);
}

namespace {
// Per pointer, the dearest path through anchorBatch (new content slot, new latest-version slot,
// cold erasure read, event, calldata) costs about 54,000 gas; the call itself under 80,000.
constexpr std::uint64_t kAnchorBatchBaseGas = 80000;
constexpr std::uint64_t kAnchorBatchPointerGas = 60000;
}  // namespace

std::uint64_t anchor_batch_gas(std::size_t pointers) {
  return kAnchorBatchBaseGas + kAnchorBatchPointerGas * pointers;
}

std::size_t anchor_batch_capacity(std::uint64_t gas_cap) {
  if (gas_cap < anchor_batch_gas(1)) return 0;
  return static_cast<std::size_t>((gas_cap - kAnchorBatchBaseGas) / kAnchorBatchPointerGas);
}

PointerRegistry::PointerRegistry(JsonRpcClient& rpc, const Signer& signer, std::uint64_t chain_id,
                                 Address contract, TxType tx_type)
    : rpc_(rpc), signer_(signer), chain_id_(chain_id), contract_(contract), tx_type_(tx_type) {}

Result<Address> PointerRegistry::deploy(JsonRpcClient& rpc, const Signer& signer,
                                        std::uint64_t chain_id, std::chrono::milliseconds timeout) {
  auto code = parse_hex(kPointerRegistryBytecode);
  if (!code) return code.error();
  PointerRegistry deployer(rpc, signer, chain_id, Address{});
  auto tx = deployer.send(std::nullopt, *code);
  if (!tx) return tx.error();
  auto receipt = deployer.await(*tx, 1, timeout);
  if (!receipt) return receipt.error();
  if (!receipt->contract_address) {
    return Error{ErrorCode::kUnavailable, "deployment receipt has no contract address", rpc.url()};
  }
  return *receipt->contract_address;
}

namespace {

// A big-endian wei amount as a number. No real fee per gas comes near 2^64 wei (18 ether), so
// a larger answer saturates rather than wraps.
std::uint64_t wei(const Bytes& big_endian_wei) {
  if (big_endian_wei.size() > 8) return std::numeric_limits<std::uint64_t>::max();
  std::uint64_t value = 0;
  for (const std::uint8_t b : big_endian_wei) value = value << 8 | b;
  return value;
}

std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b) {
  return a > std::numeric_limits<std::uint64_t>::max() - b
             ? std::numeric_limits<std::uint64_t>::max()
             : a + b;
}

// More than 10% above `value` and at least 1 wei more: geth's and Besu's pools take a
// replacement only when both its fee cap and its tip are at least 10% higher.
std::uint64_t raised(std::uint64_t value) { return saturating_add(value, value / 10 + 1); }

// Sent and never awaited entries are forgotten beyond this many (the oldest nonce first): they
// only lose the ability to be replaced.
constexpr std::size_t kMaxInFlight = 4096;

}  // namespace

Fees bumped_fees(const Fees& sent, const Fees& fresh, std::optional<std::uint64_t> ceiling) {
  Fees out{.tip = std::max(raised(sent.tip), fresh.tip),
           .max_fee = std::max(raised(sent.max_fee), fresh.max_fee)};
  if (ceiling) out.max_fee = std::min(out.max_fee, *ceiling);
  out.tip = std::min(out.tip, out.max_fee);
  return out;
}

Result<Fees> PointerRegistry::current_fees() {
  Fees fees;
  if (tx_type_ == TxType::kLegacy) {
    auto price = rpc_.gas_price();
    if (!price) return price.error();
    fees.max_fee = wei(*price);
  } else {
    // The next block's base fee: the latest block's is already one block old, and on a chain
    // whose blocks are full the next one is up to 12.5% higher.
    auto base = rpc_.next_base_fee();
    if (!base) return base.error();
    auto priority = rpc_.max_priority_fee();
    if (!priority) return priority.error();
    if (base->empty()) {
      // No base fee: maybe a permissioned network that charges nothing (Besu with a zero
      // min-gas-price), where accounts hold no ether. Nodes still suggest a tip (anvil: 1 gwei),
      // which such an account cannot pay; the gas price says whether gas costs anything at all.
      auto price = rpc_.gas_price();
      if (!price) return price.error();
      if (price->empty()) priority->clear();
    }
    fees.tip = wei(*priority);
    // 2 * base + tip: the usual headroom for several full blocks of base-fee rises.
    fees.max_fee = saturating_add(saturating_add(wei(*base), wei(*base)), fees.tip);
  }
  if (fee_policy_.max_fee_per_gas_wei) {
    fees.max_fee = std::min(fees.max_fee, *fee_policy_.max_fee_per_gas_wei);
  }
  fees.tip = std::min(fees.tip, fees.max_fee);
  return fees;
}

Result<SignedTransaction> PointerRegistry::sign_with(const InFlight& tx) {
  if (tx_type_ == TxType::kLegacy) {
    return sign(LegacyTransaction{.nonce = tx.nonce,
                                  .gas_price = big_endian(tx.fees.max_fee),
                                  .gas_limit = tx.gas_limit,
                                  .to = tx.to,
                                  .value = {},
                                  .data = tx.data},
                chain_id_, signer_);
  }
  return sign(Eip1559Transaction{.chain_id = chain_id_,
                                 .nonce = tx.nonce,
                                 .max_priority_fee_per_gas = big_endian(tx.fees.tip),
                                 .max_fee_per_gas = big_endian(tx.fees.max_fee),
                                 .gas_limit = tx.gas_limit,
                                 .to = tx.to,
                                 .value = {},
                                 .data = tx.data},
              signer_);
}

Result<Hash32> PointerRegistry::send(const std::optional<Address>& to, const Bytes& data,
                                     std::optional<std::uint64_t> gas_limit) {
  auto gas = gas_limit ? Result<std::uint64_t>(*gas_limit)
                       : rpc_.estimate_gas(signer_.address(), to, data);
  if (!gas) return explain_unpaid(explain_revert(gas.error()), signer_.address());
  for (int attempt = 0;; ++attempt) {
    if (!next_nonce_) {
      auto nonce = rpc_.pending_nonce(signer_.address());
      if (!nonce) return nonce.error();
      next_nonce_ = *nonce;
    }
    auto fees = current_fees();
    if (!fees) return fees.error();
    if (next_max_fee_override_) {
      fees->max_fee = *next_max_fee_override_;
      fees->tip = std::min(fees->tip, fees->max_fee);
      next_max_fee_override_.reset();
    }
    InFlight tx{.nonce = *next_nonce_,
                .gas_limit = gas_limit ? *gas : with_margin(*gas),
                .to = to,
                .data = data,
                .fees = *fees,
                .hashes = {},
                .pending_since_block = std::nullopt};
    auto signed_tx = sign_with(tx);
    if (!signed_tx) return signed_tx.error();
    auto hash = rpc_.send_raw_transaction(signed_tx->raw);
    if (hash) {
      ++*next_nonce_;
      if (in_flight_.size() >= kMaxInFlight) {
        in_flight_.erase(std::min_element(
            in_flight_.begin(), in_flight_.end(),
            [](const auto& a, const auto& b) { return a.second.nonce < b.second.nonce; }));
      }
      tx.hashes.push_back(*hash);
      in_flight_.insert_or_assign(*hash, std::move(tx));
      return *hash;
    }
    // After a restart or a transaction sent by someone else with this account, the local
    // nonce is stale: re-read it once and try again.
    next_nonce_.reset();
    if (hash.error().code != ErrorCode::kConflict || attempt > 0) {
      return explain_unpaid(hash.error(), signer_.address());
    }
  }
}

std::optional<std::string> PointerRegistry::replace_if_stuck(InFlight& tx) {
  if (fee_policy_.replace_after_blocks == 0) return std::nullopt;
  auto head = rpc_.block_number();
  if (!head) return std::nullopt;  // the poll reports a node that is down
  if (!tx.pending_since_block) tx.pending_since_block = *head;
  const std::uint64_t since = *tx.pending_since_block;
  if (*head < since + fee_policy_.replace_after_blocks) return std::nullopt;
  const std::string pending = "pending since block " + std::to_string(since) + " (head " +
                              std::to_string(*head) + ") offering maxFeePerGas " +
                              std::to_string(tx.fees.max_fee) + " wei";
  auto fresh = current_fees();
  if (!fresh) return pending + "; fees not read: " + fresh.error().message;
  const Fees bumped = bumped_fees(tx.fees, *fresh, fee_policy_.max_fee_per_gas_wei);
  const bool replaceable = bumped.max_fee >= raised(tx.fees.max_fee) &&
                           (tx_type_ == TxType::kLegacy || bumped.tip >= raised(tx.fees.tip));
  if (!replaceable) {
    tx.pending_since_block = *head;  // say it again after as many blocks, not at every poll
    const std::uint64_t ceiling =
        fee_policy_.max_fee_per_gas_wei.value_or(std::numeric_limits<std::uint64_t>::max());
    return pending + ", the fee ceiling (" + std::to_string(ceiling) +
           " wei per gas), so it cannot be replaced with 10% higher fees: it stays pending until "
           "the base fee falls below its fee cap, or the ceiling is raised";
  }
  InFlight replacement = tx;
  replacement.fees = bumped;
  auto signed_tx = sign_with(replacement);
  if (!signed_tx) return pending + "; replacement not signed: " + signed_tx.error().message;
  auto hash = rpc_.send_raw_transaction(signed_tx->raw);
  tx.pending_since_block = *head;
  if (!hash) {
    // "nonce too low": one of the hashes was mined meanwhile, and the next poll finds it.
    return pending + "; replacement refused: " + hash.error().message;
  }
  tx.fees = bumped;
  tx.hashes.push_back(*hash);
  return pending + "; replaced by " + to_0x_hex(*hash) + " offering " +
         std::to_string(bumped.max_fee) + " wei";
}

Result<TxReceipt> PointerRegistry::await(const Hash32& tx_hash, std::uint64_t confirmations,
                                         std::chrono::milliseconds timeout) {
  const auto it = in_flight_.find(tx_hash);
  if (it == in_flight_.end()) {
    // Not sent by this object (before a restart, by another replica): nothing to replace.
    std::vector<Hash32> hashes{tx_hash};
    return poll_receipt(rpc_, hashes, confirmations, timeout, {});
  }
  InFlight& tx = it->second;
  auto receipt = poll_receipt(rpc_, tx.hashes, confirmations, timeout,
                              [&](std::vector<Hash32>&) { return replace_if_stuck(tx); });
  // A timeout keeps the entry: the caller may wait again and the replacements are still known.
  if (receipt || receipt.error().code != ErrorCode::kUnavailable ||
      receipt.error().message.find("does not know") != std::string::npos) {
    in_flight_.erase(it);
  }
  return receipt;
}

Result<Hash32> PointerRegistry::anchor_batch(std::span<const PointerRecord> pointers) {
  if (pointers.empty()) {
    return Error{ErrorCode::kInvalidInput, "an empty batch", to_checksum_hex(contract_)};
  }
  const Hash32& policy = pointers.front().policy_hash;
  const Hash32& mapping = pointers.front().mapping_hash;
  std::vector<abi::Word> flat;
  flat.reserve(6 * pointers.size());
  for (const auto& p : pointers) {
    if (p.policy_hash != policy || p.mapping_hash != mapping) {
      return Error{ErrorCode::kInvalidInput,
                   "one anchorBatch carries one policy hash and one mapping hash",
                   to_0x_hex(p.resource_key)};
    }
    auto words = pointer_words(p);
    if (!words) return words.error();
    // Entry: the Pointer without its policy and mapping hashes (words 4 and 5).
    flat.insert(flat.end(), words->begin(), words->begin() + 4);
    flat.insert(flat.end(), words->begin() + 6, words->end());
  }
  static const std::string signature =
      "anchorBatch(bytes32,bytes32,(bytes32,bytes32,uint64,bytes32,bytes16,bytes32)[])";
  const std::optional<std::uint64_t> bound =
      bounded_anchor_gas_ ? std::optional<std::uint64_t>(anchor_batch_gas(pointers.size()))
                          : std::nullopt;
  return send(contract_,
              abi::encode_call(signature, {abi::Arg::word(policy), abi::Arg::word(mapping),
                                           abi::Arg::static_tuple_array(std::move(flat), 6)}),
              bound);
}

Result<Hash32> PointerRegistry::anchor_root(const Hash32& root, std::uint32_t leaf_count) {
  // anchorRoot costs about 48,000 gas whatever the tree: one slot, one event.
  return send(contract_,
              abi::encode_call("anchorRoot(bytes32,uint32)",
                               {abi::Arg::word(root), abi::Arg::word(abi::uint_word(leaf_count))}),
              bounded_anchor_gas_ ? std::optional<std::uint64_t>(kAnchorRootGas) : std::nullopt);
}

Result<std::optional<RootInfo>> PointerRegistry::root_info(const Hash32& root) {
  auto out = rpc_.call(contract_, abi::encode_call("roots(bytes32)", {abi::Arg::word(root)}));
  if (!out) return out.error();
  auto block = abi::uint64_at(*out, 0);
  if (!block) return block.error();
  auto count = abi::uint64_at(*out, 1);
  if (!count) return count.error();
  if (*block == 0) return std::optional<RootInfo>();
  return std::optional<RootInfo>(
      RootInfo{.block_number = *block, .leaf_count = static_cast<std::uint32_t>(*count)});
}

Result<std::optional<std::pair<Hash32, std::uint64_t>>> PointerRegistry::root_anchoring_tx(
    const Hash32& root) {
  auto found = rpc_.logs(contract_, {abi::event_topic(kRootAnchoredEvent), root});
  if (!found) return found.error();
  // anchorRoot emits RootAnchored once per root: a second anchor of it is a no-op.
  if (found->empty()) return std::optional<std::pair<Hash32, std::uint64_t>>();
  const LogEntry& log = found->front();
  return std::optional<std::pair<Hash32, std::uint64_t>>({log.tx_hash, log.block_number});
}

Result<bool> PointerRegistry::verify_inclusion(const PointerRecord& pointer, std::uint32_t index,
                                               std::span<const Hash32> proof, const Hash32& root) {
  auto words = pointer_words(pointer);
  if (!words) return words.error();
  // A static tuple argument is its words in place, so each goes in as one head word.
  std::vector<abi::Arg> args;
  for (const auto& w : *words) args.push_back(abi::Arg::word(w));
  args.push_back(abi::Arg::word(abi::uint_word(index)));
  args.push_back(abi::Arg::array(std::vector<abi::Word>(proof.begin(), proof.end())));
  args.push_back(abi::Arg::word(root));
  static const std::string signature =
      "verifyInclusion(" + std::string(kPointerTuple) + ",uint32,bytes32[],bytes32)";
  auto out = rpc_.call(contract_, abi::encode_call(signature, args));
  if (!out) return out.error();
  auto answer = abi::uint64_at(*out, 0);
  if (!answer) return answer.error();
  return *answer == 1;
}

Result<std::vector<bool>> PointerRegistry::erased_among(std::span<const Hash32> patient_keys) {
  auto out = rpc_.call(
      contract_,
      abi::encode_call("erasedAmong(bytes32[])", {abi::Arg::array(std::vector<abi::Word>(
                                                     patient_keys.begin(), patient_keys.end()))}));
  if (!out) return out.error();
  // (bool[]): an offset word, then the length and the elements.
  auto offset = abi::uint64_at(*out, 0);
  if (!offset || *offset != 32) {
    return Error{ErrorCode::kInvalidInput, "erasedAmong: unexpected return layout",
                 to_checksum_hex(contract_)};
  }
  auto length = abi::uint64_at(*out, 1);
  if (!length || *length != patient_keys.size()) {
    return Error{ErrorCode::kInvalidInput, "erasedAmong: wrong number of answers",
                 to_checksum_hex(contract_)};
  }
  std::vector<bool> result;
  result.reserve(patient_keys.size());
  for (std::size_t i = 0; i < patient_keys.size(); ++i) {
    auto flag = abi::uint64_at(*out, 2 + i);
    if (!flag || *flag > 1) {
      return Error{ErrorCode::kInvalidInput, "erasedAmong: not a bool", std::to_string(i)};
    }
    result.push_back(*flag == 1);
  }
  return result;
}

Result<TxReceipt> PointerRegistry::wait_for_receipt(const Hash32& tx_hash,
                                                    std::uint64_t confirmations,
                                                    std::chrono::milliseconds timeout) {
  auto receipt = await(tx_hash, confirmations, timeout);
  if (receipt || receipt.error().code != ErrorCode::kUnavailable) return receipt;
  // Late: say why, and get the nonces right for the batch that will be sent again.
  auto code = rpc_.code_at(contract_);
  if (code && code->empty()) {
    next_nonce_.reset();
    return Error{ErrorCode::kNotFound,
                 "no contract code at " + to_checksum_hex(contract_) +
                     " on this chain any more: the chain was reset or replaced (restore the "
                     "node's state, or deploy again and configure the new address)",
                 rpc_.url()};
  }
  auto known = rpc_.transaction_known(tx_hash);
  if (known && !*known) {
    // Dropped (a node restart without its pool) or replaced (this account sent another
    // transaction with the same nonce): the local nonce is no longer the node's.
    next_nonce_.reset();
    return Error{ErrorCode::kUnavailable,
                 "the node no longer knows the transaction (dropped or replaced); the nonce is "
                 "read again from the node and the batch can be sent again",
                 to_0x_hex(tx_hash)};
  }
  return receipt;
}

Result<Hash32> PointerRegistry::set_writer(const Address& writer, bool allowed) {
  return send(contract_, abi::encode_call("setWriter(address,bool)",
                                          {abi::Arg::word(abi::address_word(writer)),
                                           abi::Arg::word(abi::bool_word(allowed))}));
}

Result<bool> PointerRegistry::is_writer(const Address& account) {
  auto out = rpc_.call(contract_, abi::encode_call("writers(address)",
                                                   {abi::Arg::word(abi::address_word(account))}));
  if (!out) return out.error();
  auto answer = abi::uint64_at(*out, 0);
  if (!answer || *answer > 1) {
    return Error{ErrorCode::kInvalidInput, "writers(address) did not answer a bool",
                 to_checksum_hex(contract_)};
  }
  return *answer == 1;
}

Result<Hash32> PointerRegistry::set_participant(const Address& participant,
                                                std::string_view jurisdiction, bool active) {
  auto code = code_word(jurisdiction, 8, "jurisdiction");
  if (!code) return code.error();
  return send(contract_,
              abi::encode_call("setParticipant(address,bytes8,bool)",
                               {abi::Arg::word(abi::address_word(participant)),
                                abi::Arg::word(*code), abi::Arg::word(abi::bool_word(active))}));
}

Result<Hash32> PointerRegistry::grant(const Hash32& patient_key, const Address& grantee,
                                      std::string_view purpose, std::uint64_t expires_at) {
  auto code = code_word(purpose, 32, "purpose of use");
  if (!code) return code.error();
  return send(
      contract_,
      abi::encode_call("grant(bytes32,address,bytes32,uint64)",
                       {abi::Arg::word(patient_key), abi::Arg::word(abi::address_word(grantee)),
                        abi::Arg::word(*code), abi::Arg::word(abi::uint_word(expires_at))}));
}

Result<Hash32> PointerRegistry::revoke(const Hash32& patient_key, const Address& grantee,
                                       std::string_view purpose) {
  auto code = code_word(purpose, 32, "purpose of use");
  if (!code) return code.error();
  return send(contract_, abi::encode_call(
                             "revoke(bytes32,address,bytes32)",
                             {abi::Arg::word(patient_key),
                              abi::Arg::word(abi::address_word(grantee)), abi::Arg::word(*code)}));
}

Result<Hash32> PointerRegistry::mark_erased(const Hash32& patient_key) {
  return send(contract_, abi::encode_call("markErased(bytes32)", {abi::Arg::word(patient_key)}));
}

Result<bool> PointerRegistry::can_read(const Hash32& patient_key, const Address& participant,
                                       std::string_view purpose) {
  auto code = code_word(purpose, 32, "purpose of use");
  if (!code) return code.error();
  auto out = rpc_.call(contract_, abi::encode_call("canRead(bytes32,address,bytes32)",
                                                   {abi::Arg::word(patient_key),
                                                    abi::Arg::word(abi::address_word(participant)),
                                                    abi::Arg::word(*code)}));
  if (!out) return out.error();
  auto answer = abi::uint64_at(*out, 0);
  if (!answer) return answer.error();
  return *answer == 1;
}

Result<Hash32> PointerRegistry::content_hash_of(const Hash32& resource_key, std::uint64_t version) {
  auto out = rpc_.call(contract_, abi::encode_call("contentHashOf(bytes32,uint64)",
                                                   {abi::Arg::word(resource_key),
                                                    abi::Arg::word(abi::uint_word(version))}));
  if (!out) return out.error();
  return abi::word_at(*out, 0);
}

Result<std::vector<PointerRecord>> PointerRegistry::anchored_versions(const Hash32& resource_key) {
  auto found = rpc_.logs(contract_, {abi::event_topic(kAnchoredEvent), resource_key});
  if (!found) return found.error();
  std::vector<PointerRecord> out;
  std::vector<Hash32> seen_txs;
  for (const LogEntry& log : *found) {
    if (std::find(seen_txs.begin(), seen_txs.end(), log.tx_hash) != seen_txs.end()) continue;
    seen_txs.push_back(log.tx_hash);
    // The policy and mapping hashes are in the batch's BatchAnchored event: read the receipt.
    auto receipt = rpc_.transaction_receipt(log.tx_hash);
    if (!receipt) return receipt.error();
    if (!receipt->has_value()) continue;
    std::vector<LogEntry> ours;
    for (const auto& l : (*receipt)->logs) {
      if (l.address == contract_) ours.push_back(l);
    }
    auto pointers = decode_anchored(ours);
    if (!pointers) return pointers.error();
    for (auto& p : *pointers) {
      if (p.resource_key == resource_key) out.push_back(std::move(p));
    }
  }
  return out;
}

Result<std::optional<std::pair<Hash32, std::uint64_t>>> PointerRegistry::anchoring_tx(
    const Hash32& resource_key, std::uint64_t version, const Hash32& content_hash) {
  auto found = rpc_.logs(contract_, {abi::event_topic(kAnchoredEvent), resource_key});
  if (!found) return found.error();
  for (const LogEntry& log : *found) {
    auto v = abi::uint64_at(log.data, 0);
    auto hash = abi::word_at(log.data, 1);
    if (v && hash && *v == version && *hash == content_hash) {
      return std::optional<std::pair<Hash32, std::uint64_t>>({log.tx_hash, log.block_number});
    }
  }
  return std::optional<std::pair<Hash32, std::uint64_t>>();
}

Result<std::vector<PointerRegistry::ParticipantState>> PointerRegistry::participants() {
  auto found = rpc_.logs(contract_, {abi::event_topic(kParticipantChangedEvent)});
  if (!found) return found.error();
  std::vector<ParticipantState> out;
  for (const LogEntry& log : *found) {
    if (log.topics.size() != 2) continue;
    Address address{};
    std::copy(log.topics[1].begin() + 12, log.topics[1].end(), address.begin());
    if (std::any_of(out.begin(), out.end(),
                    [&](const ParticipantState& p) { return p.address == address; })) {
      continue;
    }
    auto state = participant(address);
    if (!state) return state.error();
    out.push_back(std::move(*state));
  }
  return out;
}

Result<PointerRegistry::ParticipantState> PointerRegistry::participant(const Address& address) {
  auto now = rpc_.call(contract_, abi::encode_call("participants(address)",
                                                   {abi::Arg::word(abi::address_word(address))}));
  if (!now) return now.error();
  auto code = abi::word_at(*now, 0);
  auto active = abi::uint64_at(*now, 1);
  if (!code || !active) return Error{ErrorCode::kInvalidInput, "participants(address)", ""};
  ParticipantState state;
  state.address = address;
  state.jurisdiction = code_text(*code, 8);
  state.active = *active == 1;
  return state;
}

Result<Address> PointerRegistry::admin() {
  auto out = rpc_.call(contract_, abi::encode_call("admin()", {}));
  if (!out) return out.error();
  auto word = abi::word_at(*out, 0);
  if (!word) return word.error();
  Address a{};
  std::copy(word->begin() + 12, word->end(), a.begin());
  return a;
}

Result<std::optional<std::pair<std::uint64_t, Hash32>>> PointerRegistry::latest(
    const Hash32& resource_key) {
  auto out =
      rpc_.call(contract_, abi::encode_call("latest(bytes32)", {abi::Arg::word(resource_key)}));
  if (!out) return out.error();
  auto version = abi::uint64_at(*out, 0);
  if (!version) return version.error();
  auto hash = abi::word_at(*out, 1);
  if (!hash) return hash.error();
  if (*version == 0) return std::optional<std::pair<std::uint64_t, Hash32>>();
  return std::optional<std::pair<std::uint64_t, Hash32>>(std::make_pair(*version, *hash));
}

}  // namespace fl::ledger
