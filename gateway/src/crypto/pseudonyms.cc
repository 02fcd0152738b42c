#include "fl/gateway/pseudonyms.h"

#include "fl/gateway/crypto/hash.h"

#include <memory>
#include <string>
#include <utility>

namespace fl::gateway {
namespace {

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

Pseudonyms::Pseudonyms(ports::KeyProvider& keys) : keys_(keys) {}
Pseudonyms::Pseudonyms(Pseudonyms&&) noexcept = default;
Pseudonyms::~Pseudonyms() = default;

Status Pseudonyms::key() {
  if (keyed_) return Ok{};
  auto pepper = keys_.pseudonym_pepper();
  if (!pepper) return pepper.error();
  auto keyed = crypto::KeyedHmacSha256::create(pepper->material.view());
  if (!keyed) return keyed.error();
  keyed_ = std::make_unique<crypto::KeyedHmacSha256>(std::move(*keyed));
  return Ok{};
}

bool Pseudonyms::keyed() { return static_cast<bool>(key()); }

Result<ports::Hash32> Pseudonyms::mac(std::string_view input) {
  if (auto k = key(); !k) return k.error();
  return keyed_->mac(as_bytes(input));
}

Result<ports::Hash32> Pseudonyms::resource_key(std::string_view source,
                                               std::string_view reference) {
  return mac(pair_input("resource", source, reference));
}

Result<ports::Hash32> Pseudonyms::patient_key(std::string_view source,
                                              std::string_view patient_reference) {
  return mac(pair_input("patient", source, patient_reference));
}

Result<ports::Hash32> Pseudonyms::person_key(std::string_view system, std::string_view value) {
  return mac(pair_input("person", system, value));
}

Result<ports::Hash32> Pseudonyms::identifier(std::string_view system, std::string_view value) {
  std::string input = "identifier:";
  input.append(system);
  input += '|';
  input.append(value);
  return mac(input);
}

}  // namespace fl::gateway
