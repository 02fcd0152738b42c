// A region on a Redis Cluster (three masters on loopback, no replicas): routing by slot, the
// tagged key layout, SCAN over every master, MOVED after a reshard during writes, ASK during a
// migration set up by hand, ACL users, a master that goes down.
#include "fl/adapters/redis/redis_blob_store.h"
#include "fl/base/bytes.h"

#include "support/services.h"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

namespace fl::redis {
namespace {

using ports::Hash32;
using ports::MasterKeyEntry;

// Three masters started with --cluster-enabled in one temp dir, joined with
// `redis-cli --cluster create`, stopped (with their process groups) when the object dies.
class RedisCluster {
 public:
  static constexpr std::size_t kMasters = 3;

  RedisCluster() {
    std::signal(SIGPIPE, SIG_IGN);  // as the gateway's main() does (hiredis writes with write(2))
    std::string create = "redis-cli --cluster create";
    for (std::size_t i = 0; i < kMasters; ++i) {
      ports_[i] = testing::free_port();
      // The bus port is chosen too: the default (port + 10000) may be taken or out of range.
      const std::string port = std::to_string(ports_[i]);
      nodes_[i].emplace(
          std::vector<std::string>{
              "redis-server", "--port", port, "--bind", "127.0.0.1", "--cluster-enabled", "yes",
              "--cluster-port", std::to_string(testing::free_port()), "--cluster-config-file",
              "nodes-" + port + ".conf", "--dir", dir_.path(), "--appendonly", "no", "--save", ""},
          dir_.path() + "/redis-" + port + ".log");
      if (!testing::wait_for_port(ports_[i], std::chrono::seconds(10))) fail("no redis-server");
      create += " 127.0.0.1:" + port;
    }
    testing::shell_output(create + " --cluster-replicas 0 --cluster-yes >" + dir_.path() +
                          "/create.log 2>&1");
    wait_until_ok();
  }

  int port(std::size_t i) const { return ports_[i]; }
  std::string cli(std::size_t node, const std::string& args) const {
    return testing::shell_output("redis-cli -p " + std::to_string(ports_[node]) + " " + args);
  }
  std::string id(std::size_t node) const { return cli(node, "CLUSTER MYID"); }
  int slot(const std::string& key) const {
    return std::atoi(cli(0, "CLUSTER KEYSLOT '" + key + "'").c_str());
  }

  // The master serving `slot`, from its own view (CLUSTER NODES, "myself" line).
  std::size_t owner(int slot) const {
    for (std::size_t i = 0; i < kMasters; ++i) {
      std::istringstream nodes(cli(i, "CLUSTER NODES"));
      for (std::string line; std::getline(nodes, line);) {
        if (line.find("myself") == std::string::npos) continue;
        // id, address, flags, master, ping, pong, epoch, link state, then the slot ranges.
        std::istringstream fields(line);
        std::string field;
        int skipped = 0;
        while (skipped < 8 && fields >> field) ++skipped;
        while (fields >> field) {
          if (field.starts_with("[")) continue;  // a migration in progress
          const auto dash = field.find('-');
          const int first = std::atoi(field.c_str());
          const int last = dash == std::string::npos ? first : std::atoi(field.c_str() + dash + 1);
          if (slot >= first && slot <= last) return i;
        }
      }
    }
    fail("no master serves slot " + std::to_string(slot));
  }

  // Waits until every master sees every slot served (cluster_state:ok).
  void wait_until_ok() const {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      bool ok = true;
      for (std::size_t i = 0; i < kMasters && ok; ++i) {
        ok = cli(i, "CLUSTER INFO").find("cluster_state:ok") != std::string::npos;
      }
      if (ok) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    fail("the cluster did not reach cluster_state:ok");
  }

  void stop(std::size_t node) { nodes_[node].reset(); }

 private:
  [[noreturn]] static void fail(const std::string& what) {
    std::fprintf(stderr, "redis cluster: %s\n", what.c_str());
    std::abort();
  }

