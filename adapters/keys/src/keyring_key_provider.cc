#include "fl/adapters/keys/keyring_key_provider.h"

#include "fl/base/assert.h"
#include "fl/base/bytes.h"
#include "fl/base/c_handle.h"
#include "fl/base/secret_bytes.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/prettywriter.h>

#include <array>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>
#include <vector>

namespace fl::keys {
namespace {

using CipherPtr = CHandle<EVP_CIPHER, &EVP_CIPHER_free>;
using CipherCtxPtr = CHandle<EVP_CIPHER_CTX, &EVP_CIPHER_CTX_free>;

constexpr std::uint8_t kFormatVersion = 0x01;
constexpr std::size_t kNonceSize = 12;
constexpr std::size_t kTagSize = 16;
constexpr std::size_t kHeaderSize = 1 + kNonceSize;
constexpr std::size_t kKekSize = 32;
constexpr std::size_t kMaxIdLength = 32;
// Master keys are 32 bytes; the bound only keeps OpenSSL's int lengths far from overflow.
constexpr std::size_t kMaxKeySize = 4096;
// A keyring holds a few dozen keys; anything this large is the wrong file.
constexpr std::size_t kMaxFileSize = 1 << 20;

// ---- Text that holds key material --------------------------------------------------------------

// A byte buffer wiped with OPENSSL_cleanse when it goes away, on every return path. It grows by
// copying into a new buffer and wiping the old one, so no stale copy of the file's key material
// is left in freed memory (std::vector or RapidJSON's StringBuffer would leave one on realloc).
// It is also a RapidJSON output stream (Ch, Put, Flush), which is why two methods are PascalCase.
class WipedBuffer {
 public:
  using Ch = char;

  explicit WipedBuffer(std::size_t capacity) : bytes_(capacity == 0 ? 1 : capacity) {}
  WipedBuffer(const WipedBuffer&) = delete;
  WipedBuffer& operator=(const WipedBuffer&) = delete;
  ~WipedBuffer() { OPENSSL_cleanse(bytes_.data(), bytes_.size()); }

  char* data() { return bytes_.data(); }
  const char* data() const { return bytes_.data(); }
  std::size_t size() const { return size_; }
  std::size_t capacity() const { return bytes_.size(); }
  void set_size(std::size_t size) {
    FL_ASSERT(size <= bytes_.size(), "set_size only records what was written into the buffer");
    size_ = size;
  }

  void Put(char c) {  // NOLINT(readability-identifier-naming): RapidJSON's stream concept
    if (size_ == bytes_.size()) grow(2 * bytes_.size());
    bytes_[size_++] = c;
  }
  void Flush() {}  // NOLINT(readability-identifier-naming): RapidJSON's stream concept

 private:
  void grow(std::size_t capacity) {
    std::vector<char> bigger(capacity);
    std::memcpy(bigger.data(), bytes_.data(), size_);
    OPENSSL_cleanse(bytes_.data(), bytes_.size());
    bytes_.swap(bigger);
  }

  std::vector<char> bytes_;
  std::size_t size_ = 0;
};

// ---- File descriptors --------------------------------------------------------------------------

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // Closes now and reports the result: on some file systems close() is where a failed write
  // surfaces.
  bool close() { return ::close(std::exchange(fd_, -1)) == 0; }

 private:
  void reset() {
    if (fd_ >= 0) ::close(std::exchange(fd_, -1));
  }
  int fd_ = -1;
};

std::string errno_text(int error) { return std::strerror(error); }

std::string octal_mode(mode_t mode) {
  std::array<char, 8> text{};
  std::snprintf(text.data(), text.size(), "%04o", static_cast<unsigned>(mode & 07777));
  return text.data();
}

// ---- Syntax of ids, regions, dates, material ---------------------------------------------------

Error bad(const std::string& path, const std::string& pointer, const std::string& what) {
  return Error{ErrorCode::kInvalidInput,
               path + ": " + (pointer.empty() ? "/" : pointer) + ": " + what, path + "#" + pointer};
}

bool is_key_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxIdLength) return false;
  for (char c : id) {
    if (c < 0x21 || c > 0x7e) return false;  // printable ASCII without the space
  }
  return true;
}

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// The gateway configuration's rule for region names (config/README.md).
bool is_region_name(std::string_view region) {
  if (region.empty() || region.size() > 16 || region[0] < 'a' || region[0] > 'z') return false;
  for (char c : region) {
    if (!is_lower_alnum(c) && c != '-') return false;
  }
  return true;
}

