// A real `geth --dev` node for the ledger integration tests (issue 16), and the choice between
// it and anvil. geth differs from anvil where fees and pools matter: a non-zero, moving EIP-1559
// base fee, a real transaction pool that keeps underpriced transactions pending, a block every
// second, replaced and dropped transactions, chain id 1337 instead of 31337.
#pragma once

#include "support/child_process.h"
#include "support/services.h"

#include <optional>
#include <string>
#include <vector>

namespace fl::testing {

// The geth binary: $FL_GETH_BINARY when set, else where scripts/install-geth caches it (which
// may not exist: see geth_available).
std::string geth_binary();
bool geth_available();

class GethNode {
 public:
  // Starts `geth --dev --dev.period 1` on a free loopback port with its own data dir and funds
  // the accounts of AnvilNode::kDevKey0 and kDevKey1 from geth's prefunded dev account, so the
  // tests sign with the same keys on both nodes. Aborts if geth does not answer in 30 s.
  GethNode();
  std::string rpc_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void stop() { process_.reset(); }

 private:
  TempDir dir_;
  int port_ = 0;
  std::optional<ChildProcess> process_;
};

// Which node the ledger tests run against: FL_TEST_NODE=geth picks geth, anything else anvil.
enum class TestNodeKind { kAnvil, kGeth };
TestNodeKind test_node_kind();

// The node of this test run (FL_TEST_NODE), started by the constructor, stopped by the
// destructor. Anvil-only abilities (restart with a state file, extra anvil arguments) are
// asked through the anvil() accessor after checking is_geth().
class LedgerNode {
 public:
  // `anvil_args` go to anvil only; on geth they are ignored.
  explicit LedgerNode(std::vector<std::string> anvil_args = {});
  std::string rpc_url() const;
  void stop();
  bool is_geth() const { return geth_.has_value(); }
  const char* name() const { return is_geth() ? "geth" : "anvil"; }

 private:
  std::optional<AnvilNode> anvil_;
  std::optional<GethNode> geth_;
};

}  // namespace fl::testing
