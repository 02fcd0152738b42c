#include "fl/adapters/redis/redis_blob_store.h"

#include "fl/base/assert.h"
#include "fl/base/bytes.h"
#include "fl/base/c_handle.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <utility>
#include <vector>

namespace fl::redis {
namespace {

using ContextPtr = CHandle<redisContext, &redisFree>;
using ReplyPtr = CHandle<redisReply, &freeReplyObject>;
using Command = std::vector<std::string_view>;

// The most arguments any command here takes (the release script's EVAL takes 9).
constexpr std::size_t kMaxArgs = 10;

// A pipeline whose commands are made while it is being sent, one group at a time (a blob's
// SET NX and its claim's HSETNX, each blob sealed just before), so that Redis works on the first
// groups while the caller makes the next.
struct Stream {
  std::size_t groups = 0;
  // Makes group i: called once per group, in order, just before its commands are sent; empty
  // when every group is at hand. An error stops the stream and fails the call.
  std::function<Status(std::size_t)> make;
  // Group i's commands once it is made; asked again when a re-opened connection re-sends it.
  std::function<std::span<const Command>(std::size_t)> commands;
};

// Groups of a stream written to the socket at a time: small enough that Redis starts early and
// keeps up with the caller, large enough that the write calls stay few (one per 16 blobs).
constexpr std::size_t kFlushEvery = 16;

// SCAN's page size hint: large enough that a region with a million patients takes a few
// thousand round trips, small enough that one page never blocks Redis noticeably.
constexpr std::string_view kScanCount = "500";

// Replaces the entry only if it still holds `expected`. It also answers 1 when the entry holds
// the replacement already: a call re-sent after a dropped connection finds its own write there,
// and wrapped keys are randomized, so no other writer produces the same bytes.
// KEYS[1] mk key; ARGV[1] expected JSON; ARGV[2] replacement JSON.
constexpr std::string_view kReplaceScript = R"lua(
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  return 1
end
if current == ARGV[2] then return 1 end
return 0
)lua";

// Puts the erasure mark in place, keeping the keyId of a live key. Answers 1 when a live key
// was destroyed, 0 when there was none or it was erased already (the first erasure's time
// stays), -1 when the entry is not in the canonical form (left as it is, for an operator).
// Ids and the time are validated by the caller, so they need no escaping. The patterns are the
// canonical forms, checked a little more loosely than parse_entry() (no lengths or date
// ranges), which has the last word whenever an entry is read.
// KEYS[1] mk key; ARGV[1] erased_at (RFC 3339).
constexpr std::string_view kEraseScript = R"lua(
local id = '[%w%._:/@+=%-]+'
local time = '[%dTZtz:%.%+%-]+'
local current = redis.call('GET', KEYS[1])
if not current then
  redis.call('SET', KEYS[1], '{"v":1,"erased":"' .. ARGV[1] .. '"}')
  return 0
end
local key_id = string.match(current,
    '^{"v":1,"keyId":"(' .. id .. ')","kek":"' .. id .. '","wrapped":"[0-9a-f]+"}$')
if key_id then
  redis.call('SET', KEYS[1], '{"v":1,"keyId":"' .. key_id .. '","erased":"' .. ARGV[1] .. '"}')
  return 1
end
if string.match(current, '^{"v":1,"keyId":"' .. id .. '","erased":"' .. time .. '"}$') or
   string.match(current, '^{"v":1,"erased":"' .. time .. '"}$') then
  return 0
end
return -1
)lua";

// Gives up a version claimed for a blob of a refused event. The claim goes only while it still
// names that blob and nothing anchored the version (no pointer record, no pending anchor): a
// replica that adopted the blob meanwhile keeps it. The blob goes whenever the claim does not
// stay for it: sealed under a random nonce, nothing else names it. Safe to re-send.
// KEYS[1] ver key; KEYS[2] ptr key; KEYS[3] pend key; KEYS[4] blob key;
// ARGV[1] version; ARGV[2] content hash hex.
constexpr std::string_view kReleaseScript = R"lua(
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 or
     redis.call('HEXISTS', KEYS[3], ARGV[1]) == 1 then
    return 0
  end
  redis.call('HDEL', KEYS[1], ARGV[1])
end
redis.call('UNLINK', KEYS[4])
return 1
)lua";

// kReleaseScript's first step, for a cluster, where the blob is in another slot (see
// release_in_cluster): gives up the claim under the same conditions and answers 1 when the blob
// is to go, 0 when the claim stays for it. Safe to re-send.
// KEYS[1] ver key; KEYS[2] ptr key; KEYS[3] pend key (one slot: KeyLayout::kCluster);
// ARGV[1] version; ARGV[2] content hash hex.
constexpr std::string_view kReleaseClaimScript = R"lua(
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 or
     redis.call('HEXISTS', KEYS[3], ARGV[1]) == 1 then
    return 0
  end
  redis.call('HDEL', KEYS[1], ARGV[1])
end
return 1
)lua";

// Removes a patient's recorded country if it was recorded before ARGV[1] (Unix ms): a record
// left in a region that was down when the patient moved, never a newer one. Safe to re-send.
// KEYS[1] cty key; ARGV[1] Unix ms.
constexpr std::string_view kForgetOlderScript = R"lua(
local record = redis.call('GET', KEYS[1])
if not record then return 0 end
local bar = string.find(record, '|', 1, true)
local ms = bar and tonumber(string.sub(record, bar + 1))
if ms and ms < tonumber(ARGV[1]) then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
)lua";

std::string endpoint_name(const std::string& region, const RedisEndpoint& e) {
  return "redis region " + region + " (" + e.host + ":" + std::to_string(e.port) + ")";
}

Error unavailable(const std::string& where, const std::string& what) {
  return Error{ErrorCode::kUnavailable, where + ": " + what, where};
}

// A Redis error reply. Redis error texts name the command and the problem, never a value.
Error reply_error(const std::string& where, const redisReply& reply) {
  const std::string text(reply.str, reply.len);
  const bool denied = text.starts_with("NOPERM") || text.starts_with("NOAUTH");
  return Error{denied ? ErrorCode::kPermissionDenied : ErrorCode::kUnavailable, where + ": " + text,
               where};
}

Error unexpected_reply(const std::string& where, std::string_view command) {
  return unavailable(where, "unexpected reply to " + std::string(command));
}

std::string_view text_of(const redisReply& reply) { return {reply.str, reply.len}; }

// A person key as a link stores it: 64 hex digits.
std::optional<ports::Hash32> person_of(std::string_view hex) {
  auto bytes = parse_hex(hex);
  if (!bytes || bytes->size() != 32) return std::nullopt;
  ports::Hash32 out{};
  std::copy(bytes->begin(), bytes->end(), out.begin());
  return out;
}

// One line of a consented-grants field; nullopt for a line this version does not read.
std::optional<ports::ConsentedGrant> parse_consented(std::string_view line) {
  const auto first = line.find(' ');
  const auto second = first == std::string_view::npos ? first : line.find(' ', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  auto who = parse_hex(line.substr(0, first));
  ports::ConsentedGrant g;
  if (!who || who->size() != g.participant.size()) return std::nullopt;
  std::copy(who->begin(), who->end(), g.participant.begin());
  g.purpose = std::string(line.substr(first + 1, second - first - 1));
  const std::string_view expires = line.substr(second + 1);
  const auto [end, ec] =
      std::from_chars(expires.data(), expires.data() + expires.size(), g.expires_at);
  if (ec != std::errc() || end != expires.data() + expires.size()) return std::nullopt;
  return g;
}

// Every character checked without a branch: on random hex digits the branches of a
// short-circuiting test mispredicted often enough to take a tenth of a store's CPU at 2 KiB.
bool is_lower_hex(std::string_view s) {
  unsigned ok = s.empty() ? 0U : 1U;
  for (char c : s) {
    const unsigned u = static_cast<unsigned char>(c);
    ok &= static_cast<unsigned>(u - '0' < 10U) | static_cast<unsigned>(u - 'a' < 6U);
  }
  return ok != 0U;
}

// Key and KEK ids: what random ids, KMS key names and keyring ids use, and nothing that JSON
// would escape, so their serialization is unique.
bool is_id(std::string_view s) {
  constexpr std::string_view kPunctuation = "._:/@+=-";
  return !s.empty() && s.size() <= 256 && std::all_of(s.begin(), s.end(), [&](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           kPunctuation.find(c) != std::string_view::npos;
  });
}

// Two or four digits at `at`, within [lo, hi].
bool number_at(std::string_view s, std::size_t at, std::size_t digits, int lo, int hi) {
  if (at + digits > s.size()) return false;
  int value = 0;
  const auto [end, ec] = std::from_chars(s.data() + at, s.data() + at + digits, value);
  return ec == std::errc() && end == s.data() + at + digits && value >= lo && value <= hi;
}

// RFC 3339 date-time: 2026-11-24T09:30:00Z, 2026-11-24T09:30:00.123+01:00.
bool is_rfc3339(std::string_view s) {
  if (s.size() < 20 || !number_at(s, 0, 4, 0, 9999) || s[4] != '-' || !number_at(s, 5, 2, 1, 12) ||
      s[7] != '-' || !number_at(s, 8, 2, 1, 31) || (s[10] != 'T' && s[10] != 't') ||
      !number_at(s, 11, 2, 0, 23) || s[13] != ':' || !number_at(s, 14, 2, 0, 59) || s[16] != ':' ||
      !number_at(s, 17, 2, 0, 60)) {
    return false;
  }
  std::size_t at = 19;
  if (s[at] == '.') {
    const std::size_t first = ++at;
    while (at < s.size() && s[at] >= '0' && s[at] <= '9') ++at;
    if (at == first || at - first > 9) return false;
  }
  const std::string_view offset = s.substr(at);
  if (offset == "Z" || offset == "z") return true;
  return offset.size() == 6 && (offset[0] == '+' || offset[0] == '-') &&
         number_at(offset, 1, 2, 0, 23) && offset[3] == ':' && number_at(offset, 4, 2, 0, 59);
}

// The one serialization of an entry (see the header). kInvalidInput for an entry that has no
// canonical form: a live key without ids or wrapped bytes, an erased one that still carries
// them, a time that is not RFC 3339.
Result<std::string> entry_json(const ports::MasterKeyEntry& entry) {
  const auto invalid = [](const char* why) {
    return Error{ErrorCode::kInvalidInput, std::string("master key entry: ") + why,
                 "master key entry"};
  };
  std::string out = R"({"v":1,)";
  if (entry.erased()) {
    if (!entry.wrapped.kek_id.empty() || !entry.wrapped.wrapped.empty()) {
      return invalid("an erased entry keeps no wrapped key");
    }
    if (!entry.key_id.empty() && !is_id(entry.key_id)) return invalid("malformed keyId");
    if (!is_rfc3339(entry.erased_at)) return invalid("erased_at is not an RFC 3339 date-time");
    if (!entry.key_id.empty()) out += R"("keyId":")" + entry.key_id + R"(",)";
    out += R"("erased":")" + entry.erased_at + R"("})";
    return out;
  }
  if (!is_id(entry.key_id)) return invalid("malformed keyId");
  if (!is_id(entry.wrapped.kek_id)) return invalid("malformed KEK id");
  if (entry.wrapped.wrapped.empty()) return invalid("no wrapped key");
  out += R"("keyId":")" + entry.key_id + R"(","kek":")" + entry.wrapped.kek_id +
         R"(","wrapped":")" + to_hex(entry.wrapped.wrapped) + R"("})";
  return out;
}

