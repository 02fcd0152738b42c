// Strings written into JSON are valid UTF-8 (issue 14). Known answers from the categories of
// Markus Kuhn's "UTF-8 decoder capability and stress test" (correct text, boundary code points,
// stray continuation bytes, truncated sequences, impossible bytes, overlong forms, surrogates),
// plus code points above U+10FFFF; each ill-formed sequence becomes one U+FFFD per maximal
// subpart, as the Unicode Standard recommends (and the WHATWG decoder and Python's "replace"
// do). The shared corpora hold no UTF-8 decoder vectors; the JCS outputs, well-formed UTF-8 with
// two-, three- and four-byte sequences, must come back unchanged.
#include "fl/base/json_string.h"

#include "support/corpus.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <string>
#include <string_view>
#include <vector>

namespace fl {
namespace {

using std::string_view_literals::operator""sv;

const std::string kR = "\xef\xbf\xbd";  // U+FFFD

std::string r(int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += kR;
  return out;
}

struct Case {
  std::string_view name;
  std::string_view input;
  std::string expected;
};

TEST(ValidUtf8, WellFormedTextIsKept) {
  const std::vector<std::string_view> valid = {
      ""sv,
      "plain ASCII"sv,
      "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"sv,  // 1: "kosme" in Greek
      "\x00"sv,                                          // 2.1: U+0000
      "\xc2\x80"sv,                                      // 2.1: U+0080
      "\xe0\xa0\x80"sv,                                  // 2.1: U+0800
      "\xf0\x90\x80\x80"sv,                              // 2.1: U+10000
      "\x7f"sv,                                          // 2.2: U+007F
      "\xdf\xbf"sv,                                      // 2.2: U+07FF
      "\xef\xbf\xbf"sv,                                  // 2.2: U+FFFF
      "\xf4\x8f\xbf\xbf"sv,                              // 2.2: U+10FFFF
      "\xed\x9f\xbf"sv,                                  // 2.3: U+D7FF
      "\xee\x80\x80"sv,                                  // 2.3: U+E000
      "\xef\xbf\xbd"sv,                                  // 2.3: U+FFFD
      "\xef\xbf\xbe"sv,                                  // 5.3: U+FFFE, a noncharacter
      "\xf0\x9f\x98\x80"sv,                              // U+1F600, four bytes
      "a longer ASCII run before \xe2\x82\xac and after it, past eight bytes"sv,
  };

  for (std::string_view text : valid) {
    EXPECT_TRUE(is_valid_utf8(text)) << text;
    EXPECT_EQ(valid_utf8(text), text);
  }
}

TEST(ValidUtf8, EachIllFormedSequenceBecomesUFffdPerMaximalSubpart) {
  const std::vector<Case> cases = {
      // 3.1 unexpected continuation bytes
      {"stray 80", "\x80"sv, r(1)},
      {"stray bf", "\xbf"sv, r(1)},
      {"two stray", "\x80\xbf"sv, r(2)},
      // 3.2 lonely start bytes, each followed by a space
      {"lonely c0", "\xc0 "sv, r(1) + " "},
      {"lonely e0", "\xe0 "sv, r(1) + " "},
      {"lonely f0", "\xf0 "sv, r(1) + " "},
      // 3.3 / 3.4 sequences with the last continuation byte missing
      {"truncated 2", "\xdf"sv, r(1)},
      {"truncated 3", "\xe2\x82"sv, r(1)},
      {"truncated 4", "\xf0\x9f\x98"sv, r(1)},
      {"truncated 4 then ASCII",
       "\xf0\x9f\x98"
       "A"sv,
       r(1) + "A"},
      {"truncated 3 then 4 bytes", "\xe2\x82\xf0\x9f\x98\x80"sv, r(1) + "\xf0\x9f\x98\x80"},
      // 3.5 impossible bytes
      {"fe", "\xfe"sv, r(1)},
      {"ff", "\xff"sv, r(1)},
      {"fe fe ff ff", "\xfe\xfe\xff\xff"sv, r(4)},
      // 2.1 first five- and six-byte sequences (not UTF-8 since RFC 3629)
      {"five bytes", "\xf8\x88\x80\x80\x80"sv, r(5)},
      {"six bytes", "\xfc\x84\x80\x80\x80\x80"sv, r(6)},
      // 4.1 overlong slash, 4.2 maximum overlong, 4.3 overlong NUL
      {"overlong / 2", "\xc0\xaf"sv, r(2)},
      {"overlong / 3", "\xe0\x80\xaf"sv, r(3)},
      {"overlong / 4", "\xf0\x80\x80\xaf"sv, r(4)},
      {"max overlong 2", "\xc1\xbf"sv, r(2)},
      {"max overlong 3", "\xe0\x9f\xbf"sv, r(3)},
      {"max overlong 4", "\xf0\x8f\xbf\xbf"sv, r(4)},
      {"overlong NUL", "\xc0\x80"sv, r(2)},
      // 5.1 single surrogates, 5.2 paired surrogates
      {"U+D800", "\xed\xa0\x80"sv, r(3)},
      {"U+DFFF", "\xed\xbf\xbf"sv, r(3)},
      {"U+D800 U+DC00", "\xed\xa0\x80\xed\xb0\x80"sv, r(6)},
      // above U+10FFFF
      {"U+110000", "\xf4\x90\x80\x80"sv, r(4)},
      {"f5 lead", "\xf5\x80\x80\x80"sv, r(4)},
      // in the middle of text, after a long ASCII run (the fast path stops at the right byte)
      {"mixed",
       "A\xf0\x9f\x98\x80"
       "B\xff"
       "C"sv,
       "A\xf0\x9f\x98\x80"
       "B" +
           kR + "C"},
      {"after ASCII", "0123456789abcdef\x80xyz"sv, "0123456789abcdef" + kR + "xyz"},
  };

  for (const Case& c : cases) {
    EXPECT_FALSE(is_valid_utf8(c.input)) << c.name;
    const std::string fixed = valid_utf8(c.input);
    EXPECT_EQ(fixed, c.expected) << c.name;
    EXPECT_TRUE(is_valid_utf8(fixed)) << c.name;
  }
}

TEST(ValidUtf8, TheJcsCorpusOutputsAreWellFormedAndKept) {
  for (const char* name : {"arrays", "french", "structures", "unicode", "values", "weird"}) {
    const std::string text =
        testing::read_file(testing::corpus_path("jcs/output/" + std::string(name) + ".json"));

    EXPECT_TRUE(is_valid_utf8(text)) << name;
    EXPECT_EQ(valid_utf8(text), text) << name;
  }
}

TEST(AppendJsonString, WritesIllFormedUtf8AsUFffdAndStillEscapes) {
  std::string out;

  append_json_string(out, "\"\xff\n\x01\\\xed\xa0\x80"sv);

  EXPECT_EQ(out, "\"\\\"" + kR + "\\n\\u0001\\\\" + r(3) + "\"");
}

TEST(AppendJsonString, WellFormedTextIsWrittenAsBefore) {
  std::string out;

  append_json_string(out, "Z\xc3\xbcrich \xf0\x9f\x98\x80 \"q\" \x7f\t\0"sv);

  EXPECT_EQ(out, "\"Z\xc3\xbcrich \xf0\x9f\x98\x80 \\\"q\\\" \x7f\\t\\u0000\"");
}

TEST(AppendJsonString, TheResultParsesUnderStrictEncodingValidation) {
  for (std::string_view text :
       {"\xff"sv, "\xc0\xaf"sv, "\xe2\x82"sv, "\xf4\x90\x80\x80"sv, "ok \xf0\x9f\x98\x80"sv}) {
    std::string json = "{\"v\":";
    append_json_string(json, text);
    json += "}";
    rapidjson::Document doc;

    doc.Parse<rapidjson::kParseValidateEncodingFlag>(json.data(), json.size());

    EXPECT_FALSE(doc.HasParseError()) << json;
  }
}

// Runs without escapes are skipped eight bytes at a time: every character that needs one is
// still escaped wherever it falls in or across those eight-byte words, and characters that need
// none (DEL, the highest ASCII, UTF-8 beyond ASCII) are kept. RapidJSON reads each back.
TEST(AppendJsonString, EscapesACharacterAtAnyOffsetOfALongRun) {
  for (std::string_view special :
       {"\""sv, "\\"sv, "\n"sv, "\x01"sv, "\x1f"sv, "\0"sv, " "sv, "!"sv, "#"sv, "["sv, "]"sv,
        "\x7f"sv, "\xc3\xbc"sv, "\xf0\x9f\x98\x80"sv}) {
    for (std::size_t before = 0; before < 20; ++before) {
      const std::string text =
          std::string(before, 'a') + std::string(special) + std::string(19 - before, 'b');
      std::string json = "[";
      append_json_string(json, text);
      json += "]";
      rapidjson::Document doc;

      doc.Parse<rapidjson::kParseValidateEncodingFlag>(json.data(), json.size());

      ASSERT_FALSE(doc.HasParseError()) << json;
      EXPECT_EQ(std::string(doc[0].GetString(), doc[0].GetStringLength()), text) << json;
      // "[", "]" and two quotes, and what its escape adds: \" \\ \n or \u00XX.
      std::size_t added = 0;
      if (special == "\""sv || special == "\\"sv || special == "\n"sv) {
        added = 1;
      } else if (static_cast<unsigned char>(special[0]) < 0x20) {
        added = 5;
      }
      EXPECT_EQ(json.size(), text.size() + 4 + added) << json;
    }
  }
}

}  // namespace
}  // namespace fl
