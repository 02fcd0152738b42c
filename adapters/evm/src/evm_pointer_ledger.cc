#include "fl/adapters/evm/evm_pointer_ledger.h"

#include "fl/adapters/evm/evm_ledger_reader.h"
#include "fl/ledger/json_rpc.h"
#include "fl/ledger/merkle.h"
#include "fl/ledger/pointer_registry.h"
#include "fl/ledger/signer.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

namespace fl::evm {
namespace {

constexpr std::chrono::milliseconds kRpcTimeout{10000};
// How long a block gas limit read from the node is used before it is read again. Chains change
// it rarely (a QBFT vote, a client upgrade); a send refused for its gas limit reads it at once.
constexpr std::chrono::seconds kGasLimitMaxAge{30};

// Why a pointer is never sent: said for the user who reads the dead letter.
std::string too_small(std::uint64_t block_gas_limit, std::string_view what, std::uint64_t needed) {
  return "the chain's block gas limit of " + std::to_string(block_gas_limit) +
         " is too small for " + std::string(what) + " (needs " + std::to_string(needed) +
         " gas, and one transaction uses at most " + std::to_string(ledger::kBlockGasSharePercent) +
         "% of a block); the chain's operators must raise it";
}

class EvmPointerLedger final : public ports::PointerLedger {
 public:
  EvmPointerLedger(std::unique_ptr<ledger::JsonRpcClient> rpc,
                   std::unique_ptr<ledger::Signer> signer, std::uint64_t chain_id,
                   ledger::Address contract, ledger::TxType tx_type, std::uint64_t confirmations,
                   std::chrono::milliseconds receipt_timeout, const ledger::FeePolicy& fees)
      : rpc_(std::move(rpc)),
        signer_(std::move(signer)),
        registry_(*rpc_, *signer_, chain_id, contract, tx_type),
        confirmations_(confirmations),
        receipt_timeout_(receipt_timeout),
        sender_(ledger::to_checksum_hex(signer_->address())) {
    registry_.set_fee_policy(fees);
    // check_writer runs at start, and the pipeline checks erasure before each batch: what an
    // estimate would catch early is already known, so anchors skip that extra execution.
    registry_.use_gas_bound_for_anchors(true);
  }

  Status check_writer(const std::string& contract, const std::string& rpc_url) {
    auto writer = registry_.is_writer(signer_->address());
    if (!writer && writer.error().code != ErrorCode::kUnavailable) {
      return Error{ErrorCode::kNotFound,
                   "the contract at " + contract + " on " + rpc_url +
                       " does not answer like a PointerRegistry: " + writer.error().message,
                   contract};
    }
    if (!writer) return writer.error();
    if (!*writer) {
      return Error{ErrorCode::kPermissionDenied,
                   "account " + ledger::to_checksum_hex(signer_->address()) +
                       " is not a writer of the PointerRegistry at " + contract +
                       "; its admin adds it with setWriter(address,true)",
                   contract};
    }
    return Ok{};
  }

