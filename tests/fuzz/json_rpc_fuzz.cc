// The JSON-RPC client on arbitrary node answers: a fake RpcTransport returns the input as the
// response body of every request, and every read the gateway makes is tried (chain id, nonces,
// fees, receipts, logs, eth_call), then PointerRegistry's views and log decoders, which decode
// ABI data from that answer. The node is not trusted: any answer must be a value or an error.
// Seeds: corpus/json_rpc (answers as anvil gives them, and broken ones).
#include "fl/base/secret_bytes.h"
#include "fl/ledger/json_rpc.h"
#include "fl/ledger/pointer_registry.h"
#include "fl/ledger/signer.h"

#include "fuzz_support.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace {

using namespace fl::ledger;

class InputNode final : public RpcTransport {
 public:
  explicit InputNode(std::string answer) : answer_(std::move(answer)) {}
  fl::Result<std::string> post(const std::string&) override { return answer_; }

 private:
  std::string answer_;
};

// anvil's first development key: public knowledge, test chains only.
const Signer& signer() {
  static const std::unique_ptr<Signer> instance = [] {
    auto key = fl::parse_hex("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80");
    FL_FUZZ_CHECK(key.has_value());
    auto s = Signer::create(fl::SecretBytes(std::move(*key)));
    FL_FUZZ_CHECK(s.has_value());
    return std::move(*s);
  }();
  return *instance;
}

template <typename T>
void expect_handled(const fl::Result<T>& result) {
  // The header's promise: a bad answer is an error value (kUnavailable for a malformed one; a
  // JSON-RPC error is classified), never a crash.
  if (!result) FL_FUZZ_CHECK(!result.error().message.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  JsonRpcClient rpc(std::make_unique<InputNode>(std::string(fl::fuzz::as_text(data, size))),
                    "http://node.fuzz:8545");
  const Address someone{0x11, 0x22};
  const Hash32 hash{0xab, 0xcd};
  const std::vector<std::uint8_t> calldata{0x12, 0x34, 0x56, 0x78};

  expect_handled(rpc.chain_id());
  expect_handled(rpc.block_number());
  expect_handled(rpc.pending_nonce(someone));
  expect_handled(rpc.gas_price());
  expect_handled(rpc.max_priority_fee());
  expect_handled(rpc.base_fee());
  expect_handled(rpc.estimate_gas(someone, std::nullopt, calldata));
  expect_handled(rpc.send_raw_transaction(calldata));
  expect_handled(rpc.transaction_known(hash));
  expect_handled(rpc.call(someone, calldata));
  expect_handled(rpc.replay(hash, 7));
  expect_handled(rpc.code_at(someone));
  auto receipt = rpc.transaction_receipt(hash);
  expect_handled(receipt);
  if (receipt && *receipt) {
    expect_handled(decode_anchored((*receipt)->logs));
    expect_handled(decode_conflicts((*receipt)->logs));
  }
  auto logs = rpc.logs(someone, {hash, std::nullopt});
  expect_handled(logs);
  if (logs) {
    expect_handled(decode_anchored(*logs));
    expect_handled(decode_conflicts(*logs));
  }

  PointerRegistry registry(rpc, signer(), 31337, someone);
  expect_handled(registry.root_info(hash));
  const std::vector<Hash32> keys{hash, Hash32{}};
  expect_handled(registry.erased_among(keys));
  expect_handled(registry.is_writer(someone));
  expect_handled(registry.content_hash_of(hash, 3));
  expect_handled(registry.anchored_versions(hash));
  expect_handled(registry.participants());
  expect_handled(registry.participant(someone));
  expect_handled(registry.admin());
  expect_handled(registry.latest(hash));
  expect_handled(registry.can_read(hash, someone, "TREAT"));
  expect_handled(registry.anchoring_tx(hash, 3, hash));
  const PointerRecord pointer{.resource_key = hash, .version = 1, .region = "eu", .key_id = "k1"};
  expect_handled(registry.verify_inclusion(pointer, 0, keys, hash));
  return 0;
}
