#include "fl/gateway/crypto/envelope.h"

#include "fl/gateway/crypto/aead.h"
#include "fl/gateway/crypto/hash.h"

#include <algorithm>

namespace fl::gateway::crypto {
namespace {

constexpr std::string_view kMagic = "FLB1";
constexpr std::size_t kNonceBytes = 12;
constexpr std::string_view kDataKeySalt = "fhir-ledger/data-key/v1";

struct Header {
  std::string key_id;
  ByteView nonce;
  ByteView sealed;  // ciphertext || tag
  std::size_t header_size = 0;
};

Result<Header> parse(ByteView blob) {
  const Error bad{ErrorCode::kIntegrity, "not a sealed resource (bad header)", "envelope"};
  if (blob.size() < kMagic.size() + 1 || as_chars(blob.first(kMagic.size())) != kMagic) return bad;
  const std::size_t id_size = blob[kMagic.size()];
  const std::size_t header_size = kMagic.size() + 1 + id_size + kNonceBytes;
  if (blob.size() < header_size + kGcmTagBytes) return bad;
  Header h;
  h.key_id = std::string(as_chars(blob.subspan(kMagic.size() + 1, id_size)));
  h.nonce = blob.subspan(kMagic.size() + 1 + id_size, kNonceBytes);
  h.sealed = blob.subspan(header_size);
  h.header_size = header_size;
  return h;
}

Result<SecretBytes> data_key(const SecretBytes& kek, ByteView context) {
  return hkdf_sha256(kek.view(), as_bytes(kDataKeySalt), context, 32);
}

Bytes aad_for(ByteView header, ByteView context) {
  Bytes aad(header.begin(), header.end());
  aad.insert(aad.end(), context.begin(), context.end());
  return aad;
}

}  // namespace

Result<Bytes> seal_resource(const SecretBytes& kek, std::string_view key_id, ByteView context,
                            ByteView plaintext) {
  if (key_id.empty() || key_id.size() > 255) {
    return Error{ErrorCode::kInvalidInput, "key id must be 1..255 bytes", "envelope"};
  }
  auto key = data_key(kek, context);
  if (!key) return key.error();

  Bytes nonce_input(5 + plaintext.size());
  std::copy_n("nonce", 5, nonce_input.begin());
  std::copy(plaintext.begin(), plaintext.end(), nonce_input.begin() + 5);
  Bytes nonce = hmac_sha256(key->view(), nonce_input);
  nonce.resize(kNonceBytes);

  Bytes blob(kMagic.begin(), kMagic.end());
  blob.push_back(static_cast<std::uint8_t>(key_id.size()));
  blob.insert(blob.end(), key_id.begin(), key_id.end());
  blob.insert(blob.end(), nonce.begin(), nonce.end());
  auto sealed = aes_gcm_seal(key->view(), nonce, aad_for(blob, context), plaintext);
  if (!sealed) return sealed.error();
  blob.insert(blob.end(), sealed->begin(), sealed->end());
  return blob;
}

Result<std::string> sealed_key_id(ByteView blob) {
  auto header = parse(blob);
  if (!header) return header.error();
  return header->key_id;
}

Result<Bytes> open_resource(const SecretBytes& kek, ByteView blob, ByteView context) {
  auto header = parse(blob);
  if (!header) return header.error();
  auto key = data_key(kek, context);
  if (!key) return key.error();
  return aes_gcm_open(key->view(), header->nonce, aad_for(blob.first(header->header_size), context),
                      header->sealed);
}

}  // namespace fl::gateway::crypto
