#include "fl/adapters/evm/evm_node_probe.h"

#include "fl/ledger/json_rpc.h"

namespace fl::evm {
namespace {

class NodeProbe final : public ports::DependencyProbe {
 public:
  explicit NodeProbe(std::string rpc_url) : rpc_url_(std::move(rpc_url)) {}
  std::string name() const override { return "ledger"; }

  Status check(std::chrono::milliseconds timeout) override {
    // A client per check: its timeout is the probe's, and a node that went away and came back
    // is found again without state carried over.
    auto transport = ledger::make_http_transport(rpc_url_, timeout);
    if (!transport) return transport.error();
    ledger::JsonRpcClient rpc(std::move(*transport), rpc_url_);
    auto head = rpc.block_number();
    if (!head) return head.error();
    return Ok{};
  }

 private:
  std::string rpc_url_;
};

}  // namespace

std::unique_ptr<ports::DependencyProbe> make_node_probe(std::string rpc_url) {
  return std::make_unique<NodeProbe>(std::move(rpc_url));
}

}  // namespace fl::evm
