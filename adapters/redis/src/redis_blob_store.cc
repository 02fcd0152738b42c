#include "fl/adapters/redis/redis_blob_store.h"

#include "fl/base/c_handle.h"

#include <hiredis/hiredis.h>

#include <charconv>

namespace fl::redis {
namespace {

using ContextPtr = CHandle<redisContext, &redisFree>;
using ReplyPtr = CHandle<redisReply, &freeReplyObject>;

std::string endpoint_name(const std::string& region, const RedisEndpoint& e) {
  return "redis region " + region + " (" + e.host + ":" + std::to_string(e.port) + ")";
}

Error unavailable(const std::string& where, const std::string& what) {
  return Error{ErrorCode::kUnavailable, where + ": " + what, where};
}

// One region's connection, re-opened on demand.
class Connection {
 public:
  Connection(std::string region, RedisEndpoint endpoint)
      : region_(std::move(region)),
        endpoint_(std::move(endpoint)),
        name_(endpoint_name(region_, endpoint_)) {}

  Status connect() {
    const timeval timeout{endpoint_.timeout_ms / 1000,
                          static_cast<suseconds_t>(endpoint_.timeout_ms % 1000) * 1000};
    ContextPtr ctx(redisConnectWithTimeout(endpoint_.host.c_str(), endpoint_.port, timeout));
    if (!ctx) return unavailable(name_, "out of memory creating a connection");
    if (ctx->err != 0) return unavailable(name_, ctx->errstr);
    redisSetTimeout(ctx.get(), timeout);
    ctx_ = std::move(ctx);
    if (!endpoint_.password.empty()) {
      auto r = raw_command({"AUTH", endpoint_.password});
      if (!r) return r.error();
      if ((*r)->type == REDIS_REPLY_ERROR) {
        ctx_.reset();
        return Error{ErrorCode::kPermissionDenied, name_ + ": AUTH refused", name_};
      }
    }
    if (endpoint_.db != 0) {
      const std::string db = std::to_string(endpoint_.db);
      auto r = raw_command({"SELECT", db});
      if (!r) return r.error();
    }
    auto pong = raw_command({"PING"});
    if (!pong) return pong.error();
    return Ok{};
  }

  // Sends all commands in one pipeline and reads every reply.
  Result<std::vector<ReplyPtr>> pipeline(
      const std::vector<std::vector<std::string_view>>& commands) {
    Status first = run_pipeline(commands);
    if (first) return std::move(replies_);
    // One reconnect: a Redis restart or an idle connection closed by a proxy is routine.
    ctx_.reset();
    if (auto c = connect(); !c) return c.error();
    if (auto again = run_pipeline(commands); !again) return again.error();
    return std::move(replies_);
  }

  Result<ReplyPtr> command(const std::vector<std::string_view>& args) {
    auto replies = pipeline({args});
    if (!replies) return replies.error();
    return std::move(replies->front());
  }

  const std::string& name() const { return name_; }

 private:
  // One command on the current connection, without the reconnect (used while connecting).
  Result<ReplyPtr> raw_command(const std::vector<std::string_view>& args) {
    if (auto s = run_pipeline({args}); !s) return s.error();
    return std::move(replies_.front());
  }

  Status run_pipeline(const std::vector<std::vector<std::string_view>>& commands) {
    if (!ctx_) {
      if (auto c = connect(); !c) return c;
    }
    replies_.clear();  // after connect(), whose own commands use replies_ too
    for (const auto& args : commands) {
      std::vector<const char*> argv;
      std::vector<size_t> lengths;
      for (auto a : args) {
        argv.push_back(a.data());
        lengths.push_back(a.size());
      }
      if (redisAppendCommandArgv(ctx_.get(), static_cast<int>(argv.size()), argv.data(),
                                 lengths.data()) != REDIS_OK) {
        return unavailable(name_, ctx_->errstr);
      }
    }
    for (std::size_t i = 0; i < commands.size(); ++i) {
      void* raw = nullptr;
      if (redisGetReply(ctx_.get(), &raw) != REDIS_OK || raw == nullptr) {
        const std::string why = ctx_->err != 0 ? ctx_->errstr : "no reply";
        ctx_.reset();
        return unavailable(name_, why);
      }
      replies_.emplace_back(static_cast<redisReply*>(raw));
    }
    return Ok{};
  }

  std::string region_;
  RedisEndpoint endpoint_;
  std::string name_;
  ContextPtr ctx_;
  std::vector<ReplyPtr> replies_;
};

class RedisBlobStore final : public ports::BlobStore {
 public:
  explicit RedisBlobStore(std::map<std::string, std::unique_ptr<Connection>> regions)
      : regions_(std::move(regions)) {}

