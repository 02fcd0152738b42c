// The keyring KeyProvider: the file format and its errors, the permission check, wrapping (checked
// against OpenSSL directly, so the documented format is what is written), and the add/retire
// maintenance functions.
#include "fl/adapters/keys/keyring_key_provider.h"

#include "fl/base/bytes.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <rapidjson/document.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace fl::keys {
namespace {

namespace fs = std::filesystem;

constexpr const char* kPepper = "1fea81e71172578c25346776446a3e5f7c20e0f0b66e10ac99ef5abaf3facd12";
constexpr const char* kEuOld = "1f3ad8396a34b8270a8b748aa22656e6a0166b441e5e09013ac3ee8b9b71128f";
constexpr const char* kEuNew = "612484d2f50b34cc9d0bbadb608ab376df39c0e342dbf935cc4f2c05a7040159";
constexpr const char* kUs = "64ff1bd46c30c01aa60d48c9e63f3e12f94f10d65c6678c61b41635e8318d6f7";
constexpr const char* kRetired = "2b7ccf2988f4356b47cc970408b7c0209272185e552d6a7acf417f532e0b7ad3";

// eu has an inactive and an active key (eu-new unless `eu_active` says eu-old), us one active
// key, and eu one retired key.
std::string keyring_json(const std::string& eu_active = "eu-new") {
  const std::string old_active = eu_active == "eu-old" ? "true" : "false";
  const std::string new_active = eu_active == "eu-new" ? "true" : "false";
  return std::string(R"({"comment": "test keyring",
    "pepper": {"id": "test-pepper", "material": ")") +
         kPepper + R"("},
    "keys": [
      {"id": "eu-old", "region": "eu", "created": "2026-01-01T00:00:00Z", "active": )" +
         old_active + R"(,
       "retired": false, "material": ")" +
         kEuOld + R"("},
      {"id": "eu-new", "region": "eu", "created": "2026-06-01T12:30:00+02:00", "active": )" +
         new_active + R"(,
       "retired": false, "material": ")" +
         kEuNew + R"("},
      {"id": "us-1", "region": "us", "created": "2026-06-01T00:00:00.25Z", "active": true,
       "material": ")" +
         kUs + R"("},
      {"id": "eu-gone", "region": "eu", "created": "2025-01-01T00:00:00Z", "retired": true,
       "material": ")" +
         kRetired + R"("}
    ]})";
}

Bytes bytes_of(const char* hex) { return parse_hex(hex).value(); }

SecretBytes secret(std::string_view text) {
  const ByteView view = as_bytes(text);
  return SecretBytes(Bytes(view.begin(), view.end()));
}

Bytes copy_of(const SecretBytes& secret) {
  return Bytes(secret.view().begin(), secret.view().end());
}

mode_t mode_of(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0);
  return st.st_mode & 07777;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in) << "cannot read " << path;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Each test gets its own folder with a keyring.json of mode 0600.
class KeyringTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string name = (fs::temp_directory_path() / "fl-keyring-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(name.data()), nullptr);
    dir_ = name;
    path_ = (dir_ / "keyring.json").string();
    write(keyring_json());
  }
  void TearDown() override { fs::remove_all(dir_); }

  void write(const std::string& text, mode_t mode = 0600) {
    {
      std::ofstream out(path_, std::ios::trunc);
      out << text;
    }
    ASSERT_EQ(::chmod(path_.c_str(), mode), 0);
  }

  std::unique_ptr<ports::KeyProvider> load() {
    auto provider = make_keyring_key_provider(path_);
    EXPECT_TRUE(provider) << provider.error().message;
    return provider ? std::move(*provider) : nullptr;
  }

  Error load_error() {
    auto provider = make_keyring_key_provider(path_);
    EXPECT_FALSE(provider);
    return provider ? Error{} : provider.error();
  }

  ports::WrappedKey wrap(ports::KeyProvider& provider, const std::string& region,
                         std::string_view aad, std::string_view key) {
    auto wrapped = provider.wrap(region, as_bytes(aad), secret(key));
    EXPECT_TRUE(wrapped) << wrapped.error().message;
    return wrapped ? *wrapped : ports::WrappedKey{};
  }

  // A copy: keks() returns a temporary, so a pointer into it would dangle.
  static std::optional<ports::KekInfo> find(const std::vector<ports::KekInfo>& keks,
                                            const std::string& id) {
    for (const auto& kek : keks) {
      if (kek.id == id) return kek;
    }
    return std::nullopt;
  }

  fs::path dir_;
  std::string path_;
};

