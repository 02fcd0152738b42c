// Sealer: the envelope format of envelope.h, with the OpenSSL algorithms (HMAC-SHA256,
// AES-256-GCM) fetched once instead of per resource. Fetching is most of the cost of sealing a
// small resource, so the protect stage owns one Sealer for its lifetime. Output is identical to
// seal_resource(). Not thread-safe: one per thread.
#pragma once

#include "fl/base/bytes.h"
#include "fl/base/result.h"
#include "fl/base/secret_bytes.h"

#include <memory>
#include <string_view>

namespace fl::gateway::crypto {

class Sealer {
  struct Token {};

 public:
  static Result<std::unique_ptr<Sealer>> create();
  ~Sealer();
  Sealer(const Sealer&) = delete;
  Sealer& operator=(const Sealer&) = delete;

  Result<Bytes> seal(const SecretBytes& kek, std::string_view key_id, ByteView context,
                     ByteView plaintext);
  Result<Bytes> open(const SecretBytes& kek, ByteView blob, ByteView context);

  struct Impl;
  Sealer(Token, std::unique_ptr<Impl> impl);

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace fl::gateway::crypto
