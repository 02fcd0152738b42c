// The Solidity ABI for what our contract needs: function selectors, event topics, and the
// encoding of static words (uint, bool, address, bytes32), dynamic arrays of static words or
// static tuples, and bytes;
// plus reading words back from return data and logs. Pure functions.
#pragma once

#include "fl/base/bytes.h"
#include "fl/base/result.h"
#include "fl/ledger/keccak.h"
#include "fl/ledger/signer.h"

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

namespace fl::ledger::abi {

using Word = std::array<std::uint8_t, 32>;

std::array<std::uint8_t, 4> selector(std::string_view signature);  // "anchor(bytes32,uint64)"
Hash32 event_topic(std::string_view signature);

Word uint_word(std::uint64_t value);
Word bool_word(bool value);
Word address_word(const Address& address);
inline Word bytes32_word(const Hash32& value) { return value; }

// One argument: a static word (uint, bool, address, bytesN), a dynamic array of static words
// (T[]), or dynamic bytes (`bytes`, `string`).
struct Arg {
  enum class Kind { kWord, kArray, kBytes };
  Kind kind = Kind::kWord;
  std::vector<Word> words;        // kWord: one; kArray: the elements, flattened
  Bytes bytes;                    // kBytes
  std::size_t element_words = 1;  // kArray: words per element (a static tuple has several)

  static Arg word(const Word& w) { return {Kind::kWord, {w}, {}, 1}; }
  static Arg array(std::vector<Word> elements) {
    return {Kind::kArray, std::move(elements), {}, 1};
  }
  // (T1,...,Tk)[] of static types: each element is its k words in a row.
  static Arg static_tuple_array(std::vector<Word> flat, std::size_t words_per_element) {
    return {Kind::kArray, std::move(flat), {}, words_per_element};
  }
  static Arg dynamic_bytes(ByteView b) { return {Kind::kBytes, {}, Bytes(b.begin(), b.end()), 1}; }
};

// bytesN (N <= 32): left-aligned and zero-padded.
Word fixed_bytes_word(ByteView value);

Bytes encode_args(const std::vector<Arg>& args);
Bytes encode_call(std::string_view signature, const std::vector<Arg>& args);

// Word `index` of ABI-encoded data; kInvalidInput when the data is too short.
Result<Word> word_at(ByteView data, std::size_t index);
Result<std::uint64_t> uint64_at(ByteView data, std::size_t index);

}  // namespace fl::ledger::abi
