#include "fl/base/json_string.h"

#include <cstdint>
#include <cstdio>
#include <cstring>

namespace fl {
namespace {

constexpr std::string_view kReplacement = "\xef\xbf\xbd";  // U+FFFD

struct Sequence {
  std::size_t length = 0;  // of the well-formed sequence, or of the ill-formed maximal subpart
  bool valid = false;
};

// The sequence that starts at text[at] (at < size), per the Unicode Standard's Table 3-7
// (well-formed UTF-8 byte sequences). The second byte's range depends on the lead byte: that is
// what excludes overlong forms (E0, F0), surrogates (ED) and code points above U+10FFFF (F4).
// An ill-formed sequence's length is its maximal subpart: the longest prefix of a well-formed
// sequence, at least one byte.
Sequence sequence_at(std::string_view text, std::size_t at) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[at + i]); };
  const std::size_t left = text.size() - at;
  const unsigned char lead = byte(0);
  if (lead < 0x80) return {1, true};
  std::size_t trailing = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) {
    trailing = 1;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    trailing = 2;
    if (lead == 0xe0) low = 0xa0;   // below: overlong
    if (lead == 0xed) high = 0x9f;  // above: surrogates
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    trailing = 3;
    if (lead == 0xf0) low = 0x90;   // below: overlong
    if (lead == 0xf4) high = 0x8f;  // above: beyond U+10FFFF
  } else {
    // A continuation byte without a lead, C0/C1 (always overlong) or F5..FF (never used).
    return {1, false};
  }
  if (left < 2 || byte(1) < low || byte(1) > high) return {1, false};
  for (std::size_t i = 2; i <= trailing; ++i) {
    if (i >= left || byte(i) < 0x80 || byte(i) > 0xbf) return {i, false};
  }
  return {trailing + 1, true};
}

// Where the first ill-formed sequence starts, or text.size() when there is none. ASCII, the
// common case, is skipped eight bytes at a time.
std::size_t first_invalid(std::string_view text) {
  std::size_t at = 0;
  while (at < text.size()) {
    if (text.size() - at >= 8) {
      std::uint64_t word = 0;
      std::memcpy(&word, text.data() + at, sizeof word);
      if ((word & 0x8080808080808080ULL) == 0) {
        at += 8;
        continue;
      }
    }
    const Sequence s = sequence_at(text, at);
    if (!s.valid) return at;
    at += s.length;
  }
  return at;
}

// Whether any of the eight bytes of `word` needs an escape: below 0x20, '"' or '\\'. Bytes with
// the high bit set (UTF-8 beyond ASCII) never do. A borrow between bytes only follows a byte
// that matched, so the answer for the word is exact.
bool needs_escape(std::uint64_t word) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
  constexpr std::uint64_t kHigh = 0x8080808080808080ULL;
  const auto has_zero = [](std::uint64_t v) { return ((v - kOnes) & ~v & kHigh) != 0; };
  const bool control = ((word - kOnes * 0x20) & ~word & kHigh) != 0;
  return control || has_zero(word ^ (kOnes * '"')) || has_zero(word ^ (kOnes * '\\'));
}

void append_escaped(std::string& out, std::string_view text) {
  // Runs that need no escape (nearly everything: hex, ids, base64) are appended whole, found
  // eight bytes at a time.
  std::size_t run = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text.size() - i >= 8) {
      std::uint64_t word = 0;
      std::memcpy(&word, text.data() + i, sizeof word);
      if (!needs_escape(word)) {
        i += 7;
        continue;
      }
    }
    const char ch = text[i];
    if (static_cast<unsigned char>(ch) >= 0x20 && ch != '"' && ch != '\\') continue;
    out.append(text.data() + run, i - run);
    run = i + 1;
    switch (ch) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default: {  // the other control characters
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned char>(ch));
        out += buf;
      }
    }
  }
  out.append(text.data() + run, text.size() - run);
}

}  // namespace

bool is_valid_utf8(std::string_view text) { return first_invalid(text) == text.size(); }

std::string valid_utf8(std::string_view text) {
  std::size_t at = first_invalid(text);
  std::string out(text.substr(0, at));
  if (at == text.size()) return out;
  out.reserve(text.size() + kReplacement.size());
  while (at < text.size()) {
    const Sequence s = sequence_at(text, at);
    if (s.valid) {
      out.append(text.substr(at, s.length));
    } else {
      out += kReplacement;
    }
    at += s.length;
  }
  return out;
}

void append_json_string(std::string& out, std::string_view text) {
  out.push_back('"');
  if (is_valid_utf8(text)) {
    append_escaped(out, text);
  } else {
    append_escaped(out, valid_utf8(text));
  }
  out.push_back('"');
}

}  // namespace fl