  Result<ports::AnchorTicket> submit(std::span<const ports::Pointer> batch,
                                     const ports::BeforeSend& before_send) override {
    // Storage-mode pointers go in anchorBatch transactions per (policy hash, mapping hash) -
    // usually one group - as many as the chain's gas limit needs; merkle-mode pointers under
    // one root.
    auto block_gas_limit = gas_limit(/*fresh=*/false);
    if (!block_gas_limit) return block_gas_limit.error();
    bool reread = false;
    std::map<std::pair<ledger::Hash32, ledger::Hash32>, std::vector<std::size_t>> groups;
    std::vector<ledger::PointerRecord> records, merkle;
    std::vector<std::size_t> merkle_at;  // batch index of each merkle-mode pointer
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const auto& p = batch[i];
      records.push_back(to_ledger_record(p));
      if (p.mode == ports::AnchorMode::kMerkle) {
        merkle.push_back(records.back());
        merkle_at.push_back(i);
      } else {
        groups[{p.policy_hash, p.mapping_hash}].push_back(i);
      }
    }
    ports::AnchorTicket ticket;
    ticket.placements.resize(batch.size());
    ticket.batch.assign(batch.begin(), batch.end());
    // The tree first: the caller records its root before any transaction leaves.
    std::optional<ledger::Hash32> root;
    if (!merkle.empty() && ledger::transaction_gas_cap(*block_gas_limit) < ledger::kAnchorRootGas) {
      const std::string why =
          too_small(*block_gas_limit, "one Merkle root", ledger::kAnchorRootGas);
      for (std::size_t i : merkle_at) ticket.placements[i].refused = why;
    } else if (!merkle.empty()) {
      std::vector<ledger::Hash32> leaves;
      leaves.reserve(merkle.size());
      for (const auto& record : merkle) {
        auto leaf = ledger::pointer_leaf(record);
        if (!leaf) return leaf.error();
        leaves.push_back(*leaf);
      }
      auto tree = ledger::merkle::build(leaves);
      if (!tree) return tree.error();
      root = tree->root;
      for (std::size_t j = 0; j < merkle.size(); ++j) {
        auto& proof = tree->proofs[j];
        ticket.placements[merkle_at[j]].proof =
            ports::InclusionProof{.root = tree->root,
                                  .index = proof.index,
                                  .leaf_count = proof.leaf_count,
                                  .siblings = std::move(proof.siblings)};
      }
    }
    if (before_send) {
      if (auto noted = before_send(ticket); !noted) return noted.error();
    }
    for (const auto& [hashes, members] : groups) {
      std::vector<ledger::PointerRecord> group;
      group.reserve(members.size());
      for (std::size_t i : members) group.push_back(records[i]);
      std::size_t sent = 0;
      while (sent < group.size()) {
        const std::size_t capacity =
            ledger::anchor_batch_capacity(ledger::transaction_gas_cap(*block_gas_limit));
        if (capacity == 0) {
          // Not one pointer fits: sending would be refused by every node, now and on every
          // retry, so these pointers are marked for the pipeline to dead-letter instead.
          const std::string why =
              too_small(*block_gas_limit, "one pointer", ledger::anchor_batch_gas(1));
          for (std::size_t k = sent; k < members.size(); ++k) {
            ticket.placements[members[k]].refused = why;
          }
          break;
        }
        const std::size_t n = std::min(capacity, group.size() - sent);
        auto tx = registry_.anchor_batch(std::span(group).subspan(sent, n));
        if (!tx && ledger::is_gas_limit_error(tx.error()) && !reread) {
          // The limit went down since it was read: read it again and size the rest by it.
          reread = true;
          block_gas_limit = gas_limit(/*fresh=*/true);
          if (!block_gas_limit) return block_gas_limit.error();
          continue;
        }
        if (!tx) return tx.error();
        ticket.tx_hashes.push_back(to_0x_hex(*tx));
        for (std::size_t k = sent; k < sent + n; ++k) {
          ticket.placements[members[k]].tx = ticket.tx_hashes.size() - 1;
        }
        sent += n;
      }
    }
    if (root) {
      auto tx = registry_.anchor_root(*root, static_cast<std::uint32_t>(merkle.size()));
      if (!tx) return tx.error();
      ticket.tx_hashes.push_back(to_0x_hex(*tx));
      for (std::size_t i : merkle_at) ticket.placements[i].tx = ticket.tx_hashes.size() - 1;
    }
    return ticket;
  }

  Result<std::optional<ports::RootAnchor>> root_anchor(const ports::Hash32& root) override {
    auto info = registry_.root_info(root);
    if (!info) return info.error();
    if (!*info) return std::optional<ports::RootAnchor>();
    auto tx = registry_.root_anchoring_tx(root);
    if (!tx) return tx.error();
    if (!*tx) {
      // The contract holds the root and the node has no log of it (a pruned or lagging log
      // index): read again later rather than anchor it a second time.
      return Error{ErrorCode::kUnavailable, "the node has no RootAnchored log of a root it holds",
                   to_0x_hex(root)};
    }
    return std::optional<ports::RootAnchor>(
        ports::RootAnchor{.tx_hash = to_0x_hex((*tx)->first), .block = (*tx)->second});
  }

  std::string sender() const override { return sender_; }

