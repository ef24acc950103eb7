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
  // Compared char by char: called for every amount a verdict formats.
  static constexpr char kZero[][4] = {"JPY", "KRW", "VND", "CLP", "ISK", "PYG",
                                      "UGX", "XAF", "XOF", "XPF", "KMF", "GNF",
                                      "RWF", "VUV", "BIF", "DJF"};
  static constexpr char kThree[][4] = {"BHD", "JOD", "KWD", "OMR",
                                       "TND", "IQD", "LYD"};
  if (currency.size() != 3) return 2;
  auto is = [&currency](const char* code) {
    return currency[0] == code[0] && currency[1] == code[1] &&
           currency[2] == code[2];
  };
  for (const char* zero : kZero) {
    if (is(zero)) return 0;
  }
  for (const char* three : kThree) {
    if (is(three)) return 3;
  }
  return 2;
}

std::string FormatMoney(const v1::Money& money) {
  return FormatMoney(money.currency_code(), money.minor_units());
}

std::string FormatMoney(absl::string_view currency, int64_t minor_units) {
  const int digits = MinorDigits(currency);
  const bool negative = minor_units < 0;
  uint64_t magnitude = negative ? -static_cast<uint64_t>(minor_units)
                                : static_cast<uint64_t>(minor_units);
  // Written backwards into a buffer: minor digits, the point, then the
  // whole part grouped by three (20 digits, 6 commas, point, minor digits).
  char buf[40];
  char* p = buf + sizeof(buf);
  for (int i = 0; i < digits; ++i) {
    *--p = static_cast<char>('0' + magnitude % 10);
    magnitude /= 10;
  }
  if (digits > 0) *--p = '.';
  int group = 0;
  do {
    if (group == 3) {
      *--p = ',';
      group = 0;
    }
    *--p = static_cast<char>('0' + magnitude % 10);
    magnitude /= 10;
    ++group;
  } while (magnitude != 0);
  std::string out;
  const size_t len = static_cast<size_t>(buf + sizeof(buf) - p);
  out.reserve(currency.size() + 2 + len);
  out.append(currency.data(), currency.size());
  out.push_back(' ');
  if (negative) out.push_back('-');
  out.append(p, len);
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
