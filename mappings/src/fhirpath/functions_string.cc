// String manipulation: indexOf, substring, startsWith, endsWith, contains, upper, lower,
// replace, matches, matchesFull, replaceMatches, length, toChars, trim, split, join, encode,
// decode, escape, unescape. Positions and lengths count characters (UTF-8 code points).
#include "fl/base/json_string.h"

#include "fhirpath/convert.h"
#include "fhirpath/functions.h"

#include <array>
#include <functional>
#include <re2/re2.h>

namespace fl::mappings::fhirpath {
namespace {

using Kind = Value::Kind;

// Byte offsets where each character starts, then the string's size.
std::vector<std::size_t> char_offsets(std::string_view s) {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xc0) != 0x80) out.push_back(i);
  }
  out.push_back(s.size());
  return out;
}

std::size_t char_index(std::string_view s, std::size_t byte) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < byte && i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xc0) != 0x80) ++n;
  }
  return n;
}

// The input as a single String: nullopt when empty, an error when it is not a String. A String
// or a string node is read in place; anything else that converts is kept in `storage`. Copying
// every input (a system URI, an identifier) cost an allocation per call.
Result<std::optional<std::string_view>> string_input(const Call& call, std::string& storage) {
  if (call.input().size() == 1) {
    if (auto text = string_in_place(call.input().front())) {
      return std::optional<std::string_view>(*text);
    }
  }
  auto item = single_operand_of(call, call.input(), "()");
  if (!item) return item.error();
  if (!item.value()) return std::optional<std::string_view>();
  if (item.value()->kind() != Kind::kString) {
    return call.error(std::string(call.node().name) + "() expects a String input, got " +
                      kind_name(*item.value()));
  }
  storage = item.value()->as_string();
  return std::optional<std::string_view>(storage);
}

// Argument i as a String: nullopt when empty.
Result<std::optional<std::string>> string_arg(const Call& call, std::size_t i) {
  auto item = single_operand_of(call, call.arg(i), "() argument");
  if (!item) return item.error();
  if (!item.value()) return std::optional<std::string>();
  auto text = string_of(*item.value());
  if (!text) return call.error(std::string(call.node().name) + "() expects a String argument");
  return std::optional<std::string>(std::move(*text));
}

Result<std::optional<std::int64_t>> integer_arg(const Call& call, std::size_t i) {
  auto item = single_operand_of(call, call.arg(i), "() argument");
  if (!item) return item.error();
  if (!item.value()) return std::optional<std::int64_t>();
  if (item.value()->kind() != Kind::kInteger) {
    return call.error(std::string(call.node().name) + "() expects an Integer argument, got " +
                      kind_name(*item.value()));
  }
  return std::optional<std::int64_t>(item.value()->as_integer());
}

// The input string and every argument as strings, or an empty result when any is empty. No
// string function takes more than two arguments.
struct Strings {
  std::string_view input;
  std::array<std::string, 2> args;
};

// `storage` keeps the input when it cannot be read in place; it outlives the Strings.
Result<std::optional<Strings>> strings(const Call& call, std::string& storage) {
  std::optional<Strings> out(std::in_place);
  auto input = string_input(call, storage);
  if (!input) return input.error();
  if (!input.value()) return std::optional<Strings>();
  out->input = *input.value();
  for (std::size_t i = 0; i < call.arg_count(); ++i) {
    auto arg = string_arg(call, i);
    if (!arg) return arg.error();
    if (!arg.value()) return std::optional<Strings>();
    out->args[i] = std::move(*arg.value());
  }
  return out;
}

// Runs `fn(strings)` when the input and all arguments are present, else returns empty.
template <typename Fn>
Result<Collection> with_strings(const Call& call, Fn&& fn) {
  std::string storage;
  auto s = strings(call, storage);
  if (!s) return s.error();
  if (!s.value()) return Collection{};
  return fn(*s.value());
}

Result<Collection> index_of(const Call& call) {
  return with_strings(call, [](const Strings& s) -> Result<Collection> {
    const std::size_t at = s.input.find(s.args[0]);
    if (at == std::string::npos) return Collection{Value::integer(-1)};
    return Collection{Value::integer(static_cast<std::int64_t>(char_index(s.input, at)))};
  });
}

// Where character `n` of `s` starts, in bytes; the size of `s` when it has n characters or
// fewer. Found by one walk, where substring() used to build the offsets of every character.
std::size_t byte_of_char(std::string_view s, std::int64_t n) {
  std::int64_t seen = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xc0) == 0x80) continue;
    if (seen == n) return i;
    ++seen;
  }
  return s.size();
}

