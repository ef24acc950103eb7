// Exact money arithmetic on integer minor units. The one rounding rule of
// the project lives here: an ad valorem duty is base * rate / 10000 (rate in
// basis points), rounded half up to the minor unit, computed in 128-bit
// integers so it never overflows for any int64 base. Every sum of amounts in
// the project goes through AddMinorUnits (or AddMoney, built on it), so no
// sum can wrap around: it either is exact or says it overflowed.
#ifndef TRADECHECK_COMMON_MONEY_H_
#define TRADECHECK_COMMON_MONEY_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "tradecheck/v1/common.pb.h"

namespace tradecheck {

// base_minor * rate_basis_points / 10000, half up. REQUIRES: base_minor >= 0,
// rate_basis_points >= 0.
int64_t ApplyBasisPoints(int64_t base_minor, int32_t rate_basis_points);

// part / whole in parts per million, rounded down (1400 ppm = 0.14 %).
// REQUIRES: whole > 0.
int64_t PartsPerMillion(int64_t part, int64_t whole);

// Shares of a value, for thresholds stated as a percentage of it (US
// content, controlled-origin content). Exact: 128-bit integers, no floating
// point. REQUIRES for all: whole > 0, part >= 0, threshold >= 0.

// part / whole in basis points, rounded down (2000 bp = 20.00 %).
int64_t BasisPointsOf(int64_t part, int64_t whole);

// True when part / whole >= threshold_bp / 10000, compared exactly (a share
// that rounds down to the threshold but is below it is not at least it).
bool ShareAtLeastBasisPoints(int64_t part, int64_t whole, int64_t threshold_bp);

// Smallest part with part / whole >= threshold_bp / 10000.
int64_t MinPartForBasisPoints(int64_t whole, int64_t threshold_bp);

// Largest part with part / whole < threshold_ppm / 1000000 (-1 when even 0
// is not below, i.e. threshold 0).
int64_t MaxPartBelowPartsPerMillion(int64_t whole, int64_t threshold_ppm);

// price_minor * amount_milli / 1000, half up: the value of a quantity in
// thousandths of a unit at a price per unit (a minimum import price).
// OUT_OF_RANGE when it does not fit in int64. REQUIRES: both >= 0.
absl::StatusOr<int64_t> MultiplyMilli(int64_t price_minor,
                                      int64_t amount_milli);

// "400,000" or "2,500.125": a quantity in thousandths, grouped, with only
// the decimals it needs.
std::string FormatMilli(int64_t amount_milli);
// a + b in minor units; OUT_OF_RANGE when the exact sum does not fit in an
// int64. The one checked sum of the project: declaration validation rejects
// amounts whose sums would come near the limit (core/declaration_validator.h
// documents the ceilings), and the engine uses SumOrMax below.
absl::StatusOr<int64_t> AddMinorUnits(int64_t a, int64_t b);

// AddMinorUnits, or INT64_MAX when the sum overflows. For the rule engine,
// which returns a verdict rather than a status: validated declarations never
// reach the limit, and an amount that cannot be smaller than the true sum
// keeps content and non-originating shares on the conservative side (more
// controlled content, more duty), never wrapping to a negative figure.
int64_t SumOrMax(int64_t a, int64_t b);

v1::Money MakeMoney(absl::string_view currency, int64_t minor_units);

// a + b; fails with INVALID_ARGUMENT on a currency mismatch and
// OUT_OF_RANGE on overflow. An unset operand (empty currency, 0 units)
// takes the other's currency.
absl::StatusOr<v1::Money> AddMoney(const v1::Money& a, const v1::Money& b);

// "USD 1,250.00" (two minor digits for every currency except the ISO 4217
// zero-decimal ones such as JPY, KRW, VND).
std::string FormatMoney(const v1::Money& money);
// The same from a currency code and minor units, without building a Money
// (the rule engine formats several amounts per finding).
std::string FormatMoney(absl::string_view currency, int64_t minor_units);

// Number of minor-unit digits of an ISO 4217 currency (2 unless listed).
int MinorDigits(absl::string_view currency);

}  // namespace tradecheck

#endif  // TRADECHECK_COMMON_MONEY_H_
