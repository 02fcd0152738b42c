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

// "<kind>:<length of first>:<first><second>": the length makes the split unambiguous.
std::string pair_input(std::string_view kind, std::string_view first, std::string_view second) {
  std::string input(kind);
  input += ':';
  input += std::to_string(first.size());
  input += ':';
  input.append(first);
  input.append(second);
  return input;
}

}  // namespace

Result<ports::Hash32> Pseudonyms::resource_key(std::string_view source,
                                               std::string_view reference) {
  return mac(keys_, pair_input("resource", source, reference));
}

Result<ports::Hash32> Pseudonyms::patient_key(std::string_view source,
                                              std::string_view patient_reference) {
  return mac(keys_, pair_input("patient", source, patient_reference));
}

Result<ports::Hash32> Pseudonyms::person_key(std::string_view system, std::string_view value) {
  return mac(keys_, pair_input("person", system, value));
}

Result<ports::Hash32> Pseudonyms::identifier(std::string_view system, std::string_view value) {
  std::string input = "identifier:";
  input.append(system);
  input += '|';
  input.append(value);
  return mac(keys_, input);
}

}  // namespace fl::gateway