  Status put_if_absent(const std::string& region,
                       std::span<const ports::BlobWrite> blobs) override {
    auto conn = connection(region);
    if (!conn) return conn.error();
    std::vector<std::string> keys;
    keys.reserve(blobs.size());
    std::vector<std::vector<std::string_view>> commands;
    for (const auto& b : blobs) keys.push_back(blob_key(b.key));
    for (std::size_t i = 0; i < blobs.size(); ++i) {
      commands.push_back({"SET", keys[i], as_chars(blobs[i].blob), "NX"});
    }
    auto replies = (*conn)->pipeline(commands);
    if (!replies) return replies.error();
    for (const auto& r : *replies) {
      if (r->type == REDIS_REPLY_ERROR) {
        return Error{ErrorCode::kUnavailable, (*conn)->name() + ": " + std::string(r->str, r->len),
                     (*conn)->name()};
      }
    }
    return Ok{};
  }

  Result<ports::Bytes> get(const std::string& region, const std::string& key) override {
    auto conn = connection(region);
    if (!conn) return conn.error();
    const std::string redis_key = blob_key(key);
    auto reply = (*conn)->command({"GET", redis_key});
    if (!reply) return reply.error();
    if ((*reply)->type == REDIS_REPLY_NIL) {
      return Error{ErrorCode::kNotFound, "no blob with this content hash", key};
    }
    if ((*reply)->type != REDIS_REPLY_STRING) {
      return Error{ErrorCode::kUnavailable, (*conn)->name() + ": unexpected reply to GET", key};
    }
    const auto* p = reinterpret_cast<const std::uint8_t*>((*reply)->str);
    return ports::Bytes(p, p + (*reply)->len);
  }

  Status put_pointer_records(const std::string& region,
                             std::span<const ports::PointerRecordWrite> records) override {
    auto conn = connection(region);
    if (!conn) return conn.error();
    std::vector<std::string> keys, versions;
    keys.reserve(records.size());
    versions.reserve(records.size());
    for (const auto& r : records) {
      keys.push_back(pointer_key(r.resource_key));
      versions.push_back(std::to_string(r.version));
    }
    std::vector<std::vector<std::string_view>> commands;
    for (std::size_t i = 0; i < records.size(); ++i) {
      commands.push_back({"HSET", keys[i], versions[i], records[i].json});
    }
    auto replies = (*conn)->pipeline(commands);
    if (!replies) return replies.error();
    for (const auto& r : *replies) {
      if (r->type == REDIS_REPLY_ERROR) {
        return Error{ErrorCode::kUnavailable, (*conn)->name() + ": " + std::string(r->str, r->len),
                     (*conn)->name()};
      }
    }
    return Ok{};
  }

  Result<std::map<std::uint64_t, std::string>> pointer_records(
      const std::string& region, const std::string& resource_key) override {
    auto conn = connection(region);
    if (!conn) return conn.error();
    const std::string key = pointer_key(resource_key);
    auto reply = (*conn)->command({"HGETALL", key});
    if (!reply) return reply.error();
    const redisReply* r = reply->get();
    // A flat array of field, value pairs (RESP2, which this connection speaks).
    if (r->type != REDIS_REPLY_ARRAY) {
      return Error{ErrorCode::kUnavailable, (*conn)->name() + ": unexpected reply to HGETALL", key};
    }
    std::map<std::uint64_t, std::string> out;
    for (std::size_t i = 0; i + 1 < r->elements; i += 2) {
      const redisReply* field = r->element[i];
      const redisReply* value = r->element[i + 1];
      if (field->type != REDIS_REPLY_STRING || value->type != REDIS_REPLY_STRING) continue;
      std::uint64_t version = 0;
      const auto [end, ec] = std::from_chars(field->str, field->str + field->len, version);
      if (ec != std::errc() || end != field->str + field->len) continue;
      out[version] = std::string(value->str, value->len);
    }
    return out;
  }

  std::string storage_key(const std::string& key) const override { return blob_key(key); }

 private:
  Result<Connection*> connection(const std::string& region) {
    auto it = regions_.find(region);
    if (it == regions_.end()) {
      return Error{ErrorCode::kInvalidInput, "no Redis configured for region " + region, region};
    }
    return it->second.get();
  }

  std::map<std::string, std::unique_ptr<Connection>> regions_;
};

}  // namespace

std::string blob_key(std::string_view content_hash_hex) {
  return "blob:" + std::string(content_hash_hex);
}

std::string pointer_key(std::string_view resource_key_hex) {
  return "ptr:" + std::string(resource_key_hex);
}

Result<std::unique_ptr<ports::BlobStore>> make_blob_store(const RedisConfig& config) {
  std::map<std::string, std::unique_ptr<Connection>> regions;
  for (const auto& [region, endpoint] : config.regions) {
    auto conn = std::make_unique<Connection>(region, endpoint);
    if (auto c = conn->connect(); !c) return c.error();
    regions.emplace(region, std::move(conn));
  }
  return std::unique_ptr<ports::BlobStore>(std::make_unique<RedisBlobStore>(std::move(regions)));
}

}  // namespace fl::redis
