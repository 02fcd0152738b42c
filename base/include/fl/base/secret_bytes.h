// SecretBytes: key material. Move-only, wiped with OPENSSL_cleanse when destroyed, and with no
// formatter or stream operator, so it cannot end up in a log line by accident.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace fl {

class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(std::vector<std::uint8_t> bytes) : bytes_(std::move(bytes)) {}
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  SecretBytes(SecretBytes&& other) noexcept : bytes_(std::move(other.bytes_)) {
    other.bytes_.clear();
  }
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  ~SecretBytes();

  std::span<const std::uint8_t> view() const { return bytes_; }
  std::size_t size() const { return bytes_.size(); }
  bool empty() const { return bytes_.empty(); }

 private:
  void wipe();
  std::vector<std::uint8_t> bytes_;
};

}  // namespace fl
