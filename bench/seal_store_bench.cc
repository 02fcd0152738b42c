// Encrypt+store throughput against OpenSSL's raw AES-256-GCM, in one binary and one run
// (scripts/bench-seal puts `openssl speed` beside it). Every case runs on 2, 4 and 8 KiB of
// canonical FHIR JSON: Synthea resources given a generated narrative of the size that makes them
// exactly that long (bytes/s count plaintext bytes; items/s are resources).
//
//   BM_OpensslStream   EVP_EncryptUpdate again and again on one context and key, no per-message
//                      work at all: what `openssl speed -evp aes-256-gcm` means to time (OpenSSL
//                      3.0's speed re-initialises per block, see bench/README.md)
//   BM_OpensslMessage  one message per call under a fixed key (IV, 13-byte AAD, encrypt, tag):
//                      what `openssl speed -aead -evp aes-256-gcm` times
//   BM_Sha256          the content hash alone (SHA-256 of a blob of that size)
//   BM_Seal            Sealer::seal: HKDF expand of the data key, random nonce, AES-256-GCM
//   BM_SealHash        Sealer::seal and Sealer::content_hash, the SHA-256 content address
//   BM_SealStore       ProtectStage::seal_and_store on a real redis-server: batches of 200 new
//                      versions of one region from 50 patients (of 10,000 with master keys
//                      already stored), as the pipeline calls it: master key lookup and
//                      unwrapping (the keyring adapter, a fresh KEK in a temporary keyring;
//                      FL_BENCH_KEKS=fake for tests/support's FakeKeyProvider), claims lookup,
//                      seal + hash, SET NX + HSETNX. Real time, since waiting counts.
//                      Also batches of 20 and 1000: what the depth of the Redis pipelines is worth.
//
// And a case that measures changes proposed for code outside bench/ (bench/README.md):
//   BM_SealStoreVariant  seal_and_store's steps written out, with each proposal switched on
//                        alone and together: no claims look-up, and batch N's store overlapping
//                        batch N+1's sealing (on a second thread) instead of the rest of its own
//
// Redis: FL_BENCH_REDIS_PORT names a running redis-server on 127.0.0.1 (scripts/bench-seal starts
// one); without it the bench starts its own (tests/support). The bench empties that server's
// database 0 (FLUSHDB) before each run and now and then during one, outside the timed region,
// and puts the master keys back; it refuses to start on a database that holds any key. Redis's
// CPU time is read from INFO cpu and reported as redis_cpu_us_per_item (microseconds of Redis
// CPU per resource stored).
#include "fl/adapters/keys/keyring_key_provider.h"
#include "fl/adapters/redis/redis_blob_store.h"
#include "fl/gateway/crypto/aead.h"
#include "fl/gateway/crypto/envelope.h"
#include "fl/gateway/keys/master_keys.h"
#include "fl/gateway/stages/protect_stage.h"
#include "fl/mappings/canonical_json.h"

#include "support/child_process.h"
#include "support/corpus.h"
#include "support/fakes.h"
#include "support/services.h"
#include "support/synthea.h"

#include <benchmark/benchmark.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

namespace fl {
namespace {

namespace fs = std::filesystem;
namespace crypto = gateway::crypto;

constexpr std::size_t kBatch = 200;                        // resources per seal_and_store call
constexpr std::size_t kPatientsPerBatch = 50;              // distinct patients in one batch
constexpr std::size_t kPatients = 10000;                   // patients with a stored master key
constexpr std::size_t kPlaintextsPerSize = 256;            // distinct resources per size, cycled
constexpr std::size_t kFlushBytes = std::size_t{1} << 30;  // FLUSHDB after this much stored
const std::string kRegion = "eu";

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "fl_seal_store_bench: %s\n", message.c_str());
  std::exit(2);
}

// splitmix64: distinct, random-looking keys without a random generator in the timed loop.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
ports::Hash32 key_from(std::uint64_t domain, std::uint64_t n) {
  ports::Hash32 out{};
  for (std::size_t i = 0; i < out.size(); i += 8) {
    const std::uint64_t word = mix(domain * 0x100000001b3ULL + n * 4 + i / 8);
    for (std::size_t b = 0; b < 8; ++b) out[i + b] = static_cast<std::uint8_t>(word >> (8 * b));
  }
  return out;
}

