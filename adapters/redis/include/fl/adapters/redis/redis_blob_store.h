// The region stores over Redis (hiredis, synchronous): the BlobStore (encrypted blobs, version
// claims, pointer records), the MasterKeyStore (patients' wrapped master keys) and the
// PatientDirectory (patients' recorded countries) of every
// storage region, one connection per region. A region's master keys live in the same Redis as
// its blobs, so data and the key that opens it stay in one jurisdiction and are backed up and
// erased together.
//
// Redis layout, per region (hex is lower case):
//   blob:<content hash hex>  string: the encrypted blob, written with SET NX (content-addressed,
//                            so an existing key already holds the same bytes)
//   ver:<resource key hex>   hash: field = decimal version, value = content hash hex of the blob
//                            the version was first stored as (HSETNX, in the same pipeline as
//                            the blob's SET NX: the first writer wins the claim); released with
//                            its blob by a Lua script when the event that made it is refused
//   ptr:<resource key hex>   hash: field = decimal version, value = pointer record JSON
//   pend:<resource key hex>  hash: field = decimal version, value = pointer record JSON (block 0)
//                            of a merkle anchor sent and not yet confirmed; removed when the
//                            version's ptr: record is written
//   mk:<patient key hex>     string, compact JSON in one canonical form (fixed member order, no
//                            spaces): {"v":1,"keyId":"…","kek":"<kek id>","wrapped":"<hex>"}, or
//                            once erased {"v":1,"keyId":"…","erased":"<RFC 3339>"} (keyId kept
//                            when there was one). Ids are ASCII letters, digits and . _ : / @ + = -
//                            (1..256 characters), so the JSON needs no escapes and equal entries
//                            serialize to equal bytes, which the compare-and-set relies on.
//                            Anything else found there is kIntegrity, naming the Redis key.
//   cty:<patient key hex>    string "<country>|<unix ms>": the patient's country as recorded
//                            when its Patient resource was ingested (PatientDirectory); kept
//                            in the patient's region only (one left in a region that was down
//                            when the patient moved outranked by the newer one until
//                            forget_countries_before removes it)
//   link:<record key hex>    string: the person key hex a source's patient record is linked to
//                            (PatientDirectory::link_persons, SET NX: the first link wins);
//                            in the links region only (RedisConfig::links_region)
//
// put_if_absent_streamed appends each write's SET NX and HSETNX as it is made, writes them to the
// socket every 16 writes without waiting for replies, and reads every reply after the last, so
// Redis stores while the caller seals. Writes are kept until their replies are read.
//
// A dropped connection is re-opened once per call (per SCAN page in for_each_master_key), and
// what the call had sent is sent again (the same bytes; nothing is made twice); after that the
// call fails with kUnavailable naming the region and endpoint, and the caller retries.
// A refused AUTH is kPermissionDenied, naming region, endpoint and user, never the password.
// Every call is safe from any thread: each region's connection has its own lock, held for one
// call (for_each_master_key releases it while the visitor runs, so the visitor may call back).
// The process must ignore SIGPIPE (hiredis writes with plain write(2)).
//
// A cluster region (RedisEndpoint::cluster) holds one connection per master under the region's
// one lock, routes each command by its key's hash slot, follows MOVED (slot map re-read) and
// ASK (ASKING, then the command, on the importing node), and tags a resource's keys so they
// share a slot (KeyLayout). README.md says why this small router and not a cluster library.
#pragma once

#include "fl/base/result.h"
#include "fl/ports/blob_store.h"
#include "fl/ports/consent_records.h"
#include "fl/ports/dependency_probe.h"
#include "fl/ports/master_key_store.h"
#include "fl/ports/patient_directory.h"

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace fl::redis {

struct RedisEndpoint {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string username;  // Redis ACL user: AUTH <username> <password> when not empty
  std::string password;  // AUTH <password> (the default user) when username is empty
  int db = 0;
  int timeout_ms = 2000;
  // A Redis Cluster: host:port is a seed node, the slot map (CLUSTER SLOTS) names the masters,
  // and commands go to the master of their key's slot (MOVED and ASK followed). db must be 0.
  bool cluster = false;
};

struct RedisConfig {
  std::map<std::string, RedisEndpoint> regions;
  // Where identity links are kept: pseudonym to pseudonym, no PHI, and needed by every region's
  // patients, so in one place (the gateway's default region); "" for the first region by name.
  std::string links_region;
};

// The store ports of every configured region, over one connection per region.
class RegionStores : public ports::BlobStore,
                     public ports::MasterKeyStore,
                     public ports::PatientDirectory,
                     public ports::ConsentRecords {};

// How a region names a resource's keys. A cluster region tags them with the resource key
// (ver:{<hex>}, ptr:{<hex>}, pend:{<hex>}), so that they share one hash slot and the release
// script, which reads and writes them in one step, runs on one node. A standalone region keeps
// the untagged names its data was written under. Every other key is named the same in both.
enum class KeyLayout { kStandalone, kCluster };

// The Redis key of a blob.
std::string blob_key(std::string_view content_hash_hex);
// The Redis hash of a resource's version claims: field = version, value = content hash hex.
std::string claims_key(std::string_view resource_key_hex,
                       KeyLayout layout = KeyLayout::kStandalone);
// The Redis hash of a resource's pointer records: field = version, value = record JSON.
std::string pointer_key(std::string_view resource_key_hex,
                        KeyLayout layout = KeyLayout::kStandalone);
// The Redis hash of a resource's pending anchors: field = version, value = record JSON.
std::string pending_key(std::string_view resource_key_hex,
                        KeyLayout layout = KeyLayout::kStandalone);
// The Redis key of a patient's recorded country.
std::string country_key(std::string_view patient_key_hex);
// The Redis key of a patient record's identity link.
std::string link_key(std::string_view record_key_hex);
// The Redis set of a patient's resource keys (pseudonyms), beside their pointer records.
std::string patient_index_key(std::string_view patient_key_hex);
// The Redis key of a Consent's record (in the links region).
std::string consent_key(std::string_view consent_key_hex);
// The patient's consented grants, one field per Consent (its key's hex), beside the records.
std::string consented_key(std::string_view patient_key_hex);
// The Redis key of a patient's master key entry.
std::string master_key_key(std::string_view patient_key_hex);

// One readiness probe per region ("redis:<region>"): each check opens its own connection,
// authenticates and PINGs, so it never waits behind the pipeline's connection.
std::vector<std::unique_ptr<ports::DependencyProbe>> make_region_probes(const RedisConfig& config);

// Connects to every region (AUTH, SELECT, PING); an unreachable region or a refused AUTH fails
// here, at start.
Result<std::unique_ptr<RegionStores>> make_region_stores(const RedisConfig& config);

}  // namespace fl::redis
