#include "fl/ledger/abi.h"

#include <algorithm>

namespace fl::ledger::abi {

std::array<std::uint8_t, 4> selector(std::string_view signature) {
  const Hash32 hash = keccak256(as_bytes(signature));
  return {hash[0], hash[1], hash[2], hash[3]};
}

Hash32 event_topic(std::string_view signature) { return keccak256(as_bytes(signature)); }

Word uint_word(std::uint64_t value) {
  Word w{};
  for (int i = 0; i < 8; ++i) w[31 - i] = static_cast<std::uint8_t>(value >> (8 * i));
  return w;
}

Word bool_word(bool value) { return uint_word(value ? 1 : 0); }

Word address_word(const Address& address) {
  Word w{};
  std::copy(address.begin(), address.end(), w.begin() + 12);
  return w;
}

Word fixed_bytes_word(ByteView value) {
  Word w{};
  std::copy_n(value.begin(), std::min<std::size_t>(value.size(), 32), w.begin());
  return w;
}

Bytes encode_args(const std::vector<Arg>& args) {
  Bytes head;
  Bytes tail;
  const std::size_t head_size = 32 * args.size();
  for (const Arg& arg : args) {
    if (arg.kind == Arg::Kind::kWord) {
      head.insert(head.end(), arg.words.front().begin(), arg.words.front().end());
      continue;
    }
    const Word offset = uint_word(head_size + tail.size());
    head.insert(head.end(), offset.begin(), offset.end());
    if (arg.kind == Arg::Kind::kArray) {
      const Word length = uint_word(arg.words.size() / std::max<std::size_t>(arg.element_words, 1));
      tail.insert(tail.end(), length.begin(), length.end());
      for (const Word& w : arg.words) tail.insert(tail.end(), w.begin(), w.end());
      continue;
    }
    const Word length = uint_word(arg.bytes.size());
    tail.insert(tail.end(), length.begin(), length.end());
    tail.insert(tail.end(), arg.bytes.begin(), arg.bytes.end());
    tail.resize(tail.size() + (32 - arg.bytes.size() % 32) % 32, 0);  // pad to a whole word
  }
  head.insert(head.end(), tail.begin(), tail.end());
  return head;
}

Bytes encode_call(std::string_view signature, const std::vector<Arg>& args) {
  const auto sel = selector(signature);
  Bytes out(sel.begin(), sel.end());
  const Bytes encoded = encode_args(args);
  out.insert(out.end(), encoded.begin(), encoded.end());
  return out;
}

Result<Word> word_at(ByteView data, std::size_t index) {
  if (data.size() < 32 * (index + 1)) {
    return Error{ErrorCode::kInvalidInput, "ABI data too short", "word " + std::to_string(index)};
  }
  Word w;
  std::copy_n(data.begin() + static_cast<std::ptrdiff_t>(32 * index), 32, w.begin());
  return w;
}

Result<std::uint64_t> uint64_at(ByteView data, std::size_t index) {
  auto w = word_at(data, index);
  if (!w) return w.error();
  if (std::any_of(w->begin(), w->begin() + 24, [](std::uint8_t b) { return b != 0; })) {
    return Error{ErrorCode::kInvalidInput, "ABI word does not fit 64 bits",
                 "word " + std::to_string(index)};
  }
  std::uint64_t v = 0;
  for (int i = 24; i < 32; ++i) v = (v << 8) | (*w)[static_cast<std::size_t>(i)];
  return v;
}

}  // namespace fl::ledger::abi