// ---- Plaintexts ---------------------------------------------------------------------------

// The whole corpus when it is at hand, else the repository's part of it.
fs::path synthea_dir() {
  if (auto dir = testing::full_corpus_dir("synthea")) return *dir;
  if (auto vendored = testing::find_corpus_file("synthea")) return *vendored;
  die("corpus folder synthea not found in FL_CORPORA, shared/corpora or tests/data/corpora");
}

// Every entry resource of the Synthea bundles, as its own document, in file-name order.
std::vector<std::unique_ptr<rapidjson::Document>> synthea_resources() {
  const testing::SyntheaCorpus corpus = testing::load_synthea(synthea_dir());
  std::vector<std::unique_ptr<rapidjson::Document>> out;
  for (const rapidjson::Value* resource : corpus.resources) {
    auto doc = std::make_unique<rapidjson::Document>();
    doc->CopyFrom(*resource, doc->GetAllocator());
    out.push_back(std::move(doc));
  }
  if (out.empty()) die("no Synthea resources in " + synthea_dir().string());
  return out;
}

// `resource` as canonical JSON of exactly `size` bytes: its narrative (text) replaced by a
// generated one whose div is as long as needed; nullopt when it is too large already.
std::optional<std::string> padded(rapidjson::Document& resource, std::size_t size) {
  auto with_div = [&](std::size_t filler) {
    static constexpr std::string_view kWords =
        "Generated narrative: the resource in human-readable form. ";
    std::string div = "<div xmlns=\"http://www.w3.org/1999/xhtml\">";
    for (std::size_t i = 0; i < filler; ++i) div.push_back(kWords[i % kWords.size()]);
    div += "</div>";
    auto& a = resource.GetAllocator();
    resource.RemoveMember("text");
    rapidjson::Value text(rapidjson::kObjectType);
    text.AddMember("status", "generated", a);
    text.AddMember("div", rapidjson::Value(div.c_str(), static_cast<unsigned>(div.size()), a), a);
    resource.AddMember("text", text, a);
    auto canonical = mappings::canonicalize(resource);
    if (!canonical) die("cannot canonicalize a Synthea resource: " + canonical.error().message);
    return std::move(*canonical);
  };
  const std::size_t bare = with_div(0).size();
  if (bare > size) return std::nullopt;
  std::string out = with_div(size - bare);
  if (out.size() != size) die("padding missed the size");
  return out;
}