std::optional<int> digits(std::string_view text, std::size_t at, std::size_t count) {
  if (at + count > text.size()) return std::nullopt;
  int value = 0;
  for (std::size_t i = at; i < at + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

int days_in_month(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

// RFC 3339 section 5.6 date-time: 2026-11-24T00:00:00Z, 2026-11-24t10:30:00.5+01:00, ...
bool is_rfc3339(std::string_view s) {
  const auto year = digits(s, 0, 4), month = digits(s, 5, 2), day = digits(s, 8, 2);
  const auto hour = digits(s, 11, 2), minute = digits(s, 14, 2), second = digits(s, 17, 2);
  if (!year || !month || !day || !hour || !minute || !second || s[4] != '-' || s[7] != '-' ||
      (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':') {
    return false;
  }
  if (*month < 1 || *month > 12 || *day < 1 || *day > days_in_month(*year, *month) || *hour > 23 ||
      *minute > 59 || *second > 60) {  // 60: a leap second
    return false;
  }
  std::size_t at = 19;
  if (at < s.size() && s[at] == '.') {
    const std::size_t first = ++at;
    while (at < s.size() && s[at] >= '0' && s[at] <= '9') ++at;
    if (at == first) return false;
  }
  if (at == s.size()) return false;  // the offset is required
  if (s[at] == 'Z' || s[at] == 'z') return at + 1 == s.size();
  if (s[at] != '+' && s[at] != '-') return false;
  const auto offset_hour = digits(s, at + 1, 2), offset_minute = digits(s, at + 4, 2);
  return offset_hour && offset_minute && s[at + 3] == ':' && *offset_hour <= 23 &&
         *offset_minute <= 59 && at + 6 == s.size();
}

int nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// 64 hex digits to 32 bytes. Checks every digit before allocating, so no partial copy of the
// material is left behind on the error path (base's parse_hex would leave one unwiped).
std::optional<SecretBytes> decode_material(std::string_view hex) {
  if (hex.size() != 2 * kKekSize) return std::nullopt;
  for (char c : hex) {
    if (nibble(c) < 0) return std::nullopt;
  }
  Bytes bytes(kKekSize);
  for (std::size_t i = 0; i < kKekSize; ++i) {
    bytes[i] = static_cast<std::uint8_t>((nibble(hex[2 * i]) << 4) | nibble(hex[2 * i + 1]));
  }
  return SecretBytes(std::move(bytes));
}

std::string_view string_of(const rapidjson::Value& value) {
  return {value.GetString(), value.GetStringLength()};
}

// JSON pointer token (RFC 6901): ~ and / escaped.
std::string pointer_token(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

std::string join(std::initializer_list<std::string_view> names) {
  std::string out;
  for (std::string_view name : names) out += (out.empty() ? "" : ", ") + std::string(name);
  return out;
}

// Refuses unexpected and repeated members. A misspelt "retired" must not leave a key usable,
// and RapidJSON keeps both copies of a repeated member while FindMember picks the first. A
// member name is echoed only when short: nobody should see key material pasted as a name.
Status check_members(const std::string& path, const std::string& pointer,
                     const rapidjson::Value& object,
                     std::initializer_list<std::string_view> allowed) {
  std::vector<std::string_view> seen;
  for (const auto& member : object.GetObject()) {
    const std::string_view name = string_of(member.name);
    const std::string at =
        name.size() <= 16 && is_key_id(name) ? pointer + "/" + pointer_token(name) : pointer;
    bool known = false;
    for (std::string_view a : allowed) known = known || a == name;
    if (!known) return bad(path, at, "unexpected member (expected only " + join(allowed) + ")");
    for (std::string_view s : seen) {
      if (s == name) return bad(path, at, "member given twice");
    }
    seen.push_back(name);
  }
  return Ok{};
}

// ---- The checked keyring -----------------------------------------------------------------------

struct Kek {
  ports::KekInfo info;
  SecretBytes material;  // empty for retired keys: they never unwrap again
  std::string pointer;   // "/keys/<i>", for messages
};

struct Keyring {
  std::string pepper_id;
  SecretBytes pepper;
  std::vector<Kek> keks;  // in file order
};

constexpr const char* kIdExpected =
    "expected an id of 1-32 printable ASCII characters without whitespace";
constexpr const char* kMaterialExpected = "expected 64 hex digits (32 bytes)";

Result<SecretBytes> material_of(const std::string& path, const std::string& pointer,
                                const rapidjson::Value& holder) {
  auto it = holder.FindMember("material");
  if (it == holder.MemberEnd() || !it->value.IsString()) {
    return bad(path, pointer + "/material", kMaterialExpected);
  }
  auto material = decode_material(string_of(it->value));
  if (!material) return bad(path, pointer + "/material", kMaterialExpected);
  return std::move(*material);
}

Result<std::optional<bool>> flag_of(const std::string& path, const std::string& pointer,
                                    const rapidjson::Value& key, const char* name) {
  auto it = key.FindMember(name);
  if (it == key.MemberEnd()) return std::optional<bool>{};
  if (!it->value.IsBool()) return bad(path, pointer + "/" + name, "expected true or false");
  return std::optional<bool>(it->value.GetBool());
}

Result<Kek> check_key(const std::string& path, const std::string& pointer,
                      const rapidjson::Value& key) {
  if (!key.IsObject()) {
    return bad(path, pointer, "expected an object with id, region, created and material");
  }
  if (auto members = check_members(path, pointer, key,
                                   {"id", "region", "created", "active", "retired", "material"});
      !members) {
    return members.error();
  }
  Kek kek{.pointer = pointer};
  auto id = key.FindMember("id");
  if (id == key.MemberEnd() || !id->value.IsString() || !is_key_id(string_of(id->value))) {
    return bad(path, pointer + "/id", kIdExpected);
  }
  kek.info.id = string_of(id->value);
  auto region = key.FindMember("region");
  if (region == key.MemberEnd() || !region->value.IsString() ||
      !is_region_name(string_of(region->value))) {
    return bad(path, pointer + "/region", "expected a region name matching ^[a-z][a-z0-9-]{0,15}$");
  }
  kek.info.region = string_of(region->value);
  auto created = key.FindMember("created");
  if (created == key.MemberEnd() || !created->value.IsString() ||
      !is_rfc3339(string_of(created->value))) {
    return bad(path, pointer + "/created",
               "expected an RFC 3339 date-time such as 2026-11-24T00:00:00Z");
  }
  kek.info.created = string_of(created->value);
  auto active = flag_of(path, pointer, key, "active");
  if (!active) return active.error();
  auto retired = flag_of(path, pointer, key, "retired");
  if (!retired) return retired.error();
  kek.info.active = active->value_or(false);
  kek.info.retired = retired->value_or(false);
  if (kek.info.active && kek.info.retired) {
    return bad(path, pointer + "/active", "a retired key cannot be active");
  }
  auto material = material_of(path, pointer, key);
  if (!material) return material.error();
  if (!kek.info.retired) kek.material = std::move(*material);
  return kek;
}

// Every rule of the format (see the header), in the order a reader of the file meets them.
Result<Keyring> check_keyring(const std::string& path, const rapidjson::Document& doc) {
  if (!doc.IsObject()) return bad(path, "", "expected a JSON object with pepper and keys");
  if (auto members = check_members(path, "", doc, {"comment", "pepper", "keys"}); !members) {
    return members.error();
  }
  Keyring keyring;
  if (auto comment = doc.FindMember("comment");
      comment != doc.MemberEnd() && !comment->value.IsString()) {
    return bad(path, "/comment", "expected a string");
  }
  auto pepper = doc.FindMember("pepper");
  if (pepper == doc.MemberEnd() || !pepper->value.IsObject()) {
    return bad(path, "/pepper", "expected an object with id and material");
  }
  if (auto members = check_members(path, "/pepper", pepper->value, {"id", "material"}); !members) {
    return members.error();
  }
  auto pepper_id = pepper->value.FindMember("id");
  if (pepper_id == pepper->value.MemberEnd() || !pepper_id->value.IsString() ||
      !is_key_id(string_of(pepper_id->value))) {
    return bad(path, "/pepper/id", kIdExpected);
  }
  keyring.pepper_id = string_of(pepper_id->value);
  auto pepper_material = material_of(path, "/pepper", pepper->value);
  if (!pepper_material) return pepper_material.error();
  keyring.pepper = std::move(*pepper_material);

  auto keys = doc.FindMember("keys");
  if (keys == doc.MemberEnd() || !keys->value.IsArray() || keys->value.Empty()) {
    return bad(path, "/keys", "expected a non-empty array of keys");
  }
  std::map<std::string, std::string> pointer_of_id;
  std::map<std::string, std::string> active_of_region;  // region -> pointer of its active key
  for (rapidjson::SizeType i = 0; i < keys->value.Size(); ++i) {
    const std::string pointer = "/keys/" + std::to_string(i);
    auto kek = check_key(path, pointer, keys->value[i]);
    if (!kek) return kek.error();
    if (auto [it, fresh] = pointer_of_id.emplace(kek->info.id, pointer); !fresh) {
      return bad(path, pointer + "/id",
                 "duplicate key id \"" + kek->info.id + "\" (also " + it->second + ")");
    }
    active_of_region.try_emplace(kek->info.region);
    if (kek->info.active) {
      std::string& first = active_of_region[kek->info.region];
      if (!first.empty()) {
        return bad(path, pointer + "/active",
                   "a second active key for region \"" + kek->info.region + "\" (the first is " +
                       first + "); exactly one may be active");
      }
      first = pointer;
    }
    keyring.keks.push_back(std::move(*kek));
  }
  for (const auto& [region, active] : active_of_region) {
    if (active.empty()) {
      return bad(path, "/keys",
                 "region \"" + region +
                     "\" has no active key; exactly one of its non-retired keys must be active");
    }
  }
  return keyring;
}

// ---- Reading the file --------------------------------------------------------------------------

// Follows symlinks (a Kubernetes secret is mounted through them) and checks what was opened,
// not the path again, so the file cannot be swapped between the check and the read.
Result<UniqueFd> open_keyring(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    const int error = errno;
    const ErrorCode code = error == ENOENT   ? ErrorCode::kNotFound
                           : error == EACCES ? ErrorCode::kPermissionDenied
                                             : ErrorCode::kUnavailable;
    return Error{code, path + ": cannot open keyring file: " + errno_text(error), path};
  }
  return fd;
}

Status check_permissions(const std::string& path, const struct stat& st) {
  if (!S_ISREG(st.st_mode)) {
    return Error{ErrorCode::kPermissionDenied, path + ": the keyring must be a regular file", path};
  }
  const uid_t me = ::geteuid();
  if (st.st_uid != me && st.st_uid != 0) {
    return Error{ErrorCode::kPermissionDenied,
                 path + ": the keyring is owned by uid " + std::to_string(st.st_uid) +
                     ", not by this process (uid " + std::to_string(me) +
                     ") or root; fix with: chown " + std::to_string(me) + " " + path,
                 path};
  }
  if ((st.st_mode & 077) != 0) {
    return Error{ErrorCode::kPermissionDenied,
                 path + ": mode " + octal_mode(st.st_mode) +
                     " lets group or others read or write the keyring; fix with: chmod 600 " + path,
                 path};
  }
  return Ok{};
}

// A parsed keyring and the text its DOM points into (parsed in place, so the material exists
// only in `text`, which is wiped). `doc` is declared after `text` so it goes first.
struct LoadedKeyring {
  explicit LoadedKeyring(std::size_t capacity) : text(capacity) {}
  WipedBuffer text;
  rapidjson::Document doc;
  Keyring keyring;
};

Result<std::unique_ptr<LoadedKeyring>> load_keyring(const std::string& path, const UniqueFd& fd) {
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    const int error = errno;
    return Error{ErrorCode::kUnavailable, path + ": cannot stat keyring file: " + errno_text(error),
                 path};
  }
  if (auto permitted = check_permissions(path, st); !permitted) return permitted.error();
  if (static_cast<std::uint64_t>(st.st_size) > kMaxFileSize) {
    return bad(path, "", "expected a keyring file of at most 1 MiB");
  }
  // One byte more than the size, to notice a file that grows while it is read, and one for the
  // terminator the in-place parser needs.
  auto loaded = std::make_unique<LoadedKeyring>(static_cast<std::size_t>(st.st_size) + 2);
  WipedBuffer& text = loaded->text;
  std::size_t size = 0;
  while (size < text.capacity() - 1) {
    const ssize_t n = ::read(fd.get(), text.data() + size, text.capacity() - 1 - size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      return Error{ErrorCode::kUnavailable,
                   path + ": cannot read keyring file: " + errno_text(error), path};
    }
    if (n == 0) break;
    size += static_cast<std::size_t>(n);
  }
  if (size > static_cast<std::size_t>(st.st_size)) {
    return Error{ErrorCode::kUnavailable, path + ": the keyring changed while it was read; retry",
                 path};
  }
  text.data()[size] = '\0';
  text.set_size(size);
  // Iterative: a deeply nested file must not exhaust the stack.
  loaded->doc.ParseInsitu<rapidjson::kParseIterativeFlag>(text.data());
  if (loaded->doc.HasParseError()) {
    return bad(path, "",
               "invalid JSON at offset " + std::to_string(loaded->doc.GetErrorOffset()) + ": " +
                   rapidjson::GetParseError_En(loaded->doc.GetParseError()));
  }
  auto keyring = check_keyring(path, loaded->doc);
  if (!keyring) return keyring.error();
  loaded->keyring = std::move(*keyring);
  return loaded;
}

// ---- The provider ------------------------------------------------------------------------------

class KeyringKeyProvider final : public ports::KeyProvider {
 public:
  // Key material is held only in SecretBytes, whose destructors wipe it: the provider needs no
  // destructor of its own.
  KeyringKeyProvider(Keyring keyring, CipherPtr cipher)
      : keyring_(std::move(keyring)), cipher_(std::move(cipher)) {}

  Result<std::string> active_kek_id(const std::string& region) override {
    const Kek* kek = active_kek(region);
    if (kek == nullptr) return no_active_kek(region);
    return kek->info.id;
  }

  Result<ports::WrappedKey> wrap(const std::string& region, ByteView aad,
                                 const SecretBytes& key) override {
    const Kek* kek = active_kek(region);
    if (kek == nullptr) return no_active_kek(region);
    if (key.empty() || key.size() > kMaxKeySize || aad.size() > INT_MAX) {
      return Error{ErrorCode::kInvalidInput,
                   "wrap: expected a key of 1 to " + std::to_string(kMaxKeySize) + " bytes",
                   kek->info.id};
    }
    Bytes out(kHeaderSize + key.size() + kTagSize);
    out[0] = kFormatVersion;
    std::uint8_t* nonce = out.data() + 1;
    std::uint8_t* ciphertext = out.data() + kHeaderSize;
    std::uint8_t* tag = ciphertext + key.size();
    if (RAND_bytes(nonce, kNonceSize) != 1) {
      return Error{ErrorCode::kUnavailable, "wrap: RAND_bytes gave no nonce", kek->info.id};
    }
    CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
    int n = 0;
    const bool ok = ctx && start(ctx.get(), *kek, nonce, aad, /*encrypt=*/1) &&
                    EVP_CipherUpdate(ctx.get(), ciphertext, &n, key.view().data(),
                                     static_cast<int>(key.size())) == 1 &&
                    static_cast<std::size_t>(n) == key.size() &&
                    EVP_CipherFinal_ex(ctx.get(), ciphertext + n, &n) == 1 &&
                    EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, kTagSize, tag) == 1;
    if (!ok) return Error{ErrorCode::kUnavailable, "wrap: AES-256-GCM failed", kek->info.id};
    return ports::WrappedKey{.kek_id = kek->info.id, .wrapped = std::move(out)};
  }

  Result<SecretBytes> unwrap(const std::string& region, const ports::WrappedKey& wrapped,
                             ByteView aad) override {
    const std::string& id = wrapped.kek_id;
    const std::string shown = is_key_id(id) ? "\"" + id + "\"" : "(malformed id)";
    const Kek* kek = find(id);
    if (kek == nullptr || kek->info.retired) {
      return Error{ErrorCode::kNotFound, "unwrap: unknown or retired KEK " + shown, id};
    }
    if (kek->info.region != region) {
      return Error{ErrorCode::kPermissionDenied,
                   "unwrap: KEK " + shown + " belongs to region \"" + kek->info.region +
                       "\", not to the region asked",
                   id};
    }
    const Bytes& in = wrapped.wrapped;
    if (in.size() < kHeaderSize + 1 + kTagSize ||
        in.size() > kHeaderSize + kMaxKeySize + kTagSize) {
      return Error{ErrorCode::kIntegrity, "unwrap: wrapped key has an impossible length", id};
    }
    if (in[0] != kFormatVersion) {
      return Error{ErrorCode::kIntegrity, "unwrap: unknown wrapped-key format version", id};
    }
    if (aad.size() > INT_MAX) {
      return Error{ErrorCode::kInvalidInput, "unwrap: associated data too long", id};
    }
    const std::size_t size = in.size() - kHeaderSize - kTagSize;
    // EVP_CTRL_AEAD_SET_TAG takes a non-const pointer.
    std::array<std::uint8_t, kTagSize> tag{};
    std::memcpy(tag.data(), in.data() + kHeaderSize + size, kTagSize);
    Bytes plain(size);
    CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
    int n = 0;
    const bool started =
        ctx && start(ctx.get(), *kek, in.data() + 1, aad, /*encrypt=*/0) &&
        EVP_CipherUpdate(ctx.get(), plain.data(), &n, in.data() + kHeaderSize,
                         static_cast<int>(size)) == 1 &&
        static_cast<std::size_t>(n) == size &&
        EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, kTagSize, tag.data()) == 1;
    // Only the tag check may fail from here on; the unverified plaintext is wiped either way.
    const bool verified = started && EVP_CipherFinal_ex(ctx.get(), plain.data() + n, &n) == 1;
    if (!verified) {
      OPENSSL_cleanse(plain.data(), plain.size());
      if (!started) return Error{ErrorCode::kUnavailable, "unwrap: AES-256-GCM failed", id};
      return Error{ErrorCode::kIntegrity,
                   "unwrap: the wrapped key does not verify under KEK " + shown +
                       " (altered bytes, other associated data, or another KEK's key)",
                   id};
    }
    return SecretBytes(std::move(plain));
  }

  Result<ports::KeyMaterial> pseudonym_pepper() override {
    const auto view = keyring_.pepper.view();
    return ports::KeyMaterial{keyring_.pepper_id, SecretBytes(Bytes(view.begin(), view.end()))};
  }

  std::vector<ports::KekInfo> keks() const override {
    std::vector<ports::KekInfo> out;
    out.reserve(keyring_.keks.size());
    for (const Kek& kek : keyring_.keks) out.push_back(kek.info);
    return out;
  }

 private:
  // A keyring holds a handful of keys: a scan is as fast as a map and keeps one copy of each.
  const Kek* find(const std::string& id) const {
    for (const Kek& kek : keyring_.keks) {
      if (kek.info.id == id) return &kek;
    }
    return nullptr;
  }

  const Kek* active_kek(const std::string& region) const {
    for (const Kek& kek : keyring_.keks) {
      if (kek.info.active && kek.info.region == region) return &kek;
    }
    return nullptr;
  }

  static Error no_active_kek(const std::string& region) {
    return Error{ErrorCode::kNotFound, "no active KEK for region \"" + region + "\"", region};
  }

  // Keys the context and authenticates the caller's aad followed by the KEK id, which binds the
  // wrapped key to the KEK it names.
  bool start(EVP_CIPHER_CTX* ctx, const Kek& kek, const std::uint8_t* nonce, ByteView aad,
             int encrypt) const {
    int n = 0;
    const ByteView id = as_bytes(kek.info.id);
    return EVP_CipherInit_ex2(ctx, cipher_.get(), kek.material.view().data(), nonce, encrypt,
                              nullptr) == 1 &&
           (aad.empty() ||
            EVP_CipherUpdate(ctx, nullptr, &n, aad.data(), static_cast<int>(aad.size())) == 1) &&
           EVP_CipherUpdate(ctx, nullptr, &n, id.data(), static_cast<int>(id.size())) == 1;
  }

  const Keyring keyring_;
  const CipherPtr cipher_;  // fetched once: EVP_CIPHER_fetch looks the provider up each time
};

// ---- Changing the file -------------------------------------------------------------------------

// Opens and flocks the keyring for a read-change-replace. A writer that replaced the file while
// we waited for the lock leaves us holding the old inode: reopen until the lock is on the file
// the path names.
Result<UniqueFd> lock_keyring(const std::string& path) {
  for (int attempt = 0; attempt < 10; ++attempt) {
    auto fd = open_keyring(path);
    if (!fd) return fd.error();
    while (::flock(fd->get(), LOCK_EX) != 0) {
      const int error = errno;
      if (error != EINTR) {
        return Error{ErrorCode::kUnavailable,
                     path + ": cannot lock keyring file: " + errno_text(error), path};
      }
    }
    struct stat held {
    }, named{};
    if (::fstat(fd->get(), &held) == 0 && ::stat(path.c_str(), &named) == 0 &&
        held.st_dev == named.st_dev && held.st_ino == named.st_ino) {
      return std::move(*fd);
    }
  }
  return Error{ErrorCode::kUnavailable, path + ": the keyring keeps being replaced; retry", path};
}

// Writes `content` beside `path` (mode 0600), syncs it and renames it over `path`, then syncs the
// folder so the rename survives a crash: readers see the old keyring or the new one, never half.
Status replace_file(const std::string& path, const WipedBuffer& content) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::string name = (dir / ("." + target.filename().string() + ".XXXXXX")).string();
  UniqueFd fd(::mkstemp(name.data()));
  if (!fd.valid()) {
    const int error = errno;
    return Error{ErrorCode::kUnavailable,
                 path + ": cannot create a temporary file beside the keyring: " + errno_text(error),
                 path};
  }
  struct Unlinker {
    const std::string& name;
    bool armed = true;
    ~Unlinker() {
      if (armed) ::unlink(name.c_str());
    }
  } unlinker{name};
  auto failed = [&](const char* what) {
    const int error = errno;
    return Error{ErrorCode::kUnavailable, path + ": " + what + ": " + errno_text(error), path};
  };
  if (::fchmod(fd.get(), 0600) != 0) return failed("cannot chmod the temporary file");
  std::size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = ::write(fd.get(), content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return failed("cannot write the temporary file");
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0) return failed("cannot sync the temporary file");
  if (!fd.close()) return failed("cannot close the temporary file");
  if (::rename(name.c_str(), path.c_str()) != 0) return failed("cannot replace the keyring");
  unlinker.armed = false;
  UniqueFd folder(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!folder.valid() || ::fsync(folder.get()) != 0) {
    return failed("replaced the keyring but cannot sync its folder");
  }
  return Ok{};
}