Result<Collection> substring(const Call& call) {
  std::string storage;
  auto input = string_input(call, storage);
  if (!input) return input.error();
  auto start = integer_arg(call, 0);
  if (!start) return start.error();
  if (!input.value() || !start.value()) return Collection{};
  const std::string_view text = *input.value();
  const auto count = static_cast<std::int64_t>(char_index(text, text.size()));
  const std::int64_t from = *start.value();
  if (from < 0 || from >= count) return Collection{};
  std::int64_t to = count;
  if (call.arg_count() > 1) {
    auto length = integer_arg(call, 1);
    if (!length) return length.error();
    if (length.value()) to = std::min(count, from + std::max<std::int64_t>(0, *length.value()));
  }
  const std::size_t begin = byte_of_char(text, from);
  const std::size_t end = byte_of_char(text, to);
  return one_item(Value::string(std::string(text.substr(begin, end - begin))));
}

Result<Collection> starts_with(const Call& call) {
  return with_strings(call, [](const Strings& s) -> Result<Collection> {
    return Collection{Value::boolean(s.input.compare(0, s.args[0].size(), s.args[0]) == 0)};
  });
}

Result<Collection> ends_with(const Call& call) {
  return with_strings(call, [](const Strings& s) -> Result<Collection> {
    const bool ends =
        s.input.size() >= s.args[0].size() &&
        s.input.compare(s.input.size() - s.args[0].size(), s.args[0].size(), s.args[0]) == 0;
    return Collection{Value::boolean(ends)};
  });
}

Result<Collection> contains(const Call& call) {
  return with_strings(call, [](const Strings& s) -> Result<Collection> {
    return Collection{Value::boolean(s.input.find(s.args[0]) != std::string::npos)};
  });
}