// Reads the canonical form strictly, front to back: each step consumes exactly what it
// expects or the entry is malformed.
class Reader {
 public:
  explicit Reader(std::string_view text) : rest_(text) {}

  bool literal(std::string_view expected) {
    if (!rest_.starts_with(expected)) return false;
    rest_.remove_prefix(expected.size());
    return true;
  }
  // A string value's characters, up to and including its closing quote.
  std::optional<std::string_view> string_value() {
    const std::size_t quote = rest_.find('"');
    if (quote == std::string_view::npos) return std::nullopt;
    const std::string_view value = rest_.substr(0, quote);
    rest_.remove_prefix(quote + 1);
    return value;
  }
  bool at_end() const { return rest_.empty(); }

 private:
  std::string_view rest_;
};

// kIntegrity names the Redis key only: the content is key material.
Result<ports::MasterKeyEntry> parse_entry(std::string_view text, const std::string& redis_key) {
  const Error malformed{ErrorCode::kIntegrity,
                        "master key entry " + redis_key + " is malformed (not the canonical form)",
                        redis_key};
  Reader in(text);
  ports::MasterKeyEntry entry;
  if (!in.literal(R"({"v":1,)")) return malformed;
  if (in.literal(R"("keyId":")")) {
    const auto id = in.string_value();
    if (!id || !is_id(*id) || !in.literal(",")) return malformed;
    entry.key_id = std::string(*id);
  }
  if (in.literal(R"("erased":")")) {
    const auto at = in.string_value();
    if (!at || !is_rfc3339(*at) || !in.literal("}") || !in.at_end()) return malformed;
    entry.erased_at = std::string(*at);
    return entry;
  }
  if (entry.key_id.empty() || !in.literal(R"("kek":")")) return malformed;
  const auto kek = in.string_value();
  if (!kek || !is_id(*kek) || !in.literal(R"(,"wrapped":")")) return malformed;
  const auto wrapped = in.string_value();
  if (!wrapped || !is_lower_hex(*wrapped) || !in.literal("}") || !in.at_end()) return malformed;
  auto bytes = parse_hex(*wrapped);
  if (!bytes) return malformed;
  entry.wrapped = ports::WrappedKey{std::string(*kek), std::move(*bytes)};
  return entry;
}

// Two upper-case letters: the shape of an ISO 3166-1 alpha-2 code (the policy knows which are
// assigned; the store keeps what it is given in that shape).
bool is_country(std::string_view s) {
  return s.size() == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z';
}

// "<country>|<unix ms>", as record_countries writes it.
Result<ports::PatientCountry> parse_country(std::string_view text, const std::string& redis_key) {
  const Error malformed{ErrorCode::kIntegrity, "not a recorded country", redis_key};
  if (text.size() < 4 || text[2] != '|' || !is_country(text.substr(0, 2)) || text[3] < '0' ||
      text[3] > '9') {
    return malformed;
  }
  std::int64_t ms = 0;
  const char* end = text.data() + text.size();
  if (auto [at, ec] = std::from_chars(text.data() + 3, end, ms); ec != std::errc{} || at != end) {
    return malformed;
  }
  return ports::PatientCountry{
      .country = std::string(text.substr(0, 2)), .region = {}, .recorded_ms = ms};
}

// "mk:" and 64 hex digits; nullopt for any other key (not ours, or not a patient key).
std::optional<ports::Hash32> patient_key_of(std::string_view redis_key) {
  constexpr std::string_view kPrefix = "mk:";
  if (!redis_key.starts_with(kPrefix)) return std::nullopt;
  const std::string_view hex = redis_key.substr(kPrefix.size());
  if (hex.size() != 64 || !is_lower_hex(hex)) return std::nullopt;
  auto bytes = parse_hex(hex);
  if (!bytes || bytes->size() != 32) return std::nullopt;
  ports::Hash32 key{};
  std::copy(bytes->begin(), bytes->end(), key.begin());
  return key;
}

Stream at_hand(std::span<const Command> commands) {
  Stream all;
  all.groups = commands.size();
  all.commands = [commands](std::size_t i) { return commands.subspan(i, 1); };
  return all;
}

// A region's way to its Redis: one server (Connection) or a cluster's masters (ClusterLink).
// Its lock is taken by a Session for one call.
class Link {
 public:
  explicit Link(std::string name) : name_(std::move(name)) {}
  Link(const Link&) = delete;
  Link& operator=(const Link&) = delete;
  virtual ~Link() = default;

  // Opens every connection the region needs, authenticated, and PINGs. The caller holds the
  // lock, or is the only user (at start).
  virtual Status connect() = 0;

  // Sends the commands (see Stream) and reads every reply, error replies included. A broken
  // connection is re-opened and what it owed re-sent when `may_reconnect`, which is then
  // cleared: a Redis restart or an idle connection closed by a proxy is routine, a second
  // failure in one call is not. Callers send only commands that are safe to re-send.
  virtual Result<std::vector<ReplyPtr>> stream(const Stream& groups, bool& may_reconnect) = 0;
  Result<std::vector<ReplyPtr>> pipeline(std::span<const Command> commands, bool& may_reconnect) {
    return stream(at_hand(commands), may_reconnect);
  }

  // The servers a SCAN must walk, each named for command_on: the one server, or every master.
  virtual Result<std::vector<std::string>> scan_targets(bool& may_reconnect) = 0;
  // One command without a key (SCAN) on one of scan_targets().
  virtual Result<ReplyPtr> command_on(const std::string& target, const Command& args,
                                      bool& may_reconnect) = 0;

  virtual KeyLayout layout() const = 0;
  const std::string& name() const { return name_; }
  std::mutex& mutex() { return mutex_; }

 private:
  std::string name_;
  std::mutex mutex_;  // one call at a time on the region's connections
};

// One server's connection, re-opened on demand: a standalone region's, or one cluster node's
// (driven by its ClusterLink under the link's lock).
class Connection final : public Link {
 public:
  Connection(const std::string& region, RedisEndpoint endpoint)
      : Link(endpoint_name(region, endpoint)), endpoint_(std::move(endpoint)) {}

  Status connect() override {
    ctx_.reset();
    const timeval timeout{endpoint_.timeout_ms / 1000,
                          static_cast<suseconds_t>(endpoint_.timeout_ms % 1000) * 1000};
    ContextPtr ctx(redisConnectWithTimeout(endpoint_.host.c_str(), endpoint_.port, timeout));
    if (!ctx) return unavailable(name(), "out of memory creating a connection");
    if (ctx->err != 0) return unavailable(name(), ctx->errstr);
    redisSetTimeout(ctx.get(), timeout);
    ctx_ = std::move(ctx);

    std::vector<Command> setup;
    const bool auth = !endpoint_.username.empty() || !endpoint_.password.empty();
    if (!endpoint_.username.empty()) {
      setup.push_back({"AUTH", endpoint_.username, endpoint_.password});
    } else if (!endpoint_.password.empty()) {
      setup.push_back({"AUTH", endpoint_.password});
    }
    const std::string db = std::to_string(endpoint_.db);
    if (endpoint_.db != 0) setup.push_back({"SELECT", db});
    setup.push_back({"PING"});
    auto replies = send(setup);
    if (!replies) return replies.error();

    std::size_t i = 0;
    if (auth && (*replies)[i++]->type == REDIS_REPLY_ERROR) {
      // The server's text is not repeated: a proxy in front of Redis might echo arguments.
      ctx_.reset();
      const std::string user = endpoint_.username.empty() ? "" : " for user " + endpoint_.username;
      return Error{ErrorCode::kPermissionDenied, name() + ": AUTH refused" + user, name()};
    }
    if (endpoint_.db != 0 && (*replies)[i++]->type == REDIS_REPLY_ERROR) {
      ctx_.reset();
      return Error{ErrorCode::kInvalidInput, name() + ": SELECT " + db + " refused", name()};
    }
    if (const redisReply& pong = *(*replies)[i]; pong.type == REDIS_REPLY_ERROR) {
      ctx_.reset();
      return reply_error(name(), pong);
    }
    return Ok{};
  }

  // On a broken connection the groups made so far are re-sent as they were, never made again.
  Result<std::vector<ReplyPtr>> stream(const Stream& groups, bool& may_reconnect) override {
    std::size_t made = 0;
    if (ctx_) {
      bool dropped = false;
      auto replies = send(groups, made, dropped);
      if (replies || !dropped || !may_reconnect) return replies;
    } else if (!may_reconnect) {
      return unavailable(name(), "not connected");
    }
    may_reconnect = false;
    if (auto c = connect(); !c) return c.error();
    bool dropped = false;
    return send(groups, made, dropped);
  }

  Result<std::vector<std::string>> scan_targets(bool& /*may_reconnect*/) override {
    return std::vector<std::string>{name()};
  }
  Result<ReplyPtr> command_on(const std::string& /*target*/, const Command& args,
                              bool& may_reconnect) override {
    auto replies = pipeline(std::span<const Command>(&args, 1), may_reconnect);
    if (!replies) return replies.error();
    return std::move(replies->front());
  }
  KeyLayout layout() const override { return KeyLayout::kStandalone; }

  // For ClusterLink, which drives its nodes' connections itself, pipelining to all at once.
  Status open() { return ctx_ ? Status(Ok{}) : connect(); }
  void close() { ctx_.reset(); }
  // Appends to the output buffer; false (connection closed) when that fails.
  bool queue(const Command& args) {
    if (ctx_ && append(args)) return true;
    ctx_.reset();
    return false;
  }
  // Writes the output buffer out; false (connection closed) when that fails.
  bool write_out() {
    if (ctx_ && flush()) return true;
    ctx_.reset();
    return false;
  }
  // The next reply; null (connection closed, `why` set) when there is none.
  ReplyPtr next_reply(std::string& why) {
    void* raw = nullptr;
    if (ctx_ && redisGetReply(ctx_.get(), &raw) == REDIS_OK && raw != nullptr) {
      return ReplyPtr(static_cast<redisReply*>(raw));
    }
    why = ctx_ && ctx_->err != 0 ? ctx_->errstr : "no reply";
    ctx_.reset();
    return ReplyPtr();
  }

 private:
  // One round trip on the open connection, for commands at hand (connect() has no reconnect).
  Result<std::vector<ReplyPtr>> send(std::span<const Command> commands) {
    std::size_t made = 0;
    bool dropped = false;
    return send(at_hand(commands), made, dropped);
  }

  // One attempt on the open connection: re-sends groups [0, made), makes and sends the rest,
  // then reads every reply. A transport failure drops the connection and sets `dropped`. A
  // group that cannot be made ends the sending; the replies owed are still read, so that the
  // connection stays in step with Redis (and what was sent is known to be done), and the call
  // fails with that group's error.
  Result<std::vector<ReplyPtr>> send(const Stream& groups, std::size_t& made, bool& dropped) {
    const auto drop = [&]() {
      const std::string why = ctx_->err != 0 ? ctx_->errstr : "no reply";
      ctx_.reset();
      dropped = true;
      return unavailable(name(), why);
    };
    std::optional<Error> unmade;
    std::size_t owed = 0;
    for (std::size_t i = 0; i < groups.groups; ++i) {
      if (i == made) {
        if (groups.make) {
          if (auto m = groups.make(i); !m) {
            unmade = m.error();
            break;
          }
        }
        ++made;
      }
      for (const Command& args : groups.commands(i)) {
        if (!append(args)) return drop();
        ++owed;
      }
      // Only when making takes time: commands at hand go out in one write, the fewest calls.
      if (groups.make && (i + 1) % kFlushEvery == 0 && !flush()) return drop();
    }
    std::vector<ReplyPtr> replies;
    replies.reserve(owed);
    while (replies.size() < owed) {
      void* raw = nullptr;
      if (redisGetReply(ctx_.get(), &raw) != REDIS_OK || raw == nullptr) {
        if (!unmade) return drop();
        ctx_.reset();  // out of step; the group's own error says more than the transport's
        return *unmade;
      }
      replies.emplace_back(static_cast<redisReply*>(raw));
    }
    if (unmade) return *unmade;
    return replies;
  }

  // Into hiredis's output buffer; false (and ctx_->err set) when out of memory.
  bool append(const Command& args) {
    std::array<const char*, kMaxArgs> argv{};
    std::array<std::size_t, kMaxArgs> lengths{};
    FL_ASSERT(args.size() <= kMaxArgs, "every command here has at most kMaxArgs arguments");
    for (std::size_t i = 0; i < args.size(); ++i) {
      argv[i] = args[i].data();
      lengths[i] = args[i].size();
    }
    return redisAppendCommandArgv(ctx_.get(), static_cast<int>(args.size()), argv.data(),
                                  lengths.data()) == REDIS_OK;
  }

  // Writes the output buffer to the socket without reading replies: Redis answers into the
  // socket's receive buffer meanwhile (a few bytes per command), read after the last group.
  bool flush() {
    int done = 0;
    while (done == 0) {
      if (redisBufferWrite(ctx_.get(), &done) != REDIS_OK) return false;
    }
    return true;
  }

  RedisEndpoint endpoint_;
  ContextPtr ctx_;  // guarded by the region's lock (its own, or its ClusterLink's)
};

// Redis Cluster's 16384 hash slots: CRC16 (XMODEM) of the key, or of the part between the first
// '{' and the next '}' when that part is not empty (a hash tag).
constexpr std::size_t kSlots = 16384;

std::uint16_t crc16(std::string_view data) {
  std::uint16_t crc = 0;
  for (char c : data) {
    crc ^= static_cast<std::uint16_t>(static_cast<std::uint8_t>(c) << 8);
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 0x8000U) != 0 ? static_cast<std::uint16_t>((crc << 1) ^ 0x1021U)
                                 : static_cast<std::uint16_t>(crc << 1);
    }
  }
  return crc;
}

