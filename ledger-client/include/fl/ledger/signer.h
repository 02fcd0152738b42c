// An Ethereum account key: derives the address and signs 32-byte hashes with secp256k1,
// producing recoverable, low-s signatures (EIP-2), deterministic per RFC 6979. The private key
// is held as SecretBytes and wiped on destruction. Signing is thread-safe.
#pragma once

#include "fl/base/bytes.h"
#include "fl/base/result.h"
#include "fl/base/secret_bytes.h"
#include "fl/ledger/keccak.h"

#include <array>
#include <cstdint>
#include <memory>

namespace fl::ledger {

using Address = std::array<std::uint8_t, 20>;

struct Signature {
  Hash32 r{};
  Hash32 s{};
  int recovery_id = 0;  // 0 or 1
};

class Signer {
  struct Token {};  // only create() can make one

 public:
  // kInvalidInput when the key is not a valid secp256k1 secret.
  static Result<std::unique_ptr<Signer>> create(SecretBytes private_key);
  ~Signer();
  Signer(const Signer&) = delete;
  Signer& operator=(const Signer&) = delete;

  const Address& address() const { return address_; }
  Result<Signature> sign(const Hash32& digest) const;

  struct Impl;
  Signer(Token, std::unique_ptr<Impl> impl, Address address);

 private:
  std::unique_ptr<Impl> impl_;
  Address address_{};
};

// The address whose key made `signature` over `digest`; kIntegrity if it does not recover.
Result<Address> recover_address(const Hash32& digest, const Signature& signature);

std::string to_checksum_hex(const Address& address);  // 0x-prefixed, EIP-55 mixed case
Result<Address> parse_address(std::string_view hex);

}  // namespace fl::ledger