  testing::TempDir dir_;
  std::array<int, kMasters> ports_{};
  std::array<std::optional<testing::ChildProcess>, kMasters> nodes_;
};

RedisConfig cluster_region(const RedisCluster& cluster, std::string username = "",
                           std::string password = "") {
  return {.regions = {{"eu", RedisEndpoint{.host = "127.0.0.1",
                                           .port = cluster.port(0),
                                           .username = std::move(username),
                                           .password = std::move(password),
                                           .timeout_ms = 2000,
                                           .cluster = true}}}};
}

std::unique_ptr<RegionStores> stores_for(const RedisCluster& cluster) {
  auto stores = make_region_stores(cluster_region(cluster));
  EXPECT_TRUE(stores) << stores.error().message;
  return stores ? std::move(*stores) : nullptr;
}

Result<std::vector<std::string>> put_all(ports::BlobStore& store,
                                         std::span<const ports::BlobWrite> writes) {
  return store.put_if_absent_streamed(
      "eu", writes.size(),
      [writes](std::size_t i) -> Result<ports::BlobWrite> { return writes[i]; });
}

// 64 hex digits from a number: a content hash or resource key spread over the slots.
std::string hex64(std::uint64_t n, char pad = 'a') {
  std::string hex =
      to_hex(Bytes{static_cast<std::uint8_t>(n >> 24), static_cast<std::uint8_t>(n >> 16),
                   static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)});
  return hex + std::string(64 - hex.size(), pad);
}

// Write n of a batch: resource hex64(n, 'b'), version 1, blob hash hex64(n, 'c').
ports::BlobWrite write_of(std::uint64_t n) {
  return {.key = hex64(n, 'c'),
          .blob = Bytes{static_cast<std::uint8_t>(n), static_cast<std::uint8_t>(n >> 8), 0, 0xff},
          .resource_key = hex64(n, 'b'),
          .version = 1};
}

std::vector<ports::BlobWrite> writes(std::uint64_t from, std::uint64_t count) {
  std::vector<ports::BlobWrite> out;
  for (std::uint64_t n = from; n < from + count; ++n) out.push_back(write_of(n));
  return out;
}

std::vector<ports::PointerRecordWrite> records(std::uint64_t from, std::uint64_t count) {
  std::vector<ports::PointerRecordWrite> out;
  for (std::uint64_t n = from; n < from + count; ++n) {
    out.push_back({.resource_key = hex64(n, 'b'),
                   .version = 1,
                   .json = "{\"n\":" + std::to_string(n) + "}",
                   .patient_key = hex64(n % 7, 'd')});
  }
  return out;
}

// Every write in [0, count) stored, claimed for its own blob, and its record readable.
void expect_all_readable(RegionStores& store, std::uint64_t count) {
  std::vector<ports::VersionRef> refs;
  for (std::uint64_t n = 0; n < count; ++n) refs.push_back({hex64(n, 'b'), 1});
  auto claims = store.claimed_versions("eu", refs);
  auto anchors = store.anchor_records("eu", refs);
  ASSERT_TRUE(claims) << claims.error().message;
  ASSERT_TRUE(anchors) << anchors.error().message;
  for (std::uint64_t n = 0; n < count; ++n) {
    const ports::BlobWrite w = write_of(n);
    auto blob = store.get("eu", w.key);
    ASSERT_TRUE(blob) << n << ": " << blob.error().message;
    EXPECT_EQ(*blob, w.blob) << n;
    EXPECT_EQ((*claims)[n], w.key) << n;
    EXPECT_EQ((*anchors)[n].record, "{\"n\":" + std::to_string(n) + "}") << n;
  }
}

Hash32 patient(int n) {
  Hash32 key{};
  key[0] = static_cast<std::uint8_t>(n >> 8);
  key[1] = static_cast<std::uint8_t>(n);
  key[31] = 0x5a;
  return key;
}

MasterKeyEntry live(std::string key_id, std::string kek = "dev-kek-2026-11") {
  return {.key_id = std::move(key_id), .wrapped = {std::move(kek), Bytes{0xde, 0xad}}};
}

TEST(RedisCluster, BlobsClaimsAndRecordsAreSpreadOverTheMastersAndReadBack) {
  RedisCluster cluster;
  auto store = stores_for(cluster);
  ASSERT_TRUE(store);
  constexpr std::uint64_t kWrites = 200;  // more than a stream's flush, over every master

  auto claimed = put_all(*store, writes(0, kWrites));
  ASSERT_TRUE(claimed) << claimed.error().message;
  ASSERT_TRUE(store->put_pending_anchors("eu", records(0, kWrites)));
  ASSERT_TRUE(store->put_pointer_records("eu", records(0, kWrites)));

  for (std::uint64_t n = 0; n < kWrites; ++n) EXPECT_EQ((*claimed)[n], write_of(n).key);
  expect_all_readable(*store, kWrites);
  for (std::size_t i = 0; i < RedisCluster::kMasters; ++i) {
    EXPECT_GT(std::atoi(cluster.cli(i, "DBSIZE").c_str()), 0) << "master " << i;
    // Routed by the adapter's own slot function: no master had to redirect a command.
    EXPECT_EQ(cluster.cli(i, "INFO errorstats").find("MOVED"), std::string::npos) << "master " << i;
  }
  // The pending anchors went with the records (HDEL in their slot).
  std::vector<ports::VersionRef> refs{{hex64(3, 'b'), 1}};
  EXPECT_EQ(store->anchor_records("eu", refs)->front().pending, std::nullopt);
  auto resources = store->patient_resources("eu", hex64(3, 'd'));
  ASSERT_TRUE(resources) << resources.error().message;
  EXPECT_EQ(std::set<std::string>(resources->begin(), resources->end()).count(hex64(3, 'b')), 1u);
  EXPECT_EQ(store->get("eu", hex64(9999, 'c')).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store->storage_key(write_of(1).key), "blob:" + write_of(1).key);
}

TEST(RedisCluster, AResourcesClaimPointerAndPendingKeysShareOneSlot) {
  RedisCluster cluster;
  const std::string resource = hex64(42, 'b');
  const int slot = cluster.slot(claims_key(resource, KeyLayout::kCluster));

  EXPECT_EQ(cluster.slot(pointer_key(resource, KeyLayout::kCluster)), slot);
  EXPECT_EQ(cluster.slot(pending_key(resource, KeyLayout::kCluster)), slot);
  EXPECT_EQ(claims_key(resource, KeyLayout::kCluster), "ver:{" + resource + "}");
  // A standalone region keeps the names its data was written under.
  EXPECT_EQ(claims_key(resource), "ver:" + resource);
  EXPECT_EQ(pointer_key(resource), "ptr:" + resource);
  EXPECT_EQ(pending_key(resource), "pend:" + resource);
}

TEST(RedisCluster, MasterKeysAreCreatedReplacedErasedAndVisitedOnEveryMaster) {
  RedisCluster cluster;
  auto store = stores_for(cluster);
  ASSERT_TRUE(store);
  constexpr int kPatients = 1500;  // more than one SCAN page on each master
  std::vector<std::pair<Hash32, MasterKeyEntry>> entries;
  for (int i = 0; i < kPatients; ++i)
    entries.emplace_back(patient(i), live("mk-" + std::to_string(i)));
  ASSERT_TRUE(store->create_master_keys("eu", entries));
  const std::vector<std::pair<Hash32, MasterKeyEntry>> again{{patient(5), live("other")}};

  auto second = store->create_master_keys("eu", again);
  auto replaced =
      store->replace_master_key("eu", patient(1), live("mk-1"), live("mk-1", "new-kek"));
  auto stale = store->replace_master_key("eu", patient(2), live("wrong"), live("x"));
  auto erased = store->erase_master_key("eu", patient(3), "2026-11-24T09:30:00Z");

  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(second->front(), live("mk-5"));
  ASSERT_TRUE(replaced) << replaced.error().message;
  EXPECT_TRUE(*replaced);
  ASSERT_TRUE(stale);
  EXPECT_FALSE(*stale);
  ASSERT_TRUE(erased);
  EXPECT_TRUE(*erased);
  const std::vector<Hash32> keys{patient(1), patient(3), patient(4000)};
  auto read = store->master_keys("eu", keys);
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ((*read)[0], live("mk-1", "new-kek"));
  EXPECT_TRUE((*read)[1]->erased());
  EXPECT_EQ((*read)[2], std::nullopt);

  std::set<Hash32> seen;
  auto visited = store->for_each_master_key("eu", [&](const Hash32& p, const MasterKeyEntry&) {
    seen.insert(p);
    return Status(Ok{});
  });
  ASSERT_TRUE(visited) << visited.error().message;
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kPatients));
  for (std::size_t i = 0; i < RedisCluster::kMasters; ++i) {
    EXPECT_GT(std::atoi(cluster.cli(i, "DBSIZE").c_str()), 0) << "master " << i;
  }
}

