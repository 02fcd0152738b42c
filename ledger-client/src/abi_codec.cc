#include "fl/ledger/abi_codec.h"

#include "fl/base/assert.h"

#include <algorithm>
#include <span>
#include <utility>

namespace fl::ledger::abi {
namespace {

using Kind = Type::Kind;

// Real signatures nest a few levels; the bound keeps the recursive parser, encoder and decoder
// off the end of the stack whatever the type string says.
constexpr std::size_t kMaxDepth = 32;
// Far beyond any real static type, and small enough that sums of head sizes cannot overflow.
constexpr std::size_t kMaxHeadSize = std::size_t{1} << 24;

Error invalid(std::string message, std::string where = {}) {
  return Error{ErrorCode::kInvalidInput, std::move(message), std::move(where)};
}

// Errors are built at the leaf and gain one path segment per level on the way up, so the happy
// path never formats a path.
Error inside(Error error, std::size_t index) {
  error.where = "/" + std::to_string(index) + error.where;
  return error;
}

Error prefixed(Error error, const std::string& prefix) {
  error.where = prefix + error.where;
  return error;
}

void append(Bytes& out, ByteView bytes) { out.insert(out.end(), bytes.begin(), bytes.end()); }

bool all_equal(ByteView bytes, std::uint8_t fill) {
  return std::all_of(bytes.begin(), bytes.end(), [fill](std::uint8_t b) { return b == fill; });
}

bool fits_uint(const Word& w, std::size_t bits) {
  return all_equal(ByteView(w).first(32 - bits / 8), 0);
}

bool fits_int(const Word& w, std::size_t bits) {  // the high bytes only extend the sign
  const std::size_t pad = 32 - bits / 8;
  return all_equal(ByteView(w).first(pad), (w[pad] & 0x80) != 0 ? 0xff : 0x00);
}

std::uint64_t low64(const Word& w) {
  std::uint64_t v = 0;
  for (std::size_t i = 24; i < 32; ++i) v = (v << 8) | w[i];
  return v;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_name_start(char c) { return is_lower(c) || (c >= 'A' && c <= 'Z') || c == '_' || c == '$'; }

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  bool done() const { return pos_ == text_.size(); }
  Error error(std::string_view what) const { return error_at(pos_, what); }

  std::string_view name() {
    const std::size_t start = pos_;
    if (is_name_start(peek())) {
      while (is_name_start(peek()) || is_digit(peek())) ++pos_;
    }
    return text_.substr(start, pos_ - start);
  }

  Result<Type> type(std::size_t depth) {
    if (depth > kMaxDepth) return error("type nested too deeply");
    auto base = peek() == '(' ? tuple(depth) : elementary();
    if (!base) return base;
    Type t = std::move(base.value());
    while (eat('[')) {
      if (++depth > kMaxDepth) return error("type nested too deeply");
      if (eat(']')) {
        t = Type{Kind::kArray, 0, {std::move(t)}};
        continue;
      }
      auto k = number();
      if (!k) return k.error();
      if (*k == 0) return error("fixed array of length 0");
      if (!eat(']')) return error("expected ']'");
      if (t.head_size() > kMaxHeadSize / *k) return error("fixed array too large");
      t = Type{Kind::kFixedArray, *k, {std::move(t)}};
    }
    return t;
  }

  // "(" item ("," item)* ")", spaces allowed around items; `item` parses one at the position.
  template <typename Item>
  Status list(Item item) {
    if (!eat('(')) return error("expected '('");
    skip_spaces();
    if (eat(')')) return Ok{};
    while (true) {
      skip_spaces();
      Status parsed = item();
      if (!parsed) return parsed;
      skip_spaces();
      if (eat(')')) return Ok{};
      if (!eat(',')) return error("expected ',' or ')'");
    }
  }

  // An event or function parameter after its type: [" indexed"] [" name"].
  std::pair<bool, std::string> param_suffix() {
    if (peek() != ' ') return {false, {}};
    skip_spaces();
    std::string_view word = name();
    const bool indexed = word == "indexed";
    if (indexed) {
      skip_spaces();
      word = name();
    }
    return {indexed, std::string(word)};
  }

 private:
  char peek() const { return done() ? '\0' : text_[pos_]; }
  bool eat(char c) {
    if (peek() != c) return false;
    ++pos_;
    return true;
  }
  void skip_spaces() {
    while (peek() == ' ') ++pos_;
  }
  Error error_at(std::size_t pos, std::string_view what) const {
    return invalid(std::string(what) + " in ABI type '" + std::string(text_) + "'",
                   "position " + std::to_string(pos));
  }

  // Decimal, no leading zero, at most kMaxHeadSize (every size we accept is smaller).
  Result<std::size_t> number() {
    const std::size_t start = pos_;
    std::size_t n = 0;
    while (is_digit(peek())) {
      n = n * 10 + static_cast<std::size_t>(text_[pos_++] - '0');
      if (n > kMaxHeadSize) return error_at(start, "number too large");
    }
    if (pos_ == start) return error("expected a number");
    if (text_[start] == '0' && pos_ - start > 1) return error_at(start, "leading zero");
    return n;
  }

  Result<Type> elementary() {
    const std::size_t start = pos_;
    while (is_lower(peek())) ++pos_;
    const std::string_view word = text_.substr(start, pos_ - start);
    std::optional<std::size_t> n;
    if (is_digit(peek())) {
      auto parsed = number();
      if (!parsed) return parsed.error();
      n = *parsed;
    }
    if (word == "uint" || word == "int") {
      const std::size_t bits = n.value_or(256);
      if (bits == 0 || bits > 256 || bits % 8 != 0) {
        return error_at(start, "integer size is not a multiple of 8 in 8..256");
      }
      return Type{word == "uint" ? Kind::kUint : Kind::kInt, bits, {}};
    }
    if (word == "bytes" && n) {
      if (*n == 0 || *n > 32) return error_at(start, "bytesN size is not in 1..32");
      return Type{Kind::kFixedBytes, *n, {}};
    }
    if (n) return error_at(start, "unexpected size");
    if (word == "bytes") return Type{Kind::kBytes, 0, {}};
    if (word == "string") return Type{Kind::kString, 0, {}};
    if (word == "address") return Type{Kind::kAddress, 20, {}};
    if (word == "bool") return Type{Kind::kBool, 1, {}};
    return error_at(start, "unknown type");
  }

  Result<Type> tuple(std::size_t depth) {
    const std::size_t start = pos_;
    Type t{Kind::kTuple, 0, {}};
    std::size_t head = 0;
    Status parsed = list([&]() -> Status {
      auto member = type(depth + 1);
      if (!member) return member.error();
      head += member->head_size();
      if (head > kMaxHeadSize) return error("tuple too large");
      t.components.push_back(std::move(member.value()));
      return Ok{};
    });
    if (!parsed) return parsed.error();
    // Solidity has no empty struct, and a zero-size type would let a short array claim any
    // length.
    if (t.components.empty()) return error_at(start, "empty tuple");
    return t;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

// A name and a parenthesised parameter list, as functions, errors and events are written.
Result<Event> parse_params(std::string_view text, bool allow_indexed) {
  Parser p(text);
  Event event;
  event.name = p.name();
  if (event.name.empty()) return p.error("expected a name");
  Status parsed = p.list([&]() -> Status {
    auto t = p.type(1);
    if (!t) return t.error();
    auto [indexed, name] = p.param_suffix();
    if (indexed && !allow_indexed) return p.error("'indexed' outside an event");
    event.inputs.push_back({std::move(t.value()), indexed, std::move(name)});
    return Ok{};
  });
  if (!parsed) return parsed.error();
  if (!p.done()) return p.error("unexpected text after ')'");
  return event;
}

std::string signature_of(const std::string& name, const std::vector<Type>& types) {
  std::string out = name + "(";
  for (std::size_t i = 0; i < types.size(); ++i) {
    if (i > 0) out += ',';
    out += types[i].canonical();
  }
  return out + ")";
}

Bytes word_bytes(const Word& w) { return Bytes(w.begin(), w.end()); }

Result<Bytes> encode_value(const Type& type, const Value& value);

template <typename TypeAt>
Result<Bytes> encode_sequence(const std::vector<Value>& values, TypeAt type_at) {
  std::size_t head_size = 0;
  for (std::size_t i = 0; i < values.size(); ++i) head_size += type_at(i).head_size();
  Bytes head;
  Bytes tail;
  head.reserve(head_size);
  for (std::size_t i = 0; i < values.size(); ++i) {
    const Type& type = type_at(i);
    auto encoded = encode_value(type, values[i]);
    if (!encoded) return inside(encoded.error(), i);
    if (!type.is_dynamic()) {
      append(head, *encoded);
      continue;
    }
    append(head, uint_word(head_size + tail.size()));
    append(tail, *encoded);
  }
  append(head, tail);
  return head;
}

Bytes encode_dynamic_bytes(ByteView content) {
  Bytes out;
  const std::size_t padded = (content.size() + 31) / 32 * 32;
  out.reserve(32 + padded);
  append(out, uint_word(content.size()));
  append(out, content);
  out.resize(32 + padded, 0);
  return out;
}

// Recursion follows the type, whose depth parse_type bounds.
Result<Bytes> encode_value(const Type& type, const Value& value) {
  const auto expect = [&](Value::Kind kind) { return value.kind == kind; };
  const auto mismatch = [&] { return invalid("value does not match " + type.canonical()); };
  switch (type.kind) {
    case Kind::kUint:
      if (!expect(Value::Kind::kUint) || !fits_uint(value.word, type.size)) return mismatch();
      return word_bytes(value.word);
    case Kind::kInt:
      if (!expect(Value::Kind::kInt) || !fits_int(value.word, type.size)) return mismatch();
      return word_bytes(value.word);
    case Kind::kAddress:
      if (!expect(Value::Kind::kAddress)) return mismatch();
      return word_bytes(address_word(value.address));
    case Kind::kBool:
      if (!expect(Value::Kind::kBool)) return mismatch();
      return word_bytes(bool_word(value.boolean));
    case Kind::kFixedBytes:
      if (!expect(Value::Kind::kFixedBytes) || value.bytes.size() != type.size) return mismatch();
      return word_bytes(fixed_bytes_word(value.bytes));
    case Kind::kBytes:
      if (!expect(Value::Kind::kBytes)) return mismatch();
      return encode_dynamic_bytes(value.bytes);
    case Kind::kString:
      if (!expect(Value::Kind::kString)) return mismatch();
      return encode_dynamic_bytes(as_bytes(value.text));
    case Kind::kArray: {
      if (!expect(Value::Kind::kList)) return mismatch();
      auto elements = encode_sequence(
          value.items, [&](std::size_t) -> const Type& { return type.components[0]; });
      if (!elements) return elements;
      Bytes out = word_bytes(uint_word(value.items.size()));
      append(out, *elements);
      return out;
    }
    case Kind::kFixedArray:
      if (!expect(Value::Kind::kList) || value.items.size() != type.size) return mismatch();
      return encode_sequence(value.items,
                             [&](std::size_t) -> const Type& { return type.components[0]; });
    case Kind::kTuple:
      if (!expect(Value::Kind::kList) || value.items.size() != type.components.size()) {
        return mismatch();
      }
      return encode_sequence(value.items,
                             [&](std::size_t i) -> const Type& { return type.components[i]; });
  }
  FL_ASSERT(false, "every Type::Kind is handled above");
  return mismatch();
}

// Reads values out of untrusted data. Every read is bounds-checked, and a budget of one read per
// 32 bytes of data stops offsets that point several times at the same region from turning a
// small input into a huge result: a canonical encoding never reads a word twice.
class Decoder {
 public:
  explicit Decoder(ByteView data) : data_(data), budget_((data.size() + 31) / 32) {}

  // The value whose encoding starts at byte `at`.
  Result<Value> value(const Type& type, std::size_t at) {
    switch (type.kind) {
      case Kind::kUint:
      case Kind::kInt:
      case Kind::kAddress:
      case Kind::kBool:
      case Kind::kFixedBytes:
        return elementary(type, at);
      case Kind::kBytes:
      case Kind::kString: {
        auto length = size_word(at);
        if (!length) return length.error();
        const std::size_t start = at + 32;
        const std::size_t words = (*length + 31) / 32;
        if (*length > data_.size() - start) return truncated(start);
        if (words > budget_) return overlapping();
        budget_ -= words;
        const ByteView content = data_.subspan(start, *length);
        return type.kind == Kind::kBytes ? Value::from_bytes(content)
                                         : Value::from_string(as_chars(content));
      }
      case Kind::kArray: {
        auto length = size_word(at);
        if (!length) return length.error();
        const Type& element = type.components[0];
        if (*length > (data_.size() - at - 32) / element.head_size()) return truncated(at + 32);
        return list(*length, at + 32, [&](std::size_t) -> const Type& { return element; });
      }
      case Kind::kFixedArray:
        return list(type.size, at, [&](std::size_t) -> const Type& { return type.components[0]; });
      case Kind::kTuple:
        return list(type.components.size(), at,
                    [&](std::size_t i) -> const Type& { return type.components[i]; });
    }
    FL_ASSERT(false, "every Type::Kind is handled above");
    return invalid("unknown ABI type");
  }

  // `count` values whose heads start at `base`; offsets of dynamic ones are relative to `base`.
  template <typename TypeAt>
  Result<std::vector<Value>> sequence(std::size_t count, std::size_t base, TypeAt type_at) {
    std::size_t heads = 0;  // bounded: parse_type caps static sizes, the caller caps `count`
    for (std::size_t i = 0; i < count; ++i) heads += type_at(i).head_size();
    if (base > data_.size() || heads > data_.size() - base) return truncated(base);
    std::vector<Value> out;
    out.reserve(count);
    std::size_t head = base;
    for (std::size_t i = 0; i < count; ++i) {
      const Type& type = type_at(i);
      std::size_t at = head;
      if (type.is_dynamic()) {
        auto offset = size_word(head);
        if (!offset) return inside(offset.error(), i);
        if (*offset > data_.size() - base) {
          return inside(invalid("offset points past the end of the data"), i);
        }
        at = base + *offset;
      }
      auto v = value(type, at);
      if (!v) return inside(v.error(), i);
      out.push_back(std::move(v.value()));
      head += type.head_size();
    }
    return out;
  }

 private:
  template <typename TypeAt>
  Result<Value> list(std::size_t count, std::size_t base, TypeAt type_at) {
    auto items = sequence(count, base, type_at);
    if (!items) return items.error();
    return Value::from_list(std::move(items.value()));
  }

  static Error truncated(std::size_t at) {
    return invalid("ABI data ends before byte " + std::to_string(at) + " needs it");
  }
  static Error overlapping() {
    return invalid("ABI data decodes to more than it holds (offsets overlap)");
  }
  static Error dirty(const Type& type, std::size_t at) {
    return invalid("invalid " + type.canonical() + " at byte " + std::to_string(at));
  }

  Result<Word> word(std::size_t at) {
    if (at > data_.size() || data_.size() - at < 32) return truncated(at);
    if (budget_ == 0) return overlapping();
    --budget_;
    Word w;
    std::copy_n(data_.begin() + static_cast<std::ptrdiff_t>(at), 32, w.begin());
    return w;
  }

  // An offset or a length: either way it cannot exceed the data (elements take 32 bytes or
  // more), and checking that here keeps the callers' sums from overflowing.
  Result<std::size_t> size_word(std::size_t at) {
    auto w = word(at);
    if (!w) return w.error();
    if (!fits_uint(*w, 64) || low64(*w) > data_.size()) {
      return invalid("offset or length past the end of the data at byte " + std::to_string(at));
    }
    return static_cast<std::size_t>(low64(*w));
  }

  Result<Value> elementary(const Type& type, std::size_t at) {
    auto read = word(at);
    if (!read) return read.error();
    const Word& w = *read;
    switch (type.kind) {
      case Kind::kUint:
        if (!fits_uint(w, type.size)) return dirty(type, at);
        return Value::from_uint_word(w);
      case Kind::kInt:
        if (!fits_int(w, type.size)) return dirty(type, at);
        return Value::from_int_word(w);
      case Kind::kAddress: {
        if (!fits_uint(w, 160)) return dirty(type, at);
        Address address;
        std::copy(w.begin() + 12, w.end(), address.begin());
        return Value::from_address(address);
      }
      case Kind::kBool:
        if (!fits_uint(w, 8) || w[31] > 1) return dirty(type, at);
        return Value::from_bool(w[31] == 1);
      default:  // kFixedBytes: left-aligned, zeros after
        if (!all_equal(ByteView(w).subspan(type.size), 0)) return dirty(type, at);
        return Value::from_fixed_bytes(ByteView(w).first(type.size));
    }
  }

  ByteView data_;
  std::size_t budget_;
};

// Decimal digits of a 256-bit big-endian number, by repeated division.
std::string decimal(Word w) {
  std::string digits;
  while (!all_equal(w, 0)) {
    unsigned rem = 0;
    for (std::uint8_t& b : w) {
      const unsigned cur = rem * 256 + b;
      b = static_cast<std::uint8_t>(cur / 10);
      rem = cur % 10;
    }
    digits.push_back(static_cast<char>('0' + rem));
  }
  if (digits.empty()) return "0";
  std::reverse(digits.begin(), digits.end());
  return digits;
}

Word negate(Word w) {
  unsigned carry = 1;
  for (auto it = w.rbegin(); it != w.rend(); ++it) {
    const unsigned v = static_cast<std::uint8_t>(~*it) + carry;
    *it = static_cast<std::uint8_t>(v);
    carry = v >> 8;
  }
  return w;
}

std::string quoted(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (const char c : text) {
    const auto b = static_cast<std::uint8_t>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (b < 0x20 || b >= 0x7f) {  // keeps diagnostics one printable line
      out += "\\x";
      out += kHex[b >> 4];
      out += kHex[b & 0xf];
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string joined(const std::vector<Value>& values) {
  std::string out;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ", ";
    out += to_string(values[i]);
  }
  return out;
}

}  // namespace

bool Type::is_dynamic() const {
  switch (kind) {
    case Kind::kBytes:
    case Kind::kString:
    case Kind::kArray:
      return true;
    case Kind::kFixedArray:
      return components[0].is_dynamic();
    case Kind::kTuple:
      return std::any_of(components.begin(), components.end(),
                         [](const Type& t) { return t.is_dynamic(); });
    default:
      return false;
  }
}

std::size_t Type::head_size() const {
  if (is_dynamic()) return 32;
  if (kind == Kind::kFixedArray) return size * components[0].head_size();
  if (kind != Kind::kTuple) return 32;
  std::size_t total = 0;
  for (const Type& t : components) total += t.head_size();
  return total;
}

std::string Type::canonical() const {
  switch (kind) {
    case Kind::kUint:
      return "uint" + std::to_string(size);
    case Kind::kInt:
      return "int" + std::to_string(size);
    case Kind::kAddress:
      return "address";
    case Kind::kBool:
      return "bool";
    case Kind::kFixedBytes:
      return "bytes" + std::to_string(size);
    case Kind::kBytes:
      return "bytes";
    case Kind::kString:
      return "string";
    case Kind::kArray:
      return components[0].canonical() + "[]";
    case Kind::kFixedArray:
      return components[0].canonical() + "[" + std::to_string(size) + "]";
    case Kind::kTuple:
      return signature_of("", components);
  }
  FL_ASSERT(false, "every Type::Kind is handled above");
  return {};
}

Result<Type> parse_type(std::string_view text) {
  Parser p(text);
  auto t = p.type(1);
  if (!t) return t;
  if (!p.done()) return p.error("unexpected text after the type");
  return t;
}

Value Value::from_uint(std::uint64_t value) { return from_uint_word(uint_word(value)); }
Value Value::from_uint_word(const Word& word) { return {.kind = Kind::kUint, .word = word}; }
Value Value::from_int(std::int64_t value) {
  Word w = uint_word(static_cast<std::uint64_t>(value));
  if (value < 0) std::fill_n(w.begin(), 24, 0xff);
  return from_int_word(w);
}
Value Value::from_int_word(const Word& word) { return {.kind = Kind::kInt, .word = word}; }
Value Value::from_address(const Address& address) {
  return {.kind = Kind::kAddress, .address = address};
}
Value Value::from_bool(bool value) { return {.kind = Kind::kBool, .boolean = value}; }
Value Value::from_fixed_bytes(ByteView bytes) {
  return {.kind = Kind::kFixedBytes, .bytes = Bytes(bytes.begin(), bytes.end())};
}
Value Value::from_bytes(ByteView bytes) {
  return {.kind = Kind::kBytes, .bytes = Bytes(bytes.begin(), bytes.end())};
}
Value Value::from_string(std::string_view text) {
  return {.kind = Kind::kString, .text = std::string(text)};
}
Value Value::from_list(std::vector<Value> items) {
  return {.kind = Kind::kList, .items = std::move(items)};
}

std::optional<std::uint64_t> Value::as_uint64() const {
  if (kind != Kind::kUint || !fits_uint(word, 64)) return std::nullopt;
  return low64(word);
}

std::optional<std::int64_t> Value::as_int64() const {
  if (kind != Kind::kInt || !fits_int(word, 64)) return std::nullopt;
  return static_cast<std::int64_t>(
      low64(word));  // two's complement, as C++20 defines the conversion
}

Result<Bytes> encode(const std::vector<Type>& types, const std::vector<Value>& values) {
  if (types.size() != values.size()) {
    return invalid(std::to_string(types.size()) + " types but " + std::to_string(values.size()) +
                   " values");
  }
  return encode_sequence(values, [&](std::size_t i) -> const Type& { return types[i]; });
}

Result<std::vector<Value>> decode(const std::vector<Type>& types, ByteView data) {
  Decoder decoder(data);
  return decoder.sequence(types.size(), 0, [&](std::size_t i) -> const Type& { return types[i]; });
}

std::string Function::signature() const { return signature_of(name, inputs); }

std::array<std::uint8_t, 4> Function::selector() const { return abi::selector(signature()); }

Result<Bytes> Function::encode_call(const std::vector<Value>& args) const {
  auto encoded = encode(inputs, args);
  if (!encoded) return encoded;
  const auto sel = selector();
  Bytes out;
  out.reserve(4 + encoded->size());
  append(out, sel);
  append(out, *encoded);
  return out;
}

Result<std::vector<Value>> Function::decode_call(ByteView calldata) const {
  const auto sel = selector();
  if (calldata.size() < 4 || !std::equal(sel.begin(), sel.end(), calldata.begin())) {
    return invalid("calldata is not a call of " + signature());
  }
  return decode(inputs, calldata.subspan(4));
}

Result<Function> parse_signature(std::string_view text) {
  auto parsed = parse_params(text, false);
  if (!parsed) return parsed.error();
  Function f{std::move(parsed->name), {}};
  for (EventParam& p : parsed->inputs) f.inputs.push_back(std::move(p.type));
  return f;
}

std::string Event::signature() const {
  std::vector<Type> types;
  for (const EventParam& p : inputs) types.push_back(p.type);
  return signature_of(name, types);
}

Hash32 Event::topic() const { return event_topic(signature()); }

Result<Event> parse_event(std::string_view text) {
  auto event = parse_params(text, true);
  if (!event) return event;
  const auto indexed = std::count_if(event->inputs.begin(), event->inputs.end(),
                                     [](const EventParam& p) { return p.indexed; });
  if (indexed > 3) return invalid("more than 3 indexed parameters", event->name);  // 4 topics
  return event;
}

Result<std::vector<NamedValue>> decode_log(const Event& event, const LogEntry& log) {
  std::vector<Type> data_types;
  for (const EventParam& p : event.inputs) {
    if (!p.indexed) data_types.push_back(p.type);
  }
  const std::size_t topics = 1 + event.inputs.size() - data_types.size();
  if (log.topics.size() != topics) {
    return invalid(event.name + " has " + std::to_string(topics) + " topics, the log " +
                   std::to_string(log.topics.size()));
  }
  if (log.topics[0] != event.topic()) {
    return invalid("log is not " + event.signature(), "topic 0 " + to_0x_hex(log.topics[0]));
  }
  auto data = decode(data_types, log.data);
  if (!data) return prefixed(data.error(), "data");
  std::vector<NamedValue> out;
  std::size_t next_topic = 1;
  std::size_t next_data = 0;
  for (const EventParam& p : event.inputs) {
    if (!p.indexed) {
      out.push_back({p.name, std::move((*data)[next_data++])});
      continue;
    }
    const Hash32& topic = log.topics[next_topic];
    const bool hashed =
        p.type.is_dynamic() || p.type.kind == Kind::kFixedArray || p.type.kind == Kind::kTuple;
    auto v =
        hashed ? Result<Value>(Value::from_fixed_bytes(topic)) : Decoder(topic).value(p.type, 0);
    if (!v) return prefixed(v.error(), "topic " + std::to_string(next_topic));
    out.push_back({p.name, std::move(v.value())});
    ++next_topic;
  }
  return out;
}

Result<DecodedError> decode_error(ByteView revert_data, const std::vector<Function>& errors) {
  DecodedError out;
  if (revert_data.empty()) return out;  // revert() or require(cond) without a message
  if (revert_data.size() < 4) return invalid("revert data shorter than a selector");
  out.selector = to_0x_hex(revert_data.first(4));
  const Function standard[] = {{"Error", {Type{Kind::kString, 0, {}}}},
                               {"Panic", {Type{Kind::kUint, 256, {}}}}};
  const auto find = [&](std::span<const Function> candidates) -> const Function* {
    for (const Function& f : candidates) {
      const auto sel = f.selector();
      if (std::equal(sel.begin(), sel.end(), revert_data.begin())) return &f;
    }
    return nullptr;
  };
  const Function* match = find(errors);
  if (match == nullptr) match = find(standard);
  if (match == nullptr) return out;
  auto args = decode(match->inputs, revert_data.subspan(4));
  if (!args) return prefixed(args.error(), match->signature());
  out.name = match->name;
  out.args = std::move(args.value());
  return out;
}

std::string to_string(const Value& value) {
  switch (value.kind) {
    case Value::Kind::kUint:
      return decimal(value.word);
    case Value::Kind::kInt:
      return (value.word[0] & 0x80) != 0 ? "-" + decimal(negate(value.word)) : decimal(value.word);
    case Value::Kind::kAddress:
      return to_checksum_hex(value.address);
    case Value::Kind::kBool:
      return value.boolean ? "true" : "false";
    case Value::Kind::kFixedBytes:
    case Value::Kind::kBytes:
      return to_0x_hex(value.bytes);
    case Value::Kind::kString:
      return quoted(value.text);
    case Value::Kind::kList:
      return "[" + joined(value.items) + "]";
  }
  FL_ASSERT(false, "every Value::Kind is handled above");
  return {};
}

std::string to_string(const DecodedError& error) {
  if (error.selector.empty()) return "revert without data";
  if (!error.known()) return "unknown error " + error.selector;
  return error.name + "(" + joined(error.args) + ")";
}

}  // namespace fl::ledger::abi