std::size_t slot_of(std::string_view key) {
  if (const auto open = key.find('{'); open != std::string_view::npos) {
    const auto close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) {
      key = key.substr(open + 1, close - open - 1);
    }
  }
  return crc16(key) % kSlots;
}

// The key a command is routed by: the first key of an EVAL, else the first argument. Every
// keyed command here names its key there, and an EVAL's keys share one slot (KeyLayout).
std::string_view routing_key(const Command& args) {
  if (args.front() == "EVAL") {
    FL_ASSERT(args.size() > 3 && args[2] != "0", "a routed EVAL names a key");
    return args[3];
  }
  FL_ASSERT(args.size() > 1, "a routed command names a key");
  return args[1];
}

// "MOVED <slot> <host>:<port>" and "ASK <slot> <host>:<port>": where a key's slot is served.
struct Redirect {
  bool ask = false;
  std::string address;
};

std::optional<Redirect> redirect_of(std::string_view error) {
  const bool ask = error.starts_with("ASK ");
  if (!ask && !error.starts_with("MOVED ")) return std::nullopt;
  const auto space = error.rfind(' ');
  if (space == std::string_view::npos || space + 1 >= error.size()) return std::nullopt;
  return Redirect{.ask = ask, .address = std::string(error.substr(space + 1))};
}

// A Redis Cluster region: one Connection per node, all under this link's one lock, and the slot
// map read with CLUSTER SLOTS. A pipeline is split by node and every node's part is written
// before any reply is read, so the nodes work at once; replies are put back in command order.
// MOVED (the slot has a new master) re-reads the slot map and re-sends; ASK (the slot is being
// migrated and the key is not on its old master) re-sends to the node named, after ASKING;
// TRYAGAIN (a script's keys split by a migration in progress) re-sends after a pause. Re-sent
// commands keep their order among themselves; a caller that needs one command applied before
// another in a different slot sends them in two calls. Every command here is safe to re-send.
class ClusterLink final : public Link {
 public:
  ClusterLink(const std::string& region, RedisEndpoint seed)
      : Link("redis region " + region + " (cluster, seed " + seed.host + ":" +
             std::to_string(seed.port) + ")"),
        region_(region),
        seed_(std::move(seed)),
        slots_(kSlots, nullptr) {}

  // Reads the slot map from the seed and opens every master: one that cannot be reached or
  // refuses AUTH fails the start, as a standalone region's server does.
  Status connect() override {
    if (seed_.db != 0) {
      return Error{ErrorCode::kInvalidInput, name() + ": a cluster has database 0 only", name()};
    }
    if (auto r = refresh(); !r) return r;
    for (const auto& address : masters_) {
      if (auto o = node(address).open(); !o) return o;
    }
    return Ok{};
  }

  Result<std::vector<ReplyPtr>> stream(const Stream& groups, bool& may_reconnect) override {
    std::vector<const Command*> commands;
    std::vector<ReplyPtr> replies;
    Batch batch;
    std::optional<Error> unmade;
    for (std::size_t i = 0; i < groups.groups; ++i) {
      if (groups.make) {
        if (auto m = groups.make(i); !m) {
          unmade = m.error();
          break;
        }
      }
      for (const Command& args : groups.commands(i)) {
        commands.push_back(&args);
        replies.emplace_back();
        enqueue(batch, owner(args), args, commands.size() - 1);
      }
      if (groups.make && (i + 1) % kFlushEvery == 0) write_all(batch);
    }
    collect(batch, replies);
    if (batch.refused) return *batch.refused;
    // The replies owed were read, so every node is in step; what was sent may be done.
    if (unmade) return *unmade;
    std::string lost_why = batch.why;

    for (int round = 0; round < kMaxRounds; ++round) {
      std::vector<std::size_t> again;
      std::vector<Connection*> ask;  // beside `again`: the ASK target, else null
      bool moved = false, busy = false, missing = false;
      for (std::size_t i = 0; i < replies.size(); ++i) {
        if (!replies[i]) {  // its node failed, or its slot had no known master
          missing = true;
          again.push_back(i);
          ask.push_back(nullptr);
          continue;
        }
        if (replies[i]->type != REDIS_REPLY_ERROR) continue;
        const std::string_view text = text_of(*replies[i]);
        if (auto redirect = redirect_of(text)) {
          again.push_back(i);
          ask.push_back(redirect->ask ? &node(redirect->address) : nullptr);
          moved = moved || !redirect->ask;
        } else if (text.starts_with("TRYAGAIN")) {
          again.push_back(i);
          ask.push_back(nullptr);
          busy = true;
        }
      }
      if (again.empty()) return replies;
      if (!batch.down.empty()) {
        // A node dropped its connection: re-opened once per call, as a standalone server's.
        if (!may_reconnect) return unavailable(name(), lost_why);
        may_reconnect = false;
      }
      if (moved || missing) {
        if (auto r = refresh(); !r) return r.error();
      }
      if (busy) std::this_thread::sleep_for(std::chrono::milliseconds(10 << round));
      batch = Batch{};
      for (std::size_t j = 0; j < again.size(); ++j) {
        const Command& args = *commands[again[j]];
        replies[again[j]].reset();
        if (ask[j] != nullptr) enqueue(batch, ask[j], kAsking, kNoReply);
        enqueue(batch, ask[j] != nullptr ? ask[j] : owner(args), args, again[j]);
      }
      collect(batch, replies);
      if (batch.refused) return *batch.refused;
      if (!batch.why.empty()) lost_why = batch.why;
    }
    // Still redirected after kMaxRounds: a cluster reconfiguring that fast is unavailable for
    // now (the MOVED or ASK text becomes the error); a node that does not answer is too.
    for (const auto& r : replies) {
      if (!r) return unavailable(name(), lost_why.empty() ? "no master for a slot" : lost_why);
    }
    return replies;
  }