TEST(RedisCluster, ReleasedClaimsGoWithTheirBlobsUnlessAnchored) {
  RedisCluster cluster;
  auto store = stores_for(cluster);
  ASSERT_TRUE(store);
  ASSERT_TRUE(put_all(*store, writes(0, 3)));
  ASSERT_TRUE(store->put_pointer_records("eu", records(1, 1)));
  ASSERT_TRUE(store->put_pending_anchors("eu", records(2, 1)));
  std::vector<ports::ClaimedBlob> released;
  for (std::uint64_t n = 0; n < 3; ++n) released.push_back({hex64(n, 'b'), 1, write_of(n).key});

  ASSERT_TRUE(store->release_claims("eu", released));
  ASSERT_TRUE(store->release_claims("eu", released));  // re-sent: nothing left to do

  std::vector<ports::VersionRef> refs;
  for (std::uint64_t n = 0; n < 3; ++n) refs.push_back({hex64(n, 'b'), 1});
  auto claims = store->claimed_versions("eu", refs);
  ASSERT_TRUE(claims) << claims.error().message;
  EXPECT_EQ((*claims)[0], std::nullopt);
  EXPECT_EQ(store->get("eu", write_of(0).key).error().code, ErrorCode::kNotFound);
  EXPECT_EQ((*claims)[1], write_of(1).key);
  EXPECT_TRUE(store->get("eu", write_of(1).key));
  EXPECT_EQ((*claims)[2], write_of(2).key);
  EXPECT_TRUE(store->get("eu", write_of(2).key));
}

