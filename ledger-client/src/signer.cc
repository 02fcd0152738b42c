#include "fl/ledger/signer.h"

#include "fl/base/c_handle.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <secp256k1.h>
#include <secp256k1_recovery.h>

namespace fl::ledger {
namespace {

using ContextPtr = CHandle<secp256k1_context, &secp256k1_context_destroy>;

ContextPtr new_context() { return ContextPtr(secp256k1_context_create(SECP256K1_CONTEXT_NONE)); }

Address address_of(const secp256k1_context* ctx, const secp256k1_pubkey& pubkey) {
  std::uint8_t serialized[65];
  size_t length = sizeof serialized;
  secp256k1_ec_pubkey_serialize(ctx, serialized, &length, &pubkey, SECP256K1_EC_UNCOMPRESSED);
  const Hash32 hash = keccak256(ByteView(serialized + 1, 64));  // drop the 0x04 prefix
  Address out;
  std::copy(hash.begin() + 12, hash.end(), out.begin());
  return out;
}

}  // namespace

struct Signer::Impl {
  ContextPtr ctx;
  SecretBytes key;
};

Signer::Signer(Token, std::unique_ptr<Impl> impl, Address address)
    : impl_(std::move(impl)), address_(address) {}
Signer::~Signer() = default;

Result<std::unique_ptr<Signer>> Signer::create(SecretBytes private_key) {
  auto impl = std::make_unique<Impl>();
  impl->ctx = new_context();
  // Blinding, as libsecp256k1 recommends for a context that signs: it protects the long-lived
  // key against timing and power side channels.
  std::uint8_t seed[32];
  const bool seeded =
      RAND_bytes(seed, sizeof seed) == 1 && secp256k1_context_randomize(impl->ctx.get(), seed) == 1;
  OPENSSL_cleanse(seed, sizeof seed);
  if (!seeded) {
    return Error{ErrorCode::kUnavailable, "no randomness to blind the signing context", "signer"};
  }
  if (private_key.size() != 32 ||
      secp256k1_ec_seckey_verify(impl->ctx.get(), private_key.view().data()) != 1) {
    return Error{ErrorCode::kInvalidInput, "not a valid secp256k1 private key", "signer"};
  }
  secp256k1_pubkey pubkey;
  if (secp256k1_ec_pubkey_create(impl->ctx.get(), &pubkey, private_key.view().data()) != 1) {
    return Error{ErrorCode::kInvalidInput, "cannot derive the public key", "signer"};
  }
  const Address address = address_of(impl->ctx.get(), pubkey);
  impl->key = std::move(private_key);
  return std::make_unique<Signer>(Token{}, std::move(impl), address);
}

Result<Signature> Signer::sign(const Hash32& digest) const {
  secp256k1_ecdsa_recoverable_signature sig;
  // nullptr nonce function: RFC 6979. libsecp256k1 always returns low-s signatures.
  if (secp256k1_ecdsa_sign_recoverable(impl_->ctx.get(), &sig, digest.data(),
                                       impl_->key.view().data(), nullptr, nullptr) != 1) {
    return Error{ErrorCode::kInvalidInput, "signing failed", "signer"};
  }
  std::uint8_t compact[64];
  Signature out;
  secp256k1_ecdsa_recoverable_signature_serialize_compact(impl_->ctx.get(), compact,
                                                          &out.recovery_id, &sig);
  std::copy(compact, compact + 32, out.r.begin());
  std::copy(compact + 32, compact + 64, out.s.begin());
  return out;
}

Result<Address> recover_address(const Hash32& digest, const Signature& signature) {
  ContextPtr ctx = new_context();
  std::uint8_t compact[64];
  std::copy(signature.r.begin(), signature.r.end(), compact);
  std::copy(signature.s.begin(), signature.s.end(), compact + 32);
  secp256k1_ecdsa_recoverable_signature sig;
  secp256k1_pubkey pubkey;
  if (signature.recovery_id < 0 || signature.recovery_id > 3 ||
      secp256k1_ecdsa_recoverable_signature_parse_compact(ctx.get(), &sig, compact,
                                                          signature.recovery_id) != 1 ||
      secp256k1_ecdsa_recover(ctx.get(), &pubkey, &sig, digest.data()) != 1) {
    return Error{ErrorCode::kIntegrity, "signature does not recover a public key", "signer"};
  }
  return address_of(ctx.get(), pubkey);
}

std::string to_checksum_hex(const Address& address) {
  const std::string lower = to_hex(address);
  const Hash32 hash = keccak256(as_bytes(lower));
  std::string out = "0x";
  for (std::size_t i = 0; i < lower.size(); ++i) {
    const int nibble = (hash[i / 2] >> (i % 2 == 0 ? 4 : 0)) & 0x0f;
    out.push_back(nibble >= 8 ? static_cast<char>(std::toupper(lower[i])) : lower[i]);
  }
  return out;
}

Result<Address> parse_address(std::string_view hex) {
  auto bytes = parse_hex(hex);
  if (!bytes || bytes->size() != 20) {
    return Error{ErrorCode::kInvalidInput, "expected a 20-byte hex address", std::string(hex)};
  }
  Address out;
  std::copy(bytes->begin(), bytes->end(), out.begin());
  return out;
}

}  // namespace fl::ledger