  // The masters as the slot map names them now, read again first: a walk started after a
  // reshard sees the new masters. A slot migrated during the walk may take keys from a master
  // not yet walked to one walked already; the visitor runs again at the next walk.
  Result<std::vector<std::string>> scan_targets(bool& /*may_reconnect*/) override {
    if (auto r = refresh(); !r) return r.error();
    return masters_;
  }

  Result<ReplyPtr> command_on(const std::string& target, const Command& args,
                              bool& may_reconnect) override {
    return node(target).command_on(target, args, may_reconnect);
  }

  KeyLayout layout() const override { return KeyLayout::kCluster; }

 private:
  // Enough for a MOVED, then an ASK, then a TRYAGAIN or two: more is a cluster in flux.
  static constexpr int kMaxRounds = 5;
  static constexpr std::size_t kNoReply = static_cast<std::size_t>(-1);
  inline static const Command kAsking{"ASKING"};

  // One round of commands, by node: what each owes, in order (kNoReply for an ASKING's OK).
  struct Batch {
    std::map<Connection*, std::vector<std::size_t>> owed;
    std::set<Connection*> down;    // connections that failed this round (closed)
    std::string why;               // the last transport failure
    std::optional<Error> refused;  // a node refused AUTH: not a transport failure
  };

  void enqueue(Batch& batch, Connection* to, const Command& args, std::size_t index) {
    if (to == nullptr || batch.down.contains(to) || batch.refused) return;  // answered by none
    if (!batch.owed.contains(to)) {
      if (auto o = to->open(); !o) {
        if (o.error().code != ErrorCode::kUnavailable) batch.refused = o.error();
        batch.why = o.error().message;
        batch.down.insert(to);
        return;
      }
    }
    if (!to->queue(args)) {
      batch.why = to->name() + ": out of memory queueing a command";
      batch.down.insert(to);
      batch.owed.erase(to);
      return;
    }
    batch.owed[to].push_back(index);
  }

  void write_all(Batch& batch) {
    for (auto it = batch.owed.begin(); it != batch.owed.end();) {
      if (it->first->write_out()) {
        ++it;
        continue;
      }
      batch.why = it->first->name() + ": write failed";
      batch.down.insert(it->first);
      it = batch.owed.erase(it);
    }
  }

  // Writes every node's part, then reads each node's replies in order into `replies`.
  void collect(Batch& batch, std::vector<ReplyPtr>& replies) {
    write_all(batch);
    for (auto& [to, owed] : batch.owed) {
      for (const std::size_t index : owed) {
        std::string why;
        ReplyPtr reply = to->next_reply(why);
        if (!reply) {
          batch.why = to->name() + ": " + why;
          batch.down.insert(to);
          break;
        }
        if (index != kNoReply) replies[index] = std::move(reply);
      }
    }
  }

  Connection* owner(const Command& args) { return slots_[slot_of(routing_key(args))]; }

  // The connection to a node, made on first use (a master the slot map or a redirect names).
  Connection& node(const std::string& address) {
    auto it = nodes_.find(address);
    if (it == nodes_.end()) {
      RedisEndpoint endpoint = seed_;
      const auto colon = address.rfind(':');
      endpoint.host = address.substr(0, colon);
      endpoint.port = colon == std::string::npos ? 0 : std::atoi(address.c_str() + colon + 1);
      it = nodes_.emplace(address, std::make_unique<Connection>(region_, endpoint)).first;
    }
    return *it->second;
  }

  // Reads the slot map from the first node that answers: the masters known, then the seed.
  Status refresh() {
    std::vector<std::string> candidates = masters_;
    candidates.push_back(seed_.host + ":" + std::to_string(seed_.port));
    std::string why = "no node answered CLUSTER SLOTS";
    for (const auto& address : candidates) {
      Connection& from = node(address);
      bool may_reconnect = true;
      const Command slots{"CLUSTER", "SLOTS"};
      auto reply = from.command_on(address, slots, may_reconnect);
      if (!reply) {
        if (reply.error().code != ErrorCode::kUnavailable) return reply.error();
        why = reply.error().message;
        continue;
      }
      if ((*reply)->type == REDIS_REPLY_ERROR) return reply_error(from.name(), **reply);
      if (auto read = read_slots(**reply, from); !read) return read;
      return Ok{};
    }
    return unavailable(name(), why);
  }

  // CLUSTER SLOTS: [[first, last, [host, port, id, ...], replicas...], ...]. An empty host
  // means the node that answered.
  Status read_slots(const redisReply& map, Connection& from) {
    if (map.type != REDIS_REPLY_ARRAY) return unexpected_reply(from.name(), "CLUSTER SLOTS");
    std::vector<Connection*> slots(kSlots, nullptr);
    std::vector<std::string> masters;
    for (std::size_t i = 0; i < map.elements; ++i) {
      const redisReply& range = *map.element[i];
      if (range.type != REDIS_REPLY_ARRAY || range.elements < 3 ||
          range.element[0]->type != REDIS_REPLY_INTEGER ||
          range.element[1]->type != REDIS_REPLY_INTEGER ||
          range.element[2]->type != REDIS_REPLY_ARRAY || range.element[2]->elements < 2 ||
          range.element[2]->element[0]->type != REDIS_REPLY_STRING ||
          range.element[2]->element[1]->type != REDIS_REPLY_INTEGER) {
        return unexpected_reply(from.name(), "CLUSTER SLOTS");
      }
      const long long first = range.element[0]->integer, last = range.element[1]->integer;
      if (first < 0 || last < first || last >= static_cast<long long>(kSlots)) {
        return unexpected_reply(from.name(), "CLUSTER SLOTS");
      }
      std::string host(text_of(*range.element[2]->element[0]));
      if (host.empty() || host == "?") host = seed_.host;
      const std::string address =
          host + ":" + std::to_string(range.element[2]->element[1]->integer);
      Connection* master = &node(address);
      if (std::find(masters.begin(), masters.end(), address) == masters.end()) {
        masters.push_back(address);
      }
      for (long long s = first; s <= last; ++s) slots[static_cast<std::size_t>(s)] = master;
    }
    slots_ = std::move(slots);
    masters_ = std::move(masters);
    return Ok{};
  }

  std::string region_;
  RedisEndpoint seed_;
  // Nodes stay once met (a few per cluster), so the slot map's pointers stay valid.
  std::map<std::string, std::unique_ptr<Connection>> nodes_;
  std::vector<Connection*> slots_;    // slot -> its master, null while unknown
  std::vector<std::string> masters_;  // as the last slot map named them
};

std::unique_ptr<Link> make_link(const std::string& region, const RedisEndpoint& endpoint) {
  if (endpoint.cluster) return std::make_unique<ClusterLink>(region, endpoint);
  return std::make_unique<Connection>(region, endpoint);
}

// One call's hold on a region's connection: the lock, and the call's one reconnect.
class Session {
 public:
  explicit Session(Link& connection) : connection_(connection), lock_(connection.mutex()) {}

  // Every reply, or the first error reply as an Error.
  Result<std::vector<ReplyPtr>> pipeline(std::span<const Command> commands) {
    return checked(connection_.pipeline(commands, may_reconnect_));
  }
  Result<std::vector<ReplyPtr>> stream(const Stream& groups) {
    return checked(connection_.stream(groups, may_reconnect_));
  }

  Result<ReplyPtr> command(Command args) {
    auto replies = pipeline(std::span<const Command>(&args, 1));
    if (!replies) return replies.error();
    return std::move(replies->front());
  }

  // The servers a SCAN walks, and a command on one of them (see Link).
  Result<std::vector<std::string>> scan_targets() {
    return connection_.scan_targets(may_reconnect_);
  }
  Result<ReplyPtr> command_on(const std::string& target, const Command& args) {
    auto reply = connection_.command_on(target, args, may_reconnect_);
    if (!reply) return reply.error();
    if ((*reply)->type == REDIS_REPLY_ERROR) return reply_error(name(), **reply);
    return reply;
  }

  KeyLayout layout() const { return connection_.layout(); }
  const std::string& name() const { return connection_.name(); }

 private:
  Result<std::vector<ReplyPtr>> checked(Result<std::vector<ReplyPtr>> replies) const {
    if (!replies) return replies.error();
    for (const auto& r : *replies) {
      if (r->type == REDIS_REPLY_ERROR) return reply_error(name(), *r);
    }
    return replies;
  }

  Link& connection_;
  std::unique_lock<std::mutex> lock_;
  bool may_reconnect_ = true;
};

class RedisRegionStores final : public RegionStores {
 public:
  RedisRegionStores(std::map<std::string, std::unique_ptr<Link>> regions, std::string links_region)
      : regions_(std::move(regions)), links_region_(std::move(links_region)) {}

  // BlobStore

