// RFC 8785 against the reference vectors of the RFC's author (shared/corpora/jcs).
#include "fl/mappings/canonical_json.h"

#include "support/corpus.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

namespace fl::mappings {
namespace {

class JcsReferenceVector : public ::testing::TestWithParam<std::string> {};

TEST_P(JcsReferenceVector, CanonicalFormMatchesByteForByte) {
  const std::string input = testing::read_file(testing::corpus_path("jcs/input/" + GetParam()));
  const std::string expected = testing::read_file(testing::corpus_path("jcs/output/" + GetParam()));

  auto canonical = canonicalize(input);

  ASSERT_TRUE(canonical) << canonical.error().message;
  EXPECT_EQ(*canonical, expected);
}

INSTANTIATE_TEST_SUITE_P(Corpus, JcsReferenceVector,
                         ::testing::Values("arrays.json", "french.json", "structures.json",
                                           "unicode.json", "values.json", "weird.json"));

TEST(Es6Numbers, AllTenThousandReferenceNumbersFormatExactly) {
  std::ifstream in(testing::corpus_path("jcs/es6-numbers/es6testfile-first10000.txt"));
  std::string line;
  int checked = 0;
  int failed = 0;
  while (std::getline(in, line)) {
    const auto comma = line.find(',');
    ASSERT_NE(comma, std::string::npos) << line;
    const std::uint64_t bits = std::stoull(line.substr(0, comma), nullptr, 16);
    double value = 0;
    std::memcpy(&value, &bits, sizeof value);
    const std::string expected = line.substr(comma + 1);
    auto formatted = format_es6_number(value);
    ++checked;
    if (!formatted || *formatted != expected) {
      if (++failed <= 10) ADD_FAILURE() << line << " -> " << (formatted ? *formatted : "error");
    }
  }
  EXPECT_EQ(checked, 10000);
  EXPECT_EQ(failed, 0);
}

TEST(CanonicalJson, MembersSortByUtf16CodeUnitsNotByCodePoints) {
  // U+1F600 is the surrogate pair D83D DE00 in UTF-16: it sorts before U+E000 there, after it
  // as a code point (and in UTF-8 bytes).
  auto canonical =
      canonicalize("{\"\xee\x80\x80\":1,\"\xf0\x9f\x98\x80\":2,\"\xc3\xa9\":3,\"z\":4}");

  ASSERT_TRUE(canonical) << canonical.error().message;
  EXPECT_EQ(*canonical, "{\"z\":4,\"\xc3\xa9\":3,\"\xf0\x9f\x98\x80\":2,\"\xee\x80\x80\":1}");
}

TEST(CanonicalJson, NestedObjectsAreEachSortedAndTheirParentsResumeInOrder) {
  auto canonical = canonicalize(
      R"({"m":[{"y":1,"x":{"q":true,"p":null}},{"b":"s","a":[]}],"c":{"f":1,"e":{"h":2,"g":3}},"a":0})");

  ASSERT_TRUE(canonical) << canonical.error().message;
  EXPECT_EQ(
      *canonical,
      R"({"a":0,"c":{"e":{"g":3,"h":2},"f":1},"m":[{"x":{"p":null,"q":true},"y":1},{"a":[],"b":"s"}]})");
}

TEST(CanonicalJson, ADuplicateDeepInAnArrayIsLocatedThere) {
  auto canonical = canonicalize(R"({"z":{"k":1},"a":[0,{"b":1,"c":{},"b":2}]})");

  ASSERT_FALSE(canonical);
  EXPECT_EQ(canonical.error().where, "/a/1/b");
}

TEST(CanonicalJson, IntegersAroundTwoToThe53AreWrittenExactly) {
  EXPECT_EQ(*format_es6_number(9007199254740991.0), "9007199254740991");
  EXPECT_EQ(*format_es6_number(9007199254740992.0), "9007199254740992");
  EXPECT_EQ(*format_es6_number(-9007199254740994.0), "-9007199254740994");
  EXPECT_EQ(*format_es6_number(-120.0), "-120");
  EXPECT_EQ(*format_es6_number(1e21), "1e+21");
}

TEST(CanonicalJson, RefusesDuplicateMemberNames) {
  auto canonical = canonicalize(R"({"a":{"b":1,"b":2}})");

  ASSERT_FALSE(canonical);
  EXPECT_EQ(canonical.error().where, "/a/b");
}

TEST(CanonicalJson, RefusesInvalidJsonWithItsOffset) {
  auto canonical = canonicalize(R"({"a":)");

  ASSERT_FALSE(canonical);
  EXPECT_EQ(canonical.error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(canonical.error().where, "offset 5");
}

TEST(CanonicalJson, EqualContentInAnyOrderAndSpacingIsEqual) {
  EXPECT_EQ(*canonicalize(R"({ "b" : [1.0, 2e0], "a" : "x" })"),
            *canonicalize(R"({"a":"x","b":[1,2]})"));
  EXPECT_EQ(*canonicalize(R"({"a":"x","b":[1,2]})"), R"({"a":"x","b":[1,2]})");
}

}  // namespace
}  // namespace fl::mappings
