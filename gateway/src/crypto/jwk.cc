#include "fl/gateway/crypto/jwk.h"

#include "fl/base/c_handle.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <rapidjson/document.h>

#include <array>
#include <cstdint>
#include <set>
#include <utility>

namespace fl::gateway::crypto {
namespace {

using PkeyPtr = CHandle<EVP_PKEY, &EVP_PKEY_free>;
using PkeyCtxPtr = CHandle<EVP_PKEY_CTX, &EVP_PKEY_CTX_free>;
using ParamBldPtr = CHandle<OSSL_PARAM_BLD, &OSSL_PARAM_BLD_free>;
using ParamsPtr = CHandle<OSSL_PARAM, &OSSL_PARAM_free>;
using BignumPtr = CHandle<BIGNUM, &BN_free>;
using BioPtr = CHandle<BIO, &BIO_free>;

// RFC 7518 section 3.3 requires 2048 bits for RS256; shorter keys are refused, not skipped,
// because a JWKS that offers one is misconfigured.
constexpr int kMinRsaBits = 2048;

Error invalid(std::string what, std::string where) {
  return Error{ErrorCode::kInvalidInput, std::move(what), std::move(where)};
}

int base64url_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

std::string member_string(const rapidjson::Value& key, const char* name) {
  auto it = key.FindMember(name);
  return it != key.MemberEnd() && it->value.IsString() ? it->value.GetString() : "";
}

// Whether a key's "use" and "key_ops" (RFC 7517 sections 4.2, 4.3) allow verifying signatures.
bool meant_for_verification(const rapidjson::Value& key) {
  if (auto use = key.FindMember("use"); use != key.MemberEnd()) {
    if (!use->value.IsString() || std::string_view(use->value.GetString()) != "sig") return false;
  }
  if (auto ops = key.FindMember("key_ops"); ops != key.MemberEnd()) {
    if (!ops->value.IsArray()) return false;
    for (const auto& op : ops->value.GetArray()) {
      if (op.IsString() && std::string_view(op.GetString()) == "verify") return true;
    }
    return false;
  }
  return true;
}

Result<std::string> decoded_member(const rapidjson::Value& key, const char* name,
                                   const std::string& where) {
  auto it = key.FindMember(name);
  if (it == key.MemberEnd() || !it->value.IsString()) {
    return invalid(std::string("expected \"") + name + "\" as a base64url string", where + name);
  }
  auto bytes = base64url_decode(it->value.GetString());
  if (!bytes || bytes->empty()) {
    return invalid(std::string("expected \"") + name + "\" as non-empty base64url", where + name);
  }
  return bytes;
}

Result<PkeyPtr> key_from_params(const char* type, OSSL_PARAM_BLD* builder,
                                const std::string& where) {
  ParamsPtr params(OSSL_PARAM_BLD_to_param(builder));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0) {
    return Error{ErrorCode::kUnavailable, std::string("OpenSSL cannot build ") + type + " keys",
                 where};
  }
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) <= 0) {
    return invalid(std::string("expected a valid ") + type + " public key", where);
  }
  PkeyPtr key(raw);
  // A point off its curve (or an RSA modulus that cannot be one) must not become a key: an
  // invalid-curve point is how ECDH/ECDSA keys leak, and a typo should fail loudly.
  PkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    return invalid(std::string("expected a valid ") + type + " public key", where);
  }
  return key;
}

Result<PkeyPtr> rsa_key(const rapidjson::Value& key, const std::string& where) {
  auto n = decoded_member(key, "n", where);
  if (!n) return n.error();
  auto e = decoded_member(key, "e", where);
  if (!e) return e.error();
  const auto* n_bytes = reinterpret_cast<const unsigned char*>(n->data());
  const auto* e_bytes = reinterpret_cast<const unsigned char*>(e->data());
  BignumPtr n_bn(BN_bin2bn(n_bytes, static_cast<int>(n->size()), nullptr));
  BignumPtr e_bn(BN_bin2bn(e_bytes, static_cast<int>(e->size()), nullptr));
  ParamBldPtr builder(OSSL_PARAM_BLD_new());
  if (!n_bn || !e_bn || !builder ||
      OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_N, n_bn.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_E, e_bn.get()) != 1) {
    return Error{ErrorCode::kUnavailable, "out of memory", where};
  }
  auto pkey = key_from_params("RSA", builder.get(), where + "n");
  if (!pkey) return pkey.error();
  if (EVP_PKEY_get_bits(pkey->get()) < kMinRsaBits) {
    return invalid("expected an RSA modulus of at least 2048 bits", where + "n");
  }
  return pkey;
}

struct Curve {
  std::string_view jwk_name;
  const char* openssl_name;
  std::size_t coordinate_bytes;
  const char* alg;
};
constexpr std::array<Curve, 2> kCurves{
    {{"P-256", "prime256v1", 32, "ES256"}, {"P-384", "secp384r1", 48, "ES384"}}};