// ---- Loading --------------------------------------------------------------------------------

TEST_F(KeyringTest, LoadsTheDevKeyringWithOneActiveKeyPerRegion) {
  const fs::path dev = fs::path(FL_SOURCE_DIR) / "config/keys/dev-keyring.json";
  write(read_text(dev));

  auto provider = load();

  ASSERT_TRUE(provider);
  EXPECT_EQ(provider->active_kek_id("default").value(), "dev-kek-2026-11");
  for (const char* region : {"default", "eu", "us", "ru"}) {
    auto id = provider->active_kek_id(region);
    ASSERT_TRUE(id) << region;
    const auto wrapped = wrap(*provider, region, "aad", "a master key of 32 bytes ........");
    EXPECT_EQ(wrapped.kek_id, *id);
    EXPECT_EQ(copy_of(provider->unwrap(region, wrapped, as_bytes("aad")).value()),
              copy_of(secret("a master key of 32 bytes ........")));
  }
  // Pseudonyms in existing reports depend on this pepper.
  auto pepper = provider->pseudonym_pepper();
  ASSERT_TRUE(pepper);
  EXPECT_EQ(pepper->key_id, "dev-pepper-1");
  EXPECT_EQ(to_hex(pepper->material.view()),
            "d45c4becdb857d01f6f0cd713b63b8743a60205e84ab4c28d09994c11357f321");
}

TEST_F(KeyringTest, ListsEveryKekWithoutMaterial) {
  auto provider = load();

  const auto keks = provider->keks();

  ASSERT_EQ(keks.size(), 4u);
  EXPECT_EQ(keks[0].id, "eu-old");
  EXPECT_EQ(keks[0].region, "eu");
  EXPECT_EQ(keks[0].created, "2026-01-01T00:00:00Z");
  EXPECT_FALSE(keks[0].active);
  EXPECT_FALSE(keks[0].retired);
  EXPECT_EQ(keks[1].id, "eu-new");
  EXPECT_TRUE(keks[1].active);
  EXPECT_EQ(keks[1].created, "2026-06-01T12:30:00+02:00");
  EXPECT_EQ(keks[2].id, "us-1");
  EXPECT_TRUE(keks[2].active);
  EXPECT_EQ(keks[3].id, "eu-gone");
  EXPECT_TRUE(keks[3].retired);
  EXPECT_FALSE(keks[3].active);
}

TEST_F(KeyringTest, AnswersNotFoundForARegionWithoutKeys) {
  auto provider = load();

  auto id = provider->active_kek_id("ap");
  auto wrapped = provider->wrap("ap", {}, secret("k"));

  ASSERT_FALSE(id);
  EXPECT_EQ(id.error().code, ErrorCode::kNotFound);
  ASSERT_FALSE(wrapped);
  EXPECT_EQ(wrapped.error().code, ErrorCode::kNotFound);
}

struct Malformed {
  const char* name;
  std::string text;
  std::string pointer;
  std::string expected;  // part of the message after the pointer
};

// A valid key object with one member replaced (or removed, when `value` is nullopt); member
// "extra" appends `value` as further members.
std::string key_with(const std::string& member, const std::optional<std::string>& value) {
  std::string out = "{";
  const std::pair<std::string, std::string> members[] = {
      {"id", R"("k1")"},
      {"region", R"("eu")"},
      {"created", R"("2026-11-24T00:00:00Z")"},
      {"active", "true"},
      {"material", std::string("\"") + kEuOld + "\""}};
  for (const auto& [name, default_value] : members) {
    if (name == member && !value) continue;
    if (out.size() > 1) out += ", ";
    out += "\"" + name + "\": " + (name == member ? *value : default_value);
  }
  if (member == "extra") out += ", " + *value;
  return out + "}";
}