  Result<std::vector<std::string>> put_if_absent_streamed(const std::string& region,
                                                          std::size_t count,
                                                          const MakeWrite& make_write) override {
    auto conn = connection(region);
    if (!conn) return conn.error();
    if (count == 0) return std::vector<std::string>{};
    const KeyLayout layout = (*conn)->layout();
    // In a cluster a blob and its claim live on different nodes, whose connections keep no
    // order between them: the claims go once every blob is acknowledged (one round trip more),
    // so that a claim still never names a blob that is not stored.
    const bool claims_after_blobs = layout == KeyLayout::kCluster;
    // Each write is kept, with the strings its commands point into, until the replies are read:
    // a re-opened connection re-sends the same bytes (sealing again would store a second blob,
    // one that no claim names). A deque, so what is made stays in place while more is made.
    struct Pending {
      ports::BlobWrite write;
      std::string blob_key, claim_key, version;
      std::array<Command, 2> commands;
    };
    std::deque<Pending> pending;
    Stream writes;
    writes.groups = count;
    writes.make = [&](std::size_t i) -> Status {
      auto write = make_write(i);
      if (!write) return write.error();
      if (!is_lower_hex(write->key) || !is_lower_hex(write->resource_key)) {
        return Error{ErrorCode::kInvalidInput,
                     "a blob's content hash and resource key must be lower-case hex", region};
      }
      Pending& p = pending.emplace_back();
      p.write = std::move(*write);
      p.blob_key = blob_key(p.write.key);
      p.claim_key = claims_key(p.write.resource_key, layout);
      p.version = std::to_string(p.write.version);
      // The blob first, then its claim: a claim never names a blob that is not stored.
      p.commands = {Command{"SET", p.blob_key, as_chars(p.write.blob), "NX"},
                    Command{"HSETNX", p.claim_key, p.version, p.write.key}};
      return Ok{};
    };
    writes.commands = [&](std::size_t i) -> std::span<const Command> {
      return std::span<const Command>(pending[i].commands).first(claims_after_blobs ? 1 : 2);
    };
    Session session(**conn);
    auto replies = session.stream(writes);
    if (!replies) return replies.error();
    if (claims_after_blobs) {
      std::vector<Command> claims;
      claims.reserve(count);
      for (const Pending& p : pending) claims.push_back(p.commands[1]);
      auto claim_replies = session.pipeline(claims);
      if (!claim_replies) return claim_replies.error();
      // Interleaved as one pipeline answers them: blob i at 2i, its claim at 2i + 1.
      std::vector<ReplyPtr> both;
      both.reserve(2 * count);
      for (std::size_t i = 0; i < count; ++i) {
        both.push_back(std::move((*replies)[i]));
        both.push_back(std::move((*claim_replies)[i]));
      }
      *replies = std::move(both);
    }

    std::vector<std::string> claimed(count);
    std::vector<std::size_t> lost;  // writes whose version was claimed already
    std::vector<Command> reads;
    for (std::size_t i = 0; i < count; ++i) {
      const redisReply& set = *(*replies)[2 * i];
      const redisReply& claim = *(*replies)[2 * i + 1];
      if (set.type != REDIS_REPLY_STATUS && set.type != REDIS_REPLY_NIL) {
        return unexpected_reply(session.name(), "SET");
      }
      if (claim.type != REDIS_REPLY_INTEGER) return unexpected_reply(session.name(), "HSETNX");
      if (claim.integer == 1) {
        claimed[i] = pending[i].write.key;
      } else {
        lost.push_back(i);
        reads.push_back({"HGET", pending[i].claim_key, pending[i].version});
      }
    }
    if (lost.empty()) return claimed;
    auto first = session.pipeline(reads);
    if (!first) return first.error();
    for (std::size_t j = 0; j < lost.size(); ++j) {
      const Pending& p = pending[lost[j]];
      auto hash = claimed_hash(*(*first)[j], p.claim_key, p.version, session.name());
      if (!hash) return hash.error();
      if (!*hash) {
        // A claim goes only with a refused event's blob (release_claims) or by hand; either
        // way the retry claims the version again.
        return unavailable(session.name(), "the claim in " + p.claim_key + " field " + p.version +
                                               " vanished while being read");
      }
      claimed[lost[j]] = std::move(**hash);
    }
    return claimed;
  }

  Result<std::vector<std::optional<std::string>>> claimed_versions(
      const std::string& region, std::span<const ports::VersionRef> refs) override {
    auto conn = connection(region);
    if (!conn) return conn.error();
    for (const auto& r : refs) {
      if (!is_lower_hex(r.resource_key)) {
        return Error{ErrorCode::kInvalidInput, "a resource key must be lower-case hex", region};
      }
    }
    if (refs.empty()) return std::vector<std::optional<std::string>>{};
    std::vector<std::string> claim_keys, versions;
    for (const auto& r : refs) {
      claim_keys.push_back(claims_key(r.resource_key, (*conn)->layout()));
      versions.push_back(std::to_string(r.version));
    }
    std::vector<Command> reads;
    for (std::size_t i = 0; i < refs.size(); ++i) {
      reads.push_back({"HGET", claim_keys[i], versions[i]});
    }
    Session session(**conn);
    auto replies = session.pipeline(reads);
    if (!replies) return replies.error();
    std::vector<std::optional<std::string>> out;
    for (std::size_t i = 0; i < refs.size(); ++i) {
      auto hash = claimed_hash(*(*replies)[i], claim_keys[i], versions[i], session.name());
      if (!hash) return hash.error();
      out.push_back(std::move(*hash));
    }
    return out;
  }

  Result<ports::Bytes> get(const std::string& region, const std::string& key) override {
    auto conn = connection(region);
    if (!conn) return conn.error();
    const std::string redis_key = blob_key(key);
    Session session(**conn);
    auto reply = session.command({"GET", redis_key});
    if (!reply) return reply.error();
    if ((*reply)->type == REDIS_REPLY_NIL) {
      return Error{ErrorCode::kNotFound, "no blob with this content hash", key};
    }
    if ((*reply)->type != REDIS_REPLY_STRING) return unexpected_reply(session.name(), "GET");
    const auto* p = reinterpret_cast<const std::uint8_t*>((*reply)->str);
    return ports::Bytes(p, p + (*reply)->len);
  }

  Status remove_unclaimed(const std::string& region, std::span<const std::string> keys) override {
    auto conn = connection(region);
    if (!conn) return conn.error();
    if (keys.empty()) return Ok{};
    std::vector<std::string> names;
    names.reserve(keys.size());
    for (const auto& k : keys) {
      // The one call here that deletes: only ever a content address.
      if (k.size() != 64 || !is_lower_hex(k)) {
        return Error{ErrorCode::kInvalidInput, "not a content hash (64 lower-case hex digits)", k};
      }
      names.push_back(blob_key(k));
    }
    std::vector<Command> commands;
    commands.reserve(names.size());
    for (const auto& name : names) commands.push_back({"UNLINK", name});
    Session session(**conn);
    auto replies = session.pipeline(commands);
    if (!replies) return replies.error();
    return Ok{};
  }

  Status release_claims(const std::string& region,
                        std::span<const ports::ClaimedBlob> claims) override {
    auto conn = connection(region);
    if (!conn) return conn.error();
    if (claims.empty()) return Ok{};
    std::vector<Release> releases;
    releases.reserve(claims.size());
    for (const auto& c : claims) {
      // A call that deletes: only ever a content address, under a hex resource key.
      if (c.key.size() != 64 || !is_lower_hex(c.key) || !is_lower_hex(c.resource_key)) {
        return Error{ErrorCode::kInvalidInput,
                     "a released claim needs a content hash (64 lower-case hex digits) and a "
                     "hex resource key",
                     region};
      }
      const KeyLayout layout = (*conn)->layout();
      releases.push_back({.claim_key = claims_key(c.resource_key, layout),
                          .pointer_key = pointer_key(c.resource_key, layout),
                          .pending_key = pending_key(c.resource_key, layout),
                          .blob_key = blob_key(c.key),
                          .version = std::to_string(c.version)});
    }
    if ((*conn)->layout() == KeyLayout::kCluster)
      return release_in_cluster(**conn, releases, claims);
    std::vector<Command> commands;
    commands.reserve(releases.size());
    for (std::size_t i = 0; i < releases.size(); ++i) {
      const Release& r = releases[i];
      commands.push_back({"EVAL", kReleaseScript, "4", r.claim_key, r.pointer_key, r.pending_key,
                          r.blob_key, r.version, claims[i].key});
    }
    Session session(**conn);
    auto replies = session.pipeline(commands);
    if (!replies) return replies.error();
    return Ok{};
  }

  Status put_pointer_records(const std::string& region,
                             std::span<const ports::PointerRecordWrite> records) override {
    auto conn = connection(region);
    if (!conn) return conn.error();
    if (records.empty()) return Ok{};
    const KeyLayout layout = (*conn)->layout();
    std::vector<std::string> keys, versions;
    for (const auto& r : records) {
      keys.push_back(pointer_key(r.resource_key, layout));
      versions.push_back(std::to_string(r.version));
    }
    std::vector<std::string> pending;
    for (const auto& r : records) pending.push_back(pending_key(r.resource_key, layout));
    std::vector<std::string> indexes;
    for (const auto& r : records) indexes.push_back(patient_index_key(r.patient_key));
    // In a cluster a record re-sent after MOVED or ASK could land after the HDEL that followed
    // it: the HDELs go in a second pipeline there, once every record is acknowledged.
    const bool removals_after = layout == KeyLayout::kCluster;
    std::vector<Command> commands, removals;
    for (std::size_t i = 0; i < records.size(); ++i) {
      // The record first: a crash in between leaves both, and the record wins a look-up.
      commands.push_back({"HSET", keys[i], versions[i], records[i].json});
      (removals_after ? removals : commands).push_back({"HDEL", pending[i], versions[i]});
      if (!records[i].patient_key.empty()) {
        commands.push_back({"SADD", indexes[i], records[i].resource_key});
      }
    }
    Session session(**conn);
    if (auto replies = session.pipeline(commands); !replies) return replies.error();
    if (!removals.empty()) {
      if (auto replies = session.pipeline(removals); !replies) return replies.error();
    }
    return Ok{};
  }

