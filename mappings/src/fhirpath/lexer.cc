#include "fhirpath/lexer.h"

#include "fhirpath/temporal.h"

#include <array>

namespace fl::mappings::fhirpath {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

void append_utf8(std::string& out, unsigned code) {
  if (code < 0x80) {
    out.push_back(static_cast<char>(code));
  } else if (code < 0x800) {
    out.push_back(static_cast<char>(0xc0 | (code >> 6)));
    out.push_back(static_cast<char>(0x80 | (code & 0x3f)));
  } else {
    out.push_back(static_cast<char>(0xe0 | (code >> 12)));
    out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (code & 0x3f)));
  }
}

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  Result<std::vector<Token>> run() {
    std::vector<Token> tokens;
    for (;;) {
      if (auto skipped = skip_space_and_comments(); !skipped) return skipped.error();
      if (pos_ >= text_.size()) break;
      auto token = next();
      if (!token) return token.error();
      tokens.push_back(std::move(token.value()));
    }
    tokens.push_back(Token{.kind = TokenKind::kEnd, .offset = offset(pos_)});
    return tokens;
  }

 private:
  static std::uint32_t offset(std::size_t pos) { return static_cast<std::uint32_t>(pos); }

  char at(std::size_t pos) const { return pos < text_.size() ? text_[pos] : '\0'; }

  Status skip_space_and_comments() {
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        ++pos_;
      } else if (c == '/' && at(pos_ + 1) == '/') {
        while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
      } else if (c == '/' && at(pos_ + 1) == '*') {
        const std::size_t end = text_.find("*/", pos_ + 2);
        if (end == std::string_view::npos) {
          return syntax_error(text_, pos_, "unterminated comment: expected '*/'");
        }
        pos_ = end + 2;
      } else {
        break;
      }
    }
    return Ok{};
  }

  Result<Token> next() {
    const std::size_t start = pos_;
    const char c = text_[pos_];
    if (is_alpha(c)) {
      while (is_alpha(at(pos_)) || is_digit(at(pos_))) ++pos_;
      return make(TokenKind::kIdentifier, std::string(text_.substr(start, pos_ - start)), start);
    }
    if (is_digit(c)) return number(start);
    if (c == '\'' || c == '`') {
      auto text = quoted(c);
      if (!text) return text.error();
      return make(c == '\'' ? TokenKind::kString : TokenKind::kDelimitedIdentifier,
                  std::move(text.value()), start);
    }
    if (c == '@') return temporal(start);
    if (c == '%') return variable(start);
    if (c == '$') {
      ++pos_;
      while (is_alpha(at(pos_))) ++pos_;
      std::string name(text_.substr(start, pos_ - start));
      if (name != "$this" && name != "$index" && name != "$total") {
        return syntax_error(text_, start, "expected $this, $index or $total, found '" + name + "'");
      }
      return make(TokenKind::kSpecial, std::move(name), start);
    }
    return symbol(start);
  }

  Result<Token> number(std::size_t start) {
    while (is_digit(at(pos_))) ++pos_;
    if (at(pos_) == '.' && is_digit(at(pos_ + 1))) {
      ++pos_;
      while (is_digit(at(pos_))) ++pos_;
    }
    return make(TokenKind::kNumber, std::string(text_.substr(start, pos_ - start)), start);
  }

  // '…' or `…` with FHIRPath's escapes.
  Result<std::string> quoted(char quote) {
    const std::size_t start = pos_++;
    std::string out;
    while (pos_ < text_.size() && text_[pos_] != quote) {
      char c = text_[pos_++];
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (pos_ >= text_.size()) break;
      c = text_[pos_++];
      switch (c) {
        case 'n':
          out.push_back('\n');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case 'u': {
          unsigned code = 0;
          for (int k = 0; k < 4; ++k) {
            if (!is_hex(at(pos_))) {
              return syntax_error(text_, pos_, "expected four hex digits after \\u");
            }
            const char h = text_[pos_++];
            code = code * 16 + static_cast<unsigned>(is_digit(h) ? h - '0' : (h | 0x20) - 'a' + 10);
          }
          append_utf8(out, code);
          break;
        }
        default:  // \\ \/ \' \" \` stand for themselves
          out.push_back(c);
      }
    }
    if (pos_ >= text_.size()) {
      return syntax_error(text_, start,
                          std::string("unterminated ") +
                              (quote == '\'' ? "string" : "delimited identifier") +
                              ": expected a closing " + quote);
    }
    ++pos_;
    return out;
  }

  std::size_t digits_at(std::size_t pos) const {
    std::size_t n = 0;
    while (is_digit(at(pos + n))) ++n;
    return n;
  }

  // After "T": hh[:mm[:ss[.fff]]].
  void scan_time() {
    if (digits_at(pos_) != 2) return;
    pos_ += 2;
    for (int part = 0; part < 2 && at(pos_) == ':' && digits_at(pos_ + 1) == 2; ++part) pos_ += 3;
    if (at(pos_) == '.' && digits_at(pos_ + 1) > 0) pos_ += 1 + digits_at(pos_ + 1);
  }

  Result<Token> temporal(std::size_t start) {
    ++pos_;
    if (at(pos_) == 'T') {
      ++pos_;
      const std::size_t body = pos_;
      scan_time();
      std::string text(text_.substr(body, pos_ - body));
      if (!parse_temporal(text, TemporalKind::kTime)) {
        return syntax_error(text_, start, "expected a time after '@T' (hh:mm:ss.fff)");
      }
      if (at(pos_) == 'Z' || ((at(pos_) == '+' || at(pos_) == '-') && digits_at(pos_ + 1) == 2 &&
                              at(pos_ + 3) == ':')) {
        return syntax_error(text_, pos_, "a time literal has no time zone");
      }
      return make(TokenKind::kTime, std::move(text), start);
    }
    const std::size_t body = pos_;
    if (digits_at(pos_) == 4) {
      pos_ += 4;
      for (int part = 0; part < 2 && at(pos_) == '-' && digits_at(pos_ + 1) == 2; ++part) {
        pos_ += 3;
      }
    }
    bool date_time = false;
    if (at(pos_) == 'T') {
      date_time = true;
      ++pos_;
      scan_time();
      if (at(pos_) == 'Z') {
        ++pos_;
      } else if ((at(pos_) == '+' || at(pos_) == '-') && digits_at(pos_ + 1) == 2 &&
                 at(pos_ + 3) == ':' && digits_at(pos_ + 4) == 2) {
        pos_ += 6;
      }
    }
    std::string text(text_.substr(body, pos_ - body));
    const TemporalKind kind = date_time ? TemporalKind::kDateTime : TemporalKind::kDate;
    if (!parse_temporal(text, kind)) {
      return syntax_error(text_, start,
                          "expected a date or date-time after '@' (YYYY-MM-DDThh:mm:ss.fff+zz:zz)");
    }
    return make(date_time ? TokenKind::kDateTime : TokenKind::kDate, std::move(text), start);
  }

  Result<Token> variable(std::size_t start) {
    ++pos_;
    if (at(pos_) == '`' || at(pos_) == '\'') {
      auto name = quoted(at(pos_));
      if (!name) return name.error();
      return make(TokenKind::kVariable, std::move(name.value()), start);
    }
    const std::size_t body = pos_;
    while (is_alpha(at(pos_)) || is_digit(at(pos_))) ++pos_;
    if (pos_ == body) return syntax_error(text_, start, "expected a variable name after '%'");
    return make(TokenKind::kVariable, std::string(text_.substr(body, pos_ - body)), start);
  }

  Result<Token> symbol(std::size_t start) {
    static constexpr std::array<std::string_view, 4> kTwo = {"!=", "!~", "<=", ">="};
    for (std::string_view s : kTwo) {
      if (text_.substr(pos_, 2) == s) {
        pos_ += 2;
        return make(TokenKind::kSymbol, std::string(s), start);
      }
    }
    static constexpr std::string_view kOne = ".,()[]{}+-*/&|=~<>";
    if (kOne.find(text_[pos_]) != std::string_view::npos) {
      ++pos_;
      return make(TokenKind::kSymbol, std::string(1, text_[start]), start);
    }
    if (text_[start] == '"') {
      return syntax_error(text_, start,
                          "unexpected character '\"' (FHIRPath strings use single quotes)");
    }
    return syntax_error(text_, start, std::string("unexpected character '") + text_[start] + "'");
  }

  static Token make(TokenKind kind, std::string text, std::size_t start) {
    return Token{.kind = kind, .text = std::move(text), .offset = offset(start)};
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

}  // namespace

}  // namespace fl::mappings::fhirpath

fl::Result<std::vector<fl::mappings::fhirpath::Token>> fl::mappings::fhirpath::tokenize(
    std::string_view text) {
  return Lexer(text).run();
}

std::string fl::mappings::fhirpath::position_of(std::string_view text, std::size_t offset) {
  std::size_t line = 1;
  std::size_t column = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return std::to_string(line) + ":" + std::to_string(column);
}

fl::Error fl::mappings::fhirpath::syntax_error(std::string_view text, std::size_t offset,
                                               std::string message) {
  return Error{ErrorCode::kInvalidInput, std::move(message), position_of(text, offset)};
}