std::string file_with(const std::string& keys, const std::string& pepper = "") {
  return R"({"pepper": )" +
         (pepper.empty() ? std::string(R"({"id": "p", "material": ")") + kPepper + "\"}" : pepper) +
         R"(, "keys": )" + keys + "}";
}

std::vector<Malformed> malformed_files() {
  const std::string m = std::string("\"") + kPepper + "\"";
  return {
      {"not JSON", "{\"pepper\": ", "/", "invalid JSON at offset"},
      {"an array", "[]", "/", "expected a JSON object"},
      {"comment not a string",
       R"({"comment": 1, "pepper": {"id": "p", "material": )" + m + R"(}, "keys": [)" +
           key_with("", "") + "]}",
       "/comment", "expected a string"},
      {"no pepper", R"({"keys": [)" + key_with("", "") + "]}", "/pepper",
       "expected an object with id and material"},
      {"pepper without id", file_with("[" + key_with("", "") + "]", R"({"material": )" + m + "}"),
       "/pepper/id", "expected an id of 1-32 printable ASCII characters"},
      {"pepper material short",
       file_with("[" + key_with("", "") + "]", R"({"id": "p", "material": "abcd"})"),
       "/pepper/material", "expected 64 hex digits (32 bytes)"},
      {"pepper extra member",
       file_with("[" + key_with("", "") + "]", R"({"id": "p", "material": )" + m + R"(, "x": 1})"),
       "/pepper/x", "unexpected member (expected only id, material)"},
      {"no keys", R"({"pepper": {"id": "p", "material": )" + m + "}}", "/keys",
       "expected a non-empty array of keys"},
      {"empty keys", file_with("[]"), "/keys", "expected a non-empty array of keys"},
      {"key not an object", file_with("[1]"), "/keys/0",
       "expected an object with id, region, created and material"},
      {"key without id", file_with("[" + key_with("id", std::nullopt) + "]"), "/keys/0/id",
       "expected an id of 1-32 printable ASCII characters without whitespace"},
      {"id with a space", file_with("[" + key_with("id", R"("eu kek")") + "]"), "/keys/0/id",
       "expected an id of 1-32"},
      {"id of 33 characters",
       file_with("[" + key_with("id", R"("abcdefghijklmnopqrstuvwxyz0123456")") + "]"),
       "/keys/0/id", "expected an id of 1-32"},
      {"id not a string", file_with("[" + key_with("id", "7") + "]"), "/keys/0/id",
       "expected an id of 1-32"},
      {"key without region", file_with("[" + key_with("region", std::nullopt) + "]"),
       "/keys/0/region", "expected a region name matching ^[a-z][a-z0-9-]{0,15}$"},
      {"region in capitals", file_with("[" + key_with("region", R"("EU")") + "]"), "/keys/0/region",
       "expected a region name"},
      {"key without created", file_with("[" + key_with("created", std::nullopt) + "]"),
       "/keys/0/created", "expected an RFC 3339 date-time such as 2026-11-24T00:00:00Z"},
      {"created without time", file_with("[" + key_with("created", R"("2026-11-24")") + "]"),
       "/keys/0/created", "expected an RFC 3339 date-time"},
      {"created without offset",
       file_with("[" + key_with("created", R"("2026-11-24T00:00:00")") + "]"), "/keys/0/created",
       "expected an RFC 3339 date-time"},
      {"created on 30 February",
       file_with("[" + key_with("created", R"("2026-02-30T00:00:00Z")") + "]"), "/keys/0/created",
       "expected an RFC 3339 date-time"},
      {"active not a boolean", file_with("[" + key_with("active", R"("yes")") + "]"),
       "/keys/0/active", "expected true or false"},
      {"retired not a boolean", file_with("[" + key_with("extra", R"("retired": 0)") + "]"),
       "/keys/0/retired", "expected true or false"},
      {"key without material", file_with("[" + key_with("material", std::nullopt) + "]"),
       "/keys/0/material", "expected 64 hex digits (32 bytes)"},
      {"material not hex",
       file_with("[" + key_with("material", "\"g" + std::string(kEuOld).substr(1) + "\"") + "]"),
       "/keys/0/material", "expected 64 hex digits"},
      {"material with 0x",
       file_with("[" + key_with("material", "\"0x" + std::string(kEuOld) + "\"") + "]"),
       "/keys/0/material", "expected 64 hex digits"},
      {"misspelt retired", file_with("[" + key_with("extra", R"("retierd": true)") + "]"),
       "/keys/0/retierd",
       "unexpected member (expected only id, region, created, active, retired, material)"},
      {"member given twice", file_with("[" + key_with("extra", R"("active": false)") + "]"),
       "/keys/0/active", "member given twice"},
      {"duplicate id", file_with("[" + key_with("", "") + ", " + key_with("active", "false") + "]"),
       "/keys/1/id", "duplicate key id \"k1\" (also /keys/0)"},
      {"region without an active key", file_with("[" + key_with("active", "false") + "]"), "/keys",
       "region \"eu\" has no active key"},
  };
}