// kPlaintextsPerSize resources of exactly `size` bytes: the largest Synthea resources that fit,
// so as little of each is narrative as the corpus allows.
const std::vector<std::string>& plaintexts(std::size_t size) {
  static std::map<std::size_t, std::vector<std::string>> cache;
  auto& out = cache[size];
  if (!out.empty()) return out;
  static auto resources = synthea_resources();
  std::vector<std::pair<std::size_t, rapidjson::Document*>> fitting;
  for (auto& r : resources) {
    auto canonical = mappings::canonicalize(*r);
    if (canonical && canonical->size() <= size) fitting.emplace_back(canonical->size(), r.get());
  }
  std::stable_sort(fitting.begin(), fitting.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  for (auto& [unused, r] : fitting) {
    if (out.size() == kPlaintextsPerSize) break;
    rapidjson::Document copy;
    copy.CopyFrom(*r, copy.GetAllocator());
    if (auto p = padded(copy, size)) out.push_back(std::move(*p));
  }
  if (out.empty()) die("no Synthea resource fits in " + std::to_string(size) + " bytes");
  return out;
}

// ---- Raw OpenSSL ----------------------------------------------------------------------------

struct EvpCtx {
  EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  ~EvpCtx() {
    EVP_CIPHER_CTX_free(ctx);
    EVP_CIPHER_free(cipher);
  }
};

void BM_OpensslStream(benchmark::State& state) {
  const auto size = static_cast<std::size_t>(state.range(0));
  const Bytes key(32, 0x42);
  const Bytes iv(12, 0x24);
  Bytes buf(plaintexts(size).front().begin(), plaintexts(size).front().end());
  EvpCtx evp;
  if (EVP_EncryptInit_ex2(evp.ctx, evp.cipher, key.data(), iv.data(), nullptr) != 1) {
    die("EVP_EncryptInit_ex2");
  }
  int written = 0;
  for (auto _ : state) {
    if (EVP_EncryptUpdate(evp.ctx, buf.data(), &written, buf.data(), static_cast<int>(size)) != 1) {
      die("EVP_EncryptUpdate failed");
    }
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * state.range(0));
}

void BM_OpensslMessage(benchmark::State& state) {
  const auto size = static_cast<std::size_t>(state.range(0));
  const Bytes key(32, 0x42);
  const Bytes iv(12, 0x24);
  const Bytes aad(13, 0xcc);
  const std::string& plain = plaintexts(size).front();
  Bytes out(size + 16);
  EvpCtx evp;
  if (EVP_EncryptInit_ex2(evp.ctx, evp.cipher, key.data(), iv.data(), nullptr) != 1) {
    die("EVP_EncryptInit_ex2");
  }
  int written = 0;
  int final_bytes = 0;
  for (auto _ : state) {
    const bool sealed =
        EVP_EncryptInit_ex2(evp.ctx, nullptr, nullptr, iv.data(), nullptr) == 1 &&
        EVP_EncryptUpdate(evp.ctx, nullptr, &written, aad.data(), static_cast<int>(aad.size())) ==
            1 &&
        EVP_EncryptUpdate(evp.ctx, out.data(), &written,
                          reinterpret_cast<const std::uint8_t*>(plain.data()),
                          static_cast<int>(size)) == 1 &&
        EVP_EncryptFinal_ex(evp.ctx, out.data() + written, &final_bytes) == 1 &&
        EVP_CIPHER_CTX_ctrl(evp.ctx, EVP_CTRL_GCM_GET_TAG, 16, out.data() + size) == 1;
    if (!sealed) die("AES-256-GCM failed");
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * state.range(0));
}

void BM_Sha256(benchmark::State& state) {
  const auto size = static_cast<std::size_t>(state.range(0));
  auto sealer = crypto::Sealer::create().value();
  const auto& pool = plaintexts(size);
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(sealer->content_hash(as_bytes(pool[i++ % pool.size()])));
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * state.range(0));
}

// ---- Sealing --------------------------------------------------------------------------------

// What the protect stage hands the sealer for one version: per resource key, version 1, its
// patient's master key.
struct SealInput {
  const crypto::MasterKey* key;
  Bytes info;
  Bytes context;
  ByteView plain;
};

struct SealFixture {
  std::unique_ptr<crypto::Sealer> sealer = crypto::Sealer::create().value();
  std::vector<crypto::MasterKey> keys;
  std::vector<SealInput> inputs;

  explicit SealFixture(std::size_t size) {
    for (std::size_t p = 0; p < kPatientsPerBatch; ++p) {
      const auto raw = key_from(1, p);
      keys.push_back(sealer
                         ->master_key("mk-" + to_hex(ByteView(raw).first(8)),
                                      SecretBytes(Bytes(raw.begin(), raw.end())))
                         .value());
    }
    const auto& pool = plaintexts(size);
    for (std::size_t i = 0; i < kBatch; ++i) {
      const auto resource = key_from(2, i);
      const auto patient = key_from(3, i % kPatientsPerBatch);
      inputs.push_back({.key = &keys[i % kPatientsPerBatch],
                        .info = crypto::data_key_info(resource, 1),
                        .context = gateway::seal_context(resource, 1, kRegion, patient, {}),
                        .plain = as_bytes(pool[i % pool.size()])});
    }
  }
};

void BM_Seal(benchmark::State& state) {
  SealFixture f(static_cast<std::size_t>(state.range(0)));
  std::size_t i = 0;
  for (auto _ : state) {
    const SealInput& in = f.inputs[i++ % f.inputs.size()];
    benchmark::DoNotOptimize(f.sealer->seal(*in.key, in.info, in.context, in.plain));
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * state.range(0));
}

