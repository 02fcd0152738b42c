// Compile errors: each names the line:column where the expression goes wrong and what was
// expected there; well-formed expressions compile once and keep their text.
#include "fl/mappings/fhirpath.h"

#include <gtest/gtest.h>

#include <string>

namespace fl::mappings::fhirpath {
namespace {

Error compile_error(const std::string& text) {
  auto expr = compile(text);
  EXPECT_FALSE(expr) << text << " compiled";
  return expr ? Error{} : expr.error();
}

TEST(FhirPathParser, MissingOperandNamesTheEndOfTheExpression) {
  const Error e = compile_error("2 + 2 /");

  EXPECT_EQ(e.code, ErrorCode::kInvalidInput);
  EXPECT_EQ(e.where, "1:8");
  EXPECT_EQ(e.message, "expected an expression, found the end of the expression");
}

TEST(FhirPathParser, UnclosedParenthesisSaysWhereItOpened) {
  const Error e = compile_error("name.where(use = 'official'");

  EXPECT_EQ(e.where, "1:28");
  EXPECT_EQ(e.message,
            "expected ')' to close the arguments of where(), found the end of the "
            "expression");
}

TEST(FhirPathParser, PositionsCountLinesAndColumns) {
  const Error e = compile_error("name\n  .given\n  .foo(1)");

  EXPECT_EQ(e.where, "3:4");
  EXPECT_EQ(e.message, "unknown function 'foo'");
}

TEST(FhirPathParser, UnterminatedCommentAndStringAreReportedWhereTheyStart) {
  EXPECT_EQ(compile_error("2 + 2 /* not finished").where, "1:7");
  EXPECT_EQ(compile_error("name = 'Peter").message, "unterminated string: expected a closing '");
}

TEST(FhirPathParser, ArgumentCountsAreCheckedAtCompileTime) {
  const Error e = compile_error("'abc'.substring()");

  EXPECT_EQ(e.where, "1:7");
  EXPECT_EQ(e.message, "substring() takes 1 to 2 arguments, found 0");
}

TEST(FhirPathParser, UnknownTypeNamesAreCompileErrors) {
  EXPECT_EQ(compile_error("gender.as(string1)").message, "unknown type 'string1'");
  EXPECT_EQ(compile_error("value is Foo.Quantity").message,
            "unknown type namespace 'Foo' (System or FHIR)");
}

TEST(FhirPathParser, TrailingTokensAreRejected) {
  const Error e = compile_error("name given");

  EXPECT_EQ(e.where, "1:6");
  EXPECT_EQ(e.message,
            "expected an operator or the end of the expression, found identifier 'given'");
}

TEST(FhirPathParser, OperatorKeywordsCannotStartATerm) {
  EXPECT_EQ(compile_error("true and and false").message,
            "expected an expression, found the keyword 'and'");
}

TEST(FhirPathParser, BadDateLiteralIsALexicalError) {
  EXPECT_EQ(compile_error("@2015-13-01").message,
            "expected a date or date-time after '@' (YYYY-MM-DDThh:mm:ss.fff+zz:zz)");
  EXPECT_EQ(compile_error("@T14:34:28Z").message, "a time literal has no time zone");
}

TEST(FhirPathParser, DeepNestingIsRefusedInsteadOfExhaustingTheStack) {
  const std::string deep = std::string(5000, '(') + "1" + std::string(5000, ')');
  std::string chain = "a";
  for (int i = 0; i < 5000; ++i) chain += ".a";

  EXPECT_NE(compile_error(deep).message.find("nested too deeply"), std::string::npos);
  EXPECT_NE(compile_error(chain).message.find("nested too deeply"), std::string::npos);
}

TEST(FhirPathParser, KeywordsAreNamesWhereATermStartsOrAfterADot) {
  EXPECT_TRUE(compile("expansion.repeat(contains).count()"));
  EXPECT_TRUE(compile("'abc'.contains('b')"));
  EXPECT_TRUE(compile("value.as(Quantity).unit"));
  EXPECT_TRUE(compile("`div`.`class`"));
}

TEST(FhirPathParser, CompiledExpressionKeepsItsText) {
  auto expr = compile("Patient.name.given");

  ASSERT_TRUE(expr);
  EXPECT_EQ(expr->text(), "Patient.name.given");
}

}  // namespace
}  // namespace fl::mappings::fhirpath
