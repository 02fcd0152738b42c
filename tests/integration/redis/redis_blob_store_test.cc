// RedisBlobStore against real redis-server processes.
#include "fl/adapters/redis/redis_blob_store.h"

#include "support/services.h"

#include <gtest/gtest.h>

namespace fl::redis {
namespace {

RedisConfig one_region(int port) {
  return {.regions = {{"eu", RedisEndpoint{.host = "127.0.0.1", .port = port, .timeout_ms = 500}}}};
}

std::vector<ports::BlobWrite> blobs(std::initializer_list<std::pair<std::string, Bytes>> items) {
  std::vector<ports::BlobWrite> out;
  for (const auto& [k, b] : items) out.push_back({.key = k, .blob = b});
  return out;
}

TEST(RedisBlobStore, StoresAndReadsBlobsWithBinaryContent) {
  testing::RedisServer redis;
  auto store = make_blob_store(one_region(redis.port()));
  ASSERT_TRUE(store) << store.error().message;
  const Bytes binary = {0, 1, 2, 0xff, '\n', 0, 0x80};

  ASSERT_TRUE((*store)->put_if_absent("eu", blobs({{"aa11", binary}, {"bb22", Bytes{42}}})));

  EXPECT_EQ(*(*store)->get("eu", "aa11"), binary);
  EXPECT_EQ(*(*store)->get("eu", "bb22"), Bytes{42});
  EXPECT_EQ((*store)->storage_key("aa11"), "blob:aa11");
}

TEST(RedisBlobStore, WritingAnExistingKeyChangesNothing) {
  testing::RedisServer redis;
  auto store = make_blob_store(one_region(redis.port()));
  ASSERT_TRUE(store);
  ASSERT_TRUE((*store)->put_if_absent("eu", blobs({{"cafe", Bytes{1, 2, 3}}})));

  ASSERT_TRUE((*store)->put_if_absent("eu", blobs({{"cafe", Bytes{9, 9, 9}}})));

  EXPECT_EQ(*(*store)->get("eu", "cafe"), (Bytes{1, 2, 3}));
}

TEST(RedisBlobStore, AMissingBlobIsNotFound) {
  testing::RedisServer redis;
  auto store = make_blob_store(one_region(redis.port()));
  ASSERT_TRUE(store);

  auto blob = (*store)->get("eu", "0000");

  ASSERT_FALSE(blob);
  EXPECT_EQ(blob.error().code, ErrorCode::kNotFound);
}

TEST(RedisBlobStore, RegionsKeepTheirBlobsApart) {
  testing::RedisServer eu;
  testing::RedisServer us;
  auto store = make_blob_store({.regions = {{"eu", {.host = "127.0.0.1", .port = eu.port()}},
                                            {"us", {.host = "127.0.0.1", .port = us.port()}}}});
  ASSERT_TRUE(store);

  ASSERT_TRUE((*store)->put_if_absent("eu", blobs({{"e1", Bytes{1}}})));
  ASSERT_TRUE((*store)->put_if_absent("us", blobs({{"u1", Bytes{2}}})));

  EXPECT_TRUE((*store)->get("eu", "e1"));
  EXPECT_FALSE((*store)->get("us", "e1"));
  EXPECT_FALSE((*store)->get("eu", "u1"));
  auto unknown = (*store)->put_if_absent("apac", blobs({{"x", Bytes{3}}}));
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::kInvalidInput);
}

TEST(RedisBlobStore, ADownServerIsUnavailableAndARestartedOneIsUsedAgain) {
  testing::RedisServer redis;
  auto store = make_blob_store(one_region(redis.port()));
  ASSERT_TRUE(store);
  ASSERT_TRUE((*store)->put_if_absent("eu", blobs({{"k1", Bytes{1}}})));

  redis.stop();
  auto down = (*store)->put_if_absent("eu", blobs({{"k2", Bytes{2}}}));
  ASSERT_FALSE(down);
  EXPECT_EQ(down.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(down.error().message.find("redis region eu"), std::string::npos)
      << down.error().message;

  redis.restart();
  EXPECT_TRUE((*store)->put_if_absent("eu", blobs({{"k3", Bytes{3}}})));
  EXPECT_EQ(*(*store)->get("eu", "k3"), Bytes{3});
}

TEST(RedisBlobStore, AnUnreachableRegionIsRefusedAtStart) {
  const int port = testing::free_port();  // nothing listens there

  auto store = make_blob_store(one_region(port));

  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace fl::redis
