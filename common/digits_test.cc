#include "common/digits.h"

#include "gtest/gtest.h"

namespace tradecheck {
namespace {

TEST(DigitsTest, AllDigits) {
  EXPECT_TRUE(AllDigits("0"));
  EXPECT_TRUE(AllDigits("8505110000"));
  EXPECT_FALSE(AllDigits(""));  // the contract: empty is not a code
  EXPECT_FALSE(AllDigits("85a5"));
  EXPECT_FALSE(AllDigits(" 85"));
  EXPECT_FALSE(AllDigits("8505.11"));
  EXPECT_FALSE(AllDigits("\xd9\xa1"));  // Arabic-Indic one: not ASCII
}

}  // namespace
}  // namespace tradecheck
