// The Redis region stores (BlobStore and MasterKeyStore) against real redis-server processes.
#include "fl/adapters/redis/redis_blob_store.h"

#include "fl/base/bytes.h"

#include "support/services.h"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <set>
#include <thread>

namespace fl::redis {
namespace {

using ports::Hash32;
using ports::MasterKeyEntry;

RedisConfig one_region(int port, std::string username = "", std::string password = "") {
  return {.regions = {{"eu", RedisEndpoint{.host = "127.0.0.1",
                                           .port = port,
                                           .username = std::move(username),
                                           .password = std::move(password),
                                           .timeout_ms = 500}}}};
}

std::unique_ptr<RegionStores> stores_for(const testing::RedisServer& redis) {
  auto stores = make_region_stores(one_region(redis.port()));
  EXPECT_TRUE(stores) << stores.error().message;
  return stores ? std::move(*stores) : nullptr;
}

// Blobs for resource "r0" (hex), one version each, from 1.
// Every write of a batch made up front: put_if_absent_streamed with nothing left to seal.
Result<std::vector<std::string>> put_all(ports::BlobStore& store, const std::string& region,
                                         std::span<const ports::BlobWrite> writes) {
  return store.put_if_absent_streamed(
      region, writes.size(),
      [writes](std::size_t i) -> Result<ports::BlobWrite> { return writes[i]; });
}

std::vector<ports::BlobWrite> blobs(std::initializer_list<std::pair<std::string, Bytes>> items) {
  std::vector<ports::BlobWrite> out;
  std::uint64_t version = 1;
  for (const auto& [k, b] : items) {
    out.push_back({.key = k, .blob = b, .resource_key = "a0", .version = version++});
  }
  return out;
}

ports::BlobWrite version_blob(std::string key, std::uint64_t version, Bytes blob = Bytes{7}) {
  return {
      .key = std::move(key), .blob = std::move(blob), .resource_key = "beef", .version = version};
}

Hash32 patient(int n) {
  Hash32 key{};
  key[0] = static_cast<std::uint8_t>(n >> 8);
  key[1] = static_cast<std::uint8_t>(n);
  key[31] = 0x5a;
  return key;
}

std::string mk_key(const Hash32& p) { return master_key_key(to_hex(p)); }

MasterKeyEntry live(std::string key_id, std::string kek = "dev-kek-2026-11",
                    Bytes wrapped = Bytes{0xde, 0xad, 0xbe, 0xef}) {
  return {.key_id = std::move(key_id), .wrapped = {std::move(kek), std::move(wrapped)}};
}

std::string redis_cli(const testing::RedisServer& redis, const std::string& args) {
  return testing::shell_output("redis-cli -p " + std::to_string(redis.port()) + " " + args);
}

// BlobStore

TEST(RedisBlobStore, StoresAndReadsBlobsWithBinaryContent) {
  testing::RedisServer redis;
  auto store = stores_for(redis);
  ASSERT_TRUE(store);
  const Bytes binary = {0, 1, 2, 0xff, '\n', 0, 0x80};

  auto claimed = put_all(*store, "eu", blobs({{"aa11", binary}, {"bb22", Bytes{42}}}));

  ASSERT_TRUE(claimed) << claimed.error().message;
  EXPECT_EQ(*claimed, (std::vector<std::string>{"aa11", "bb22"}));
  EXPECT_EQ(*store->get("eu", "aa11"), binary);
  EXPECT_EQ(*store->get("eu", "bb22"), Bytes{42});
  EXPECT_EQ(store->storage_key("aa11"), "blob:aa11");
}

TEST(RedisBlobStore, WritingAnExistingKeyChangesNothing) {
  testing::RedisServer redis;
  auto store = stores_for(redis);
  ASSERT_TRUE(store);
  ASSERT_TRUE(put_all(*store, "eu", blobs({{"cafe", Bytes{1, 2, 3}}})));

  ASSERT_TRUE(put_all(*store, "eu", blobs({{"cafe", Bytes{9, 9, 9}}})));

  EXPECT_EQ(*store->get("eu", "cafe"), (Bytes{1, 2, 3}));
}

TEST(RedisBlobStore, RemovingUnclaimedBlobsDeletesOnlyThoseAndRefusesWhatIsNotAHash) {
  testing::RedisServer redis;
  auto store = stores_for(redis);
  ASSERT_TRUE(store);
  const std::string lost(64, 'a'), kept(64, 'b'), absent(64, 'c');
  ASSERT_TRUE(put_all(*store, "eu", blobs({{lost, Bytes{1}}, {kept, Bytes{2}}})));

  const std::vector<std::string> remove{lost, absent};
  ASSERT_TRUE(store->remove_unclaimed("eu", remove));

  EXPECT_EQ(store->get("eu", lost).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(*store->get("eu", kept), Bytes{2});
  for (const std::string& bad : std::vector<std::string>{"aa11", "*", std::string(64, 'A')}) {
    const std::vector<std::string> one{bad};
    auto refused = store->remove_unclaimed("eu", one);
    ASSERT_FALSE(refused) << bad;
    EXPECT_EQ(refused.error().code, ErrorCode::kInvalidInput);
  }
  EXPECT_EQ(*store->get("eu", kept), Bytes{2});
}

TEST(RedisBlobStore, AMissingBlobIsNotFound) {
  testing::RedisServer redis;
  auto store = stores_for(redis);
  ASSERT_TRUE(store);

  auto blob = store->get("eu", "0000");

  ASSERT_FALSE(blob);
  EXPECT_EQ(blob.error().code, ErrorCode::kNotFound);
}

TEST(RedisBlobStore, RegionsKeepTheirBlobsApart) {
  testing::RedisServer eu;
  testing::RedisServer us;
  auto store = make_region_stores({.regions = {{"eu", {.host = "127.0.0.1", .port = eu.port()}},
                                               {"us", {.host = "127.0.0.1", .port = us.port()}}}});
  ASSERT_TRUE(store);

  ASSERT_TRUE(put_all(**store, "eu", blobs({{"e1", Bytes{1}}})));
  ASSERT_TRUE(put_all(**store, "us", blobs({{"f1", Bytes{2}}})));

  EXPECT_TRUE((*store)->get("eu", "e1"));
  EXPECT_FALSE((*store)->get("us", "e1"));
  EXPECT_FALSE((*store)->get("eu", "f1"));
  auto unknown = put_all(**store, "apac", blobs({{"ab", Bytes{3}}}));
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::kInvalidInput);
}

TEST(RedisBlobStore, TheFirstBlobStoredForAVersionKeepsItsClaim) {
  testing::RedisServer redis;
  auto store = stores_for(redis);
  ASSERT_TRUE(store);
  const std::vector<ports::BlobWrite> first{version_blob("aa01", 3, Bytes{1})};
  const std::vector<ports::BlobWrite> second{version_blob("bb02", 3, Bytes{2})};

  auto won = put_all(*store, "eu", first);
  auto lost = put_all(*store, "eu", second);
  auto again = put_all(*store, "eu", first);

  ASSERT_TRUE(won && lost && again);
  EXPECT_EQ(*won, std::vector<std::string>{"aa01"});
  EXPECT_EQ(*lost, std::vector<std::string>{"aa01"});
  EXPECT_EQ(*again, std::vector<std::string>{"aa01"});
  EXPECT_EQ(redis_cli(redis, "HGET ver:beef 3"), "aa01");
}

TEST(RedisBlobStore, WithinOneBatchTheFirstWriteOfAVersionWins) {
  testing::RedisServer redis;
  auto store = stores_for(redis);
  ASSERT_TRUE(store);
  const std::vector<ports::BlobWrite> batch{version_blob("aa01", 1), version_blob("bb02", 1),
                                            version_blob("cc03", 2)};

  auto claimed = put_all(*store, "eu", batch);

  ASSERT_TRUE(claimed) << claimed.error().message;
  EXPECT_EQ(*claimed, (std::vector<std::string>{"aa01", "aa01", "cc03"}));
}

TEST(RedisBlobStore, ClaimedVersionsAnswerTheFirstBlobOrNothing) {
  testing::RedisServer redis;
  auto store = stores_for(redis);
  ASSERT_TRUE(store);
  const std::vector<ports::BlobWrite> writes{version_blob("aa01", 1), version_blob("bb02", 2)};
  ASSERT_TRUE(put_all(*store, "eu", writes));
  const std::vector<ports::VersionRef> refs{{.resource_key = "beef", .version = 2},
                                            {.resource_key = "beef", .version = 9},
                                            {.resource_key = "f00d", .version = 1},
                                            {.resource_key = "beef", .version = 1}};

  auto claimed = store->claimed_versions("eu", refs);

  ASSERT_TRUE(claimed) << claimed.error().message;
  EXPECT_EQ(*claimed,
            (std::vector<std::optional<std::string>>{"bb02", std::nullopt, std::nullopt, "aa01"}));
}

TEST(RedisBlobStore, KeysThatAreNotHexAreRefused) {
  testing::RedisServer redis;
  auto store = stores_for(redis);
  ASSERT_TRUE(store);
  const std::vector<ports::BlobWrite> writes{version_blob("not hex", 1)};

  auto refused = put_all(*store, "eu", writes);

  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidInput);
}

// Streamed puts: writes made one at a time while the pipeline is sent, over more writes than
// the adapter sends to the socket at once.

constexpr std::size_t kStreamed = 100;

// Write i of a stream: version i + 1 of resource "beef", a distinct hex key and blob.
ports::BlobWrite streamed_write(std::size_t i) {
  const Bytes n = {static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i)};
  return version_blob("5eed" + to_hex(n), i + 1, Bytes(64, static_cast<std::uint8_t>(i)));
}

