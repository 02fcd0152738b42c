// Merkle trees over a batch of leaves, as PointerRegistry.verifyInclusion checks them: inner
// node = keccak256(0x01 || left || right) (leaves carry their own 0x00 prefix, see
// pointer_leaf), and the last node of an odd level moves up unchanged, so a proof is only real
// siblings. A proof is checked against the leaf's index and the tree's leaf count, both of which
// the contract keeps with the root. Pure functions.
#pragma once

#include "fl/base/result.h"
#include "fl/ledger/keccak.h"

#include <cstdint>
#include <span>
#include <vector>

namespace fl::ledger::merkle {

struct Proof {
  std::uint32_t index = 0;
  std::uint32_t leaf_count = 0;
  std::vector<Hash32> siblings;  // bottom up
};

struct Tree {
  Hash32 root{};
  std::vector<Proof> proofs;  // one per leaf, in leaf order
};

Hash32 inner_node(const Hash32& left, const Hash32& right);

// kInvalidInput for an empty batch or more than 2^32 - 1 leaves.
Result<Tree> build(std::span<const Hash32> leaves);

// The root that `proof` leads to from `leaf`; kIntegrity when the proof's length does not fit
// its index and leaf count (a proof with a sibling removed or added).
Result<Hash32> root_of(const Hash32& leaf, const Proof& proof);

}  // namespace fl::ledger::merkle
