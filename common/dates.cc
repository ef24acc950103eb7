#include "common/dates.h"

#include "absl/status/status.h"
#include "absl/strings/str_format.h"

namespace tradecheck {

bool IsUnset(const v1::Date& date) {
  return date.year() == 0 && date.month() == 0 && date.day() == 0;
}

absl::StatusOr<absl::CivilDay> ToCivilDay(const v1::Date& date) {
  if (date.year() < 1 || date.year() > 9999) {
    return absl::InvalidArgumentError(
        absl::StrFormat("year %d is outside 1..9999", date.year()));
  }
  if (date.month() < 1 || date.month() > 12) {
    return absl::InvalidArgumentError(
        absl::StrFormat("month %d is outside 1..12", date.month()));
  }
  absl::CivilDay day(date.year(), date.month(), date.day());
  // CivilDay normalises out-of-range days (Feb 30 -> Mar 2); a round trip
  // that changes the fields means the date does not exist.
  if (day.day() != date.day() || day.month() != date.month()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%04d-%02d-%02d is not a calendar date", date.year(), date.month(),
        date.day()));
  }
  return day;
}

v1::Date ToDate(absl::CivilDay day) {
  v1::Date date;
  date.set_year(static_cast<int32_t>(day.year()));
  date.set_month(day.month());
  date.set_day(day.day());
  return date;
}

std::string FormatDate(const v1::Date& date) {
  return absl::StrFormat("%04d-%02d-%02d", date.year(), date.month(),
                         date.day());
}

absl::StatusOr<v1::Date> ParseDate(absl::string_view text) {
  absl::CivilDay day;
  if (text.size() != 10 || !absl::ParseCivilTime(text, &day)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("\"%s\" is not a date of the form YYYY-MM-DD", text));
  }
  v1::Date date = ToDate(day);
  if (FormatDate(date) != text) {
    return absl::InvalidArgumentError(
        absl::StrFormat("\"%s\" is not a calendar date", text));
  }
  return date;
}

}  // namespace tradecheck
