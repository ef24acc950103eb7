// Exact currency conversion at a declared rate, for US entries valued in a
// foreign currency (19 CFR 159.31-159.38). A rate is a decimal string
// ("0.2125": US dollars per one unit of the foreign currency) parsed into
// an integer and a power of ten, never a float; a value converts in 128-bit
// integers and rounds half up to the target currency's minor unit.
//
//   absl::StatusOr<DecimalRate> r = ParseDecimalRate("0.2125");
//   absl::StatusOr<int64_t> usd_cents = ConvertMinorUnits(100000, 2, *r, 2);
//   // MYR 1,000.00 -> USD 212.50
#ifndef TRADECHECK_COMMON_EXCHANGE_RATE_H_
#define TRADECHECK_COMMON_EXCHANGE_RATE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tradecheck {

// value = digits / 10^scale.
struct DecimalRate {
  int64_t digits = 0;
  int scale = 0;  // 0..kMaxRateDecimals
};

inline constexpr int kMaxRateDecimals = 9;

// "0.2125", "4", "0.000039200": at most 9 integer and 9 decimal digits, no
// sign, no exponent, greater than zero. INVALID_ARGUMENT otherwise, with a
// message that says why (for a field violation).
absl::StatusOr<DecimalRate> ParseDecimalRate(absl::string_view text);

// The rate as written back, with its own number of decimals ("0.2125").
std::string FormatDecimalRate(const DecimalRate& rate);

// minor units of a currency with `from_digits` minor digits, times `rate`,
// in minor units of a currency with `to_digits` minor digits, rounded half
// up. OUT_OF_RANGE when the result does not fit in int64.
// REQUIRES: minor >= 0; 0 <= from_digits, to_digits <= 4.
absl::StatusOr<int64_t> ConvertMinorUnits(int64_t minor, int from_digits,
                                          const DecimalRate& rate,
                                          int to_digits);

}  // namespace tradecheck

#endif  // TRADECHECK_COMMON_EXCHANGE_RATE_H_
