// Conversions between the API's tradecheck.v1.Date and absl::CivilDay, the
// type project code computes with. Measures are dated by calendar day; an
// unset Date (all zero) is "no date".
#ifndef TRADECHECK_COMMON_DATES_H_
#define TRADECHECK_COMMON_DATES_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "tradecheck/v1/common.pb.h"

namespace tradecheck {

// True when all three fields are zero.
bool IsUnset(const v1::Date& date);

// Fails with INVALID_ARGUMENT when the fields do not form a real date in
// years 1..9999 (e.g. 2026-02-30). The message names the problem, not the
// field; callers add the field path.
absl::StatusOr<absl::CivilDay> ToCivilDay(const v1::Date& date);

v1::Date ToDate(absl::CivilDay day);

// "2026-02-24".
std::string FormatDate(const v1::Date& date);

// Parses "YYYY-MM-DD" strictly.
absl::StatusOr<v1::Date> ParseDate(absl::string_view text);

}  // namespace tradecheck

#endif  // TRADECHECK_COMMON_DATES_H_