Result<Collection> change_case(const Call& call, bool upper) {
  return with_strings(call, [upper](const Strings& s) -> Result<Collection> {
    std::string out(s.input);
    for (char& c : out) {
      if (upper && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
      if (!upper && c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return one_item(Value::string(std::move(out)));
  });
}

Result<Collection> upper(const Call& call) { return change_case(call, true); }
Result<Collection> lower(const Call& call) { return change_case(call, false); }

Result<Collection> replace(const Call& call) {
  return with_strings(call, [](const Strings& s) -> Result<Collection> {
    const std::string& pattern = s.args[0];
    const std::string& with = s.args[1];
    std::string out;
    if (pattern.empty()) {  // between every character, and at both ends
      const std::vector<std::size_t> chars = char_offsets(s.input);
      out = with;
      for (std::size_t i = 0; i + 1 < chars.size(); ++i) {
        out += s.input.substr(chars[i], chars[i + 1] - chars[i]);
        out += with;
      }
      return one_item(Value::string(std::move(out)));
    }
    std::size_t from = 0;
    for (std::size_t at = s.input.find(pattern); at != std::string::npos;
         at = s.input.find(pattern, from)) {
      out += s.input.substr(from, at - from);
      out += with;
      from = at + pattern.size();
    }
    out += s.input.substr(from);
    return one_item(Value::string(std::move(out)));
  });
}

// FHIRPath regular expressions run in single-line mode ('.' matches a line break too), on
// data: RE2, whose matching time is linear in the input and which never recurses per character
// (std::regex took 30 s on a 40-character string and overflows the stack on long ones). RE2 has
// no backreferences or lookaround; a pattern that uses them is refused as invalid.
Result<Collection> with_regex(const Call& call, const std::string& pattern,
                              const std::function<Result<Collection>(const RE2&)>& fn) {
  RE2::Options options;
  options.set_dot_nl(true);
  options.set_log_errors(false);
  const RE2 re(pattern, options);
  if (!re.ok()) return call.error("invalid regular expression '" + pattern + "': " + re.error());
  return fn(re);
}

Result<Collection> matches(const Call& call, bool full) {
  return with_strings(call, [&](const Strings& s) -> Result<Collection> {
    return with_regex(call, s.args[0], [&](const RE2& re) -> Result<Collection> {
      const bool ok = full ? RE2::FullMatch(s.input, re) : RE2::PartialMatch(s.input, re);
      return Collection{Value::boolean(ok)};
    });
  });
}

Result<Collection> matches_partial(const Call& call) { return matches(call, false); }
Result<Collection> matches_full(const Call& call) { return matches(call, true); }

// The substitution as FHIRPath writes it ($1 for a group, $$ for a dollar) in RE2's syntax
// (\1), with RE2's own escape character escaped.
std::string re2_rewrite(const std::string& substitution) {
  std::string out;
  for (std::size_t i = 0; i < substitution.size(); ++i) {
    const char c = substitution[i];
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '$' && i + 1 < substitution.size() && substitution[i + 1] >= '0' &&
               substitution[i + 1] <= '9') {
      out += '\\';
      out += substitution[++i];
    } else if (c == '$' && i + 1 < substitution.size() && substitution[i + 1] == '$') {
      out += '$';
      ++i;
    } else {
      out += c;
    }
  }
  return out;
}

Result<Collection> replace_matches(const Call& call) {
  return with_strings(call, [&](const Strings& s) -> Result<Collection> {
    if (s.args[0].empty()) return one_item(Value::string(std::string(s.input)));
    return with_regex(call, s.args[0], [&](const RE2& re) -> Result<Collection> {
      const std::string rewrite = re2_rewrite(s.args[1]);
      std::string why;
      if (!re.CheckRewriteString(rewrite, &why)) {
        return call.error("invalid substitution '" + s.args[1] + "': " + why);
      }
      std::string out(s.input);
      RE2::GlobalReplace(&out, re, rewrite);
      return one_item(Value::string(std::move(out)));
    });
  });
}

Result<Collection> length(const Call& call) {
  return with_strings(call, [](const Strings& s) -> Result<Collection> {
    return Collection{Value::integer(static_cast<std::int64_t>(char_offsets(s.input).size() - 1))};
  });
}

Result<Collection> to_chars(const Call& call) {
  return with_strings(call, [](const Strings& s) -> Result<Collection> {
    const std::vector<std::size_t> chars = char_offsets(s.input);
    Collection out;
    for (std::size_t i = 0; i + 1 < chars.size(); ++i) {
      out.push_back(Value::string(std::string(s.input.substr(chars[i], chars[i + 1] - chars[i]))));
    }
    return out;
  });
}

Result<Collection> trim(const Call& call) {
  return with_strings(call, [](const Strings& s) -> Result<Collection> {
    const char* space = " \t\r\n";
    const std::size_t first = s.input.find_first_not_of(space);
    if (first == std::string::npos) return one_item(Value::string(""));
    const std::size_t last = s.input.find_last_not_of(space);
    return one_item(Value::string(std::string(s.input.substr(first, last - first + 1))));
  });
}

Result<Collection> split(const Call& call) {
  return with_strings(call, [](const Strings& s) -> Result<Collection> {
    const std::string& sep = s.args[0];
    Collection out;
    if (sep.empty()) {
      out.push_back(Value::string(std::string(s.input)));
      return out;
    }
    std::size_t from = 0;
    for (std::size_t at = s.input.find(sep); at != std::string::npos;
         at = s.input.find(sep, from)) {
      out.push_back(Value::string(std::string(s.input.substr(from, at - from))));
      from = at + sep.size();
    }
    out.push_back(Value::string(std::string(s.input.substr(from))));
    return out;
  });
}

Result<Collection> join(const Call& call) {
  std::string sep;
  if (call.arg_count() > 0) {
    auto arg = string_arg(call, 0);
    if (!arg) return arg.error();
    if (arg.value()) sep = *arg.value();
  }
  std::string out;
  for (std::size_t i = 0; i < call.input().size(); ++i) {
    auto text = string_of(call.input()[i]);
    if (!text) return call.error("join() expects Strings");
    if (i > 0) out += sep;
    out += *text;
  }
  return one_item(Value::string(std::move(out)));
}

constexpr std::string_view kBase64 =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view kBase64Url =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::string_view kHex = "0123456789abcdef";

std::string base64_encode(std::string_view in, std::string_view alphabet) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); i += 3) {
    std::uint32_t n = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) n |= static_cast<unsigned char>(in[i + 1]) << 8;
    if (i + 2 < in.size()) n |= static_cast<unsigned char>(in[i + 2]);
    out.push_back(alphabet[(n >> 18) & 63]);
    out.push_back(alphabet[(n >> 12) & 63]);
    out.push_back(i + 1 < in.size() ? alphabet[(n >> 6) & 63] : '=');
    out.push_back(i + 2 < in.size() ? alphabet[n & 63] : '=');
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view in, std::string_view alphabet) {
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    const std::size_t v = alphabet.find(c);
    if (v == std::string_view::npos) return std::nullopt;
    buffer = (buffer << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xff));
    }
  }
  return out;
}