  Result<std::vector<std::string>> patient_resources(const std::string& region,
                                                     const std::string& patient_key) override {
    auto conn = connection(region);
    if (!conn) return conn.error();
    const std::string key = patient_index_key(patient_key);
    Session session(**conn);
    auto reply = session.command({"SMEMBERS", key});
    if (!reply) return reply.error();
    if ((*reply)->type != REDIS_REPLY_ARRAY) return unexpected_reply(session.name(), "SMEMBERS");
    std::vector<std::string> out;
    for (std::size_t i = 0; i < (*reply)->elements; ++i) {
      out.emplace_back(text_of(*(*reply)->element[i]));
    }
    return out;
  }

  Status put_pending_anchors(const std::string& region,
                             std::span<const ports::PointerRecordWrite> records) override {
    auto conn = connection(region);
    if (!conn) return conn.error();
    if (records.empty()) return Ok{};
    std::vector<std::string> keys, versions;
    for (const auto& r : records) {
      keys.push_back(pending_key(r.resource_key, (*conn)->layout()));
      versions.push_back(std::to_string(r.version));
    }
    std::vector<Command> commands;
    for (std::size_t i = 0; i < records.size(); ++i) {
      commands.push_back({"HSET", keys[i], versions[i], records[i].json});
    }
    Session session(**conn);
    auto replies = session.pipeline(commands);
    if (!replies) return replies.error();
    return Ok{};
  }

  Result<std::vector<ports::AnchorRecords>> anchor_records(
      const std::string& region, std::span<const ports::VersionRef> refs) override {
    auto conn = connection(region);
    if (!conn) return conn.error();
    if (refs.empty()) return std::vector<ports::AnchorRecords>{};
    std::vector<std::string> records, pending, versions;
    for (const auto& r : refs) {
      records.push_back(pointer_key(r.resource_key, (*conn)->layout()));
      pending.push_back(pending_key(r.resource_key, (*conn)->layout()));
      versions.push_back(std::to_string(r.version));
    }
    std::vector<Command> reads;
    for (std::size_t i = 0; i < refs.size(); ++i) {
      reads.push_back({"HGET", records[i], versions[i]});
      reads.push_back({"HGET", pending[i], versions[i]});
    }
    Session session(**conn);
    auto replies = session.pipeline(reads);
    if (!replies) return replies.error();
    const auto text = [&](const redisReply& r) -> Result<std::optional<std::string>> {
      if (r.type == REDIS_REPLY_NIL) return std::optional<std::string>();
      if (r.type != REDIS_REPLY_STRING) return unexpected_reply(session.name(), "HGET");
      return std::optional<std::string>(std::string(text_of(r)));
    };
    std::vector<ports::AnchorRecords> out(refs.size());
    for (std::size_t i = 0; i < refs.size(); ++i) {
      auto record = text(*(*replies)[2 * i]);
      if (!record) return record.error();
      auto sent = text(*(*replies)[2 * i + 1]);
      if (!sent) return sent.error();
      out[i] = {.record = std::move(*record), .pending = std::move(*sent)};
    }
    return out;
  }

  Result<std::map<std::uint64_t, std::string>> pointer_records(
      const std::string& region, const std::string& resource_key) override {
    auto conn = connection(region);
    if (!conn) return conn.error();
    const std::string key = pointer_key(resource_key, (*conn)->layout());
    Session session(**conn);
    auto reply = session.command({"HGETALL", key});
    if (!reply) return reply.error();
    const redisReply* r = reply->get();
    // A flat array of field, value pairs (RESP2, which this connection speaks).
    if (r->type != REDIS_REPLY_ARRAY) return unexpected_reply(session.name(), "HGETALL");
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

  // PatientDirectory

  Result<std::vector<std::optional<ports::PatientCountry>>> recorded_countries(
      std::span<const ports::Hash32> patient_keys) override {
    std::vector<std::optional<ports::PatientCountry>> out(patient_keys.size());
    if (patient_keys.empty()) return out;
    const std::vector<std::string> keys = country_keys(patient_keys);
    for (const auto& [region, conn] : regions_) {
      if (auto read = read_countries(region, *conn, keys, out); !read) return read.error();
    }
    return out;
  }

  Result<ports::CountryAnswers> reachable_countries(std::span<const ports::Hash32> patient_keys,
                                                    std::span<const std::string> skip) override {
    ports::CountryAnswers answers;
    answers.countries.resize(patient_keys.size());
    if (patient_keys.empty()) return answers;
    const std::vector<std::string> keys = country_keys(patient_keys);
    for (const auto& [region, conn] : regions_) {
      if (std::find(skip.begin(), skip.end(), region) != skip.end()) {
        answers.unanswered.push_back(region);
        continue;
      }
      auto read = read_countries(region, *conn, keys, answers.countries);
      if (!read && read.error().code != ErrorCode::kUnavailable) return read.error();
      if (!read) answers.unanswered.push_back(region);
    }
    return answers;
  }

  Status record_countries(const std::string& region,
                          std::span<const std::pair<ports::Hash32, std::string>> countries,
                          std::int64_t now_ms) override {
    auto keys = write_countries(region, countries, now_ms);
    if (!keys) return keys.error();
    // After the new record is in place: a crash in between leaves two records, and the newer
    // one wins the look-up.
    for (const auto& [other, other_conn] : regions_) {
      if (other == region) continue;
      if (auto removed = remove_keys(*other_conn, *keys); !removed) return removed;
    }
    return Ok{};
  }

  Result<std::vector<std::string>> record_countries_reachable(
      const std::string& region, std::span<const std::pair<ports::Hash32, std::string>> countries,
      std::int64_t now_ms, std::span<const std::string> skip) override {
    auto keys = write_countries(region, countries, now_ms);
    if (!keys) return keys.error();
    std::vector<std::string> left;
    for (const auto& [other, other_conn] : regions_) {
      if (other == region || keys->empty()) continue;
      if (std::find(skip.begin(), skip.end(), other) != skip.end()) {
        left.push_back(other);
        continue;
      }
      auto removed = remove_keys(*other_conn, *keys);
      if (!removed && removed.error().code != ErrorCode::kUnavailable) return removed.error();
      if (!removed) left.push_back(other);
    }
    return left;
  }

  Status forget_countries_before(
      const std::string& region,
      std::span<const std::pair<ports::Hash32, std::int64_t>> records) override {
    auto conn = connection(region);
    if (!conn) return conn.error();
    if (records.empty()) return Ok{};
    std::vector<std::string> keys, before;  // the commands point into them
    keys.reserve(records.size());
    before.reserve(records.size());
    for (const auto& [patient, ms] : records) {
      keys.push_back(country_key(to_hex(patient)));
      before.push_back(std::to_string(ms));
    }
    std::vector<Command> commands;
    commands.reserve(keys.size());
    for (std::size_t i = 0; i < keys.size(); ++i) {
      commands.push_back({"EVAL", kForgetOlderScript, "1", keys[i], before[i]});
    }
    Session session(**conn);
    if (auto replies = session.pipeline(commands); !replies) return replies.error();
    return Ok{};
  }

  Result<bool> forget_patient(const ports::Hash32& patient_key) override {
    const std::string key = country_key(to_hex(patient_key));
    bool removed = false;
    for (const auto& [region, conn] : regions_) {
      Session session(*conn);
      auto reply = session.command({"DEL", key});
      if (!reply) return reply.error();
      if ((*reply)->type != REDIS_REPLY_INTEGER) return unexpected_reply(session.name(), "DEL");
      removed = removed || (*reply)->integer > 0;
    }
    return removed;
  }

  Result<std::optional<std::string>> consent_record(const ports::Hash32& key) override {
    auto conn = connection(links_region_);
    if (!conn) return conn.error();
    const std::string redis_key = consent_key(to_hex(key));
    Session session(**conn);
    auto reply = session.command({"GET", redis_key});
    if (!reply) return reply.error();
    if ((*reply)->type == REDIS_REPLY_NIL) return std::optional<std::string>();
    if ((*reply)->type != REDIS_REPLY_STRING) return unexpected_reply(session.name(), "GET");
    return std::optional<std::string>(std::string(text_of(**reply)));
  }

  Status put_consent_record(const ports::Hash32& key, const std::string& json) override {
    auto conn = connection(links_region_);
    if (!conn) return conn.error();
    const std::string redis_key = consent_key(to_hex(key));
    Session session(**conn);
    auto reply = session.command({"SET", redis_key, json});
    if (!reply) return reply.error();
    if ((*reply)->type != REDIS_REPLY_STATUS) return unexpected_reply(session.name(), "SET");
    return Ok{};
  }

  // A Consent's grants as one field value: "<participant hex> <purpose> <expires>" per line.
  Result<std::vector<ports::ConsentedGrant>> consented_grants(
      const ports::Hash32& patient_key) override {
    auto conn = connection(links_region_);
    if (!conn) return conn.error();
    Session session(**conn);
    auto reply = session.command({"HGETALL", consented_key(to_hex(patient_key))});
    if (!reply) return reply.error();
    const redisReply* r = reply->get();
    if (r->type != REDIS_REPLY_ARRAY) return unexpected_reply(session.name(), "HGETALL");
    std::vector<ports::ConsentedGrant> out;
    for (std::size_t i = 1; i < r->elements; i += 2) {
      if (r->element[i]->type != REDIS_REPLY_STRING) continue;
      std::string_view lines = text_of(*r->element[i]);
      while (!lines.empty()) {
        const auto end = lines.find('\n');
        const std::string_view line = lines.substr(0, end);
        lines = end == std::string_view::npos ? std::string_view() : lines.substr(end + 1);
        if (auto grant = parse_consented(line)) out.push_back(std::move(*grant));
      }
    }
    return out;
  }

  Status put_consented_grants(const ports::Hash32& patient_key, const ports::Hash32& consent_key,
                              std::span<const ports::ConsentedGrant> grants) override {
    auto conn = connection(links_region_);
    if (!conn) return conn.error();
    const std::string key = consented_key(to_hex(patient_key));
    const std::string field = to_hex(consent_key);
    std::string value;
    for (const auto& g : grants) {
      value += to_hex(g.participant) + " " + g.purpose + " " + std::to_string(g.expires_at) + "\n";
    }
    Session session(**conn);
    auto reply = grants.empty() ? session.command({"HDEL", key, field})
                                : session.command({"HSET", key, field, value});
    if (!reply) return reply.error();
    if ((*reply)->type != REDIS_REPLY_INTEGER) {
      return unexpected_reply(session.name(), grants.empty() ? "HDEL" : "HSET");
    }
    return Ok{};
  }

  Result<std::vector<std::optional<ports::Hash32>>> linked_persons(
      std::span<const ports::Hash32> records) override {
    std::vector<std::optional<ports::Hash32>> out(records.size());
    if (records.empty()) return out;
    auto conn = connection(links_region_);
    if (!conn) return conn.error();
    std::vector<std::string> keys;  // the commands point into them
    keys.reserve(records.size());
    for (const auto& r : records) keys.push_back(link_key(to_hex(r)));
    std::vector<Command> reads;
    reads.reserve(keys.size());
    for (const auto& k : keys) reads.push_back({"GET", k});
    Session session(**conn);
    auto replies = session.pipeline(reads);
    if (!replies) return replies.error();
    for (std::size_t i = 0; i < records.size(); ++i) {
      const redisReply& r = *(*replies)[i];
      if (r.type == REDIS_REPLY_NIL) continue;
      auto person = r.type == REDIS_REPLY_STRING ? person_of(text_of(r)) : std::nullopt;
      if (!person) return unexpected_reply(session.name(), "GET " + keys[i]);
      out[i] = *person;
    }
    return out;
  }

  Result<std::vector<ports::Hash32>> link_persons(
      std::span<const std::pair<ports::Hash32, ports::Hash32>> links) override {
    std::vector<ports::Hash32> out;
    if (links.empty()) return out;
    auto conn = connection(links_region_);
    if (!conn) return conn.error();
    // SET NX then GET, per link, in one round trip: the GET answers who won.
    std::vector<std::string> keys, persons;  // the commands point into them
    keys.reserve(links.size());
    persons.reserve(links.size());
    for (const auto& [record, person] : links) {
      keys.push_back(link_key(to_hex(record)));
      persons.push_back(to_hex(person));
    }
    std::vector<Command> commands;
    commands.reserve(links.size() * 2);
    for (std::size_t i = 0; i < links.size(); ++i) {
      commands.push_back({"SET", keys[i], persons[i], "NX"});
      commands.push_back({"GET", keys[i]});
    }
    Session session(**conn);
    auto replies = session.pipeline(commands);
    if (!replies) return replies.error();
    for (std::size_t i = 0; i < links.size(); ++i) {
      const redisReply& r = *(*replies)[2 * i + 1];
      auto person = r.type == REDIS_REPLY_STRING ? person_of(text_of(r)) : std::nullopt;
      if (!person) return unexpected_reply(session.name(), "GET " + keys[i]);
      out.push_back(*person);
    }
    return out;
  }

  // MasterKeyStore

  Result<std::vector<std::optional<ports::MasterKeyEntry>>> master_keys(
      const std::string& region, std::span<const ports::Hash32> patient_keys) override {
    auto conn = connection(region);
    if (!conn) return conn.error();
    if (patient_keys.empty()) return std::vector<std::optional<ports::MasterKeyEntry>>{};
    std::vector<std::string> keys;
    keys.reserve(patient_keys.size());
    for (const auto& p : patient_keys) keys.push_back(master_key_key(to_hex(p)));
    std::vector<Command> reads;
    reads.reserve(keys.size());
    for (const auto& k : keys) reads.push_back({"GET", k});
    Session session(**conn);
    auto replies = session.pipeline(reads);
    if (!replies) return replies.error();
    std::vector<std::optional<ports::MasterKeyEntry>> out;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      const redisReply& r = *(*replies)[i];
      if (r.type == REDIS_REPLY_NIL) {
        out.emplace_back();
        continue;
      }
      if (r.type != REDIS_REPLY_STRING) return unexpected_reply(session.name(), "GET");
      auto entry = parse_entry(text_of(r), keys[i]);
      if (!entry) return entry.error();
      out.emplace_back(std::move(*entry));
    }
    return out;
  }