std::vector<std::size_t> first_indexes(std::size_t n) {
  std::vector<std::size_t> out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = i;
  return out;
}

TEST(RedisBlobStore, AStreamedBatchIsMadeOnceInOrderStoredAndClaimed) {
  testing::RedisServer redis;
  auto store = stores_for(redis);
  ASSERT_TRUE(store);
  std::vector<std::size_t> made;

  auto claimed = store->put_if_absent_streamed("eu", kStreamed, [&](std::size_t i) {
    made.push_back(i);
    return Result<ports::BlobWrite>(streamed_write(i));
  });

  ASSERT_TRUE(claimed) << claimed.error().message;
  EXPECT_EQ(made, first_indexes(kStreamed));
  ASSERT_EQ(claimed->size(), kStreamed);
  for (std::size_t i = 0; i < kStreamed; ++i) EXPECT_EQ((*claimed)[i], streamed_write(i).key);
  EXPECT_EQ(redis_cli(redis, "HLEN ver:beef"), std::to_string(kStreamed));
  EXPECT_EQ(redis_cli(redis, "HGET ver:beef 77"), streamed_write(76).key);
  EXPECT_EQ(*store->get("eu", streamed_write(99).key), streamed_write(99).blob);
}

TEST(RedisBlobStore, AVersionClaimedEarlierInAStreamAnswersItsFirstBlob) {
  testing::RedisServer redis;
  auto store = stores_for(redis);
  ASSERT_TRUE(store);

  // Write 70 is another blob of write 5's version, several socket writes later.
  auto claimed = store->put_if_absent_streamed("eu", kStreamed, [&](std::size_t i) {
    ports::BlobWrite w = streamed_write(i);
    if (i == 70) w.version = 6;
    return Result<ports::BlobWrite>(std::move(w));
  });

  ASSERT_TRUE(claimed) << claimed.error().message;
  EXPECT_EQ((*claimed)[70], streamed_write(5).key);
  EXPECT_EQ((*claimed)[69], streamed_write(69).key);
  EXPECT_EQ(redis_cli(redis, "HGET ver:beef 6"), streamed_write(5).key);
  EXPECT_EQ(redis_cli(redis, "HEXISTS ver:beef 71"), "0");
}

