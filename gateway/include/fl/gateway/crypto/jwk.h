// JSON Web Keys (RFC 7517) for verifying the API's bearer tokens: a JWK Set's public RSA and
// EC keys turned into PEM public keys that any verifier (Poco JWT in gateway/app) can load.
// The algorithm of each key is decided here, from the key (kty, crv, alg), so that a token can
// never choose it. Pure functions, any thread.
#pragma once

#include "fl/base/result.h"

#include <string>
#include <string_view>
#include <vector>

namespace fl::gateway::crypto {

struct JsonWebKey {
  std::string kid;
  std::string alg;             // RS256 (kty RSA), ES256 (crv P-256) or ES384 (crv P-384)
  std::string public_key_pem;  // SubjectPublicKeyInfo, "-----BEGIN PUBLIC KEY-----"
};

// The signature-verification keys of a JWK Set ({"keys": [...]}). Keys another party may
// publish beside ours are skipped, not refused: "use" other than "sig", "key_ops" without
// "verify", kty oct/OKP, curves and algorithms we do not verify (P-521, PS256, RS512, ...).
// A key we would use but that is wrong is refused with its JSON pointer in `where`
// ("/keys/1/x"): bad base64url, a point not on its curve, RSA under 2048 bits, an alg that
// contradicts the key, a private part ("d"), no kid, a kid twice. kInvalidInput throughout.
Result<std::vector<JsonWebKey>> parse_jwk_set(std::string_view json);

// RFC 4648 section 5 without padding, as JOSE writes it; nullopt-like failure as kInvalidInput.
Result<std::string> base64url_decode(std::string_view text);

}  // namespace fl::gateway::crypto
