// Splits a FHIRPath expression into tokens. Comments and white space are dropped; string and
// delimited-identifier escapes are decoded; date/time literals are checked here, so a bad date
// is reported where it is written.
#pragma once

#include "fl/base/result.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fl::mappings::fhirpath {

enum class TokenKind : std::uint8_t {
  kEnd,
  kIdentifier,           // name, keyword (and, div, true …)
  kDelimitedIdentifier,  // `name`, never a keyword
  kString,               // 'text', decoded
  kNumber,               // 12 or 12.5
  kDate,                 // @2015-02-04 (text without '@')
  kDateTime,             // @2015-02-04T14:34 (text without '@')
  kTime,                 // @T14:34 (text without "@T")
  kVariable,             // %name, %`name` or %'name' (text without '%')
  kSpecial,              // $this, $index, $total (text with '$')
  kSymbol,               // . , ( ) [ ] { } + - * / & | = != ~ !~ < <= > >=
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  std::string text;
  std::uint32_t offset = 0;
};

// The tokens of `text`, ending with a kEnd token, or the first lexical error.
Result<std::vector<Token>> tokenize(std::string_view text);

// "line:column" (1-based) of a byte offset, the form every error's `where` takes.
std::string position_of(std::string_view text, std::size_t offset);

// An kInvalidInput error at `offset` of `text`.
Error syntax_error(std::string_view text, std::size_t offset, std::string message);

}  // namespace fl::mappings::fhirpath