TEST(RedisBlobStore, StreamedWritesReachRedisBeforeTheLastIsMade) {
  testing::RedisServer redis;
  auto store = stores_for(redis);
  ASSERT_TRUE(store);
  const std::string first = "EXISTS " + blob_key(streamed_write(0).key);
  bool first_stored_early = false;

  auto claimed = store->put_if_absent_streamed("eu", kStreamed, [&](std::size_t i) {
    if (i == kStreamed - 1) {
      // Redis answers on its own time: give it a moment, then look through another connection.
      for (int tries = 0; tries < 100 && !first_stored_early; ++tries) {
        first_stored_early = redis_cli(redis, first) == "1";
        if (!first_stored_early) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
    return Result<ports::BlobWrite>(streamed_write(i));
  });

  ASSERT_TRUE(claimed) << claimed.error().message;
  EXPECT_TRUE(first_stored_early);
}

TEST(RedisBlobStore, AWriteThatCannotBeMadeFailsTheStreamAndTheConnectionStaysInStep) {
  testing::RedisServer redis;
  auto store = stores_for(redis);
  ASSERT_TRUE(store);
  std::vector<std::size_t> made;

  auto failed = store->put_if_absent_streamed("eu", kStreamed, [&](std::size_t i) {
    made.push_back(i);
    if (i == 40) return Result<ports::BlobWrite>(Error{ErrorCode::kIntegrity, "cannot seal", ""});
    return Result<ports::BlobWrite>(streamed_write(i));
  });

  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, ErrorCode::kIntegrity);
  EXPECT_EQ(made, first_indexes(41));
  // What was made before the failure is stored, and nothing after it.
  EXPECT_EQ(redis_cli(redis, "HLEN ver:beef"), "40");
  EXPECT_EQ(redis_cli(redis, "EXISTS " + blob_key(streamed_write(41).key)), "0");
  // The next call reads its own replies, not ones left over from the failed stream.
  const std::vector<ports::BlobWrite> next{version_blob("c0ffee", 3), version_blob("d00d", 500)};
  auto claimed = put_all(*store, "eu", next);
  ASSERT_TRUE(claimed) << claimed.error().message;
  EXPECT_EQ(*claimed, (std::vector<std::string>{streamed_write(2).key, "d00d"}));
}

TEST(RedisBlobStore, AConnectionDroppedMidStreamIsReopenedAndWhatWasMadeIsSentAgain) {
  testing::RedisServer redis;
  auto store = stores_for(redis);
  ASSERT_TRUE(store);
  std::vector<std::size_t> made;
  std::string killed;

  auto claimed = store->put_if_absent_streamed("eu", kStreamed, [&](std::size_t i) {
    made.push_back(i);
    if (i == 50) killed = redis_cli(redis, "CLIENT KILL TYPE normal");  // not redis-cli itself
    return Result<ports::BlobWrite>(streamed_write(i));
  });

  EXPECT_EQ(killed, "1");
  ASSERT_TRUE(claimed) << claimed.error().message;
  EXPECT_EQ(made, first_indexes(kStreamed));  // re-sent, never made again
  for (std::size_t i = 0; i < kStreamed; ++i) EXPECT_EQ((*claimed)[i], streamed_write(i).key);
  EXPECT_EQ(redis_cli(redis, "HLEN ver:beef"), std::to_string(kStreamed));
  EXPECT_EQ(redis_cli(redis, "DBSIZE"), std::to_string(kStreamed + 1));  // blobs and ver:beef
}

TEST(RedisBlobStore, AClaimThatIsNotAHashIsAnIntegrityError) {
  testing::RedisServer redis;
  auto store = stores_for(redis);
  ASSERT_TRUE(store);
  redis_cli(redis, "HSET ver:beef 4 'not a hash'");
  const std::vector<ports::VersionRef> refs{{.resource_key = "beef", .version = 4}};

  auto claimed = store->claimed_versions("eu", refs);

  ASSERT_FALSE(claimed);
  EXPECT_EQ(claimed.error().code, ErrorCode::kIntegrity);
  EXPECT_NE(claimed.error().message.find("ver:beef"), std::string::npos);
}

// MasterKeyStore

TEST(RedisMasterKeyStore, AMissingEntryIsNullopt) {
  testing::RedisServer redis;
  auto store = stores_for(redis);
  ASSERT_TRUE(store);
  const std::vector<Hash32> keys{patient(1)};

  auto entries = store->master_keys("eu", keys);

  ASSERT_TRUE(entries) << entries.error().message;
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_FALSE(entries->front());
}

TEST(RedisMasterKeyStore, TheFirstCreatorWinsAndTheSecondGetsTheFirstEntry) {
  testing::RedisServer redis;
  auto store = stores_for(redis);
  ASSERT_TRUE(store);
  const MasterKeyEntry a = live("mk-a");
  const MasterKeyEntry b = live("mk-b", "other-kek", Bytes{1, 2});
  const std::vector<std::pair<Hash32, MasterKeyEntry>> first{{patient(1), a}};
  const std::vector<std::pair<Hash32, MasterKeyEntry>> second{{patient(1), b}, {patient(2), b}};

  auto created = store->create_master_keys("eu", first);
  auto raced = store->create_master_keys("eu", second);
  const std::vector<Hash32> keys{patient(1), patient(2), patient(3)};
  auto read = store->master_keys("eu", keys);

  ASSERT_TRUE(created && raced && read);
  EXPECT_EQ(*created, std::vector<MasterKeyEntry>{a});
  EXPECT_EQ(*raced, (std::vector<MasterKeyEntry>{a, b}));
  EXPECT_EQ(*read, (std::vector<std::optional<MasterKeyEntry>>{a, b, std::nullopt}));
  EXPECT_EQ(redis_cli(redis, "GET " + mk_key(patient(1))),
            R"({"v":1,"keyId":"mk-a","kek":"dev-kek-2026-11","wrapped":"deadbeef"})");
}

TEST(RedisMasterKeyStore, WithinOneBatchTheFirstEntryForAPatientWins) {
  testing::RedisServer redis;
  auto store = stores_for(redis);
  ASSERT_TRUE(store);
  const std::vector<std::pair<Hash32, MasterKeyEntry>> batch{{patient(1), live("mk-a")},
                                                             {patient(1), live("mk-b")}};

  auto created = store->create_master_keys("eu", batch);

  ASSERT_TRUE(created) << created.error().message;
  EXPECT_EQ(*created, (std::vector<MasterKeyEntry>{live("mk-a"), live("mk-a")}));
}

TEST(RedisMasterKeyStore, ReplacingSucceedsOnlyWhileTheEntryIsUnchanged) {
  testing::RedisServer redis;
  auto store = stores_for(redis);
  ASSERT_TRUE(store);
  const MasterKeyEntry a = live("mk-a");
  const MasterKeyEntry rewrapped = live("mk-a", "new-kek", Bytes{9, 9});
  const std::vector<std::pair<Hash32, MasterKeyEntry>> create{{patient(1), a}};
  ASSERT_TRUE(store->create_master_keys("eu", create));

  auto replaced = store->replace_master_key("eu", patient(1), a, rewrapped);
  auto stale = store->replace_master_key("eu", patient(1), a, live("mk-a", "third", Bytes{3}));
  auto absent = store->replace_master_key("eu", patient(2), a, rewrapped);

  ASSERT_TRUE(replaced && stale && absent);
  EXPECT_TRUE(*replaced);
  EXPECT_FALSE(*stale);
  EXPECT_FALSE(*absent);
  const std::vector<Hash32> keys{patient(1), patient(2)};
  EXPECT_EQ(*store->master_keys("eu", keys),
            (std::vector<std::optional<MasterKeyEntry>>{rewrapped, std::nullopt}));
}

TEST(RedisMasterKeyStore, ErasingDestroysAKeyOnceAndTheMarkStaysForGood) {
  testing::RedisServer redis;
  auto store = stores_for(redis);
  ASSERT_TRUE(store);
  const MasterKeyEntry a = live("mk-a");
  const std::vector<std::pair<Hash32, MasterKeyEntry>> create{{patient(1), a}};
  ASSERT_TRUE(store->create_master_keys("eu", create));

  auto first = store->erase_master_key("eu", patient(1), "2026-11-24T09:30:00Z");
  auto second = store->erase_master_key("eu", patient(1), "2026-11-25T10:00:00.5+01:00");
  const std::vector<Hash32> keys{patient(1)};
  auto read = store->master_keys("eu", keys);
  auto recreated = store->create_master_keys("eu", create);
  auto rotated = store->replace_master_key("eu", patient(1), a, live("mk-a", "new-kek"));

  ASSERT_TRUE(first && second && read && recreated && rotated);
  EXPECT_TRUE(*first);
  EXPECT_FALSE(*second);
  const MasterKeyEntry mark{.key_id = "mk-a", .erased_at = "2026-11-24T09:30:00Z"};
  ASSERT_TRUE(read->front());
  EXPECT_TRUE(read->front()->erased());
  EXPECT_EQ(*read->front(), mark);
  EXPECT_EQ(*recreated, std::vector<MasterKeyEntry>{mark});
  EXPECT_FALSE(*rotated);
  EXPECT_EQ(redis_cli(redis, "GET " + mk_key(patient(1))),
            R"({"v":1,"keyId":"mk-a","erased":"2026-11-24T09:30:00Z"})");
}

TEST(RedisMasterKeyStore, IdsWithKmsPunctuationSurviveRotationAndErasure) {
  testing::RedisServer redis;
  auto store = stores_for(redis);
  ASSERT_TRUE(store);
  const MasterKeyEntry a = live("mk/a+b=_.:@-9", "projects/p/keyRings/r/cryptoKeys/k@v1");
  const MasterKeyEntry b = live("mk/a+b=_.:@-9", "vault:transit/eu-kek:2");
  const std::vector<std::pair<Hash32, MasterKeyEntry>> create{{patient(1), a}};
  ASSERT_TRUE(store->create_master_keys("eu", create));

  auto rotated = store->replace_master_key("eu", patient(1), a, b);
  auto erased = store->erase_master_key("eu", patient(1), "2026-11-24t09:30:00.123456789-05:00");
  const std::vector<Hash32> keys{patient(1)};
  auto read = store->master_keys("eu", keys);

  ASSERT_TRUE(rotated && erased && read);
  EXPECT_TRUE(*rotated);
  EXPECT_TRUE(*erased);
  EXPECT_EQ(read->front(), (MasterKeyEntry{.key_id = "mk/a+b=_.:@-9",
                                           .erased_at = "2026-11-24t09:30:00.123456789-05:00"}));
}

TEST(RedisMasterKeyStore, ErasingAPatientWithoutAKeyLeavesAMarkAndAnswersFalse) {
  testing::RedisServer redis;
  auto store = stores_for(redis);
  ASSERT_TRUE(store);

  auto erased = store->erase_master_key("eu", patient(7), "2026-11-24T09:30:00Z");
  const std::vector<std::pair<Hash32, MasterKeyEntry>> create{{patient(7), live("mk-late")}};
  auto created = store->create_master_keys("eu", create);

  ASSERT_TRUE(erased && created);
  EXPECT_FALSE(*erased);
  EXPECT_EQ(*created, std::vector<MasterKeyEntry>{{.erased_at = "2026-11-24T09:30:00Z"}});
}

TEST(RedisMasterKeyStore, EntriesWithoutACanonicalFormAreRefusedBeforeWriting) {
  testing::RedisServer redis;
  auto store = stores_for(redis);
  ASSERT_TRUE(store);
  const std::vector<std::pair<Hash32, MasterKeyEntry>> quote{{patient(1), live("a\"b")}};
  const std::vector<std::pair<Hash32, MasterKeyEntry>> empty{{patient(1), live("k", "kek", {})}};

  auto with_quote = store->create_master_keys("eu", quote);
  auto without_key = store->create_master_keys("eu", empty);
  auto bad_time = store->erase_master_key("eu", patient(1), "yesterday");

  ASSERT_FALSE(with_quote);
  EXPECT_EQ(with_quote.error().code, ErrorCode::kInvalidInput);
  ASSERT_FALSE(without_key);
  EXPECT_EQ(without_key.error().code, ErrorCode::kInvalidInput);
  ASSERT_FALSE(bad_time);
  EXPECT_EQ(bad_time.error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(redis_cli(redis, "DBSIZE"), "0");
}

TEST(RedisMasterKeyStore, AMalformedEntryIsAnIntegrityErrorNamingOnlyItsKey) {
  testing::RedisServer redis;
  auto store = stores_for(redis);
  ASSERT_TRUE(store);
  const std::string key = mk_key(patient(1));
  const std::string content = R"({"v":1,"keyId":"leak-me","kek":"x"})";
  redis_cli(redis, "SET " + key + " '" + content + "'");
  const std::vector<Hash32> keys{patient(1)};
  const std::vector<std::pair<Hash32, MasterKeyEntry>> create{{patient(1), live("mk-a")}};

  auto read = store->master_keys("eu", keys);
  auto created = store->create_master_keys("eu", create);
  auto erased = store->erase_master_key("eu", patient(1), "2026-11-24T09:30:00Z");
  auto visited = store->for_each_master_key(
      "eu", [](const Hash32&, const MasterKeyEntry&) -> Status { return Ok{}; });

  ASSERT_FALSE(read);
  ASSERT_FALSE(created);
  ASSERT_FALSE(erased);
  ASSERT_FALSE(visited);
  for (const Error* e : {&read.error(), &created.error(), &erased.error(), &visited.error()}) {
    EXPECT_EQ(e->code, ErrorCode::kIntegrity);
    EXPECT_NE(e->message.find(key), std::string::npos) << e->message;
    EXPECT_EQ(e->message.find("leak-me"), std::string::npos) << e->message;
  }
  EXPECT_EQ(redis_cli(redis, "GET " + key), content);  // left for an operator to look at
}

TEST(RedisMasterKeyStore, ForEachVisitsEveryEntryAcrossManyScanPages) {
  testing::RedisServer redis;
  auto store = stores_for(redis);
  ASSERT_TRUE(store);
  constexpr int kPatients = 1234;
  std::vector<std::pair<Hash32, MasterKeyEntry>> entries;
  entries.reserve(kPatients);
  for (int i = 0; i < kPatients; ++i) {
    entries.emplace_back(patient(i), live("mk-" + std::to_string(i)));
  }
  ASSERT_TRUE(store->create_master_keys("eu", entries));
  ASSERT_TRUE(store->erase_master_key("eu", patient(0), "2026-11-24T09:30:00Z"));
  redis_cli(redis, "SET mk:not-a-patient-key x");  // skipped: not 64 hex digits
  ASSERT_TRUE(put_all(*store, "eu", blobs({{"aa11", Bytes{1}}})));

  std::set<Hash32> seen;
  int erased = 0;
  auto visited =
      store->for_each_master_key("eu", [&](const Hash32& p, const MasterKeyEntry& e) -> Status {
        seen.insert(p);
        if (e.erased()) ++erased;
        if (!e.erased() && e != live("mk-" + std::to_string(p[0] * 256 + p[1]))) {
          return Error{ErrorCode::kIntegrity, "wrong entry", ""};
        }
        return Ok{};
      });

  ASSERT_TRUE(visited) << visited.error().message;
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kPatients));
  EXPECT_EQ(erased, 1);
}