TEST_F(KeyringTest, EveryMalformedFileIsRefusedNamingTheFileAndJsonPointer) {
  for (const Malformed& c : malformed_files()) {
    SCOPED_TRACE(c.name);
    write(c.text);

    const Error error = load_error();

    EXPECT_EQ(error.code, ErrorCode::kInvalidInput);
    EXPECT_EQ(error.message.rfind(path_ + ": " + c.pointer + ": ", 0), 0u) << error.message;
    EXPECT_NE(error.message.find(c.expected), std::string::npos) << error.message;
    for (const char* material : {kPepper, kEuOld, kEuNew, kUs, kRetired}) {
      EXPECT_EQ(error.message.find(std::string(material).substr(1, 16)), std::string::npos)
          << error.message;
    }
  }
}

TEST_F(KeyringTest, RefusesAnUnknownTopLevelMember) {
  write(R"({"pepper": {"id": "p", "material": ")" + std::string(kPepper) + R"("}, "keys": [)" +
        key_with("", "") + R"(], "kees": []})");

  const Error error = load_error();

  EXPECT_EQ(error.code, ErrorCode::kInvalidInput);
  EXPECT_EQ(error.message,
            path_ + ": /kees: unexpected member (expected only comment, pepper, keys)");
}

TEST_F(KeyringTest, RefusesTwoActiveKeysInARegion) {
  write(file_with("[" + key_with("", "") + ", " + key_with("id", R"("k2")") + "]"));

  const Error error = load_error();

  EXPECT_EQ(error.code, ErrorCode::kInvalidInput);
  EXPECT_EQ(error.message, path_ +
                               ": /keys/1/active: a second active key for region \"eu\" (the "
                               "first is /keys/0); exactly one may be active");
}

TEST_F(KeyringTest, AcceptsOneActiveKeyInEachOfTwoRegions) {
  write(file_with("[" + key_with("", "") + ", " +
                  R"({"id": "k2", "region": "us", "created": "2026-11-24T00:00:00Z",
                      "active": true, "material": ")" +
                  kUs + "\"}]"));

  auto provider = load();

  ASSERT_TRUE(provider);
  EXPECT_EQ(provider->active_kek_id("us").value(), "k2");
}

TEST_F(KeyringTest, RefusesARetiredKeyThatIsActive) {
  write(file_with("[" + key_with("extra", R"("retired": true)") + "]"));

  const Error error = load_error();

  EXPECT_EQ(error.code, ErrorCode::kInvalidInput);
  EXPECT_EQ(error.message, path_ + ": /keys/0/active: a retired key cannot be active");
}

// ---- Permissions ----------------------------------------------------------------------------

TEST_F(KeyringTest, RefusesAKeyringGroupOrOthersMayReadNamingModeAndFix) {
  for (mode_t mode : {0644, 0640, 0604, 0620, 0602, 0610}) {
    SCOPED_TRACE(mode);
    write(keyring_json(), mode);

    const Error error = load_error();

    EXPECT_EQ(error.code, ErrorCode::kPermissionDenied);
    char octal[8];
    std::snprintf(octal, sizeof octal, "%04o", static_cast<unsigned>(mode));
    EXPECT_NE(error.message.find(path_ + ": mode " + octal), std::string::npos) << error.message;
    EXPECT_NE(error.message.find("chmod 600 " + path_), std::string::npos) << error.message;
  }
}

