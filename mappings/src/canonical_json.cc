#include "fl/mappings/canonical_json.h"

#include "fl/base/json_string.h"

#include <rapidjson/error/en.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace fl::mappings {
namespace {

using rapidjson::Value;

Status append_es6_number(std::string& out, double value) {
  if (!std::isfinite(value)) {
    return Error{ErrorCode::kInvalidInput, "NaN and Infinity are not JSON numbers", ""};
  }
  if (value == 0) {
    out.push_back('0');  // also -0
    return Ok{};
  }
  char buf[64];
  // Most numbers in FHIR resources are integers: below 2^53 each is exact, and its shortest
  // round-trip form is its decimal digits.
  if (constexpr double kExact = 9007199254740992.0; std::abs(value) < kExact) {
    if (const auto whole = static_cast<std::int64_t>(value); static_cast<double>(whole) == value) {
      out.append(buf, std::to_chars(buf, buf + sizeof buf, whole).ptr);
      return Ok{};
    }
  }
  if (value < 0) {
    out.push_back('-');
    value = -value;
  }
  // Shortest round-trip digits and exponent, as "d.ddde+x" or "de+x".
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::scientific);
  const std::string_view sci(buf, static_cast<std::size_t>(end - buf));
  const auto e_pos = sci.find('e');
  char digit_buf[32];
  std::size_t k = 0;
  for (char c : sci.substr(0, e_pos)) {
    if (c != '.') digit_buf[k++] = c;
  }
  const std::string_view digits(digit_buf, k);
  int exponent = 0;
  std::from_chars(sci.data() + e_pos + (sci[e_pos + 1] == '+' ? 2 : 1), sci.data() + sci.size(),
                  exponent);
  const int n = exponent + 1;  // ECMA-262 Number::toString: value = digits * 10^(n-k)
  const int ki = static_cast<int>(k);

  if (ki <= n && n <= 21) {
    out += digits;
    out.append(static_cast<std::size_t>(n - ki), '0');
  } else if (0 < n && n <= 21) {
    out += digits.substr(0, static_cast<std::size_t>(n));
    out.push_back('.');
    out += digits.substr(static_cast<std::size_t>(n));
  } else if (-6 < n && n <= 0) {
    out += "0.";
    out.append(static_cast<std::size_t>(-n), '0');
    out += digits;
  } else {
    out.push_back(digits[0]);
    if (k > 1) {
      out.push_back('.');
      out += digits.substr(1);
    }
    out.push_back('e');
    out.push_back(n - 1 >= 0 ? '+' : '-');
    out += std::to_string(std::abs(n - 1));
  }
  return Ok{};
}

// RFC 8785 orders member names by their UTF-16 code units. UTF-8 bytes compare as code points,
// which is the same order but for one case: a supplementary character (a surrogate pair in
// UTF-16, 0xD800 first) sorts before U+E000-U+FFFF (UTF-8 lead byte 0xEE or 0xEF) there, and
// after them by code point. The names were validated as UTF-8; after an equal prefix, the first
// bytes that differ are both lead bytes or both continuations of equally long sequences.
bool utf16_less(std::string_view a, std::string_view b) {
  const auto [ia, ib] = std::mismatch(a.begin(), a.end(), b.begin(), b.end());
  if (ib == b.end()) return false;
  if (ia == a.end()) return true;
  const auto x = static_cast<unsigned char>(*ia);
  const auto y = static_cast<unsigned char>(*ib);
  const auto upper_bmp = [](unsigned char lead) { return lead == 0xee || lead == 0xef; };
  if (x >= 0xf0 && upper_bmp(y)) return true;
  if (y >= 0xf0 && upper_bmp(x)) return false;
  return x < y;
}

struct Member {
  std::string_view name;
  const Value* value;
};

// `members` is scratch space shared by every level of one document, so that an object costs
// no allocation of its own; each object uses the end of it and gives it back when written.
// `pointer` is where the writer is, for an error's location.
Status write_value(std::string& out, const Value& v, std::string& pointer,
                   std::vector<Member>& members) {
  switch (v.GetType()) {
    case rapidjson::kNullType:
      out += "null";
      return Ok{};
    case rapidjson::kFalseType:
      out += "false";
      return Ok{};
    case rapidjson::kTrueType:
      out += "true";
      return Ok{};
    case rapidjson::kStringType:
      append_json_string(out, {v.GetString(), v.GetStringLength()});
      return Ok{};
    case rapidjson::kNumberType:
      if (auto s = append_es6_number(out, v.GetDouble()); !s) {
        return Error{s.error().code, s.error().message, pointer};
      }
      return Ok{};
    case rapidjson::kArrayType: {
      out.push_back('[');
      const std::size_t base = pointer.size();
      for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
        if (i > 0) out.push_back(',');
        char index[16];
        const auto end = std::to_chars(index, index + sizeof index, i).ptr;
        pointer.push_back('/');
        pointer.append(index, end);
        if (auto s = write_value(out, v[i], pointer, members); !s) return s;
        pointer.resize(base);
      }
      out.push_back(']');
      return Ok{};
    }
    case rapidjson::kObjectType: {
      const std::size_t first = members.size();
      for (const auto& m : v.GetObject()) {
        members.push_back({{m.name.GetString(), m.name.GetStringLength()}, &m.value});
      }
      const auto begin = members.begin() + static_cast<std::ptrdiff_t>(first);
      std::sort(begin, members.end(),
                [](const Member& a, const Member& b) { return utf16_less(a.name, b.name); });
      out.push_back('{');
      const std::size_t base = pointer.size();
      // By index: deeper levels append to `members`, which may move it.
      for (std::size_t i = first; i < members.size(); ++i) {
        const Member m = members[i];
        if (i > first && m.name == members[i - 1].name) {
          return Error{ErrorCode::kInvalidInput, "duplicate member name",
                       pointer + "/" + std::string(m.name)};
        }
        if (i > first) out.push_back(',');
        append_json_string(out, m.name);
        out.push_back(':');
        pointer.push_back('/');
        pointer.append(m.name);
        if (auto s = write_value(out, *m.value, pointer, members); !s) return s;
        pointer.resize(base);
      }
      members.resize(first);
      out.push_back('}');
      return Ok{};
    }
  }
  return Ok{};
}

}  // namespace

Result<std::string> format_es6_number(double value) {
  std::string out;
  if (auto s = append_es6_number(out, value); !s) return s.error();
  return out;
}

Result<std::string> canonicalize(const Value& value) {
  std::string out;
  std::string pointer;
  std::vector<Member> members;
  if (auto s = write_value(out, value, pointer, members); !s) return s.error();
  return out;
}

Result<std::string> canonicalize(std::string_view json) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseFullPrecisionFlag | rapidjson::kParseValidateEncodingFlag |
            rapidjson::kParseIterativeFlag>(json.data(), json.size());
  if (doc.HasParseError()) {
    return Error{ErrorCode::kInvalidInput,
                 std::string("invalid JSON: ") + rapidjson::GetParseError_En(doc.GetParseError()),
                 "offset " + std::to_string(doc.GetErrorOffset())};
  }
  return canonicalize(doc);
}

}  // namespace fl::mappings
