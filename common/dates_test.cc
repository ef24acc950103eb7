#include "common/dates.h"

#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace tradecheck {
namespace {

using ::tradecheck::testing::IsOk;
using ::tradecheck::testing::StatusIs;
using ::testing::HasSubstr;

v1::Date D(int y, int m, int d) {
  v1::Date date;
  date.set_year(y);
  date.set_month(m);
  date.set_day(d);
  return date;
}

TEST(DatesTest, RoundTripsARealDate) {
  TC_ASSERT_OK_AND_ASSIGN(absl::CivilDay day, ToCivilDay(D(2026, 2, 24)));
  EXPECT_EQ(day, absl::CivilDay(2026, 2, 24));
  EXPECT_EQ(FormatDate(ToDate(day)), "2026-02-24");
}

TEST(DatesTest, RejectsDaysThatDoNotExist) {
  EXPECT_THAT(ToCivilDay(D(2026, 2, 29)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not a calendar date")));
  EXPECT_THAT(ToCivilDay(D(2028, 2, 29)), IsOk());  // leap year
  EXPECT_THAT(ToCivilDay(D(2026, 13, 1)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("month")));
  EXPECT_THAT(ToCivilDay(D(0, 0, 0)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("year")));
}

TEST(DatesTest, ParsesOnlyStrictIsoDates) {
  TC_ASSERT_OK_AND_ASSIGN(v1::Date date, ParseDate("2025-08-07"));
  EXPECT_EQ(date.year(), 2025);
  EXPECT_EQ(date.month(), 8);
  EXPECT_EQ(date.day(), 7);
  EXPECT_THAT(ParseDate("2025-8-7"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseDate("2025-02-30"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseDate("yesterday"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(DatesTest, UnsetMeansAllZero) {
  EXPECT_TRUE(IsUnset(v1::Date()));
  EXPECT_FALSE(IsUnset(D(2026, 1, 1)));
}

}  // namespace
}  // namespace tradecheck