TEST_F(KeyringTest, AcceptsModes0600And0400) {
  for (mode_t mode : {0600, 0400}) {
    write(keyring_json(), mode);

    EXPECT_TRUE(load()) << mode;
  }
}

TEST_F(KeyringTest, RefusesAKeyringOwnedBySomeoneElse) {
  if (::geteuid() != 0) GTEST_SKIP() << "only root can give the file to another owner";
  ASSERT_EQ(::chown(path_.c_str(), 65534, 65534), 0);

  const Error error = load_error();

  EXPECT_EQ(error.code, ErrorCode::kPermissionDenied);
  EXPECT_NE(error.message.find("owned by uid 65534"), std::string::npos) << error.message;
}

TEST_F(KeyringTest, RefusesSomethingOtherThanARegularFile) {
  fs::remove(path_);
  fs::create_directory(path_);
  fs::permissions(path_, fs::perms::owner_all);

  const Error error = load_error();

  EXPECT_EQ(error.code, ErrorCode::kPermissionDenied);
  EXPECT_NE(error.message.find("regular file"), std::string::npos) << error.message;
}

TEST_F(KeyringTest, AnswersNotFoundForAMissingFile) {
  fs::remove(path_);

  const Error error = load_error();

  EXPECT_EQ(error.code, ErrorCode::kNotFound);
  EXPECT_NE(error.message.find(path_), std::string::npos);
}

// ---- Wrapping -------------------------------------------------------------------------------

TEST_F(KeyringTest, UnwrapGivesBackWhatWrapWrapped) {
  auto provider = load();

  const auto wrapped = wrap(*provider, "eu", "patient-42", "0123456789abcdef0123456789abcdef");
  auto key = provider->unwrap("eu", wrapped, as_bytes("patient-42"));

  EXPECT_EQ(wrapped.kek_id, "eu-new");
  ASSERT_TRUE(key) << key.error().message;
  EXPECT_EQ(copy_of(*key), copy_of(secret("0123456789abcdef0123456789abcdef")));
}

TEST_F(KeyringTest, WrapsWithAFreshNonceEachTime) {
  auto provider = load();

  const auto a = wrap(*provider, "eu", "aad", "same key");
  const auto b = wrap(*provider, "eu", "aad", "same key");

  EXPECT_NE(a.wrapped, b.wrapped);
}

// Decrypts with OpenSSL directly: version 0x01 | nonce (12) | ciphertext | tag (16), AES-256-GCM
// under the KEK, associated data = aad followed by the KEK id.
Bytes decrypt_documented_format(const Bytes& kek, const Bytes& wrapped, const std::string& aad) {
  EXPECT_EQ(wrapped.at(0), 0x01);
  const std::size_t size = wrapped.size() - 1 - 12 - 16;
  Bytes plain(size);
  Bytes tag(wrapped.end() - 16, wrapped.end());
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> owner(EVP_CIPHER_CTX_new(),
                                                                        &EVP_CIPHER_CTX_free);
  EVP_CIPHER_CTX* ctx = owner.get();
  int n = 0;
  EXPECT_EQ(EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, nullptr, nullptr), 1);
  EXPECT_EQ(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, 12, nullptr), 1);
  EXPECT_EQ(EVP_DecryptInit_ex(ctx, nullptr, nullptr, kek.data(), wrapped.data() + 1), 1);
  EXPECT_EQ(EVP_DecryptUpdate(ctx, nullptr, &n, reinterpret_cast<const unsigned char*>(aad.data()),
                              static_cast<int>(aad.size())),
            1);
  EXPECT_EQ(EVP_DecryptUpdate(ctx, plain.data(), &n, wrapped.data() + 13, static_cast<int>(size)),
            1);
  EXPECT_EQ(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, tag.data()), 1);
  const int verified = EVP_DecryptFinal_ex(ctx, plain.data() + n, &n);
  EXPECT_EQ(verified, 1) << "the tag does not verify with aad + KEK id";
  return plain;
}

TEST_F(KeyringTest, WrappedKeyIsTheDocumentedAes256GcmFormat) {
  auto provider = load();
  const std::string key = "0123456789abcdef0123456789abcdef";

  const auto wrapped = wrap(*provider, "us", "patient-7", key);

  ASSERT_EQ(wrapped.kek_id, "us-1");
  ASSERT_EQ(wrapped.wrapped.size(), 1 + 12 + key.size() + 16);
  EXPECT_EQ(decrypt_documented_format(bytes_of(kUs), wrapped.wrapped, "patient-7us-1"),
            Bytes(key.begin(), key.end()));
}