// Re-checks the changed document (a change that broke the format would be our bug), then writes
// it with two-space indentation.
Status save_keyring(const std::string& path, LoadedKeyring& loaded) {
  auto checked = check_keyring(path, loaded.doc);
  FL_ASSERT(checked.has_value(), "add and retire keep the keyring valid");
  WipedBuffer out(loaded.text.size() + 1024);
  rapidjson::PrettyWriter<WipedBuffer> writer(out);
  writer.SetIndent(' ', 2);
  loaded.doc.Accept(writer);
  out.Put('\n');
  return replace_file(path, out);
}

// HasMember, not FindMember: comparing RapidJSON's non-const member iterators is ambiguous in
// C++20 (clang -Wambiguous-reversed-operator).
void set_flag(rapidjson::Value& key, const char* name, bool value,
              rapidjson::Document::AllocatorType& allocator) {
  if (key.HasMember(name)) {
    key[name].SetBool(value);
  } else {
    key.AddMember(rapidjson::StringRef(name), value, allocator);
  }
}

std::string random_hex(std::size_t bytes) {
  std::vector<std::uint8_t> random(bytes);
  if (RAND_bytes(random.data(), static_cast<int>(bytes)) != 1) return "";
  return to_hex(random);
}

}  // namespace

Result<std::unique_ptr<ports::KeyProvider>> make_keyring_key_provider(const std::string& path) {
  auto fd = open_keyring(path);
  if (!fd) return fd.error();
  auto loaded = load_keyring(path, *fd);
  if (!loaded) return loaded.error();
  CipherPtr cipher(EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr));
  if (!cipher) {
    return Error{ErrorCode::kUnavailable, "OpenSSL offers no AES-256-GCM (EVP_CIPHER_fetch)", path};
  }
  return std::unique_ptr<ports::KeyProvider>(
      std::make_unique<KeyringKeyProvider>(std::move((*loaded)->keyring), std::move(cipher)));
}

