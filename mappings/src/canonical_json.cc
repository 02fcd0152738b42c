#include "fl/mappings/canonical_json.h"

#include "fl/base/json_string.h"

#include <rapidjson/error/en.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <vector>

namespace fl::mappings {
namespace {

using rapidjson::Value;

// UTF-8 to UTF-16 code units, for the RFC 8785 member order. Input was validated as UTF-8.
std::u16string utf16(std::string_view s) {
  std::u16string out;
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    char32_t cp = 0;
    int extra = 0;
    if (c < 0x80) {
      cp = c;
    } else if ((c >> 5) == 0x6) {
      cp = c & 0x1f;
      extra = 1;
    } else if ((c >> 4) == 0xe) {
      cp = c & 0x0f;
      extra = 2;
    } else {
      cp = c & 0x07;
      extra = 3;
    }
    for (int k = 1; k <= extra && i + k < s.size(); ++k) {
      cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3f);
    }
    i += 1 + extra;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      out.push_back(static_cast<char16_t>(0xd800 + (cp >> 10)));
      out.push_back(static_cast<char16_t>(0xdc00 + (cp & 0x3ff)));
    } else {
      out.push_back(static_cast<char16_t>(cp));
    }
  }
  return out;
}

Status write_value(std::string& out, const Value& v, std::string& pointer) {
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
    case rapidjson::kNumberType: {
      auto number = format_es6_number(v.GetDouble());
      if (!number) return Error{number.error().code, number.error().message, pointer};
      out += *number;
      return Ok{};
    }
    case rapidjson::kArrayType: {
      out.push_back('[');
      const std::size_t base = pointer.size();
      for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
        if (i > 0) out.push_back(',');
        pointer += "/" + std::to_string(i);
        if (auto s = write_value(out, v[i], pointer); !s) return s;
        pointer.resize(base);
      }
      out.push_back(']');
      return Ok{};
    }
    case rapidjson::kObjectType: {
      struct Member {
        std::u16string order;
        const Value* name;
        const Value* value;
      };
      std::vector<Member> members;
      members.reserve(v.MemberCount());
      for (const auto& m : v.GetObject()) {
        members.push_back(
            {utf16({m.name.GetString(), m.name.GetStringLength()}), &m.name, &m.value});
      }
      std::sort(members.begin(), members.end(),
                [](const Member& a, const Member& b) { return a.order < b.order; });
      out.push_back('{');
      const std::size_t base = pointer.size();
      for (std::size_t i = 0; i < members.size(); ++i) {
        const std::string_view name(members[i].name->GetString(),
                                    members[i].name->GetStringLength());
        if (i > 0 && members[i].order == members[i - 1].order) {
          return Error{ErrorCode::kInvalidInput, "duplicate member name",
                       pointer + "/" + std::string(name)};
        }
        if (i > 0) out.push_back(',');
        append_json_string(out, name);
        out.push_back(':');
        pointer += "/" + std::string(name);
        if (auto s = write_value(out, *members[i].value, pointer); !s) return s;
        pointer.resize(base);
      }
      out.push_back('}');
      return Ok{};
    }
  }
  return Ok{};
}

}  // namespace

Result<std::string> format_es6_number(double value) {
  if (!std::isfinite(value)) {
    return Error{ErrorCode::kInvalidInput, "NaN and Infinity are not JSON numbers", ""};
  }
  if (value == 0) return std::string("0");  // also -0
  std::string out;
  if (value < 0) {
    out.push_back('-');
    value = -value;
  }
  // Shortest round-trip digits and exponent, as "d.ddde+x" or "de+x".
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::scientific);
  const std::string_view sci(buf, static_cast<std::size_t>(end - buf));
  const auto e_pos = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e_pos)) {
    if (c != '.') digits.push_back(c);
  }
  const int exponent = std::stoi(std::string(sci.substr(e_pos + 1)));
  const int k = static_cast<int>(digits.size());
  const int n = exponent + 1;  // ECMA-262 Number::toString: value = digits * 10^(n-k)

  if (k <= n && n <= 21) {
    out += digits;
    out.append(static_cast<std::size_t>(n - k), '0');
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
  return out;
}

Result<std::string> canonicalize(const Value& value) {
  std::string out;
  std::string pointer;
  if (auto s = write_value(out, value, pointer); !s) return s.error();
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
