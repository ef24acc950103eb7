#include "common/money.h"

#include <limits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace tradecheck {

int64_t ApplyBasisPoints(int64_t base_minor, int32_t rate_basis_points) {
  __int128 product = static_cast<__int128>(base_minor) * rate_basis_points;
  __int128 rounded = (product + 5000) / 10000;
  if (rounded > std::numeric_limits<int64_t>::max()) {
    return std::numeric_limits<int64_t>::max();
  }
  return static_cast<int64_t>(rounded);
}

int64_t PartsPerMillion(int64_t part, int64_t whole) {
  return static_cast<int64_t>(static_cast<__int128>(part) * 1000000 / whole);
}

int64_t BasisPointsOf(int64_t part, int64_t whole) {
  return static_cast<int64_t>(static_cast<__int128>(part) * 10000 / whole);
}

bool ShareAtLeastBasisPoints(int64_t part, int64_t whole,
                             int64_t threshold_bp) {
  return static_cast<__int128>(part) * 10000 >=
         static_cast<__int128>(threshold_bp) * whole;
}

int64_t MinPartForBasisPoints(int64_t whole, int64_t threshold_bp) {
  return static_cast<int64_t>(
      (static_cast<__int128>(threshold_bp) * whole + 9999) / 10000);
}

int64_t MaxPartBelowPartsPerMillion(int64_t whole, int64_t threshold_ppm) {
  const __int128 limit = static_cast<__int128>(threshold_ppm) * whole;
  return static_cast<int64_t>((limit + 999999) / 1000000) - 1;
}

absl::StatusOr<int64_t> AddMinorUnits(int64_t a, int64_t b) {
  int64_t sum;
  if (__builtin_add_overflow(a, b, &sum)) {
    return absl::OutOfRangeError("money sum overflows int64 minor units");
  }
  return sum;
}

int64_t SumOrMax(int64_t a, int64_t b) {
  absl::StatusOr<int64_t> sum = AddMinorUnits(a, b);
  if (sum.ok()) return *sum;
  return (a < 0 && b < 0) ? std::numeric_limits<int64_t>::min()
                          : std::numeric_limits<int64_t>::max();
}

v1::Money MakeMoney(absl::string_view currency, int64_t minor_units) {
  v1::Money money;
  money.set_currency_code(std::string(currency));
  money.set_minor_units(minor_units);
  return money;
}

absl::StatusOr<v1::Money> AddMoney(const v1::Money& a, const v1::Money& b) {
  if (a.currency_code().empty() && a.minor_units() == 0) return b;
  if (b.currency_code().empty() && b.minor_units() == 0) return a;
  if (a.currency_code() != b.currency_code()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot add ", a.currency_code(), " to ", b.currency_code()));
  }
  absl::StatusOr<int64_t> sum = AddMinorUnits(a.minor_units(), b.minor_units());
  if (!sum.ok()) return sum.status();
  return MakeMoney(a.currency_code(), *sum);
}

int MinorDigits(absl::string_view currency) {
  for (absl::string_view zero : {"JPY", "KRW", "VND", "CLP", "ISK", "PYG",
                                 "UGX", "XAF", "XOF", "XPF", "KMF", "GNF",
                                 "RWF", "VUV", "BIF", "DJF"}) {
    if (currency == zero) return 0;
  }
  for (absl::string_view three : {"BHD", "JOD", "KWD", "OMR", "TND", "IQD",
                                  "LYD"}) {
    if (currency == three) return 3;
  }
  return 2;
}

std::string FormatMoney(const v1::Money& money) {
  const int digits = MinorDigits(money.currency_code());
  int64_t units = money.minor_units();
  const bool negative = units < 0;
  uint64_t magnitude = negative ? -static_cast<uint64_t>(units) : units;
  uint64_t scale = 1;
  for (int i = 0; i < digits; ++i) scale *= 10;
  std::string whole = absl::StrCat(magnitude / scale);
  std::string grouped;
  for (size_t i = 0; i < whole.size(); ++i) {
    if (i > 0 && (whole.size() - i) % 3 == 0) grouped.push_back(',');
    grouped.push_back(whole[i]);
  }
  std::string out = absl::StrCat(money.currency_code(), " ",
                                 negative ? "-" : "", grouped);
  if (digits > 0) {
    absl::StrAppend(&out, ".",
                    absl::StrFormat("%0*d", digits, magnitude % scale));
  }
  return out;
}

absl::StatusOr<int64_t> MultiplyMilli(int64_t price_minor,
                                      int64_t amount_milli) {
  const __int128 v =
      (static_cast<__int128>(price_minor) * amount_milli + 500) / 1000;
  if (v > std::numeric_limits<int64_t>::max()) {
    return absl::OutOfRangeError("value of the quantity overflows");
  }
  return static_cast<int64_t>(v);
}

std::string FormatMilli(int64_t amount_milli) {
  const std::string whole = absl::StrCat(amount_milli / 1000);
  std::string out;
  for (size_t i = 0; i < whole.size(); ++i) {
    if (i > 0 && (whole.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(whole[i]);
  }
  int64_t frac = amount_milli % 1000;
  if (frac != 0) {
    std::string f = absl::StrFormat("%03d", frac);
    while (!f.empty() && f.back() == '0') f.pop_back();
    absl::StrAppend(&out, ".", f);
  }
  return out;
}

}  // namespace tradecheck
