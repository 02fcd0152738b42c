// The Solidity ABI for any type: type strings parsed into descriptors, values encoded with the
// spec's head/tail layout, and return data, event logs and revert data decoded back. Decoding is
// strict because its input comes from a node we don't trust: every offset, length and padding
// byte is checked, data that would decode to more words than it holds is refused, and anything
// malformed is kInvalidInput (with `where` a JSON-pointer-like path to the argument), never a
// crash or a read out of bounds. abi.h keeps the word-level helpers the PointerRegistry calls
// use. Pure functions and value types: any thread.
#pragma once

#include "fl/base/bytes.h"
#include "fl/base/result.h"
#include "fl/ledger/abi.h"
#include "fl/ledger/json_rpc.h"
#include "fl/ledger/keccak.h"
#include "fl/ledger/signer.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fl::ledger::abi {

// Build types with parse_type: it bounds the nesting depth and the size of static types, which
// the decoder relies on to keep its work proportional to the data.
struct Type {
  enum class Kind {
    kUint,
    kInt,
    kAddress,
    kBool,
    kFixedBytes,  // bytesN
    kBytes,
    kString,
    kArray,       // T[]
    kFixedArray,  // T[k]
    kTuple,       // (T1,...,Tn)
  };
  Kind kind = Kind::kUint;
  std::size_t size = 256;        // kUint, kInt: bits; kFixedBytes: bytes; kFixedArray: k
  std::vector<Type> components;  // kArray, kFixedArray: the element; kTuple: the members

  bool is_dynamic() const;
  // What the type takes in the head of its enclosing tuple: 32 (an offset) for a dynamic type,
  // the whole encoding for a static one.
  std::size_t head_size() const;
  std::string canonical() const;  // as selectors hash it: "(bytes32,uint64)[]"
  bool operator==(const Type&) const = default;
};

// The canonical spelling, plus `uint`/`int` for uint256/int256; errors name the position.
Result<Type> parse_type(std::string_view text);

struct Value {
  enum class Kind { kUint, kInt, kAddress, kBool, kFixedBytes, kBytes, kString, kList };
  Kind kind = Kind::kUint;
  Word word{};               // kUint; kInt as two's complement
  Address address{};         // kAddress
  bool boolean = false;      // kBool
  Bytes bytes;               // kFixedBytes (exactly N), kBytes
  std::string text;          // kString (the bytes as given; not checked to be UTF-8)
  std::vector<Value> items;  // kList: array elements or tuple members

  static Value from_uint(std::uint64_t value);
  static Value from_uint_word(const Word& word);
  static Value from_int(std::int64_t value);
  static Value from_int_word(const Word& word);
  static Value from_address(const Address& address);
  static Value from_bool(bool value);
  static Value from_fixed_bytes(ByteView bytes);
  static Value from_bytes(ByteView bytes);
  static Value from_string(std::string_view text);
  static Value from_list(std::vector<Value> items);

  std::optional<std::uint64_t> as_uint64() const;  // a kUint that fits
  std::optional<std::int64_t> as_int64() const;    // a kInt that fits
  bool operator==(const Value&) const = default;
};

// kInvalidInput when a value's kind, count or size does not match its type.
Result<Bytes> encode(const std::vector<Type>& types, const std::vector<Value>& values);
// Bytes after the encoding are ignored, as Solidity does. The padding after `bytes`/`string`
// content is not required.
Result<std::vector<Value>> decode(const std::vector<Type>& types, ByteView data);

// A function or custom error: "f(uint256,(bytes32,uint64)[],string)". Parameter names are
// allowed ("f(uint256 amount)") and dropped; spaces are allowed around parameters.
struct Function {
  std::string name;
  std::vector<Type> inputs;

  std::string signature() const;  // canonical
  std::array<std::uint8_t, 4> selector() const;
  Result<Bytes> encode_call(const std::vector<Value>& args) const;
  // kInvalidInput when the calldata does not start with this function's selector.
  Result<std::vector<Value>> decode_call(ByteView calldata) const;
};
Result<Function> parse_signature(std::string_view text);

struct EventParam {
  Type type;
  bool indexed = false;
  std::string name;  // empty when the signature gives none
};

// "Anchored(bytes32 indexed resourceKey,bytes32 indexed,uint64 version)". Anonymous events,
// which have no topic0, are not supported.
struct Event {
  std::string name;
  std::vector<EventParam> inputs;

  std::string signature() const;  // canonical, without `indexed` or names
  Hash32 topic() const;           // topic0
};
Result<Event> parse_event(std::string_view text);

struct NamedValue {
  std::string name;
  Value value;
};

// The event's inputs in declaration order. An indexed parameter whose type is not a single word
// (bytes, string, arrays, tuples) is in the log only as the keccak of its value: it comes back
// as a bytes32. kInvalidInput when topic0 or the number of topics does not match the event.
Result<std::vector<NamedValue>> decode_log(const Event& event, const LogEntry& log);

struct DecodedError {
  std::string selector;  // "0x08c379a0"; empty for a revert without data
  std::string name;      // the matching error; empty when unknown
  std::vector<Value> args;

  bool known() const { return !name.empty(); }
};

// Revert data against `errors` (custom errors, as Function) and the standard Error(string) and
// Panic(uint256). An unknown selector or empty data is a DecodedError that is not known();
// kInvalidInput when the data is 1 to 3 bytes or a known error's arguments do not decode.
Result<DecodedError> decode_error(ByteView revert_data, const std::vector<Function>& errors);

// For diagnostics: uint and int in decimal, addresses EIP-55, bytes 0x-hex, strings quoted,
// lists in brackets: [291, [1110, 1929], 0x31323334353637383930, "Hello, world!"].
std::string to_string(const Value& value);
// "AnchorConflict(0x…, 7)", "unknown error 0xdeadbeef", "revert without data".
std::string to_string(const DecodedError& error);

}  // namespace fl::ledger::abi