TEST_F(KeyringTest, UnwrapWithOtherAssociatedDataIsAnIntegrityError) {
  auto provider = load();
  const auto wrapped = wrap(*provider, "eu", "patient-42", "key");

  for (const char* aad : {"patient-43", "", "patient-42 ", "patient-4"}) {
    auto key = provider->unwrap("eu", wrapped, as_bytes(aad));

    ASSERT_FALSE(key) << aad;
    EXPECT_EQ(key.error().code, ErrorCode::kIntegrity) << aad;
  }
}

TEST_F(KeyringTest, UnwrapRelabelledWithAnotherKekIdIsAnIntegrityError) {
  auto provider = load();
  auto wrapped = wrap(*provider, "eu", "aad", "key");

  wrapped.kek_id = "eu-old";
  auto key = provider->unwrap("eu", wrapped, as_bytes("aad"));

  ASSERT_FALSE(key);
  EXPECT_EQ(key.error().code, ErrorCode::kIntegrity);
}

TEST_F(KeyringTest, UnwrapOfAnyFlippedBitIsAnIntegrityError) {
  auto provider = load();
  const auto wrapped = wrap(*provider, "eu", "aad", "0123456789abcdef0123456789abcdef");

  for (std::size_t i = 0; i < wrapped.wrapped.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      auto altered = wrapped;
      altered.wrapped[i] ^= static_cast<std::uint8_t>(1 << bit);

      auto key = provider->unwrap("eu", altered, as_bytes("aad"));

      ASSERT_FALSE(key) << "byte " << i << " bit " << bit;
      EXPECT_EQ(key.error().code, ErrorCode::kIntegrity) << "byte " << i << " bit " << bit;
    }
  }
}

TEST_F(KeyringTest, UnwrapOfATruncatedOrExtendedKeyIsAnIntegrityError) {
  auto provider = load();
  const auto wrapped = wrap(*provider, "eu", "aad", "0123456789abcdef0123456789abcdef");

  for (std::size_t size = 0; size < wrapped.wrapped.size(); ++size) {
    auto truncated = wrapped;
    truncated.wrapped.resize(size);

    auto key = provider->unwrap("eu", truncated, as_bytes("aad"));

    ASSERT_FALSE(key) << size;
    EXPECT_EQ(key.error().code, ErrorCode::kIntegrity) << size;
  }
  auto extended = wrapped;
  extended.wrapped.push_back(0);
  auto key = provider->unwrap("eu", extended, as_bytes("aad"));
  ASSERT_FALSE(key);
  EXPECT_EQ(key.error().code, ErrorCode::kIntegrity);
}