void BM_SealHash(benchmark::State& state) {
  SealFixture f(static_cast<std::size_t>(state.range(0)));
  std::size_t i = 0;
  for (auto _ : state) {
    const SealInput& in = f.inputs[i++ % f.inputs.size()];
    auto blob = f.sealer->seal(*in.key, in.info, in.context, in.plain);
    benchmark::DoNotOptimize(f.sealer->content_hash(*blob));
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * state.range(0));
}

// ---- Sealing and storing on Redis -----------------------------------------------------------

class RedisFixture {
 public:
  RedisFixture() {
    std::signal(SIGPIPE, SIG_IGN);
    if (const char* env = std::getenv("FL_BENCH_REDIS_PORT"); env != nullptr && *env != '\0') {
      port_ = std::atoi(env);
    } else {
      server_ = std::make_unique<testing::RedisServer>();
      port_ = server_->port();
    }
    redis::RedisConfig config;
    config.regions[kRegion] = redis::RedisEndpoint{.host = "127.0.0.1", .port = port_};
    auto stores = redis::make_region_stores(config);
    if (!stores)
      die("cannot reach Redis on port " + std::to_string(port_) + ": " + stores.error().message);
    if (const std::string keys = cli("DBSIZE"); keys != "0") {
      die("the Redis on port " + std::to_string(port_) + " holds " + keys +
          " keys; the bench empties its database, so give it an empty one");
    }
    stores_ = std::move(*stores);
    auto second = redis::make_region_stores(config);
    if (!second) die("cannot open a second connection: " + second.error().message);
    second_ = std::move(*second);
    cli("FLUSHDB");
    // Every patient's master key, made once (wrapping is once per patient, not per batch).
    keks_ = make_keks();
    gateway::MasterKeys master_keys(*keks_, *stores_);
    for (std::size_t p = 0; p < kPatients; ++p) patients_.push_back(key_from(4, p));
    for (std::size_t at = 0; at < kPatients; at += 500) {
      auto made = master_keys.for_writing(
          kRegion, std::span(patients_).subspan(at, std::min<std::size_t>(500, kPatients - at)));
      if (!made) die("cannot create master keys: " + made.error().message);
    }
    auto visited = stores_->for_each_master_key(
        kRegion, [&](const ports::Hash32& patient, const ports::MasterKeyEntry& entry) -> Status {
          entries_.emplace_back(patient, entry);
          return Ok{};
        });
    if (!visited || entries_.size() != kPatients) die("master keys were not stored");
  }

  ~RedisFixture() {
    if (!server_) cli("FLUSHDB");  // leaves the Redis it was given empty, as it found it
  }
  RedisFixture(const RedisFixture&) = delete;
  RedisFixture& operator=(const RedisFixture&) = delete;

  ports::KeyProvider& keks() { return *keks_; }
  redis::RegionStores& stores() { return *stores_; }
  // Another connection to the same Redis: the adapter holds a region's one connection for a
  // whole call, so a store in flight on it would block the next batch's look-ups.
  redis::RegionStores& second_connection() { return *second_; }
  const ports::Hash32& patient(std::size_t n) const { return patients_[n % patients_.size()]; }

  // Empties the database and puts the master keys back (outside the timed region). MEMORY PURGE
  // hands the freed pages back to the system, so every run stores into fresh memory, as a Redis
  // that only grows does (without it, a run shortly after a flush reuses jemalloc's dirty pages
  // and times up to a third faster at 8 KiB).
  void flush() {
    cli("FLUSHDB");
    cli("MEMORY PURGE");
    for (std::size_t at = 0; at < entries_.size(); at += 1000) {
      auto made = stores_->create_master_keys(
          kRegion,
          std::span(entries_).subspan(at, std::min<std::size_t>(1000, entries_.size() - at)));
      if (!made) die("cannot restore master keys: " + made.error().message);
    }
  }