TEST(RedisMasterKeyStore, ForEachStopsAtTheVisitorsFirstError) {
  testing::RedisServer redis;
  auto store = stores_for(redis);
  ASSERT_TRUE(store);
  const std::vector<std::pair<Hash32, MasterKeyEntry>> entries{{patient(1), live("a")},
                                                               {patient(2), live("b")}};
  ASSERT_TRUE(store->create_master_keys("eu", entries));

  int calls = 0;
  auto visited = store->for_each_master_key("eu", [&](const Hash32&, const MasterKeyEntry&) {
    ++calls;
    return Status(Error{ErrorCode::kConflict, "stop", ""});
  });

  ASSERT_FALSE(visited);
  EXPECT_EQ(visited.error().code, ErrorCode::kConflict);
  EXPECT_EQ(calls, 1);
}

TEST(RedisMasterKeyStore, TheVisitorMayRotateTheEntryItIsGiven) {
  testing::RedisServer redis;
  auto store = stores_for(redis);
  ASSERT_TRUE(store);
  const std::vector<std::pair<Hash32, MasterKeyEntry>> entries{{patient(1), live("a")}};
  ASSERT_TRUE(store->create_master_keys("eu", entries));

  auto visited =
      store->for_each_master_key("eu", [&](const Hash32& p, const MasterKeyEntry& e) -> Status {
        auto r = store->replace_master_key("eu", p, e, live(e.key_id, "new-kek"));
        if (!r) return r.error();
        return Ok{};
      });

  ASSERT_TRUE(visited) << visited.error().message;
  const std::vector<Hash32> keys{patient(1)};
  EXPECT_EQ(store->master_keys("eu", keys)->front(), live("a", "new-kek"));
}

