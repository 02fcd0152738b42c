#include "fl/ledger/rlp.h"

namespace fl::ledger::rlp {
namespace {

Bytes length_prefix(std::size_t length, std::uint8_t short_base, std::uint8_t long_base) {
  if (length <= 55) return {static_cast<std::uint8_t>(short_base + length)};
  Bytes size;
  for (std::size_t l = length; l > 0; l >>= 8) {
    size.insert(size.begin(), static_cast<std::uint8_t>(l));
  }
  Bytes out{static_cast<std::uint8_t>(long_base + size.size())};
  out.insert(out.end(), size.begin(), size.end());
  return out;
}

Error invalid(const std::string& what, std::size_t at) {
  return Error{ErrorCode::kInvalidInput, "RLP: " + what, "offset " + std::to_string(at)};
}

// Decodes one item starting at `pos`; advances `pos` past it.
Result<Item> decode_at(ByteView in, std::size_t& pos, int depth) {
  if (depth > 64) return invalid("nesting too deep", pos);
  if (pos >= in.size()) return invalid("unexpected end", pos);
  const std::uint8_t prefix = in[pos];
  const std::size_t start = pos;
  Item item;
  std::size_t length = 0;
  if (prefix < 0x80) {
    item.bytes = {prefix};
    ++pos;
    return item;
  }
  const bool list = prefix >= 0xc0;
  const std::uint8_t base = list ? 0xc0 : 0x80;
  const std::size_t short_limit = static_cast<std::size_t>(base) + 55;
  if (prefix <= short_limit) {
    length = prefix - base;
    ++pos;
    if (!list && length == 1 && pos < in.size() && in[pos] < 0x80) {
      return invalid("single byte below 0x80 must encode itself", start);
    }
  } else {
    const std::size_t size_bytes = prefix - short_limit;
    if (pos + 1 + size_bytes > in.size()) return invalid("length runs past the end", start);
    if (in[pos + 1] == 0) return invalid("length with leading zero", start);
    if (size_bytes > 8) return invalid("length too large", start);
    for (std::size_t i = 0; i < size_bytes; ++i) length = (length << 8) | in[pos + 1 + i];
    if (length <= 55) return invalid("long form used for a short length", start);
    pos += 1 + size_bytes;
  }
  if (length > in.size() - pos) return invalid("content runs past the end", start);
  if (!list) {
    item.bytes.assign(in.begin() + static_cast<std::ptrdiff_t>(pos),
                      in.begin() + static_cast<std::ptrdiff_t>(pos + length));
    pos += length;
    return item;
  }
  item.is_list = true;
  const std::size_t end = pos + length;
  while (pos < end) {
    auto child = decode_at(in.first(end), pos, depth + 1);
    if (!child) return child.error();
    item.items.push_back(std::move(*child));
  }
  return item;
}

}  // namespace

Bytes encode_bytes(ByteView bytes) {
  if (bytes.size() == 1 && bytes[0] < 0x80) return {bytes[0]};
  Bytes out = length_prefix(bytes.size(), 0x80, 0xb7);
  out.insert(out.end(), bytes.begin(), bytes.end());
  return out;
}

Bytes encode_uint(std::uint64_t value) {
  Bytes be;
  for (std::uint64_t v = value; v > 0; v >>= 8) be.insert(be.begin(), static_cast<std::uint8_t>(v));
  return encode_bytes(be);
}

Bytes encode_big_uint(ByteView big_endian) {
  std::size_t first = 0;
  while (first < big_endian.size() && big_endian[first] == 0) ++first;
  return encode_bytes(big_endian.subspan(first));
}

Bytes encode_list(const std::vector<Bytes>& encoded_items) {
  std::size_t total = 0;
  for (const auto& item : encoded_items) total += item.size();
  Bytes out = length_prefix(total, 0xc0, 0xf7);
  for (const auto& item : encoded_items) out.insert(out.end(), item.begin(), item.end());
  return out;
}

Result<Item> decode(ByteView encoded) {
  std::size_t pos = 0;
  auto item = decode_at(encoded, pos, 0);
  if (!item) return item.error();
  if (pos != encoded.size()) return invalid("trailing bytes after the item", pos);
  return item;
}

}  // namespace fl::ledger::rlp
