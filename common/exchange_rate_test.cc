#include "common/exchange_rate.h"

#include <cstdint>
#include <limits>

#include "gtest/gtest.h"

namespace tradecheck {
namespace {

TEST(ParseDecimalRateTest, AcceptsPlainDecimals) {
  auto r = ParseDecimalRate("0.2125");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->digits, 2125);
  EXPECT_EQ(r->scale, 4);
  EXPECT_EQ(FormatDecimalRate(*r), "0.2125");
  EXPECT_EQ(FormatDecimalRate(*ParseDecimalRate("4")), "4");
  EXPECT_EQ(FormatDecimalRate(*ParseDecimalRate("0.000039200")), "0.000039200");
}

TEST(ParseDecimalRateTest, RefusesWhatIsNotAnExactPositiveDecimal) {
  for (const char* bad : {"", ".5", "5.", "-1", "+1", "1e3", "0,21", "0.0",
                          "0", "1.2.3", "0.1234567891", "1234567890.1",
                          " 1", "NaN"}) {
    EXPECT_FALSE(ParseDecimalRate(bad).ok()) << bad;
  }
}

TEST(ConvertMinorUnitsTest, ConvertsAndRoundsHalfUp) {
  const DecimalRate myr = *ParseDecimalRate("0.2125");
  // MYR 1,000,000.00 -> USD 212,500.00
  EXPECT_EQ(*ConvertMinorUnits(100000000, 2, myr, 2), 21250000);
  // MYR 0.02 -> USD 0.00425 -> 0.00; MYR 0.03 -> 0.006375 -> 0.01
  EXPECT_EQ(*ConvertMinorUnits(2, 2, myr, 2), 0);
  EXPECT_EQ(*ConvertMinorUnits(3, 2, myr, 2), 1);
  // Exactly half a cent rounds up: 0.5 * 0.01 = 0.005.
  EXPECT_EQ(*ConvertMinorUnits(1, 2, *ParseDecimalRate("0.5"), 2), 1);
  // VND has no minor digits: VND 25,000,000 at 0.0000392 = USD 980.00.
  EXPECT_EQ(*ConvertMinorUnits(25000000, 0, *ParseDecimalRate("0.0000392"), 2),
            98000);
}

TEST(ConvertMinorUnitsTest, OverflowIsAnErrorNotAWrap) {
  const DecimalRate big = *ParseDecimalRate("999999999");
  EXPECT_EQ(ConvertMinorUnits(std::numeric_limits<int64_t>::max(), 0, big, 2)
                .status()
                .code(),
            absl::StatusCode::kOutOfRange);
}

}  // namespace
}  // namespace tradecheck
