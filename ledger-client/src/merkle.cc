#include "fl/ledger/merkle.h"

#include <algorithm>
#include <limits>

namespace fl::ledger::merkle {

Hash32 inner_node(const Hash32& left, const Hash32& right) {
  std::uint8_t buffer[65];
  buffer[0] = 0x01;
  std::copy(left.begin(), left.end(), buffer + 1);
  std::copy(right.begin(), right.end(), buffer + 33);
  return keccak256(ByteView(buffer, sizeof buffer));
}

Result<Tree> build(std::span<const Hash32> leaves) {
  if (leaves.empty() || leaves.size() > std::numeric_limits<std::uint32_t>::max()) {
    return Error{ErrorCode::kInvalidInput, "a Merkle tree needs 1 to 2^32-1 leaves",
                 std::to_string(leaves.size())};
  }
  const auto count = static_cast<std::uint32_t>(leaves.size());
  Tree tree;
  tree.proofs.resize(leaves.size());
  for (std::uint32_t i = 0; i < count; ++i) tree.proofs[i] = Proof{i, count, {}};
  std::vector<Hash32> level(leaves.begin(), leaves.end());
  // Each leaf's position in the current level; a leaf's proof gains its node's sibling.
  std::vector<std::uint32_t> position(leaves.size());
  for (std::uint32_t i = 0; i < count; ++i) position[i] = i;
  while (level.size() > 1) {
    const std::size_t n = level.size();
    for (std::uint32_t leaf = 0; leaf < count; ++leaf) {
      const std::uint32_t at = position[leaf];
      if (at % 2 == 1) {
        tree.proofs[leaf].siblings.push_back(level[at - 1]);
      } else if (at + 1 < n) {
        tree.proofs[leaf].siblings.push_back(level[at + 1]);
      }
      position[leaf] = at / 2;
    }
    std::vector<Hash32> up;
    up.reserve((n + 1) / 2);
    for (std::size_t i = 0; i + 1 < n; i += 2) up.push_back(inner_node(level[i], level[i + 1]));
    if (n % 2 == 1) up.push_back(level.back());
    level = std::move(up);
  }
  tree.root = level.front();
  return tree;
}

Result<Hash32> root_of(const Hash32& leaf, const Proof& proof) {
  if (proof.leaf_count == 0 || proof.index >= proof.leaf_count) {
    return Error{ErrorCode::kIntegrity, "the proof's index is outside its tree",
                 std::to_string(proof.index) + " of " + std::to_string(proof.leaf_count)};
  }
  Hash32 node = leaf;
  std::uint64_t index = proof.index;
  std::uint64_t n = proof.leaf_count;
  std::size_t used = 0;
  const auto short_proof = [&] {
    return Error{ErrorCode::kIntegrity, "the proof has too few siblings for its position",
                 std::to_string(proof.siblings.size())};
  };
  while (n > 1) {
    if (index % 2 == 1) {
      if (used == proof.siblings.size()) return short_proof();
      node = inner_node(proof.siblings[used++], node);
    } else if (index + 1 < n) {
      if (used == proof.siblings.size()) return short_proof();
      node = inner_node(node, proof.siblings[used++]);
    }
    index /= 2;
    n = (n + 1) / 2;
  }
  if (used != proof.siblings.size()) {
    return Error{ErrorCode::kIntegrity, "the proof has more siblings than its position needs",
                 std::to_string(proof.siblings.size())};
  }
  return node;
}

}  // namespace fl::ledger::merkle