  Result<std::vector<ports::MasterKeyEntry>> create_master_keys(
      const std::string& region,
      std::span<const std::pair<ports::Hash32, ports::MasterKeyEntry>> entries) override {
    auto conn = connection(region);
    if (!conn) return conn.error();
    std::vector<std::string> keys, values;
    for (const auto& [patient, entry] : entries) {
      auto json = entry_json(entry);
      if (!json) return json.error();
      keys.push_back(master_key_key(to_hex(patient)));
      values.push_back(std::move(*json));
    }
    if (entries.empty()) return std::vector<ports::MasterKeyEntry>{};
    std::vector<Command> writes;
    writes.reserve(keys.size());
    for (std::size_t i = 0; i < keys.size(); ++i) {
      writes.push_back({"SET", keys[i], values[i], "NX"});
    }
    Session session(**conn);
    auto replies = session.pipeline(writes);
    if (!replies) return replies.error();

    std::vector<ports::MasterKeyEntry> in_force;
    std::vector<std::size_t> lost;  // patients that had an entry already
    std::vector<Command> reads;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      const redisReply& r = *(*replies)[i];
      if (r.type == REDIS_REPLY_STATUS) {
        in_force.push_back(entries[i].second);
      } else if (r.type == REDIS_REPLY_NIL) {
        in_force.emplace_back();
        lost.push_back(i);
        reads.push_back({"GET", keys[i]});
      } else {
        return unexpected_reply(session.name(), "SET");
      }
    }
    if (lost.empty()) return in_force;
    auto first = session.pipeline(reads);
    if (!first) return first.error();
    for (std::size_t j = 0; j < lost.size(); ++j) {
      const std::size_t i = lost[j];
      const redisReply& r = *(*first)[j];
      if (r.type == REDIS_REPLY_NIL) {
        // Entries are never deleted (erasure leaves a mark); one removed by hand is re-made on
        // retry.
        return unavailable(session.name(),
                           "master key entry " + keys[i] + " vanished while being read");
      }
      if (r.type != REDIS_REPLY_STRING) return unexpected_reply(session.name(), "GET");
      auto entry = parse_entry(text_of(r), keys[i]);
      if (!entry) return entry.error();
      in_force[i] = std::move(*entry);
    }
    return in_force;
  }

  Result<bool> replace_master_key(const std::string& region, const ports::Hash32& patient_key,
                                  const ports::MasterKeyEntry& expected,
                                  const ports::MasterKeyEntry& replacement) override {
    auto conn = connection(region);
    if (!conn) return conn.error();
    auto expected_json = entry_json(expected);
    if (!expected_json) return expected_json.error();
    auto replacement_json = entry_json(replacement);
    if (!replacement_json) return replacement_json.error();
    const std::string key = master_key_key(to_hex(patient_key));
    Session session(**conn);
    auto reply =
        session.command({"EVAL", kReplaceScript, "1", key, *expected_json, *replacement_json});
    if (!reply) return reply.error();
    if ((*reply)->type != REDIS_REPLY_INTEGER) return unexpected_reply(session.name(), "EVAL");
    return (*reply)->integer == 1;
  }

  // A call re-sent after a dropped connection finds the mark it wrote and answers false; the
  // mark is in place either way.
  Result<bool> erase_master_key(const std::string& region, const ports::Hash32& patient_key,
                                const std::string& erased_at) override {
    auto conn = connection(region);
    if (!conn) return conn.error();
    if (!is_rfc3339(erased_at)) {
      return Error{ErrorCode::kInvalidInput, "erased_at is not an RFC 3339 date-time", region};
    }
    const std::string key = master_key_key(to_hex(patient_key));
    Session session(**conn);
    auto reply = session.command({"EVAL", kEraseScript, "1", key, erased_at});
    if (!reply) return reply.error();
    if ((*reply)->type != REDIS_REPLY_INTEGER) return unexpected_reply(session.name(), "EVAL");
    if ((*reply)->integer < 0) {
      return Error{ErrorCode::kIntegrity,
                   "master key entry " + key + " is malformed (not the canonical form)", key};
    }
    return (*reply)->integer == 1;
  }

  // SCAN may return a key more than once (when Redis resizes its table during the scan), so an
  // entry can be visited twice; every entry present for the whole scan is visited at least once.
  Status for_each_master_key(
      const std::string& region,
      const std::function<Status(const ports::Hash32&, const ports::MasterKeyEntry&)>& visit)
      override {
    auto conn = connection(region);
    if (!conn) return conn.error();
    std::vector<std::string> targets;  // the one server, or every master of a cluster
    {
      Session session(**conn);
      auto named = session.scan_targets();
      if (!named) return named.error();
      targets = std::move(*named);
    }
    for (const std::string& target : targets) {
      if (auto walked = scan_master_keys(**conn, target, visit); !walked) return walked;
    }
    return Ok{};
  }

 private:
  // One server's SCAN, page by page, to cursor 0.
  static Status scan_master_keys(
      Link& conn, const std::string& target,
      const std::function<Status(const ports::Hash32&, const ports::MasterKeyEntry&)>& visit) {
    std::string cursor = "0";
    do {
      std::vector<std::pair<ports::Hash32, ports::MasterKeyEntry>> page;
      {
        Session session(conn);
        auto reply =
            session.command_on(target, {"SCAN", cursor, "MATCH", "mk:*", "COUNT", kScanCount});
        if (!reply) return reply.error();
        const redisReply& r = **reply;
        if (r.type != REDIS_REPLY_ARRAY || r.elements != 2 ||
            r.element[0]->type != REDIS_REPLY_STRING || r.element[1]->type != REDIS_REPLY_ARRAY) {
          return unexpected_reply(session.name(), "SCAN");
        }
        std::vector<std::string> keys;
        std::vector<ports::Hash32> patients;
        for (std::size_t i = 0; i < r.element[1]->elements; ++i) {
          const redisReply& k = *r.element[1]->element[i];
          if (k.type != REDIS_REPLY_STRING) return unexpected_reply(session.name(), "SCAN");
          if (auto patient = patient_key_of(text_of(k))) {
            keys.emplace_back(text_of(k));
            patients.push_back(*patient);
          }
        }
        cursor = std::string(text_of(*r.element[0]));
        if (!keys.empty()) {
          std::vector<Command> reads;
          reads.reserve(keys.size());
          for (const auto& k : keys) reads.push_back({"GET", k});
          auto values = session.pipeline(reads);
          if (!values) return values.error();
          for (std::size_t i = 0; i < keys.size(); ++i) {
            const redisReply& v = *(*values)[i];
            if (v.type == REDIS_REPLY_NIL) continue;  // removed by hand since the SCAN
            if (v.type != REDIS_REPLY_STRING) return unexpected_reply(session.name(), "GET");
            auto entry = parse_entry(text_of(v), keys[i]);
            if (!entry) return entry.error();
            page.emplace_back(patients[i], std::move(*entry));
          }
        }
      }
      // Outside the session, so that the visitor may call this store (rotation replaces keys).
      for (const auto& [patient, entry] : page) {
        if (auto s = visit(patient, entry); !s) return s;
      }
    } while (cursor != "0");
    return Ok{};
  }

  Result<Link*> connection(const std::string& region) {
    auto it = regions_.find(region);
    if (it == regions_.end()) {
      return Error{ErrorCode::kInvalidInput, "no Redis configured for region " + region, region};
    }
    return it->second.get();
  }

  struct Release {
    std::string claim_key, pointer_key, pending_key, blob_key, version;
  };

  // A blob's key is its content hash (get() knows nothing else), so in a cluster it is in
  // another slot than its claim and no script can hold both. Two steps instead: the script
  // gives up the claim (the same checks, in one step on the resource's slot) and answers
  // whether the blob goes; then the blob is unlinked. Still safe to re-send: a claim released
  // already no longer names the blob, so the script answers 1 and the UNLINK runs again. A
  // crash in between leaves a blob nothing names, as a crash in put_if_absent can.
  static Status release_in_cluster(Link& conn, const std::vector<Release>& releases,
                                   std::span<const ports::ClaimedBlob> claims) {
    std::vector<Command> scripts;
    scripts.reserve(releases.size());
    for (std::size_t i = 0; i < releases.size(); ++i) {
      const Release& r = releases[i];
      scripts.push_back({"EVAL", kReleaseClaimScript, "3", r.claim_key, r.pointer_key,
                         r.pending_key, r.version, claims[i].key});
    }
    Session session(conn);
    auto replies = session.pipeline(scripts);
    if (!replies) return replies.error();
    std::vector<Command> unlinks;
    for (std::size_t i = 0; i < releases.size(); ++i) {
      const redisReply& r = *(*replies)[i];
      if (r.type != REDIS_REPLY_INTEGER) return unexpected_reply(session.name(), "EVAL");
      if (r.integer == 1) unlinks.push_back({"UNLINK", releases[i].blob_key});
    }
    if (unlinks.empty()) return Ok{};
    if (auto removed = session.pipeline(unlinks); !removed) return removed.error();
    return Ok{};
  }

  static std::vector<std::string> country_keys(std::span<const ports::Hash32> patient_keys) {
    std::vector<std::string> keys;
    keys.reserve(patient_keys.size());
    for (const auto& p : patient_keys) keys.push_back(country_key(to_hex(p)));
    return keys;
  }

  // Reads one region's records of `keys` into `out`, where they are newer than what is there.
  static Status read_countries(const std::string& region, Link& conn,
                               const std::vector<std::string>& keys,
                               std::vector<std::optional<ports::PatientCountry>>& out) {
    std::vector<Command> reads;
    reads.reserve(keys.size());
    for (const auto& k : keys) reads.push_back({"GET", k});
    Session session(conn);
    auto replies = session.pipeline(reads);
    if (!replies) return replies.error();
    for (std::size_t i = 0; i < keys.size(); ++i) {
      const redisReply& r = *(*replies)[i];
      if (r.type == REDIS_REPLY_NIL) continue;
      if (r.type != REDIS_REPLY_STRING) return unexpected_reply(session.name(), "GET");
      auto record = parse_country(text_of(r), keys[i]);
      if (!record) return record.error();
      record->region = region;
      if (!out[i] || record->recorded_ms > out[i]->recorded_ms) out[i] = std::move(*record);
    }
    return Ok{};
  }

  // Writes the records in `region`; answers their Redis keys.
  Result<std::vector<std::string>> write_countries(
      const std::string& region, std::span<const std::pair<ports::Hash32, std::string>> countries,
      std::int64_t now_ms) {
    auto conn = connection(region);
    if (!conn) return conn.error();
    std::vector<std::string> keys, values;
    if (countries.empty()) return keys;
    for (const auto& [patient, country] : countries) {
      if (!is_country(country)) {
        return Error{ErrorCode::kInvalidInput, "a country is two upper-case letters", region};
      }
      keys.push_back(country_key(to_hex(patient)));
      values.push_back(country + "|" + std::to_string(now_ms));
    }
    std::vector<Command> writes;
    writes.reserve(keys.size());
    for (std::size_t i = 0; i < keys.size(); ++i) writes.push_back({"SET", keys[i], values[i]});
    Session session(**conn);
    if (auto replies = session.pipeline(writes); !replies) return replies.error();
    return keys;
  }

  static Status remove_keys(Link& conn, const std::vector<std::string>& keys) {
    if (keys.empty()) return Ok{};
    std::vector<Command> removals;
    removals.reserve(keys.size());
    for (const auto& k : keys) removals.push_back({"DEL", k});
    Session session(conn);
    if (auto replies = session.pipeline(removals); !replies) return replies.error();
    return Ok{};
  }

  // An HGET of a claim: nullopt when unclaimed; kIntegrity when it is not a hex content hash.
  static Result<std::optional<std::string>> claimed_hash(const redisReply& reply,
                                                         const std::string& key,
                                                         const std::string& version,
                                                         const std::string& where) {
    if (reply.type == REDIS_REPLY_NIL) return std::optional<std::string>();
    if (reply.type != REDIS_REPLY_STRING) return unexpected_reply(where, "HGET");
    if (!is_lower_hex(text_of(reply))) {
      return Error{ErrorCode::kIntegrity,
                   "the claim in " + key + " field " + version + " is not a hex content hash", key};
    }
    return std::optional<std::string>(std::string(text_of(reply)));
  }

  // The map is fixed after construction; each Connection guards its own state.
  std::map<std::string, std::unique_ptr<Link>> regions_;
  const std::string links_region_;
};

}  // namespace

