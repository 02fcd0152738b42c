#include "fl/gateway/pseudonyms.h"

#include "fl/gateway/crypto/hash.h"

#include <algorithm>
#include <string>

namespace fl::gateway {
namespace {

Result<ports::Hash32> mac(ports::KeyProvider& keys, std::string_view input) {
  auto pepper = keys.pseudonym_pepper();
  if (!pepper) return pepper.error();
  const Bytes mac = crypto::hmac_sha256(pepper->material.view(), as_bytes(input));
  ports::Hash32 out{};
  std::copy_n(mac.begin(), out.size(), out.begin());
  return out;
}

}  // namespace

Result<ports::Hash32> Pseudonyms::resource_key(std::string_view reference) {
  return mac(keys_, reference);
}

Result<ports::Hash32> Pseudonyms::patient_key(std::string_view patient_reference) {
  std::string input = "patient:";
  input.append(patient_reference);
  return mac(keys_, input);
}

Result<ports::Hash32> Pseudonyms::identifier(std::string_view system, std::string_view value) {
  std::string input = "identifier:";
  input.append(system);
  input += '|';
  input.append(value);
  return mac(keys_, input);
}

}  // namespace fl::gateway