Result<ports::KekInfo> add_keyring_kek(const std::string& path, const std::string& region,
                                       std::string id, const std::string& created_rfc3339) {
  if (!is_region_name(region)) {
    return Error{ErrorCode::kInvalidInput,
                 path + ": add: expected a region name matching ^[a-z][a-z0-9-]{0,15}$", "region"};
  }
  if (!is_rfc3339(created_rfc3339)) {
    return Error{ErrorCode::kInvalidInput,
                 path + ": add: expected the creation time as RFC 3339, e.g. 2026-11-24T00:00:00Z",
                 "created"};
  }
  if (!id.empty() && !is_key_id(id)) {
    return Error{ErrorCode::kInvalidInput, path + ": add: " + kIdExpected, "id"};
  }
  auto fd = lock_keyring(path);
  if (!fd) return fd.error();
  auto loaded = load_keyring(path, *fd);
  if (!loaded) return loaded.error();
  LoadedKeyring& keyring = **loaded;
  auto taken = [&](const std::string& candidate) -> const Kek* {
    for (const Kek& kek : keyring.keyring.keks) {
      if (kek.info.id == candidate) return &kek;
    }
    return nullptr;
  };

  if (id.empty()) {
    const std::string date =
        created_rfc3339.substr(0, 4) + created_rfc3339.substr(5, 2) + created_rfc3339.substr(8, 2);
    const std::string prefix = region + "-kek-" + date + "-";
    if (prefix.size() + 4 > kMaxIdLength) {
      return Error{ErrorCode::kInvalidInput,
                   path + ": add: the default id \"" + prefix +
                       "XXXX\" would exceed 32 characters; pass an id",
                   "id"};
    }
    // Two bytes of suffix: retry the rare collision with a key added the same day.
    for (int attempt = 0; attempt < 16 && (id.empty() || taken(id) != nullptr); ++attempt) {
      const std::string suffix = random_hex(2);
      if (suffix.empty()) {
        return Error{ErrorCode::kUnavailable, path + ": add: RAND_bytes failed", path};
      }
      id = prefix + suffix;
    }
  }
  if (const Kek* other = taken(id); other != nullptr) {
    return Error{ErrorCode::kConflict,
                 path + ": " + other->pointer + "/id: the id \"" + id + "\" is taken", path};
  }

  std::array<std::uint8_t, kKekSize> material{};
  const bool random = RAND_bytes(material.data(), static_cast<int>(material.size())) == 1;
  WipedBuffer hex(2 * kKekSize);
  for (std::uint8_t b : material) {
    static constexpr char kDigits[] = "0123456789abcdef";
    hex.Put(kDigits[b >> 4]);
    hex.Put(kDigits[b & 0x0f]);
  }
  OPENSSL_cleanse(material.data(), material.size());
  if (!random) {
    return Error{ErrorCode::kUnavailable, path + ": add: RAND_bytes gave no key material", path};
  }

  auto& allocator = keyring.doc.GetAllocator();
  rapidjson::Value& keys = keyring.doc["keys"];
  for (auto& key : keys.GetArray()) {
    if (string_of(key["region"]) == region) set_flag(key, "active", false, allocator);
  }
  // The strings are referenced, not copied, so the material stays only in `hex`, which is wiped.
  rapidjson::Value entry(rapidjson::kObjectType);
  entry.AddMember("id", rapidjson::StringRef(id.data(), id.size()), allocator);
  entry.AddMember("region", rapidjson::StringRef(region.data(), region.size()), allocator);
  entry.AddMember("created", rapidjson::StringRef(created_rfc3339.data(), created_rfc3339.size()),
                  allocator);
  entry.AddMember("active", true, allocator);
  entry.AddMember("retired", false, allocator);
  entry.AddMember("material", rapidjson::StringRef(hex.data(), hex.size()), allocator);
  keys.PushBack(entry, allocator);

  if (auto saved = save_keyring(path, keyring); !saved) return saved.error();
  return ports::KekInfo{
      .id = id, .region = region, .created = created_rfc3339, .active = true, .retired = false};
}