TEST(RedisCluster, SlotsReshardedDuringWritesAreFollowedAndNothingIsLost) {
  RedisCluster cluster;
  auto store = stores_for(cluster);
  ASSERT_TRUE(store);
  const int moved_slot = 0;  // master 0 serves slot 0 after `--cluster create`
  ASSERT_EQ(cluster.owner(moved_slot), 0u);
  std::atomic<bool> resharded{false};
  std::thread reshard([&] {
    testing::shell_output(
        "redis-cli --cluster reshard 127.0.0.1:" + std::to_string(cluster.port(0)) +
        " --cluster-from " + cluster.id(0) + " --cluster-to " + cluster.id(1) +
        " --cluster-slots 3000 --cluster-yes >/dev/null 2>&1");
    resharded = true;
  });

  constexpr std::uint64_t kBatch = 50;
  std::uint64_t written = 0, during = 0;
  int failures = 0;
  // Keeps writing while slots move, and a few batches after, all read back at the end.
  for (int after = 0; after < 3; after += resharded ? 1 : 0) {
    auto claimed = put_all(*store, writes(written, kBatch));
    auto recorded = store->put_pointer_records("eu", records(written, kBatch));
    if (!claimed || !recorded) {
      // A slot migrating with a script's keys split between two masters answers TRYAGAIN
      // until the migration moves on: kUnavailable, retried as the pipeline does.
      ++failures;
      ASSERT_LT(failures, 50) << (claimed ? recorded.error().message : claimed.error().message);
      continue;
    }
    written += kBatch;
    if (!resharded) during += kBatch;
  }
  reshard.join();
  cluster.wait_until_ok();

  EXPECT_EQ(cluster.owner(moved_slot), 1u);
  expect_all_readable(*store, written);
  EXPECT_GT(during, 0u) << "no batch was written while the slots moved";
}