  // Redis's own CPU time (user + system), in seconds.
  double cpu_seconds() {
    std::istringstream info(cli("INFO cpu"));
    double total = 0;
    for (std::string line; std::getline(info, line);) {
      for (const char* name : {"used_cpu_sys:", "used_cpu_user:"}) {
        if (line.rfind(name, 0) == 0) total += std::atof(line.c_str() + std::strlen(name));
      }
    }
    return total;
  }

 private:
  // The keyring adapter with one fresh random KEK for the region, in a 0600 file of its own;
  // FL_BENCH_KEKS=fake takes tests/support's FakeKeyProvider instead (unwrapping for free).
  std::unique_ptr<ports::KeyProvider> make_keks() {
    if (const char* env = std::getenv("FL_BENCH_KEKS");
        env != nullptr && env == std::string_view("fake")) {
      return std::make_unique<testing::FakeKeyProvider>();
    }
    Bytes kek(32), pepper(32);
    if (RAND_bytes(kek.data(), 32) != 1 || RAND_bytes(pepper.data(), 32) != 1) die("RAND_bytes");
    const std::string path = keyring_dir_.path() + "/keyring.json";
    const std::string text =
        R"({"pepper": {"id": "bench-pepper", "material": ")" + to_hex(pepper) +
        R"("}, "keys": [{"id": "bench-kek", "region": ")" + kRegion +
        R"(", "created": "2026-01-01T00:00:00Z", "active": true, "material": ")" + to_hex(kek) +
        R"("}]})";
    OPENSSL_cleanse(kek.data(), kek.size());
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0 || ::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size()) ||
        ::close(fd) != 0) {
      die("cannot write " + path);
    }
    auto provider = keys::make_keyring_key_provider(path);
    if (!provider) die("keyring: " + provider.error().message);
    return std::move(*provider);
  }

  std::string cli(const std::string& command) {
    return testing::shell_output("redis-cli -h 127.0.0.1 -p " + std::to_string(port_) + " " +
                                 command);
  }

  std::unique_ptr<testing::RedisServer> server_;
  int port_ = 0;
  testing::TempDir keyring_dir_;
  std::unique_ptr<ports::KeyProvider> keks_;
  std::unique_ptr<redis::RegionStores> stores_;
  std::unique_ptr<redis::RegionStores> second_;
  std::vector<ports::Hash32> patients_;
  std::vector<std::pair<ports::Hash32, ports::MasterKeyEntry>> entries_;
};

RedisFixture& redis_fixture() {
  static RedisFixture fixture;
  return fixture;
}

// Batches of new versions: fresh resource keys every time, so no claim is ever found (a
// re-delivery is the rare path), 50 patients per batch, walking through the 10,000. Also keeps
// Redis in bounds (FLUSHDB, master keys put back) and accounts for Redis's CPU time.
class Batches {
 public:
  // Every run starts from the same Redis: master keys only.
  Batches(RedisFixture& redis, std::size_t size, std::size_t batch = kBatch)
      : redis_(redis), pool_(plaintexts(size)), size_(size), batch_(batch) {
    redis_.flush();
    cpu_at_start_ = redis_.cpu_seconds();
  }

  std::vector<gateway::Sealing> next() {
    std::vector<gateway::Sealing> batch(batch_);
    const std::size_t patients = std::max<std::size_t>(1, batch_ / 4);
    for (std::size_t i = 0; i < batch_; ++i) {
      batch[i].resource_key = key_from(5, serial_++);
      batch[i].patient_key = redis_.patient(first_patient_ + i % patients);
      batch[i].version = 1;
      batch[i].policy_hash = key_from(6, 0);
      batch[i].plaintext = pool_[(serial_ + i) % pool_.size()];
    }
    first_patient_ += patients;
    return batch;
  }

  // Counts a stored batch; true when Redis holds enough to be flushed.
  bool flush_due() {
    stored_ += batch_ * (size_ + 100);
    if (stored_ < kFlushBytes) return false;
    stored_ = 0;
    return true;
  }
  // Call with the timer paused and no store in flight.
  void flush() {
    const double before = redis_.cpu_seconds();
    redis_.flush();
    flushing_cpu_ += redis_.cpu_seconds() - before;
  }