std::string blob_key(std::string_view content_hash_hex) {
  return "blob:" + std::string(content_hash_hex);
}

namespace {

std::string resource_part(std::string_view resource_key_hex, KeyLayout layout) {
  if (layout == KeyLayout::kStandalone) return std::string(resource_key_hex);
  return "{" + std::string(resource_key_hex) + "}";
}

}  // namespace

std::string claims_key(std::string_view resource_key_hex, KeyLayout layout) {
  return "ver:" + resource_part(resource_key_hex, layout);
}

std::string pointer_key(std::string_view resource_key_hex, KeyLayout layout) {
  return "ptr:" + resource_part(resource_key_hex, layout);
}

std::string pending_key(std::string_view resource_key_hex, KeyLayout layout) {
  return "pend:" + resource_part(resource_key_hex, layout);
}

std::string country_key(std::string_view patient_key_hex) {
  return "cty:" + std::string(patient_key_hex);
}

std::string master_key_key(std::string_view patient_key_hex) {
  return "mk:" + std::string(patient_key_hex);
}

std::string patient_index_key(std::string_view patient_key_hex) {
  return "pres:" + std::string(patient_key_hex);
}

std::string consent_key(std::string_view consent_key_hex) {
  return "consent:" + std::string(consent_key_hex);
}

std::string consented_key(std::string_view patient_key_hex) {
  return "consented:" + std::string(patient_key_hex);
}

std::string link_key(std::string_view record_key_hex) {
  return "link:" + std::string(record_key_hex);
}

Result<std::unique_ptr<RegionStores>> make_region_stores(const RedisConfig& config) {
  std::map<std::string, std::unique_ptr<Link>> regions;
  for (const auto& [region, endpoint] : config.regions) {
    auto conn = make_link(region, endpoint);
    if (auto c = conn->connect(); !c) return c.error();  // connect() ends with a PING
    regions.emplace(region, std::move(conn));
  }
  std::string links_region = config.links_region;
  if (links_region.empty() && !regions.empty()) links_region = regions.begin()->first;
  if (!regions.contains(links_region)) {
    return Error{ErrorCode::kInvalidInput, "the links region is not a configured region",
                 links_region};
  }
  return std::unique_ptr<RegionStores>(
      std::make_unique<RedisRegionStores>(std::move(regions), std::move(links_region)));
}

namespace {

class RegionProbe final : public ports::DependencyProbe {
 public:
  RegionProbe(std::string region, RedisEndpoint endpoint)
      : region_(std::move(region)), endpoint_(std::move(endpoint)) {}
  std::string name() const override { return "redis:" + region_; }
  Status check(std::chrono::milliseconds timeout) override {
    RedisEndpoint endpoint = endpoint_;
    endpoint.timeout_ms = static_cast<int>(std::min<std::int64_t>(timeout.count(), 60000));
    return make_link(region_, endpoint)->connect();
  }

 private:
  std::string region_;
  RedisEndpoint endpoint_;
};

}  // namespace

std::vector<std::unique_ptr<ports::DependencyProbe>> make_region_probes(const RedisConfig& config) {
  std::vector<std::unique_ptr<ports::DependencyProbe>> out;
  for (const auto& [region, endpoint] : config.regions) {
    out.push_back(std::make_unique<RegionProbe>(region, endpoint));
  }
  return out;
}

}  // namespace fl::redis