// Connections

TEST(RedisRegionStores, AnAclUserConnectsWithUsernameAndPassword) {
  testing::RedisServer redis;
  ASSERT_EQ(redis_cli(redis, "ACL SETUSER ledger on '>s3cret-pw' '~*' '+@all'"), "OK");

  auto store = make_region_stores(one_region(redis.port(), "ledger", "s3cret-pw"));
  auto wrong = make_region_stores(one_region(redis.port(), "ledger", "guessed-pw"));

  ASSERT_TRUE(store) << store.error().message;
  EXPECT_TRUE(put_all(**store, "eu", blobs({{"aa11", Bytes{1}}})));
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, ErrorCode::kPermissionDenied);
  const std::string& message = wrong.error().message;
  EXPECT_NE(message.find("redis region eu (127.0.0.1:" + std::to_string(redis.port()) + ")"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("ledger"), std::string::npos) << message;
  EXPECT_EQ(message.find("guessed-pw"), std::string::npos) << message;
}

TEST(RedisRegionStores, ThePasswordAloneAuthenticatesTheDefaultUser) {
  testing::RedisServer redis;
  ASSERT_EQ(redis_cli(redis, "CONFIG SET requirepass pw-default"), "OK");

  auto store = make_region_stores(one_region(redis.port(), "", "pw-default"));
  auto wrong = make_region_stores(one_region(redis.port(), "", "nope-pw"));
  auto none = make_region_stores(one_region(redis.port()));

  ASSERT_TRUE(store) << store.error().message;
  EXPECT_TRUE(put_all(**store, "eu", blobs({{"aa11", Bytes{1}}})));
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(wrong.error().message.find("nope-pw"), std::string::npos);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, ErrorCode::kPermissionDenied);
}

