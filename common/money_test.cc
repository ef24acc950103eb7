#include "common/money.h"

#include <limits>

#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace tradecheck {
namespace {

using ::tradecheck::testing::StatusIs;

TEST(MoneyTest, BasisPointsRoundHalfUp) {
  EXPECT_EQ(ApplyBasisPoints(100000, 1900), 19000);  // 19 % of 1,000.00
  EXPECT_EQ(ApplyBasisPoints(1, 5000), 1);           // 0.005 -> 0.01
  EXPECT_EQ(ApplyBasisPoints(1, 4999), 0);           // 0.004999 -> 0.00
  EXPECT_EQ(ApplyBasisPoints(333, 1000), 33);        // 33.3 -> 33
  EXPECT_EQ(ApplyBasisPoints(335, 1000), 34);        // 33.5 -> 34
  EXPECT_EQ(ApplyBasisPoints(0, 4000), 0);
}

TEST(MoneyTest, BasisPointsDoNotOverflowForHugeValues) {
  const int64_t max = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(ApplyBasisPoints(max, 10000), max);
  EXPECT_EQ(ApplyBasisPoints(max, 2000), max / 5 + (max % 5 >= 3 ? 1 : 0));
}

TEST(MoneyTest, PartsPerMillion) {
  EXPECT_EQ(PartsPerMillion(140, 100000), 1400);  // 0.14 %
  EXPECT_EQ(PartsPerMillion(1, 3), 333333);
}

TEST(MoneyTest, BasisPointsOfRoundsDown) {
  EXPECT_EQ(BasisPointsOf(20000, 100000), 2000);  // 20.00 %
  EXPECT_EQ(BasisPointsOf(19999, 100000), 1999);  // 19.999 % -> 19.99 %
  EXPECT_EQ(BasisPointsOf(0, 100000), 0);
  const int64_t max = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(BasisPointsOf(max, max), 10000);  // no overflow
}

TEST(MoneyTest, ShareAtLeastIsExactAtTheThreshold) {
  EXPECT_TRUE(ShareAtLeastBasisPoints(20000, 100000, 2000));   // exactly 20 %
  EXPECT_FALSE(ShareAtLeastBasisPoints(19999, 100000, 2000));  // just under
  // 1/3 rounds down to 3333 bp but is more than 33.33 %.
  EXPECT_TRUE(ShareAtLeastBasisPoints(1, 3, 3333));
  EXPECT_FALSE(ShareAtLeastBasisPoints(1, 3, 3334));
}

TEST(MoneyTest, MinPartForBasisPointsRoundsUp) {
  EXPECT_EQ(MinPartForBasisPoints(100000, 2000), 20000);
  EXPECT_EQ(MinPartForBasisPoints(100001, 2000), 20001);  // 20000.2 -> 20001
  EXPECT_TRUE(ShareAtLeastBasisPoints(MinPartForBasisPoints(100001, 2000),
                                      100001, 2000));
  EXPECT_FALSE(ShareAtLeastBasisPoints(
      MinPartForBasisPoints(100001, 2000) - 1, 100001, 2000));
}

TEST(MoneyTest, MaxPartBelowPartsPerMillion) {
  // 0.1 % of 1,000.00 is 1.00: the largest content below it is 0.99.
  EXPECT_EQ(MaxPartBelowPartsPerMillion(100000, 1000), 99);
  // 0.1 % of 1,000.01 is 1.00001: 1.00 is still below.
  EXPECT_EQ(MaxPartBelowPartsPerMillion(100001, 1000), 100);
  const int64_t whole = 123457;
  const int64_t max_ok = MaxPartBelowPartsPerMillion(whole, 1400);
  EXPECT_LT(PartsPerMillion(max_ok, whole), 1400);
  EXPECT_GE(PartsPerMillion(max_ok + 1, whole), 1400);
}

TEST(MoneyTest, AddRequiresOneCurrency) {
  auto sum = AddMoney(MakeMoney("USD", 150), MakeMoney("USD", 250));
  ASSERT_TRUE(sum.ok());
  EXPECT_EQ(sum->minor_units(), 400);
  EXPECT_THAT(AddMoney(MakeMoney("USD", 1), MakeMoney("MYR", 1)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  auto from_unset = AddMoney(v1::Money(), MakeMoney("USD", 7));
  ASSERT_TRUE(from_unset.ok());
  EXPECT_EQ(from_unset->currency_code(), "USD");
}

TEST(MoneyTest, FormatsWithGroupingAndCurrencyDigits) {
  EXPECT_EQ(FormatMoney(MakeMoney("USD", 125000)), "USD 1,250.00");
  EXPECT_EQ(FormatMoney(MakeMoney("USD", 5)), "USD 0.05");
  EXPECT_EQ(FormatMoney(MakeMoney("JPY", 1234567)), "JPY 1,234,567");
  EXPECT_EQ(FormatMoney(MakeMoney("USD", 100000000000)),
            "USD 1,000,000,000.00");
  EXPECT_EQ(FormatMoney(MakeMoney("USD", 0)), "USD 0.00");
  EXPECT_EQ(FormatMoney(MakeMoney("USD", -123456)), "USD -1,234.56");
  EXPECT_EQ(FormatMoney(MakeMoney("KWD", 1234567)), "KWD 1,234.567");
  EXPECT_EQ(FormatMoney(MakeMoney("JPY", 999)), "JPY 999");
  EXPECT_EQ(FormatMoney(MakeMoney("JPY", 1000)), "JPY 1,000");
  EXPECT_EQ(FormatMoney("USD", std::numeric_limits<int64_t>::min()),
            "USD -92,233,720,368,547,758.08");
  EXPECT_EQ(FormatMoney("EUR", 125000), FormatMoney(MakeMoney("EUR", 125000)));
}

TEST(MultiplyMilliTest, ValueOfAQuantityAtAPricePerUnit) {
  // 400,000 W at USD 0.38/W = USD 152,000.00.
  EXPECT_EQ(*MultiplyMilli(38, 400000000), 15200000);
  // 2.5 kg at USD 21/kg = USD 52.50; 0.0005 units at 1 minor rounds up.
  EXPECT_EQ(*MultiplyMilli(2100, 2500), 5250);
  EXPECT_EQ(*MultiplyMilli(1, 500), 1);
  EXPECT_EQ(*MultiplyMilli(1, 499), 0);
  EXPECT_EQ(MultiplyMilli(std::numeric_limits<int64_t>::max(), 2000)
                .status()
                .code(),
            absl::StatusCode::kOutOfRange);
}

TEST(FormatMilliTest, GroupsAndTrims) {
  EXPECT_EQ(FormatMilli(400000000), "400,000");
  EXPECT_EQ(FormatMilli(2500125), "2,500.125");
  EXPECT_EQ(FormatMilli(1500), "1.5");
  EXPECT_EQ(FormatMilli(0), "0");
}

}  // namespace
}  // namespace tradecheck
