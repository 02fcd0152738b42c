// The Solidity ABI for what our contract needs: function selectors, event topics, and the
// encoding of static words (uint, bool, address, bytes32) and dynamic arrays of static words;
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

// One argument: a static word, or a dynamic array of static words (T[]).
struct Arg {
  bool dynamic = false;
  std::vector<Word> words;

  static Arg word(const Word& w) { return {false, {w}}; }
  static Arg array(std::vector<Word> elements) { return {true, std::move(elements)}; }
};

Bytes encode_args(const std::vector<Arg>& args);
Bytes encode_call(std::string_view signature, const std::vector<Arg>& args);

// Word `index` of ABI-encoded data; kInvalidInput when the data is too short.
Result<Word> word_at(ByteView data, std::size_t index);
Result<std::uint64_t> uint64_at(ByteView data, std::size_t index);

}  // namespace fl::ledger::abi