TEST(RedisRegionStores, ADownServerIsUnavailableAndARestartedOneIsUsedAgain) {
  testing::RedisServer redis;
  auto store = stores_for(redis);
  ASSERT_TRUE(store);
  ASSERT_TRUE(put_all(*store, "eu", blobs({{"c1", Bytes{1}}})));

  redis.stop();
  auto down = put_all(*store, "eu", blobs({{"c2", Bytes{2}}}));
  const std::vector<Hash32> keys{patient(1)};
  auto keys_down = store->master_keys("eu", keys);
  ASSERT_FALSE(down);
  EXPECT_EQ(down.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(down.error().message.find("redis region eu"), std::string::npos)
      << down.error().message;
  ASSERT_FALSE(keys_down);
  EXPECT_EQ(keys_down.error().code, ErrorCode::kUnavailable);

  redis.restart();
  EXPECT_TRUE(put_all(*store, "eu", blobs({{"c3", Bytes{3}}})));
  EXPECT_EQ(*store->get("eu", "c3"), Bytes{3});
  const std::vector<std::pair<Hash32, MasterKeyEntry>> create{{patient(1), live("mk-a")}};
  EXPECT_TRUE(store->create_master_keys("eu", create));
}

TEST(RedisRegionStores, AnUnreachableRegionIsRefusedAtStart) {
  const int port = testing::free_port();  // nothing listens there

  auto store = make_region_stores(one_region(port));

  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(store.error().message.find("redis region eu"), std::string::npos);
}

TEST(RedisRegionStores, CallsFromSeveralThreadsShareARegionSafely) {
  testing::RedisServer redis;
  auto store = stores_for(redis);
  ASSERT_TRUE(store);

  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&store, t] {
      for (int i = 0; i < 50; ++i) {
        const std::vector<std::pair<Hash32, MasterKeyEntry>> create{
            {patient(t * 100 + i), live("k" + std::to_string(t))}};
        EXPECT_TRUE(store->create_master_keys("eu", create));
      }
    });
  }
  for (auto& t : threads) t.join();

  int count = 0;
  ASSERT_TRUE(store->for_each_master_key("eu", [&](const Hash32&, const MasterKeyEntry&) {
    ++count;
    return Status(Ok{});
  }));
  EXPECT_EQ(count, 200);
}

// PatientDirectory

TEST(RedisPatientDirectory, ARecordLivesInThePatientsRegionAndIsFoundFromAnyRegion) {
  testing::RedisServer eu;
  testing::RedisServer us;
  auto store = make_region_stores({.regions = {{"eu", {.host = "127.0.0.1", .port = eu.port()}},
                                               {"us", {.host = "127.0.0.1", .port = us.port()}}}});
  ASSERT_TRUE(store);
  const std::pair<Hash32, std::string> de{patient(1), "DE"};
  const std::pair<Hash32, std::string> us_patient{patient(2), "US"};

  ASSERT_TRUE((*store)->record_countries("eu", std::span(&de, 1), 1000));
  ASSERT_TRUE((*store)->record_countries("us", std::span(&us_patient, 1), 1000));
  const std::vector<Hash32> asked = {patient(1), patient(2), patient(3)};
  auto found = (*store)->recorded_countries(asked);

  ASSERT_TRUE(found) << found.error().message;
  ASSERT_EQ(found->size(), 3u);
  EXPECT_EQ((*found)[0],
            (ports::PatientCountry{.country = "DE", .region = "eu", .recorded_ms = 1000}));
  EXPECT_EQ((*found)[1],
            (ports::PatientCountry{.country = "US", .region = "us", .recorded_ms = 1000}));
  EXPECT_FALSE((*found)[2]);
  const std::string key = country_key(to_hex(patient(1)));
  EXPECT_EQ(redis_cli(eu, "GET " + key), "DE|1000");
  EXPECT_EQ(redis_cli(us, "EXISTS " + key), "0");
}

TEST(RedisPatientDirectory, APatientWhoMovedIsFoundInTheNewRegionOnlyAndTheNewestRecordWins) {
  testing::RedisServer eu;
  testing::RedisServer us;
  auto store = make_region_stores({.regions = {{"eu", {.host = "127.0.0.1", .port = eu.port()}},
                                               {"us", {.host = "127.0.0.1", .port = us.port()}}}});
  ASSERT_TRUE(store);
  const std::pair<Hash32, std::string> before{patient(7), "FR"};
  const std::pair<Hash32, std::string> after{patient(7), "US"};
  ASSERT_TRUE((*store)->record_countries("eu", std::span(&before, 1), 1000));
  ASSERT_TRUE((*store)->record_countries("us", std::span(&after, 1), 2000));
  const std::string key = country_key(to_hex(patient(7)));
  EXPECT_EQ(redis_cli(eu, "EXISTS " + key), "0");

  // A crash between the write and the removal leaves both; the newer one answers.
  ASSERT_EQ(redis_cli(eu, "SET " + key + " 'FR|1500'"), "OK");
  const std::vector<Hash32> asked = {patient(7)};
  auto found = (*store)->recorded_countries(asked);
  ASSERT_TRUE(found);
  EXPECT_EQ((*found)[0]->country, "US");
  EXPECT_EQ((*found)[0]->region, "us");
}

