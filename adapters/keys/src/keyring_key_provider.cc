#include "fl/adapters/keys/keyring_key_provider.h"

#include "fl/base/bytes.h"

#include <openssl/crypto.h>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <fstream>
#include <map>
#include <sstream>

namespace fl::keys {
namespace {

class KeyringKeyProvider final : public ports::KeyProvider {
 public:
  KeyringKeyProvider(std::map<std::string, Bytes> keys, std::string active, std::string pepper_id,
                     Bytes pepper)
      : keys_(std::move(keys)),
        active_(std::move(active)),
        pepper_id_(std::move(pepper_id)),
        pepper_(std::move(pepper)) {}
  KeyringKeyProvider(const KeyringKeyProvider&) = delete;
  KeyringKeyProvider& operator=(const KeyringKeyProvider&) = delete;
  ~KeyringKeyProvider() override {
    for (auto& [id, material] : keys_) OPENSSL_cleanse(material.data(), material.size());
  }

  Result<ports::KeyMaterial> active_key() override { return key(active_); }

  Result<ports::KeyMaterial> key(const std::string& key_id) override {
    auto it = keys_.find(key_id);
    if (it == keys_.end()) return Error{ErrorCode::kNotFound, "unknown or retired key id", key_id};
    return ports::KeyMaterial{key_id, SecretBytes(it->second)};
  }

  Result<ports::KeyMaterial> pseudonym_pepper() override {
    const auto view = pepper_.view();
    return ports::KeyMaterial{pepper_id_, SecretBytes(Bytes(view.begin(), view.end()))};
  }

 private:
  std::map<std::string, Bytes> keys_;
  std::string active_;
  std::string pepper_id_;
  SecretBytes pepper_;
};

Error bad(const std::string& path, const std::string& pointer, const std::string& what) {
  return Error{ErrorCode::kInvalidInput, path + ": " + pointer + ": " + what, path + "#" + pointer};
}

Result<Bytes> key_material(const std::string& path, const std::string& pointer,
                           const rapidjson::Value& holder) {
  auto it = holder.FindMember("material");
  if (it == holder.MemberEnd() || !it->value.IsString()) {
    return bad(path, pointer + "/material", "expected a 64-digit hex string");
  }
  auto bytes = parse_hex(it->value.GetString());
  if (!bytes || bytes->size() != 32) {
    return bad(path, pointer + "/material", "expected a 64-digit hex string (32 bytes)");
  }
  return std::move(*bytes);
}

}  // namespace

Result<std::unique_ptr<ports::KeyProvider>> make_keyring_key_provider(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error{ErrorCode::kNotFound, path + ": cannot open keyring file", path};
  std::stringstream text;
  text << in.rdbuf();
  rapidjson::Document doc;
  doc.Parse(text.str().c_str());
  if (doc.HasParseError() || !doc.IsObject()) {
    return bad(path, "/",
               "expected a JSON object (offset " + std::to_string(doc.GetErrorOffset()) + ")");
  }
  if (!doc.HasMember("pepper") || !doc["pepper"].IsObject() || !doc["pepper"].HasMember("id") ||
      !doc["pepper"]["id"].IsString()) {
    return bad(path, "/pepper", "expected an object with id and material");
  }
  auto pepper = key_material(path, "/pepper", doc["pepper"]);
  if (!pepper) return pepper.error();
  if (!doc.HasMember("keys") || !doc["keys"].IsArray() || doc["keys"].Empty()) {
    return bad(path, "/keys", "expected a non-empty array of keys");
  }
  std::map<std::string, Bytes> keys;
  std::string active;
  for (rapidjson::SizeType i = 0; i < doc["keys"].Size(); ++i) {
    const auto& k = doc["keys"][i];
    const std::string pointer = "/keys/" + std::to_string(i);
    if (!k.IsObject() || !k.HasMember("id") || !k["id"].IsString() ||
        k["id"].GetStringLength() == 0) {
      return bad(path, pointer + "/id", "expected a non-empty key id");
    }
    const std::string id = k["id"].GetString();
    auto material = key_material(path, pointer, k);
    if (!material) return material.error();
    if (!keys.emplace(id, std::move(*material)).second) {
      return bad(path, pointer + "/id", "duplicate key id \"" + id + "\"");
    }
    if (k.HasMember("active") && k["active"].IsBool() && k["active"].GetBool()) {
      if (!active.empty()) return bad(path, pointer + "/active", "more than one active key");
      active = id;
    }
  }
  if (active.empty()) return bad(path, "/keys", "expected exactly one key with \"active\": true");
  return std::unique_ptr<ports::KeyProvider>(std::make_unique<KeyringKeyProvider>(
      std::move(keys), std::move(active), doc["pepper"]["id"].GetString(), std::move(*pepper)));
}

}  // namespace fl::keys
