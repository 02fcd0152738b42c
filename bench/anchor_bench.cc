// Anchoring throughput on one anvil node, three ways in one run: one pointer per transaction,
// `pointer` mode (anchorBatch of 200, each pointer in storage) and `merkle` mode (a root over
// 1,000 pointers). Each way sends all its transactions back to back (nonces kept locally, many
// in flight) and waits for every receipt; pointers/s counts from the first send to the last
// receipt, and includes building the Merkle trees. Prints a table, and JSON with --json.
//
// The comparison is like for like: one per transaction and pointer mode anchor the same 5,000
// pointers, and every way starts from the same state (the chain reset with anvil_reset and the
// contract deployed again). That matters on anvil, which recomputes the contract's whole
// storage trie for each block it mines: a block costs more the more pointers are stored, so a
// way that ran second, or anchored fewer pointers, would be measured on a cheaper chain.
//   build-bench/bench/fl_anchor_bench [--json]
#include "fl/ledger/json_rpc.h"
#include "fl/ledger/merkle.h"
#include "fl/ledger/pointer_registry.h"

#include "support/services.h"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace fl::ledger {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct Figures {
  const char* mode;
  std::size_t pointers = 0;
  std::size_t transactions = 0;
  double seconds = 0;
  std::uint64_t gas = 0;
  double per_second() const { return static_cast<double>(pointers) / seconds; }
  double gas_per_pointer() const {
    return static_cast<double>(gas) / static_cast<double>(pointers);
  }
};

class Workload {
 public:
  explicit Workload(std::uint64_t seed) : rng_(seed) {}

  // Fresh pointers: every resource key new, a patient shared by 4 resources on average.
  std::vector<PointerRecord> next(std::size_t n) {
    std::vector<PointerRecord> out(n);
    for (auto& p : out) {
      p.resource_key = random_hash();
      if (patients_.empty() || rng_() % 4 == 0) patients_.push_back(random_hash());
      p.patient_key = patients_[rng_() % patients_.size()];
      p.version = 1;
      p.content_hash = random_hash();
      p.policy_hash = policy_;
      p.mapping_hash = mapping_;
      p.region = "eu-west";
      p.key_id = "kek-2026-11";
    }
    return out;
  }

 private:
  Hash32 random_hash() {
    Hash32 h;
    for (auto& b : h) b = static_cast<std::uint8_t>(rng_());
    return h;
  }
  std::mt19937_64 rng_;
  std::vector<Hash32> patients_;
  Hash32 policy_ = random_hash();
  Hash32 mapping_ = random_hash();
};

[[noreturn]] void die(const char* what, const Error& error) {
  std::fprintf(stderr, "anchor bench: %s: %s %s\n", what, error.message.c_str(),
               error.where.c_str());
  std::exit(1);
}

template <typename T>
T need(Result<T> r, const char* what) {
  if (!r) die(what, r.error());
  return std::move(*r);
}

// Sends every transaction that `send_one(i)` makes, then waits for all receipts.
template <typename Send>
Figures run(const char* mode, PointerRegistry& registry, std::size_t transactions,
            std::size_t per_tx, Send send_one) {
  Figures f{.mode = mode, .pointers = transactions * per_tx, .transactions = transactions};
  std::vector<Hash32> sent;
  sent.reserve(transactions);
  const auto start = Clock::now();
  for (std::size_t i = 0; i < transactions; ++i) sent.push_back(need(send_one(i), mode));
  for (const auto& tx : sent) f.gas += need(registry.wait_for_receipt(tx, 1, 120s), mode).gas_used;
  f.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return f;
}

// The same starting state for each way: a reset chain (nonces from 0) and a fresh contract.
class Chain {
 public:
  Chain()
      : rpc_(need(make_http_transport(anvil_.rpc_url(), 30s), "transport"), anvil_.rpc_url()),
        signer_(need(Signer::create(SecretBytes(parse_hex(testing::AnvilNode::kDevKey0).value())),
                     "key")),
        chain_id_(need(rpc_.chain_id(), "chain id")) {}

  PointerRegistry& fresh_registry() {
    if (registry_) {
      testing::shell_output(testing::cast_binary() + " rpc anvil_reset --rpc-url " +
                            anvil_.rpc_url());
    }
    const auto contract = need(PointerRegistry::deploy(rpc_, *signer_, chain_id_, 60s), "deploy");
    registry_.emplace(rpc_, *signer_, chain_id_, contract);
    registry_->use_gas_bound_for_anchors(true);  // as the gateway anchors
    return *registry_;
  }

 private:
  testing::AnvilNode anvil_;
  JsonRpcClient rpc_;
  std::unique_ptr<Signer> signer_;
  std::uint64_t chain_id_;
  std::optional<PointerRegistry> registry_;
};

int main_impl(bool json) {
  Chain chain;
  Workload work(42);
  constexpr std::size_t kStoredPointers = 5000;

  // Pre-generated, so only anchoring is timed.
  auto singles = work.next(kStoredPointers);
  PointerRegistry* registry = &chain.fresh_registry();
  Figures single = run("one per transaction", *registry, singles.size(), 1, [&](std::size_t i) {
    return registry->anchor_batch(std::span(&singles[i], 1));
  });

  std::vector<std::vector<PointerRecord>> batches;
  for (std::size_t i = 0; i < kStoredPointers / 200; ++i) batches.push_back(work.next(200));
  registry = &chain.fresh_registry();
  Figures stored = run("pointer (200 per tx)", *registry, batches.size(), 200,
                       [&](std::size_t i) { return registry->anchor_batch(batches[i]); });

  std::vector<std::vector<PointerRecord>> trees;
  for (int i = 0; i < 50; ++i) trees.push_back(work.next(1000));
  registry = &chain.fresh_registry();
  Figures merkle = run("merkle (1000 per root)", *registry, trees.size(), 1000,
                       [&](std::size_t i) -> Result<Hash32> {
                         std::vector<Hash32> leaves;
                         leaves.reserve(trees[i].size());
                         for (const auto& p : trees[i]) {
                           auto leaf = pointer_leaf(p);
                           if (!leaf) return leaf.error();
                           leaves.push_back(*leaf);
                         }
                         auto tree = merkle::build(leaves);
                         if (!tree) return tree.error();
                         return registry->anchor_root(tree->root, 1000);
                       });

  const Figures all[] = {single, stored, merkle};
  if (json) {
    std::printf("[");
    for (std::size_t i = 0; i < 3; ++i) {
      const auto& f = all[i];
      std::printf(
          "%s{\"mode\":\"%s\",\"pointers\":%zu,\"transactions\":%zu,\"seconds\":%.3f,"
          "\"pointersPerSecond\":%.0f,\"gasPerPointer\":%.1f}",
          i ? "," : "", f.mode, f.pointers, f.transactions, f.seconds, f.per_second(),
          f.gas_per_pointer());
    }
    std::printf("]\n");
  } else {
    std::printf("%-24s %9s %6s %9s %12s %12s\n", "mode", "pointers", "txs", "seconds", "pointers/s",
                "gas/pointer");
    for (const auto& f : all) {
      std::printf("%-24s %9zu %6zu %9.3f %12.0f %12.1f\n", f.mode, f.pointers, f.transactions,
                  f.seconds, f.per_second(), f.gas_per_pointer());
    }
    std::printf("pointer mode / one per transaction: %.1fx\n",
                stored.per_second() / single.per_second());
  }
  return 0;
}

}  // namespace
}  // namespace fl::ledger

int main(int argc, char** argv) {
  const bool json = argc > 1 && std::strcmp(argv[1], "--json") == 0;
  return fl::ledger::main_impl(json);
}