// Issue 14: with one region down, look-ups and records go on in the others; the older record
// the down region keeps is removed once it answers, unless the patient moved back meanwhile.
TEST(RedisPatientDirectory, ARegionThatIsDownIsNamedAndItsOlderRecordIsForgottenOnceBack) {
  testing::RedisServer eu;
  testing::RedisServer us;
  auto store = make_region_stores({.regions = {{"eu", {.host = "127.0.0.1", .port = eu.port()}},
                                               {"us", {.host = "127.0.0.1", .port = us.port()}}}});
  ASSERT_TRUE(store);
  const std::pair<Hash32, std::string> before{patient(8), "DE"};
  const std::pair<Hash32, std::string> after{patient(8), "US"};
  const std::pair<Hash32, std::string> other{patient(9), "DE"};
  ASSERT_TRUE((*store)->record_countries("eu", std::span(&before, 1), 1000));
  ASSERT_TRUE((*store)->record_countries("eu", std::span(&other, 1), 1000));
  const std::vector<std::string> skip_eu{"eu"};
  const std::vector<Hash32> asked = {patient(8), patient(9)};

  auto left = (*store)->record_countries_reachable("us", std::span(&after, 1), 2000, skip_eu);
  auto found = (*store)->reachable_countries(asked, skip_eu);

  ASSERT_TRUE(left) << left.error().message;
  EXPECT_EQ(*left, skip_eu);
  ASSERT_TRUE(found) << found.error().message;
  EXPECT_EQ(found->unanswered, skip_eu);
  EXPECT_EQ(found->countries[0]->region, "us");
  EXPECT_FALSE(found->countries[1]);  // unknown: its record is in eu
  const std::string key = country_key(to_hex(patient(8)));
  EXPECT_EQ(redis_cli(eu, "GET " + key), "DE|1000");

  const std::vector<std::pair<Hash32, std::int64_t>> owed{{patient(8), 2000}};
  ASSERT_TRUE((*store)->forget_countries_before("eu", owed));
  EXPECT_EQ(redis_cli(eu, "EXISTS " + key), "0");
  // A record newer than the owed removal (the patient moved back) stays.
  ASSERT_EQ(redis_cli(eu, "SET " + key + " 'DE|3000'"), "OK");
  ASSERT_TRUE((*store)->forget_countries_before("eu", owed));
  EXPECT_EQ(redis_cli(eu, "GET " + key), "DE|3000");

  // A region that does not answer is named, not an error.
  eu.stop();
  auto without_eu = (*store)->reachable_countries(asked, {});
  ASSERT_TRUE(without_eu) << without_eu.error().message;
  EXPECT_EQ(without_eu->unanswered, skip_eu);
  EXPECT_FALSE((*store)->recorded_countries(asked));
}

TEST(RedisPatientDirectory, ForgettingRemovesEveryRecordAndMalformedRecordsAreIntegrityErrors) {
  testing::RedisServer redis;
  auto store = stores_for(redis);
  ASSERT_TRUE(store);
  const std::pair<Hash32, std::string> de{patient(4), "DE"};
  ASSERT_TRUE(store->record_countries("eu", std::span(&de, 1), 5));

  auto forgotten = store->forget_patient(patient(4));
  ASSERT_TRUE(forgotten);
  EXPECT_TRUE(*forgotten);
  EXPECT_FALSE(*store->forget_patient(patient(4)));
  const std::vector<Hash32> asked = {patient(4)};
  EXPECT_FALSE((*store->recorded_countries(asked))[0]);

  ASSERT_EQ(redis_cli(redis, "SET " + country_key(to_hex(patient(4))) + " Germany"), "OK");
  auto bad = store->recorded_countries(asked);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kIntegrity);
  const std::pair<Hash32, std::string> name{patient(5), "Germany"};
  auto refused = store->record_countries("eu", std::span(&name, 1), 5);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidInput);
}

// Issue 14: releasing a refused event's claims, and the records a merkle re-delivery reads.

std::optional<std::string> claim(RegionStores& store, std::uint64_t version) {
  const std::vector<ports::VersionRef> refs{{"beef", version}};
  return store.claimed_versions("eu", refs).value().front();
}

TEST(RedisBlobStore, AReleasedClaimGoesWithItsBlobOnlyWhileItNamesThatBlob) {
  testing::RedisServer redis;
  auto store = stores_for(redis);
  ASSERT_TRUE(store);
  const std::string mine(64, 'a'), theirs(64, 'b'), lost(64, 'c');
  // Version 2 was claimed by another writer's blob; this caller's `lost` is not stored.
  ASSERT_TRUE(put_all(*store, "eu", std::vector{version_blob(mine, 1), version_blob(theirs, 2)}));
  const std::vector<ports::ClaimedBlob> released{{"beef", 1, mine}, {"beef", 2, lost}};

  ASSERT_TRUE(store->release_claims("eu", released));

  EXPECT_EQ(claim(*store, 1), std::nullopt);
  EXPECT_EQ(store->get("eu", mine).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(claim(*store, 2), theirs);
  EXPECT_TRUE(store->get("eu", theirs));
  EXPECT_EQ(redis_cli(redis, "EXISTS " + claims_key("beef")), "1");
  ASSERT_TRUE(store->release_claims("eu", released));  // re-sent: nothing left to do
  EXPECT_EQ(claim(*store, 2), theirs);
}

TEST(RedisBlobStore, AClaimWhoseVersionIsAnchoredOrPendingIsNotReleased) {
  testing::RedisServer redis;
  auto store = stores_for(redis);
  ASSERT_TRUE(store);
  const std::string one(64, 'a'), two(64, 'b');
  ASSERT_TRUE(put_all(*store, "eu", std::vector{version_blob(one, 1), version_blob(two, 2)}));
  const std::vector<ports::PointerRecordWrite> record{{"beef", 1, "{}"}},
      pending{{"beef", 2, "{}"}};
  ASSERT_TRUE(store->put_pointer_records("eu", record));
  ASSERT_TRUE(store->put_pending_anchors("eu", pending));
  const std::vector<ports::ClaimedBlob> released{{"beef", 1, one}, {"beef", 2, two}};

  ASSERT_TRUE(store->release_claims("eu", released));

  EXPECT_EQ(claim(*store, 1), one);
  EXPECT_EQ(claim(*store, 2), two);
  EXPECT_TRUE(store->get("eu", one));
  EXPECT_TRUE(store->get("eu", two));
}

TEST(RedisBlobStore, ReleasingRefusesWhatIsNotAContentHash) {
  testing::RedisServer redis;
  auto store = stores_for(redis);
  ASSERT_TRUE(store);

  const std::vector<ports::ClaimedBlob> bad{{"beef", 1, "*"}};
  auto refused = store->release_claims("eu", bad);

  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidInput);
}