TEST(RedisCluster, AKeyMigratedByHandIsFoundThroughAsk) {
  RedisCluster cluster;
  auto store = stores_for(cluster);
  ASSERT_TRUE(store);
  const std::string resource = hex64(7, 'b');
  ASSERT_TRUE(put_all(*store, writes(7, 1)));
  ASSERT_TRUE(store->put_pointer_records("eu", records(7, 1)));
  const std::string records_key = pointer_key(resource, KeyLayout::kCluster);
  const int slot = cluster.slot(records_key);
  const std::size_t source = cluster.owner(slot);
  const std::size_t target = (source + 1) % RedisCluster::kMasters;
  const std::string s = std::to_string(slot);
  ASSERT_EQ(cluster.cli(target, "CLUSTER SETSLOT " + s + " IMPORTING " + cluster.id(source)), "OK");
  ASSERT_EQ(cluster.cli(source, "CLUSTER SETSLOT " + s + " MIGRATING " + cluster.id(target)), "OK");
  ASSERT_EQ(cluster.cli(source, "MIGRATE 127.0.0.1 " + std::to_string(cluster.port(target)) +
                                    " '' 0 5000 KEYS '" + records_key + "'"),
            "OK");
  // The source no longer has it: it answers ASK, naming the target.
  const std::string ask = "ASK " + s + " 127.0.0.1:" + std::to_string(cluster.port(target));
  ASSERT_EQ(cluster.cli(source, "EXISTS '" + records_key + "'"), ask);

  // The record is on the target now: the source answers ASK, and the store asks the target.
  auto read = store->pointer_records("eu", resource);
  // A new version's record is written where the slot is going (ASK again: absent on the source).
  std::vector<ports::PointerRecordWrite> second = records(7, 1);
  second[0].version = 2;
  auto written = store->put_pointer_records("eu", second);
  // The claim is still on the source, which serves it.
  std::vector<ports::VersionRef> refs{{resource, 1}};
  auto claim = store->claimed_versions("eu", refs);

  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(read->at(1), "{\"n\":7}");
  ASSERT_TRUE(written) << written.error().message;
  EXPECT_EQ(cluster.cli(source, "EXISTS '" + records_key + "'"), ask);  // both on the target
  auto both = store->pointer_records("eu", resource);
  ASSERT_TRUE(both) << both.error().message;
  EXPECT_EQ(both->size(), 2u);
  ASSERT_TRUE(claim) << claim.error().message;
  EXPECT_EQ(claim->front(), write_of(7).key);
  // The release script's keys are split between the two: TRYAGAIN until the migration ends,
  // then kUnavailable (the pipeline retries); nothing is released meanwhile.
  const std::vector<ports::ClaimedBlob> release{{resource, 1, write_of(7).key}};
  auto split = store->release_claims("eu", release);
  ASSERT_FALSE(split);
  EXPECT_EQ(split.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(split.error().message.find("TRYAGAIN"), std::string::npos) << split.error().message;

  // The migration ends: the rest of the slot moves, every master learns the new owner, and
  // the store follows MOVED.
  const std::string claims = claims_key(resource, KeyLayout::kCluster);
  ASSERT_EQ(cluster.cli(source, "MIGRATE 127.0.0.1 " + std::to_string(cluster.port(target)) +
                                    " '' 0 5000 KEYS '" + claims + "'"),
            "OK");
  for (std::size_t i = 0; i < RedisCluster::kMasters; ++i) {
    ASSERT_EQ(cluster.cli(i, "CLUSTER SETSLOT " + s + " NODE " + cluster.id(target)), "OK");
  }
  cluster.wait_until_ok();
  auto after = store->pointer_records("eu", resource);
  auto claim_after = store->claimed_versions("eu", refs);
  ASSERT_TRUE(after) << after.error().message;
  EXPECT_EQ(after->size(), 2u);
  ASSERT_TRUE(claim_after) << claim_after.error().message;
  EXPECT_EQ(claim_after->front(), write_of(7).key);
  // Retried once the slot is whole: the version is anchored, so its claim and blob stay.
  ASSERT_TRUE(store->release_claims("eu", release));
  EXPECT_EQ(store->claimed_versions("eu", refs)->front(), write_of(7).key);
  EXPECT_TRUE(store->get("eu", write_of(7).key));
}

TEST(RedisCluster, AnAclUserOnEveryMasterConnectsAndAWrongPasswordIsRefused) {
  RedisCluster cluster;
  for (std::size_t i = 0; i < RedisCluster::kMasters; ++i) {
    // What the adapter sends, and nothing else: data and scripts, CLUSTER SLOTS, ASKING.
    ASSERT_EQ(cluster.cli(i,
                          "ACL SETUSER ledger on '>s3cret-pw' '~*' '+@read' '+@write' "
                          "'+@scripting' '+ping' '+cluster|slots' '+asking'"),
              "OK");
    ASSERT_EQ(cluster.cli(i, "ACL SETUSER default off"), "OK");
  }

  auto store = make_region_stores(cluster_region(cluster, "ledger", "s3cret-pw"));
  auto wrong = make_region_stores(cluster_region(cluster, "ledger", "guessed-pw"));

  ASSERT_TRUE(store) << store.error().message;
  ASSERT_TRUE(put_all(**store, writes(0, 30)));
  ASSERT_TRUE((*store)->put_pointer_records("eu", records(0, 30)));
  expect_all_readable(**store, 30);
  const std::vector<std::pair<Hash32, MasterKeyEntry>> entries{{patient(1), live("a")}};
  ASSERT_TRUE((*store)->create_master_keys("eu", entries));
  int visited = 0;
  ASSERT_TRUE((*store)->for_each_master_key("eu", [&](const Hash32&, const MasterKeyEntry&) {
    ++visited;
    return Status(Ok{});
  }));
  EXPECT_EQ(visited, 1);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(wrong.error().message.find("ledger"), std::string::npos) << wrong.error().message;
  EXPECT_EQ(wrong.error().message.find("guessed-pw"), std::string::npos);
}

TEST(RedisCluster, AMasterThatIsDownMakesItsSlotsUnavailable) {
  RedisCluster cluster;
  auto store = stores_for(cluster);
  ASSERT_TRUE(store);
  ASSERT_TRUE(put_all(*store, writes(0, 30)));
  std::uint64_t n = 0;  // a blob on master 2
  while (cluster.owner(cluster.slot(blob_key(write_of(n).key))) != 2) ++n;

  cluster.stop(2);
  auto down = store->get("eu", write_of(n).key);

  ASSERT_FALSE(down);
  EXPECT_EQ(down.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(down.error().message.find("redis region eu"), std::string::npos)
      << down.error().message;
}

}  // namespace
}  // namespace fl::redis
