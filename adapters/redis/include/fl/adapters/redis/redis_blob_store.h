// BlobStore over Redis (hiredis, synchronous): one connection per storage region, blobs under
// "blob:<content hash hex>", written with SET NX so a blob is written once, batches pipelined.
// A dropped connection is re-opened once per call; after that the call fails with kUnavailable
// naming the region and endpoint, and the pipeline retries (nothing is committed meanwhile).
// Called from the pipeline thread only.
#pragma once

#include "fl/base/result.h"
#include "fl/ports/blob_store.h"

#include <map>
#include <memory>
#include <string>
#include <string_view>

namespace fl::redis {

struct RedisEndpoint {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string password;  // AUTH when not empty
  int db = 0;
  int timeout_ms = 2000;
};

struct RedisConfig {
  std::map<std::string, RedisEndpoint> regions;
};

// The Redis key of a blob.
std::string blob_key(std::string_view content_hash_hex);
// The Redis hash of a resource's pointer records: field = version, value = record JSON.
std::string pointer_key(std::string_view resource_key_hex);

// Connects to (and PINGs) every region; an unreachable region fails here, at start.
Result<std::unique_ptr<ports::BlobStore>> make_blob_store(const RedisConfig& config);

}  // namespace fl::redis
