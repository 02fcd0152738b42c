#include "support/geth.h"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

namespace fl::testing {
namespace {

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "test service: %s\n", what.c_str());
  std::abort();
}

// The addresses of AnvilNode::kDevKey0 and kDevKey1 (anvil's first two dev accounts).
constexpr const char* kFundedAccounts[] = {"0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
                                           "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"};

}  // namespace

std::string geth_binary() {
  if (const char* set = std::getenv("FL_GETH_BINARY"); set != nullptr && *set != '\0') return set;
  return shell_output(std::string(FL_SOURCE_DIR) + "/scripts/install-geth --path");
}

bool geth_available() {
  const std::string path = geth_binary();
  return !path.empty() && std::system(("test -x '" + path + "'").c_str()) == 0;
}

GethNode::GethNode() : port_(free_port()) {
  if (!geth_available())
    fail("no geth binary at '" + geth_binary() + "': run scripts/install-geth");
  // Every listening port is chosen free, so tests can run in parallel: the HTTP RPC, the
  // engine API's auth port (opened even in dev mode) and p2p (0: any; no peers anyway).
  const std::vector<std::string> argv{geth_binary(),
                                      "--dev",
                                      "--dev.period",
                                      "1",
                                      "--datadir",
                                      dir_.path() + "/data",
                                      "--http",
                                      "--http.addr",
                                      "127.0.0.1",
                                      "--http.port",
                                      std::to_string(port_),
                                      "--http.api",
                                      "eth,net,web3,txpool,debug",
                                      "--authrpc.port",
                                      std::to_string(free_port()),
                                      "--port",
                                      "0",
                                      "--nodiscover",
                                      "--maxpeers",
                                      "0",
                                      "--ipcdisable",
                                      "--verbosity",
                                      "2"};
  process_.emplace(argv, dir_.path() + "/geth.log");
  if (!wait_for_port(port_, std::chrono::seconds(30))) {
    fail("geth did not start (log: " + dir_.path() +
         "/geth.log): " + shell_output("tail -5 '" + dir_.path() + "/geth.log'"));
  }
  // The dev account is unlocked: eth_sendTransaction from it needs no key. Both transfers go in
  // without waiting, then the second account's balance says when the block that holds them is
  // mined (one nonce sequence, so the first is mined by then too).
  const std::string cast = cast_binary();
  const std::string url = " --rpc-url " + rpc_url();
  std::string dev;
  for (int i = 0; i < 100 && dev.empty(); ++i) {
    const std::string accounts = shell_output(cast + " rpc eth_accounts" + url + " 2>/dev/null");
    const auto at = accounts.find("0x");
    if (at != std::string::npos) dev = accounts.substr(at, 42);
    if (dev.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (dev.empty()) fail("geth --dev has no dev account");
  // Explicit nonces: right after the first send, geth's pending nonce may not count it yet.
  const std::string first_nonce = shell_output(cast + " nonce " + dev + url + " 2>/dev/null");
  std::uint64_t nonce = first_nonce.empty() ? 0 : std::stoull(first_nonce);
  for (const char* account : kFundedAccounts) {
    const std::string sent = shell_output(cast + " send --async --unlocked --from " + dev +
                                          " --nonce " + std::to_string(nonce++) + " " + account +
                                          " --value 1000ether" + url + " 2>&1");
    if (sent.rfind("0x", 0) != 0) fail("funding " + std::string(account) + " on geth: " + sent);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (shell_output(cast + " balance " + kFundedAccounts[1] + url + " 2>/dev/null") == "0" ||
         shell_output(cast + " balance " + kFundedAccounts[0] + url + " 2>/dev/null") == "0") {
    if (std::chrono::steady_clock::now() > deadline) fail("geth did not mine the funding");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

TestNodeKind test_node_kind() {
  const char* node = std::getenv("FL_TEST_NODE");
  return node != nullptr && std::string(node) == "geth" ? TestNodeKind::kGeth
                                                        : TestNodeKind::kAnvil;
}

LedgerNode::LedgerNode(std::vector<std::string> anvil_args) {
  if (test_node_kind() == TestNodeKind::kGeth) {
    geth_.emplace();
  } else {
    anvil_.emplace(false, std::move(anvil_args));
  }
}

std::string LedgerNode::rpc_url() const { return geth_ ? geth_->rpc_url() : anvil_->rpc_url(); }

void LedgerNode::stop() {
  if (geth_) geth_->stop();
  if (anvil_) anvil_->stop();
}

}  // namespace fl::testing
