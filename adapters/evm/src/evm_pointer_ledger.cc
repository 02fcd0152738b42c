#include "fl/adapters/evm/evm_pointer_ledger.h"

#include "fl/ledger/json_rpc.h"
#include "fl/ledger/pointer_registry.h"
#include "fl/ledger/signer.h"

namespace fl::evm {
namespace {

constexpr std::chrono::milliseconds kRpcTimeout{10000};

class EvmPointerLedger final : public ports::PointerLedger {
 public:
  EvmPointerLedger(std::unique_ptr<ledger::JsonRpcClient> rpc,
                   std::unique_ptr<ledger::Signer> signer, std::uint64_t chain_id,
                   ledger::Address contract, ledger::TxType tx_type, std::uint64_t confirmations,
                   std::chrono::milliseconds receipt_timeout)
      : rpc_(std::move(rpc)),
        signer_(std::move(signer)),
        registry_(*rpc_, *signer_, chain_id, contract, tx_type),
        confirmations_(confirmations),
        receipt_timeout_(receipt_timeout) {}

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

  Result<ports::AnchorTicket> submit(std::span<const ports::Pointer> batch) override {
    std::vector<ledger::PointerRecord> records;
    records.reserve(batch.size());
    for (const auto& p : batch) {
      records.push_back({.resource_key = p.resource_key,
                         .version = p.version,
                         .content_hash = p.content_hash,
                         .policy_hash = p.policy_hash});
    }
    auto tx = registry_.anchor_batch(records);
    if (!tx) return tx.error();
    return ports::AnchorTicket{.tx_hash = to_0x_hex(*tx)};
  }

  Result<ports::AnchorConfirmation> await(const ports::AnchorTicket& ticket) override {
    auto hash = parse_hex(ticket.tx_hash);
    if (!hash || hash->size() != 32) {
      return Error{ErrorCode::kInvalidInput, "not a transaction hash", ticket.tx_hash};
    }
    ledger::Hash32 tx{};
    std::copy(hash->begin(), hash->end(), tx.begin());
    auto receipt = registry_.wait_for_receipt(tx, confirmations_, receipt_timeout_);
    if (!receipt) return receipt.error();
    return ports::AnchorConfirmation{
        .tx_hash = ticket.tx_hash, .block = receipt->block_number, .gas_used = receipt->gas_used};
  }

 private:
  std::unique_ptr<ledger::JsonRpcClient> rpc_;
  std::unique_ptr<ledger::Signer> signer_;
  ledger::PointerRegistry registry_;
  std::uint64_t confirmations_;
  std::chrono::milliseconds receipt_timeout_;
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
      config.receipt_timeout);
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
