#include "fl/base/bytes.h"

namespace fl {
namespace {

int nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

namespace {

// Writes 2 * bytes.size() digits at `out` (hashes are hexed per pointer, several times).
void write_hex(ByteView bytes, char* out) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (std::uint8_t b : bytes) {
    *out++ = kDigits[b >> 4];
    *out++ = kDigits[b & 0x0f];
  }
}

}  // namespace

std::string to_hex(ByteView bytes) {
  std::string out(bytes.size() * 2, '\0');
  write_hex(bytes, out.data());
  return out;
}

void append_0x_hex(std::string& out, ByteView bytes) {
  const std::size_t at = out.size();
  out.resize(at + 2 + bytes.size() * 2);
  out[at] = '0';
  out[at + 1] = 'x';
  write_hex(bytes, out.data() + at + 2);
}

std::string to_0x_hex(ByteView bytes) {
  std::string out;
  append_0x_hex(out, bytes);
  return out;
}

Result<Bytes> parse_hex(std::string_view text) {
  if (text.starts_with("0x") || text.starts_with("0X")) text.remove_prefix(2);
  if (text.size() % 2 != 0) {
    return Error{ErrorCode::kInvalidInput, "hex string has an odd number of digits", ""};
  }
  Bytes out(text.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int hi = nibble(text[2 * i]);
    const int lo = nibble(text[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return Error{ErrorCode::kInvalidInput, "not a hex digit", std::to_string(2 * i)};
    }
    out[i] = static_cast<std::uint8_t>((hi << 4) | lo);
  }
  return out;
}

}  // namespace fl
