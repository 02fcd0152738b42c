#include "fl/gateway/stages/protect_stage.h"

#include "fl/base/assert.h"
#include "fl/gateway/crypto/hash.h"

#include <algorithm>

namespace fl::gateway {
namespace {

ports::Hash32 to_hash32(ByteView bytes) {
  ports::Hash32 out{};
  std::copy_n(bytes.begin(), std::min(bytes.size(), out.size()), out.begin());
  return out;
}

}  // namespace

Bytes seal_context(const ports::Hash32& resource_key, std::uint64_t version,
                   std::string_view region, const ports::Hash32& policy_hash) {
  Bytes out(resource_key.begin(), resource_key.end());
  for (int shift = 56; shift >= 0; shift -= 8) {
    out.push_back(static_cast<std::uint8_t>(version >> shift));
  }
  out.push_back(static_cast<std::uint8_t>(region.size()));
  out.insert(out.end(), region.begin(), region.end());
  out.insert(out.end(), policy_hash.begin(), policy_hash.end());
  return out;
}

ProtectStage::ProtectStage(ports::KeyProvider& keys) : keys_(keys) {
  auto sealer = crypto::Sealer::create();
  FL_ASSERT(sealer.has_value(), "OpenSSL 3 always provides HMAC-SHA256 and AES-256-GCM");
  sealer_ = std::move(*sealer);
}

Result<ports::Hash32> ProtectStage::resource_key(std::string_view reference) {
  auto pepper = keys_.pseudonym_pepper();
  if (!pepper) return pepper.error();
  return to_hash32(crypto::hmac_sha256(pepper->material.view(), as_bytes(reference)));
}

Result<ports::Hash32> ProtectStage::patient_key(std::string_view patient_reference) {
  auto pepper = keys_.pseudonym_pepper();
  if (!pepper) return pepper.error();
  std::string input = "patient:";
  input.append(patient_reference);
  return to_hash32(crypto::hmac_sha256(pepper->material.view(), as_bytes(input)));
}

Result<SealedResource> ProtectStage::run(std::string_view reference, std::uint64_t version,
                                         const std::string& region,
                                         const ports::Hash32& policy_hash,
                                         std::string_view canonical_json) {
  auto key = resource_key(reference);
  if (!key) return key.error();
  auto kek = keys_.active_key();
  if (!kek) return kek.error();

  const Bytes context = seal_context(*key, version, region, policy_hash);
  auto blob = sealer_->seal(kek->material, kek->key_id, context, as_bytes(canonical_json));
  if (!blob) return blob.error();

  SealedResource out{.resource_key = *key,
                     .version = version,
                     .region = region,
                     .key_id = kek->key_id,
                     .content_hash = to_hash32(crypto::sha256(*blob)),
                     .blob = std::move(*blob)};
  return out;
}

}  // namespace fl::gateway