TEST_F(KeyringTest, UnwrapForAnotherRegionIsPermissionDenied) {
  auto provider = load();
  const auto wrapped = wrap(*provider, "eu", "aad", "key");

  auto key = provider->unwrap("us", wrapped, as_bytes("aad"));

  ASSERT_FALSE(key);
  EXPECT_EQ(key.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(key.error().message.find("\"eu-new\" belongs to region \"eu\""), std::string::npos)
      << key.error().message;
}

TEST_F(KeyringTest, UnwrapWithARetiredOrUnknownKekIsNotFound) {
  auto provider = load();
  auto wrapped = wrap(*provider, "eu", "aad", "key");

  for (const char* id : {"eu-gone", "eu-nope", ""}) {
    wrapped.kek_id = id;

    auto key = provider->unwrap("eu", wrapped, as_bytes("aad"));

    ASSERT_FALSE(key) << id;
    EXPECT_EQ(key.error().code, ErrorCode::kNotFound) << id;
  }
}

TEST_F(KeyringTest, InactiveKeyStillUnwrapsWhatItWrapped) {
  // eu-old wraps while it is active; then eu-new takes over.
  write(keyring_json("eu-old"));
  const auto wrapped = wrap(*load(), "eu", "aad", "old key");
  write(keyring_json());

  auto key = load()->unwrap("eu", wrapped, as_bytes("aad"));

  EXPECT_EQ(wrapped.kek_id, "eu-old");
  ASSERT_TRUE(key) << key.error().message;
  EXPECT_EQ(copy_of(*key), copy_of(secret("old key")));
}

TEST_F(KeyringTest, GivesThePepper) {
  auto pepper = load()->pseudonym_pepper();

  ASSERT_TRUE(pepper);
  EXPECT_EQ(pepper->key_id, "test-pepper");
  EXPECT_EQ(to_hex(pepper->material.view()), kPepper);
}

// ---- add_keyring_kek / retire_keyring_kek ----------------------------------------------------

TEST_F(KeyringTest, AddedKekBecomesActiveAndThePreviousOneStillUnwraps) {
  const auto wrapped = wrap(*load(), "eu", "aad", "under eu-new");

  auto added = add_keyring_kek(path_, "eu", "", "2026-12-01T08:00:00Z");

  ASSERT_TRUE(added) << added.error().message;
  // eu-kek-<yyyymmdd>-<4 hex>
  EXPECT_EQ(added->id.substr(0, 16), "eu-kek-20261201-") << added->id;
  ASSERT_EQ(added->id.size(), 20u) << added->id;
  EXPECT_EQ(added->id.substr(16).find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(added->region, "eu");
  EXPECT_EQ(added->created, "2026-12-01T08:00:00Z");
  EXPECT_TRUE(added->active);
  EXPECT_EQ(mode_of(path_), 0600u);
  auto provider = load();
  ASSERT_TRUE(provider);
  EXPECT_EQ(provider->active_kek_id("eu").value(), added->id);
  const auto keks = provider->keks();
  ASSERT_EQ(keks.size(), 5u);
  const auto previous = find(keks, "eu-new");
  ASSERT_TRUE(previous);
  EXPECT_FALSE(previous->active);
  EXPECT_FALSE(previous->retired);
  EXPECT_TRUE(find(keks, "us-1").value().active);
  auto key = provider->unwrap("eu", wrapped, as_bytes("aad"));
  ASSERT_TRUE(key) << key.error().message;
  EXPECT_EQ(copy_of(*key), copy_of(secret("under eu-new")));
  EXPECT_EQ(wrap(*provider, "eu", "aad", "k").kek_id, added->id);
}

TEST_F(KeyringTest, AddKeepsCommentPepperAndOtherKeysAndLeavesNoTemporaryFile) {
  ASSERT_TRUE(add_keyring_kek(path_, "us", "us-2", "2026-12-01T00:00:00Z"));

  rapidjson::Document doc;
  doc.Parse(read_text(path_).c_str());

  ASSERT_FALSE(doc.HasParseError());
  EXPECT_STREQ(doc["comment"].GetString(), "test keyring");
  EXPECT_STREQ(doc["pepper"]["id"].GetString(), "test-pepper");
  EXPECT_STREQ(doc["pepper"]["material"].GetString(), kPepper);
  ASSERT_EQ(doc["keys"].Size(), 5u);
  EXPECT_STREQ(doc["keys"][0]["material"].GetString(), kEuOld);
  EXPECT_STREQ(doc["keys"][3]["material"].GetString(), kRetired);
  EXPECT_TRUE(doc["keys"][3]["retired"].GetBool());
  EXPECT_STREQ(doc["keys"][4]["id"].GetString(), "us-2");
  EXPECT_EQ(std::string(doc["keys"][4]["material"].GetString()).size(), 64u);
  EXPECT_FALSE(doc["keys"][2]["active"].GetBool());  // us-1 hands over
  EXPECT_TRUE(doc["keys"][1]["active"].GetBool());   // eu is untouched
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir_)) {
    files.push_back(entry.path().filename().string());
  }
  EXPECT_EQ(files, std::vector<std::string>{"keyring.json"});
}

TEST_F(KeyringTest, AddStartsANewRegion) {
  auto added = add_keyring_kek(path_, "ap-south", "", "2026-12-01T00:00:00+05:30");

  ASSERT_TRUE(added) << added.error().message;
  EXPECT_EQ(load()->active_kek_id("ap-south").value(), added->id);
}