  // Redis CPU time per resource stored, flushes left out.
  void report(benchmark::State& state) {
    const double cpu = redis_.cpu_seconds() - cpu_at_start_ - flushing_cpu_;
    const auto items = static_cast<double>(state.iterations() * batch_);
    state.counters["redis_cpu_us_per_item"] = benchmark::Counter(cpu * 1e6 / items);
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(batch_));
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(batch_) *
                            state.range(0));
  }

 private:
  static inline std::uint64_t serial_ = 0;  // across cases and sizes: keys never repeat
  RedisFixture& redis_;
  const std::vector<std::string>& pool_;
  std::size_t size_;
  std::size_t batch_;
  std::size_t first_patient_ = 0;
  std::size_t stored_ = 0;
  double cpu_at_start_ = 0;
  double flushing_cpu_ = 0;
};

bool check(benchmark::State& state, const std::vector<gateway::Sealing>& batch) {
  for (const auto& s : batch) {
    if (s.refused || s.reused) {
      state.SkipWithError(s.refused ? s.refused->message.c_str() : "a version was reused");
      return false;
    }
  }
  return true;
}

// Arguments: size, batch size (200 as the pipeline polls; others show what the depth of the
// Redis pipelines, one per round trip and batch, is worth).
void BM_SealStore(benchmark::State& state) {
  RedisFixture& redis = redis_fixture();
  gateway::ProtectStage protect(redis.keks(), redis.stores(), redis.stores());
  Batches batches(redis, static_cast<std::size_t>(state.range(0)),
                  static_cast<std::size_t>(state.range(1)));
  for (auto _ : state) {
    state.PauseTiming();
    auto batch = batches.next();
    std::vector<gateway::Sealing*> items;
    for (auto& s : batch) items.push_back(&s);
    state.ResumeTiming();
    if (auto stored = protect.seal_and_store(kRegion, items); !stored) {
      state.SkipWithError(stored.error().message.c_str());
      break;
    }
    state.PauseTiming();
    if (!check(state, batch)) break;
    if (batches.flush_due()) batches.flush();
    state.ResumeTiming();
  }
  batches.report(state);
}

// ProtectStage::seal_and_store's steps for new versions, written out here so that proposed
// changes can be measured on the same batches and the same Redis. The second argument is a set
// of flags; 0 is the stage as it is (and should time like BM_SealStore):
constexpr int kNoClaims = 1;  // no claims look-up before sealing: HSETNX's answer is the check
                              // (a lost claim would be adopted then, and the extra blob deleted)
constexpr int kOverlap = 2;   // batch N's SET NX + HSETNX on a second thread (and a second
                              // connection) while N+1 is looked up and sealed, instead of each
                              // write sent while the next of its own batch is sealed