  Status settle(const std::string& account) override {
    auto address = ledger::parse_address(account);
    if (!address) return address.error();
    // What waits now, not what the account sends later: another gateway's account keeps
    // sending while it lives, and only its transactions up to now can carry a root noted before.
    auto waiting = rpc_->pending_nonce(*address);
    if (!waiting) return waiting.error();
    const auto deadline = std::chrono::steady_clock::now() + receipt_timeout_;
    for (;;) {
      auto mined = rpc_->mined_nonce(*address);
      if (!mined) return mined.error();
      if (*waiting <= *mined) return Ok{};
      if (std::chrono::steady_clock::now() >= deadline) {
        return Error{ErrorCode::kUnavailable,
                     std::to_string(*waiting - *mined) + " transaction(s) of " + account +
                         " still wait to be mined",
                     account};
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }

  Result<ports::AnchorConfirmation> await(const ports::AnchorTicket& ticket) override {
    ports::AnchorConfirmation confirmation;
    confirmation.placements = ticket.placements;
    std::vector<ledger::TxReceipt> receipts;
    for (const auto& tx_hash : ticket.tx_hashes) {
      auto hash = parse_hex(tx_hash);
      if (!hash || hash->size() != 32) {
        return Error{ErrorCode::kInvalidInput, "not a transaction hash", tx_hash};
      }
      ledger::Hash32 tx{};
      std::copy(hash->begin(), hash->end(), tx.begin());
      auto receipt = registry_.wait_for_receipt(tx, confirmations_, receipt_timeout_);
      if (!receipt) return receipt.error();
      // The receipt's hash, not the ticket's: a transaction replaced with higher fees is mined
      // under the replacement's hash, and only that one is on chain.
      confirmation.transactions.push_back({.tx_hash = to_0x_hex(receipt->tx_hash),
                                           .block = receipt->block_number,
                                           .gas_used = receipt->gas_used});
      receipts.push_back(std::move(*receipt));
    }
    if (auto named = name_earlier_anchors(ticket, receipts, confirmation); !named) {
      return named.error();
    }
    return confirmation;
  }

  Result<std::vector<std::uint64_t>> latest_versions(
      std::span<const ports::Hash32> resource_keys) override {
    std::vector<std::uint64_t> out;
    out.reserve(resource_keys.size());
    for (const auto& key : resource_keys) {
      auto latest = registry_.latest(key);
      if (!latest) return latest.error();
      out.push_back(*latest ? (*latest)->first : 0);
    }
    return out;
  }

  Result<std::vector<bool>> erased(std::span<const ports::Hash32> patient_keys) override {
    return registry_.erased_among(patient_keys);
  }

 private:
  // A batch sent again after a crash anchors nothing new in storage mode: its transaction has
  // no Anchored event for pointers an earlier transaction anchored. Their receipts must name
  // that earlier transaction, where an auditor finds the event. A pointer the contract refused
  // (AnchorConflict) is marked so, with the content hash the chain keeps.
  Status name_earlier_anchors(const ports::AnchorTicket& ticket,
                              const std::vector<ledger::TxReceipt>& receipts,
                              ports::AnchorConfirmation& confirmation) {
    using Key = std::pair<ledger::Hash32, std::uint64_t>;
    std::vector<std::set<Key>> anchored(receipts.size());
    std::vector<std::map<Key, ledger::Hash32>> refused(receipts.size());
    for (std::size_t t = 0; t < receipts.size(); ++t) {
      std::vector<ledger::LogEntry> ours;
      for (const auto& log : receipts[t].logs) {
        if (log.address == registry_.contract()) ours.push_back(log);
      }
      auto pointers = ledger::decode_anchored(ours);
      if (!pointers) return pointers.error();
      for (const auto& p : *pointers) anchored[t].emplace(p.resource_key, p.version);
      auto conflicts = ledger::decode_conflicts(ours);
      if (!conflicts) return conflicts.error();
      for (const auto& c : *conflicts) refused[t][{c.resource_key, c.version}] = c.existing;
    }
    for (std::size_t i = 0; i < ticket.placements.size(); ++i) {
      auto& placement = confirmation.placements[i];
      if (placement.refused) continue;  // never sent
      if (placement.proof) continue;    // merkle mode: its root is in this transaction
      const auto& p = ticket.batch.at(i);
      const Key key{p.resource_key, p.version};
      if (anchored[placement.tx].contains(key)) continue;
      if (auto it = refused[placement.tx].find(key); it != refused[placement.tx].end()) {
        placement.conflict = it->second;
        continue;
      }
      auto earlier = registry_.anchoring_tx(p.resource_key, p.version, p.content_hash);
      if (!earlier) return earlier.error();
      if (*earlier) {
        confirmation.transactions.push_back(
            {.tx_hash = to_0x_hex((*earlier)->first), .block = (*earlier)->second, .gas_used = 0});
        placement.tx = confirmation.transactions.size() - 1;
        continue;
      }
      // Neither anchored nor refused by any transaction: only a node that lost our logs, or
      // a contract that is not ours, gets here. What the chain holds decides.
      auto held = registry_.content_hash_of(p.resource_key, p.version);
      if (!held) return held.error();
      if (*held == p.content_hash) continue;
      placement.conflict = *held;
    }
    return Ok{};
  }

  // The latest block's gas limit, as read at most kGasLimitMaxAge ago unless `fresh`.
  Result<std::uint64_t> gas_limit(bool fresh) {
    const auto now = std::chrono::steady_clock::now();
    if (!fresh && block_gas_limit_ && now - gas_limit_read_at_ < kGasLimitMaxAge) {
      return *block_gas_limit_;
    }
    auto limit = rpc_->block_gas_limit();
    if (!limit) return limit.error();
    block_gas_limit_ = *limit;
    gas_limit_read_at_ = now;
    return *limit;
  }

  std::unique_ptr<ledger::JsonRpcClient> rpc_;
  std::unique_ptr<ledger::Signer> signer_;
  ledger::PointerRegistry registry_;
  std::uint64_t confirmations_;
  std::chrono::milliseconds receipt_timeout_;
  std::string sender_;  // checksummed once: a Keccak per call adds up per pointer
  std::optional<std::uint64_t> block_gas_limit_;
  std::chrono::steady_clock::time_point gas_limit_read_at_{};
};

Result<std::unique_ptr<ledger::JsonRpcClient>> connect(const std::string& rpc_url) {
  auto transport = ledger::make_http_transport(rpc_url, kRpcTimeout);
  if (!transport) return transport.error();
  return std::make_unique<ledger::JsonRpcClient>(std::move(*transport), rpc_url);
}

}  // namespace

Result<std::unique_ptr<ports::PointerLedger>> make_pointer_ledger(EvmConfig config) {
  auto rpc = connect(config.rpc_url);
  if (!rpc) return rpc.error();
  auto chain_id = (*rpc)->chain_id();
  if (!chain_id) return chain_id.error();
  auto contract = ledger::parse_address(config.contract_address);
  if (!contract) return contract.error();
  auto code = (*rpc)->code_at(*contract);
  if (!code) return code.error();
  if (code->empty()) {
    return Error{ErrorCode::kNotFound,
                 "no contract code at " + config.contract_address + " on " + config.rpc_url +
                     " (deploy one with `fhir-ledger ledger deploy`)",
                 config.contract_address};
  }
  auto signer = ledger::Signer::create(std::move(config.private_key));
  if (!signer) return signer.error();
  auto ledger = std::make_unique<EvmPointerLedger>(
      std::move(*rpc), std::move(*signer), *chain_id, *contract,
      config.eip1559 ? ledger::TxType::kEip1559 : ledger::TxType::kLegacy, config.confirmations,
      config.receipt_timeout,
      ledger::FeePolicy{.max_fee_per_gas_wei = config.max_fee_per_gas_wei,
                        .replace_after_blocks = config.replace_after_blocks});
  // Said at start rather than at the first batch: a wrong address or an account the admin has
  // not added yet (each replica signs with its own) would otherwise fail every batch.
  if (auto status = ledger->check_writer(config.contract_address, config.rpc_url); !status) {
    return status.error();
  }
  return std::unique_ptr<ports::PointerLedger>(std::move(ledger));
}

Result<std::string> deploy_pointer_registry(const std::string& rpc_url, SecretBytes private_key) {
  auto rpc = connect(rpc_url);
  if (!rpc) return rpc.error();
  auto chain_id = (*rpc)->chain_id();
  if (!chain_id) return chain_id.error();
  auto signer = ledger::Signer::create(std::move(private_key));
  if (!signer) return signer.error();
  auto address =
      ledger::PointerRegistry::deploy(**rpc, **signer, *chain_id, std::chrono::seconds(60));
  if (!address) return address.error();
  return ledger::to_checksum_hex(*address);
}

}  // namespace fl::evm
