// Decimal: the fixed-point number FHIRPath decimals are, exact and scale-preserving.
#include "fl/mappings/fhirpath_value.h"

#include <gtest/gtest.h>

namespace fl::mappings::fhirpath {
namespace {

Decimal d(const char* text) {
  auto v = Decimal::parse(text);
  EXPECT_TRUE(v) << text;
  return v.value_or(Decimal());
}

TEST(Decimal, ParsingKeepsTheScale) {
  EXPECT_EQ(d("1.50").to_string(), "1.50");
  EXPECT_EQ(d("-0.001").to_string(), "-0.001");
  EXPECT_EQ(d("1234567890987654321.0").to_string(), "1234567890987654321.0");
  EXPECT_EQ(d("1.50").scale(), 2);
}

TEST(Decimal, MalformedTextIsRefused) {
  EXPECT_FALSE(Decimal::parse(""));
  EXPECT_FALSE(Decimal::parse("1."));
  EXPECT_FALSE(Decimal::parse("1e5"));
  EXPECT_FALSE(Decimal::parse("12a"));
  EXPECT_FALSE(Decimal::parse("1" + std::string(40, '0')));
}

TEST(Decimal, DoublesBecomeTheirShortestDecimal) {
  EXPECT_EQ(Decimal::from_double(0.1)->to_string(), "0.1");
  EXPECT_EQ(Decimal::from_double(185.0)->to_string(), "185");
  EXPECT_EQ(Decimal::from_double(-2.5e-7)->to_string(), "-0.00000025");
}

TEST(Decimal, ArithmeticIsExactAndComparisonNumeric) {
  EXPECT_EQ(d("0.1").add(d("0.2"))->to_string(), "0.3");
  EXPECT_EQ(d("1.8").subtract(d("1.2"))->to_string(), "0.6");
  EXPECT_EQ(d("1.2").multiply(d("1.8"))->to_string(), "2.16");
  EXPECT_EQ(d("1").divide(d("3"))->to_string(), "0.3333333333333333");
  EXPECT_EQ(d("4.0").divide(d("2.0"))->to_string(), "2");
  EXPECT_FALSE(d("1").divide(d("0")));
  EXPECT_TRUE(d("1.10") == d("1.1"));
  EXPECT_LT(compare(d("-2"), d("1.5")), 0);
}

TEST(Decimal, RescalingRoundsAsAsked) {
  EXPECT_EQ(d("2.675").rescale(2)->to_string(), "2.68");
  EXPECT_EQ(d("-2.675").rescale(2)->to_string(), "-2.68");
  EXPECT_EQ(d("-2.675").rescale(2, Decimal::Rounding::kFloor)->to_string(), "-2.68");
  EXPECT_EQ(d("-2.675").rescale(2, Decimal::Rounding::kTowardZero)->to_string(), "-2.67");
  EXPECT_EQ(d("2.1").rescale(0, Decimal::Rounding::kCeiling)->to_string(), "3");
  EXPECT_EQ(d("1.5").rescale(4)->to_string(), "1.5000");
  EXPECT_EQ(d("1.500").trimmed().to_string(), "1.5");
}

TEST(Decimal, OverflowIsReportedNotWrapped) {
  const Decimal big = d("99999999999999999999999999999999999999");

  EXPECT_FALSE(big.multiply(d("10")));
  EXPECT_FALSE(big.multiply(big));
  EXPECT_FALSE(big.add(big));
}

}  // namespace
}  // namespace fl::mappings::fhirpath