TEST_F(KeyringTest, AddRefusesATakenId) {
  const std::string before = read_text(path_);

  auto added = add_keyring_kek(path_, "us", "eu-old", "2026-12-01T00:00:00Z");

  ASSERT_FALSE(added);
  EXPECT_EQ(added.error().code, ErrorCode::kConflict);
  EXPECT_NE(added.error().message.find("\"eu-old\" is taken"), std::string::npos);
  EXPECT_EQ(read_text(path_), before);
}

std::optional<ErrorCode> code_of(const Result<ports::KekInfo>& result) {
  if (result) return std::nullopt;
  return result.error().code;
}

TEST_F(KeyringTest, AddRefusesBadArguments) {
  EXPECT_EQ(code_of(add_keyring_kek(path_, "EU", "", "2026-12-01T00:00:00Z")),
            ErrorCode::kInvalidInput);
  EXPECT_EQ(code_of(add_keyring_kek(path_, "eu", "has space", "2026-12-01T00:00:00Z")),
            ErrorCode::kInvalidInput);
  EXPECT_EQ(code_of(add_keyring_kek(path_, "eu", "", "2026-12-01")), ErrorCode::kInvalidInput);
  // The default id would be 34 characters long.
  EXPECT_EQ(code_of(add_keyring_kek(path_, "abcdefghijklmnop", "", "2026-12-01T00:00:00Z")),
            ErrorCode::kInvalidInput);
  EXPECT_TRUE(add_keyring_kek(path_, "abcdefghijklmnop", "long-region-1", "2026-12-01T00:00:00Z"));
}

TEST_F(KeyringTest, AddRefusesAKeyringWithLoosePermissions) {
  write(keyring_json(), 0644);

  auto added = add_keyring_kek(path_, "eu", "", "2026-12-01T00:00:00Z");

  ASSERT_FALSE(added);
  EXPECT_EQ(added.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(added.error().message.find("chmod 600 " + path_), std::string::npos);
}

TEST_F(KeyringTest, AddRefusesAMalformedKeyring) {
  write(file_with("[]"));

  auto added = add_keyring_kek(path_, "eu", "", "2026-12-01T00:00:00Z");

  ASSERT_FALSE(added);
  EXPECT_EQ(added.error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(read_text(path_), file_with("[]"));
}

TEST_F(KeyringTest, RetireRefusesTheActiveKeyOfARegion) {
  const std::string before = read_text(path_);

  Status retired = retire_keyring_kek(path_, "eu-new");

  ASSERT_FALSE(retired);
  EXPECT_EQ(retired.error().code, ErrorCode::kConflict);
  EXPECT_EQ(retired.error().message,
            path_ +
                ": /keys/1: \"eu-new\" is the active KEK of region \"eu\"; add a new KEK for "
                "the region first (it becomes active), then retire this one");
  EXPECT_EQ(read_text(path_), before);
}

TEST_F(KeyringTest, RetiredKekNoLongerUnwraps) {
  ASSERT_TRUE(add_keyring_kek(path_, "us", "us-2", "2026-12-01T00:00:00Z"));
  const auto wrapped = wrap(*load(), "eu", "aad", "k");  // under eu-new
  ASSERT_TRUE(add_keyring_kek(path_, "eu", "eu-3", "2026-12-01T00:00:00Z"));

  Status retired = retire_keyring_kek(path_, "eu-new");

  ASSERT_TRUE(retired) << retired.error().message;
  EXPECT_EQ(mode_of(path_), 0600u);
  auto provider = load();
  const auto kek = find(provider->keks(), "eu-new");
  ASSERT_TRUE(kek);
  EXPECT_TRUE(kek->retired);
  EXPECT_FALSE(kek->active);
  auto key = provider->unwrap("eu", wrapped, as_bytes("aad"));
  ASSERT_FALSE(key);
  EXPECT_EQ(key.error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(retire_keyring_kek(path_, "eu-new"));  // again: nothing to do
}

TEST_F(KeyringTest, RetireAnswersNotFoundForAnUnknownId) {
  Status retired = retire_keyring_kek(path_, "eu-nope");

  ASSERT_FALSE(retired);
  EXPECT_EQ(retired.error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace fl::keys