TEST(RedisBlobStore, APendingAnchorIsReadBesideTheRecordAndGoesWhenTheRecordIsWritten) {
  testing::RedisServer redis;
  auto store = stores_for(redis);
  ASSERT_TRUE(store);
  const std::vector<ports::PointerRecordWrite> pending{{"beef", 1, R"({"pending":1})"}};
  const std::vector<ports::PointerRecordWrite> record{{"beef", 1, R"({"record":1})"}};
  const std::vector<ports::VersionRef> refs{{"beef", 1}, {"beef", 2}};
  ASSERT_TRUE(store->put_pending_anchors("eu", pending));

  auto sent = store->anchor_records("eu", refs);
  ASSERT_TRUE(store->put_pointer_records("eu", record));
  auto recorded = store->anchor_records("eu", refs);

  ASSERT_TRUE(sent) << sent.error().message;
  ASSERT_EQ(sent->size(), 2u);
  EXPECT_EQ((*sent)[0].record, std::nullopt);
  EXPECT_EQ((*sent)[0].pending, R"({"pending":1})");
  EXPECT_EQ((*sent)[1].record, std::nullopt);
  EXPECT_EQ((*sent)[1].pending, std::nullopt);
  ASSERT_TRUE(recorded);
  EXPECT_EQ((*recorded)[0].record, R"({"record":1})");
  EXPECT_EQ((*recorded)[0].pending, std::nullopt);
  EXPECT_EQ(redis_cli(redis, "EXISTS " + pending_key("beef")), "0");
}

TEST(RedisPatientDirectory, TheFirstLinkOfARecordWinsAndIsKeptInTheLinksRegionOnly) {
  testing::RedisServer eu;
  testing::RedisServer us;
  auto store = make_region_stores({.regions = {{"eu", {.host = "127.0.0.1", .port = eu.port()}},
                                               {"us", {.host = "127.0.0.1", .port = us.port()}}},
                                   .links_region = "us"});
  ASSERT_TRUE(store) << store.error().message;
  const std::vector<std::pair<Hash32, Hash32>> first = {{patient(1), patient(10)},
                                                        {patient(2), patient(10)}};
  auto linked = (*store)->link_persons(first);
  ASSERT_TRUE(linked) << linked.error().message;
  EXPECT_EQ(*linked, (std::vector<Hash32>{patient(10), patient(10)}));
  // Another person for a linked record: the record keeps its first person.
  const std::vector<std::pair<Hash32, Hash32>> again = {{patient(1), patient(11)},
                                                        {patient(3), patient(11)}};
  linked = (*store)->link_persons(again);
  ASSERT_TRUE(linked) << linked.error().message;
  EXPECT_EQ(*linked, (std::vector<Hash32>{patient(10), patient(11)}));

  const std::vector<Hash32> asked = {patient(1), patient(3), patient(4)};
  auto found = (*store)->linked_persons(asked);
  ASSERT_TRUE(found) << found.error().message;
  ASSERT_EQ(found->size(), 3u);
  EXPECT_EQ((*found)[0], patient(10));
  EXPECT_EQ((*found)[1], patient(11));
  EXPECT_FALSE((*found)[2]);
  const std::string key = link_key(to_hex(patient(1)));
  EXPECT_EQ(redis_cli(us, "GET " + key), to_hex(patient(10)));
  EXPECT_EQ(redis_cli(eu, "EXISTS " + key), "0");

  // A link that is not a person key is not taken for one.
  redis_cli(us, "SET " + link_key(to_hex(patient(4))) + " not-hex");
  EXPECT_FALSE((*store)->linked_persons(asked));
  EXPECT_FALSE(make_region_stores(
      {.regions = {{"eu", {.host = "127.0.0.1", .port = eu.port()}}}, .links_region = "ru"}))
      << "a links region that is not configured is refused";
}

TEST(RedisConsentRecords, EachConsentsGrantsReplaceItsOwnAndAreReadAcrossConsents) {
  testing::RedisServer eu;
  testing::RedisServer us;
  auto store = make_region_stores({.regions = {{"eu", {.host = "127.0.0.1", .port = eu.port()}},
                                               {"us", {.host = "127.0.0.1", .port = us.port()}}},
                                   .links_region = "us"});
  ASSERT_TRUE(store) << store.error().message;
  ports::Address hospital{}, clinic{};
  hospital.fill(0x3c);
  clinic.fill(0x70);
  const std::vector<ports::ConsentedGrant> first = {{hospital, "TREAT", 0}, {clinic, "HRESCH", 99}};
  const std::vector<ports::ConsentedGrant> second = {{clinic, "TREAT", 1800000000}};
  ASSERT_TRUE((*store)->put_consented_grants(patient(1), patient(20), first));
  ASSERT_TRUE((*store)->put_consented_grants(patient(1), patient(21), second));
  auto both = (*store)->consented_grants(patient(1));
  ASSERT_TRUE(both) << both.error().message;
  EXPECT_EQ(both->size(), 3u);
  EXPECT_TRUE(ports::consents_to(*both, clinic, "TREAT", 1700000000));
  EXPECT_FALSE(ports::consents_to(*both, clinic, "TREAT", 1800000000));  // expired then
  EXPECT_FALSE(ports::consents_to(*both, clinic, "HRESCH", 100));
  EXPECT_TRUE(ports::consents_to(*both, hospital, "TREAT", 4000000000));  // no end
  EXPECT_EQ(redis_cli(eu, "EXISTS " + consented_key(to_hex(patient(1)))), "0");

  // The first Consent withdrawn: its grants go, the second's stay.
  ASSERT_TRUE((*store)->put_consented_grants(patient(1), patient(20), {}));
  auto left = (*store)->consented_grants(patient(1));
  ASSERT_TRUE(left) << left.error().message;
  EXPECT_EQ(*left, second);
  auto none = (*store)->consented_grants(patient(2));
  ASSERT_TRUE(none) << none.error().message;
  EXPECT_TRUE(none->empty());
}

}  // namespace
}  // namespace fl::redis
