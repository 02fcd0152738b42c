#include "fl/gateway/stages/mapping_normalizer.h"

#include "fl/gateway/crypto/hash.h"

#include <algorithm>

namespace fl::gateway {

MappingNormalizer::MappingNormalizer(std::shared_ptr<const mappings::MappingCatalog> catalog,
                                     bool dead_letter_unknown_source)
    : dead_letter_unknown_source_(dead_letter_unknown_source),
      snapshot_(snapshot(std::move(catalog))) {}

std::shared_ptr<const MappingNormalizer::Snapshot> MappingNormalizer::snapshot(
    std::shared_ptr<const mappings::MappingCatalog> catalog) {
  auto out = std::make_shared<Snapshot>();
  if (catalog == nullptr) catalog = std::make_shared<mappings::MappingCatalog>();
  for (const auto& [source, set] : catalog->sets()) {
    const std::string& text = set->canonical_text();
    const Bytes digest =
        crypto::sha256(ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
    ports::Hash32 hash{};
    std::copy_n(digest.begin(), hash.size(), hash.begin());
    out->hashes.emplace(source, hash);
  }
  out->catalog = std::move(catalog);
  return out;
}

void MappingNormalizer::replace(std::shared_ptr<const mappings::MappingCatalog> catalog) {
  auto next = snapshot(std::move(catalog));
  std::lock_guard lock(mutex_);
  snapshot_ = std::move(next);
}

std::shared_ptr<const MappingNormalizer::Snapshot> MappingNormalizer::current() const {
  std::lock_guard lock(mutex_);
  return snapshot_;
}

std::optional<ports::Hash32> MappingNormalizer::hash_of(std::string_view source) const {
  auto now = current();
  auto it = now->hashes.find(source);
  if (it == now->hashes.end()) return std::nullopt;
  return it->second;
}

Result<ports::Hash32> MappingNormalizer::normalize(std::string_view source_system,
                                                   rapidjson::Value& resource,
                                                   rapidjson::Document::AllocatorType& allocator) {
  // One snapshot per resource: a reload in the middle never mixes two catalogs.
  const auto now = current();
  const mappings::MappingSet* set = now->catalog->find(source_system);
  if (set == nullptr) {
    if (!dead_letter_unknown_source_) return ports::Hash32{};
    return Error{ErrorCode::kInvalidInput,
                 "no mapping set for source system '" + std::string(source_system) +
                     "' (mappings.unknownSource is deadLetter)",
                 "fhir-source"};
  }
  auto applied = set->apply(resource, allocator);
  if (!applied) return applied.error();
  return now->hashes.find(set->source())->second;
}

}  // namespace fl::gateway
