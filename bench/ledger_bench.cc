// Ledger client CPU costs: Keccak-256, and signing an anchorBatch transaction of N pointers.
#include "fl/ledger/abi.h"
#include "fl/ledger/keccak.h"
#include "fl/ledger/transaction.h"

#include <benchmark/benchmark.h>

namespace fl::ledger {
namespace {

void BM_Keccak256(benchmark::State& state) {
  const Bytes data(static_cast<std::size_t>(state.range(0)), 0x61);
  for (auto _ : state) benchmark::DoNotOptimize(keccak256(data));
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Keccak256)->Arg(64)->Arg(4096);

void BM_SignAnchorBatch(benchmark::State& state) {
  auto signer = Signer::create(SecretBytes(Bytes(32, 0x11))).value();
  std::vector<abi::Word> words(static_cast<std::size_t>(state.range(0)), abi::uint_word(7));
  const Bytes data = abi::encode_call("anchorBatch(bytes32[],uint64[],bytes32[],bytes32[])",
                                      {abi::Arg::array(words), abi::Arg::array(words),
                                       abi::Arg::array(words), abi::Arg::array(words)});
  LegacyTransaction tx{
      .nonce = 1, .gas_price = {1}, .gas_limit = 5000000, .to = Address{}, .data = data};
  for (auto _ : state) benchmark::DoNotOptimize(sign(tx, 31337, *signer));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_SignAnchorBatch)->Arg(1)->Arg(200);

}  // namespace
}  // namespace fl::ledger