Status retire_keyring_kek(const std::string& path, const std::string& id) {
  auto fd = lock_keyring(path);
  if (!fd) return fd.error();
  auto loaded = load_keyring(path, *fd);
  if (!loaded) return loaded.error();
  LoadedKeyring& keyring = **loaded;
  const auto& keks = keyring.keyring.keks;
  for (std::size_t i = 0; i < keks.size(); ++i) {
    const ports::KekInfo& info = keks[i].info;
    if (info.id != id) continue;
    if (info.retired) return Ok{};
    if (info.active) {
      std::string message = path;
      message.append(": ").append(keks[i].pointer).append(": \"").append(id);
      message.append("\" is the active KEK of region \"").append(info.region);
      message += "\"; add a new KEK for the region first (it becomes active), then retire this one";
      return Error{ErrorCode::kConflict, std::move(message), path + "#" + keks[i].pointer};
    }
    set_flag(keyring.doc["keys"][static_cast<rapidjson::SizeType>(i)], "retired", true,
             keyring.doc.GetAllocator());
    return save_keyring(path, keyring);
  }
  const std::string shown = is_key_id(id) ? "\"" + id + "\"" : "(malformed id)";
  return Error{ErrorCode::kNotFound, path + ": /keys: no KEK with the id " + shown, path};
}

}  // namespace fl::keys