std::optional<std::string> hex_decode(std::string_view in) {
  if (in.size() % 2 != 0) return std::nullopt;
  std::string out;
  for (std::size_t i = 0; i < in.size(); i += 2) {
    const std::size_t hi = kHex.find(static_cast<char>(in[i] | 0x20));
    const std::size_t lo = kHex.find(static_cast<char>(in[i + 1] | 0x20));
    if (hi == std::string_view::npos || lo == std::string_view::npos) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

Result<Collection> encode(const Call& call) {
  return with_strings(call, [&](const Strings& s) -> Result<Collection> {
    const std::string& format = s.args[0];
    if (format == "base64") return one_item(Value::string(base64_encode(s.input, kBase64)));
    if (format == "urlbase64") {
      return one_item(Value::string(base64_encode(s.input, kBase64Url)));
    }
    if (format == "hex") {
      std::string out;
      for (char c : s.input) {
        out.push_back(kHex[(static_cast<unsigned char>(c) >> 4) & 15]);
        out.push_back(kHex[static_cast<unsigned char>(c) & 15]);
      }
      return one_item(Value::string(std::move(out)));
    }
    return call.error("encode() knows base64, urlbase64 and hex, not '" + format + "'");
  });
}

Result<Collection> decode(const Call& call) {
  return with_strings(call, [&](const Strings& s) -> Result<Collection> {
    const std::string& format = s.args[0];
    std::optional<std::string> out;
    if (format == "base64") {
      out = base64_decode(s.input, kBase64);
    } else if (format == "urlbase64") {
      out = base64_decode(s.input, kBase64Url);
    } else if (format == "hex") {
      out = hex_decode(s.input);
    } else {
      return call.error("decode() knows base64, urlbase64 and hex, not '" + format + "'");
    }
    if (!out) return Collection{};
    return one_item(Value::string(std::move(*out)));
  });
}

struct HtmlEntity {
  char c;
  std::string_view entity;
};
constexpr std::array<HtmlEntity, 5> kHtml = {
    {{'&', "&amp;"}, {'<', "&lt;"}, {'>', "&gt;"}, {'"', "&quot;"}, {'\'', "&#39;"}}};

Result<Collection> escape(const Call& call) {
  return with_strings(call, [&](const Strings& s) -> Result<Collection> {
    const std::string& target = s.args[0];
    std::string out;
    if (target == "json") {
      append_json_string(out, s.input);
      return one_item(Value::string(out.substr(1, out.size() - 2)));
    }
    if (target != "html") return call.error("escape() knows html and json, not '" + target + "'");
    for (char c : s.input) {
      bool replaced = false;
      for (const HtmlEntity& e : kHtml) {
        if (c == e.c) {
          out += e.entity;
          replaced = true;
        }
      }
      if (!replaced) out.push_back(c);
    }
    return one_item(Value::string(std::move(out)));
  });
}

Result<Collection> unescape(const Call& call) {
  return with_strings(call, [&](const Strings& s) -> Result<Collection> {
    const std::string& target = s.args[0];
    std::string out;
    if (target == "json") {
      for (std::size_t i = 0; i < s.input.size(); ++i) {
        if (s.input[i] != '\\' || i + 1 == s.input.size()) {
          out.push_back(s.input[i]);
          continue;
        }
        const char c = s.input[++i];
        out.push_back(c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' : c);
      }
      return one_item(Value::string(std::move(out)));
    }
    if (target != "html") {
      return call.error("unescape() knows html and json, not '" + target + "'");
    }
    for (std::size_t i = 0; i < s.input.size(); ++i) {
      bool replaced = false;
      for (const HtmlEntity& e : kHtml) {
        if (s.input.compare(i, e.entity.size(), e.entity) == 0) {
          out.push_back(e.c);
          i += e.entity.size() - 1;
          replaced = true;
          break;
        }
      }
      if (!replaced) out.push_back(s.input[i]);
    }
    return one_item(Value::string(std::move(out)));
  });
}

constexpr FunctionDef kFunctions[] = {
    {"indexOf", 1, 1, ArgMode::kEager, index_of},
    {"substring", 1, 2, ArgMode::kEager, substring},
    {"startsWith", 1, 1, ArgMode::kEager, starts_with},
    {"endsWith", 1, 1, ArgMode::kEager, ends_with},
    {"contains", 1, 1, ArgMode::kEager, contains},
    {"upper", 0, 0, ArgMode::kEager, upper},
    {"lower", 0, 0, ArgMode::kEager, lower},
    {"replace", 2, 2, ArgMode::kEager, replace},
    {"matches", 1, 1, ArgMode::kEager, matches_partial},
    {"matchesFull", 1, 1, ArgMode::kEager, matches_full},
    {"replaceMatches", 2, 2, ArgMode::kEager, replace_matches},
    {"length", 0, 0, ArgMode::kEager, length},
    {"toChars", 0, 0, ArgMode::kEager, to_chars},
    {"trim", 0, 0, ArgMode::kEager, trim},
    {"split", 1, 1, ArgMode::kEager, split},
    {"join", 0, 1, ArgMode::kEager, join},
    {"encode", 1, 1, ArgMode::kEager, encode},
    {"decode", 1, 1, ArgMode::kEager, decode},
    {"escape", 1, 1, ArgMode::kEager, escape},
    {"unescape", 1, 1, ArgMode::kEager, unescape},
};

}  // namespace
}  // namespace fl::mappings::fhirpath

std::span<const fl::mappings::fhirpath::FunctionDef> fl::mappings::fhirpath::string_functions() {
  return kFunctions;
}