void BM_SealStoreVariant(benchmark::State& state) {
  const int flags = static_cast<int>(state.range(1));
  RedisFixture& redis = redis_fixture();
  auto sealer = crypto::Sealer::create().value();
  gateway::MasterKeys master_keys(redis.keks(), redis.stores());
  Batches batches(redis, static_cast<std::size_t>(state.range(0)));
  std::future<Status> storing;
  std::vector<ports::BlobWrite> in_flight;
  std::vector<std::string> in_flight_keys;
  ports::BlobStore& blobs = (flags & kOverlap) != 0 ? redis.second_connection() : redis.stores();
  // `keys` are the content hashes (hex) that `make` fills in as it makes each write.
  auto store = [&blobs](std::size_t count, const ports::BlobStore::MakeWrite& make,
                        const std::vector<std::string>& keys) -> Status {
    auto stored = blobs.put_if_absent_streamed(kRegion, count, make);
    if (!stored) return stored.error();
    for (std::size_t i = 0; i < count; ++i) {
      if ((*stored)[i] != keys[i]) return Error{ErrorCode::kConflict, "a claim was lost", "bench"};
    }
    return Ok{};
  };
  auto wait = [&]() -> Status { return storing.valid() ? storing.get() : Status{Ok{}}; };
  for (auto _ : state) {
    state.PauseTiming();
    auto batch = batches.next();
    state.ResumeTiming();
    std::vector<ports::Hash32> patients;
    for (const auto& s : batch) patients.push_back(s.patient_key);
    std::sort(patients.begin(), patients.end());
    patients.erase(std::unique(patients.begin(), patients.end()), patients.end());
    auto keys = master_keys.for_writing(kRegion, patients);
    if (!keys) {
      state.SkipWithError(keys.error().message.c_str());
      break;
    }
    std::vector<ports::VersionRef> refs;
    refs.reserve(batch.size());
    for (const auto& s : batch) refs.push_back({to_hex(s.resource_key), s.version});
    if ((flags & kNoClaims) == 0) {
      auto claims = redis.stores().claimed_versions(kRegion, refs);
      if (!claims) {
        state.SkipWithError(claims.error().message.c_str());
        break;
      }
      for (const auto& c : *claims) {
        if (c) die("a claim was found for a new version");
      }
    }
    std::vector<std::string> keys_hex(batch.size());
    auto seal = [&](std::size_t i) -> Result<ports::BlobWrite> {
      auto& s = batch[i];
      const auto& key = keys->keys.at(s.patient_key);
      const Bytes info = crypto::data_key_info(s.resource_key, s.version);
      const Bytes context =
          gateway::seal_context(s.resource_key, s.version, kRegion, s.patient_key, s.policy_hash);
      auto blob = sealer->seal(key, info, context, as_bytes(s.plaintext));
      if (!blob) return blob.error();
      s.content_hash = sealer->content_hash(*blob);
      ports::BlobWrite write;
      write.key = keys_hex[i] = to_hex(s.content_hash);
      write.blob = std::move(*blob);
      write.resource_key = std::move(refs[i].resource_key);
      write.version = s.version;
      return write;
    };
    Status stored = Ok{};
    if ((flags & kOverlap) != 0) {
      // The whole batch sealed here while the previous one is stored on the other thread.
      std::vector<ports::BlobWrite> writes;
      writes.reserve(batch.size());
      for (std::size_t i = 0; i < batch.size(); ++i) {
        auto write = seal(i);
        if (!write) die(write.error().message);
        writes.push_back(std::move(*write));
      }
      stored = wait();
      in_flight = std::move(writes);
      in_flight_keys = std::move(keys_hex);
      storing = std::async(std::launch::async, [&] {
        return store(
            in_flight.size(),
            [&](std::size_t i) { return Result<ports::BlobWrite>(std::move(in_flight[i])); },
            in_flight_keys);
      });
    } else {
      // Each write sealed when the store asks for it, as ProtectStage::seal_and_store does.
      stored = store(batch.size(), seal, keys_hex);
    }
    if (!stored) {
      state.SkipWithError(stored.error().message.c_str());
      break;
    }
    if (batches.flush_due()) {  // never under a store in flight
      state.PauseTiming();
      if (auto s = wait(); !s) state.SkipWithError(s.error().message.c_str());
      batches.flush();
      state.ResumeTiming();
    }
  }
  if (auto s = wait(); !s) state.SkipWithError(s.error().message.c_str());
  batches.report(state);
}

void sizes(benchmark::internal::Benchmark* b) {
  for (int size : {2048, 4096, 8192}) b->Arg(size);
}

BENCHMARK(BM_OpensslStream)->Apply(sizes);
BENCHMARK(BM_OpensslMessage)->Apply(sizes);
BENCHMARK(BM_Sha256)->Apply(sizes);
BENCHMARK(BM_Seal)->Apply(sizes);
BENCHMARK(BM_SealHash)->Apply(sizes);
BENCHMARK(BM_SealStore)
    ->ArgsProduct({{2048, 4096, 8192}, {200}})
    ->ArgsProduct({{2048, 8192}, {20, 1000}})
    ->UseRealTime();
BENCHMARK(BM_SealStoreVariant)
    ->ArgsProduct({{2048, 4096, 8192}, {0, kNoClaims, kOverlap, kNoClaims | kOverlap}})
    ->UseRealTime();

}  // namespace
}  // namespace fl
