#include "common/exchange_rate.h"

#include <limits>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace tradecheck {
namespace {

__int128 Pow10(int n) {
  __int128 p = 1;
  for (int i = 0; i < n; ++i) p *= 10;
  return p;
}

}  // namespace

absl::StatusOr<DecimalRate> ParseDecimalRate(absl::string_view text) {
  const size_t dot = text.find('.');
  const absl::string_view whole = text.substr(0, dot);
  const absl::string_view frac =
      dot == absl::string_view::npos ? absl::string_view() : text.substr(dot + 1);
  auto digits_only = [](absl::string_view s) {
    for (char c : s) {
      if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
    }
    return true;
  };
  if (whole.empty() || !digits_only(whole) || !digits_only(frac) ||
      (dot != absl::string_view::npos && frac.empty())) {
    return absl::InvalidArgumentError(
        "must be a decimal number such as \"0.2125\" (digits, at most one "
        "point, no sign or exponent)");
  }
  if (whole.size() > 9 || frac.size() > static_cast<size_t>(kMaxRateDecimals)) {
    return absl::InvalidArgumentError(
        absl::StrCat("must have at most 9 digits before and ",
                     kMaxRateDecimals, " after the decimal point"));
  }
  DecimalRate r;
  r.scale = static_cast<int>(frac.size());
  for (char c : whole) r.digits = r.digits * 10 + (c - '0');
  for (char c : frac) r.digits = r.digits * 10 + (c - '0');
  if (r.digits == 0) return absl::InvalidArgumentError("must be greater than 0");
  return r;
}

std::string FormatDecimalRate(const DecimalRate& rate) {
  std::string s = absl::StrCat(rate.digits);
  if (rate.scale == 0) return s;
  if (static_cast<int>(s.size()) <= rate.scale) {
    s.insert(0, rate.scale - s.size() + 1, '0');
  }
  s.insert(s.size() - rate.scale, ".");
  return s;
}

absl::StatusOr<int64_t> ConvertMinorUnits(int64_t minor, int from_digits,
                                          const DecimalRate& rate,
                                          int to_digits) {
  // result = minor * digits * 10^to / (10^scale * 10^from), half up.
  const __int128 num = static_cast<__int128>(minor) * rate.digits *
                       Pow10(to_digits);
  const __int128 den = Pow10(rate.scale + from_digits);
  const __int128 q = (num + den / 2) / den;
  if (q > std::numeric_limits<int64_t>::max()) {
    return absl::OutOfRangeError("converted value does not fit in 64 bits");
  }
  return static_cast<int64_t>(q);
}

}  // namespace tradecheck