Result<PkeyPtr> ec_key(const rapidjson::Value& key, const Curve& curve, const std::string& where) {
  auto x = decoded_member(key, "x", where);
  if (!x) return x.error();
  auto y = decoded_member(key, "y", where);
  if (!y) return y.error();
  // RFC 7518 section 6.2.1.2: each coordinate is the full field size, leading zeros kept.
  if (x->size() != curve.coordinate_bytes) {
    return invalid("expected " + std::to_string(curve.coordinate_bytes) + " bytes for " +
                       std::string(curve.jwk_name),
                   where + "x");
  }
  if (y->size() != curve.coordinate_bytes) {
    return invalid("expected " + std::to_string(curve.coordinate_bytes) + " bytes for " +
                       std::string(curve.jwk_name),
                   where + "y");
  }
  const std::string point = std::string(1, '\x04') + *x + *y;  // SEC 1 uncompressed
  ParamBldPtr builder(OSSL_PARAM_BLD_new());
  if (!builder ||
      OSSL_PARAM_BLD_push_utf8_string(builder.get(), OSSL_PKEY_PARAM_GROUP_NAME, curve.openssl_name,
                                      0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(builder.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    return Error{ErrorCode::kUnavailable, "out of memory", where};
  }
  return key_from_params("EC", builder.get(), where + "x");
}

Result<std::string> public_pem(EVP_PKEY* key, const std::string& where) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key) != 1) {
    return Error{ErrorCode::kUnavailable, "cannot write the key as PEM", where};
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

// The algorithm a key of type `kty` verifies, "" when it is not a key we verify with (kty oct,
// a shared secret, OKP; P-521; PS256, RS512, RSA-OAEP, ECDH-ES), or an error when its alg
// contradicts its curve.
Result<std::string> algorithm_of(const rapidjson::Value& key, const std::string& prefix,
                                 const Curve** curve) {
  const std::string kty = member_string(key, "kty");
  const std::string alg = member_string(key, "alg");
  if (kty == "RSA") return std::string(alg.empty() || alg == "RS256" ? "RS256" : "");
  if (kty != "EC") return std::string();
  const std::string crv = member_string(key, "crv");
  for (const auto& c : kCurves) {
    if (c.jwk_name == crv) *curve = &c;
  }
  if (*curve == nullptr) return std::string();
  if (alg.empty() || alg == (*curve)->alg) return std::string((*curve)->alg);
  if (!alg.starts_with("ES")) return std::string();
  return invalid("expected alg " + std::string((*curve)->alg) + " for crv " + crv, prefix + "alg");
}

// One key of the set: the key, or an empty kid when it is not one we verify with.
Result<JsonWebKey> parse_key(const rapidjson::Value& key, const std::string& where) {
  if (!key.IsObject()) return invalid("expected a JSON Web Key object", where);
  if (!meant_for_verification(key)) return JsonWebKey{};
  const std::string prefix = where + "/";
  const Curve* curve = nullptr;
  auto alg = algorithm_of(key, prefix, &curve);
  if (!alg) return alg.error();
  if (alg->empty()) return JsonWebKey{};
  if (key.HasMember("d")) {
    return invalid("expected a public key: \"d\" is a private key and must not be published",
                   prefix + "d");
  }
  const std::string kid = member_string(key, "kid");
  if (kid.empty()) {
    return invalid("expected a non-empty kid (tokens choose their key by kid)", prefix + "kid");
  }
  auto pkey = curve != nullptr ? ec_key(key, *curve, prefix) : rsa_key(key, prefix);
  if (!pkey) return pkey.error();
  auto pem = public_pem(pkey->get(), where);
  if (!pem) return pem.error();
  return JsonWebKey{.kid = kid, .alg = std::move(*alg), .public_key_pem = std::move(*pem)};
}

}  // namespace

Result<std::string> base64url_decode(std::string_view text) {
  if (text.size() % 4 == 1) return invalid("expected base64url: impossible length", "");
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    const int value = base64url_value(c);
    if (value < 0) return invalid("expected base64url without padding", "");
    buffer = (buffer << 6) | static_cast<std::uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xff));
    }
  }
  // The leftover bits of the last character must be zero (RFC 4648 section 3.5), so that one
  // key has one encoding.
  if ((buffer & ((1u << bits) - 1)) != 0) return invalid("expected canonical base64url", "");
  return out;
}

Result<std::vector<JsonWebKey>> parse_jwk_set(std::string_view json) {
  rapidjson::Document doc;
  // Iterative: a set from /api/jwksUrl is up to 1 MiB from another party, and the recursive
  // parser would follow its nesting down the verifier thread's stack.
  doc.Parse<rapidjson::kParseIterativeFlag>(json.data(), json.size());
  if (doc.HasParseError()) return invalid("expected a JSON Web Key Set: invalid JSON", "");
  if (!doc.IsObject() || !doc.HasMember("keys") || !doc["keys"].IsArray()) {
    return invalid("expected a JSON Web Key Set: an object with a \"keys\" array", "/keys");
  }
  std::vector<JsonWebKey> keys;
  std::set<std::string> kids;
  const auto& array = doc["keys"].GetArray();
  for (rapidjson::SizeType i = 0; i < array.Size(); ++i) {
    const std::string where = "/keys/" + std::to_string(i);
    auto key = parse_key(array[i], where);
    if (!key) return key.error();
    if (key->kid.empty()) continue;
    if (!kids.insert(key->kid).second) return invalid("expected each kid once", where + "/kid");
    keys.push_back(std::move(*key));
  }
  return keys;
}

}  // namespace fl::gateway::crypto
