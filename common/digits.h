// Character-class checks on codes read from data files and requests (HS
// codes, HS prefixes). One definition, so every caller gives the empty
// string the same answer.
#ifndef TRADECHECK_COMMON_DIGITS_H_
#define TRADECHECK_COMMON_DIGITS_H_

#include "absl/strings/string_view.h"

namespace tradecheck {

// True when `s` is non-empty and every character is an ASCII digit '0'..'9'.
// The empty string is NOT all digits: a missing code is never a valid one.
bool AllDigits(absl::string_view s);

}  // namespace tradecheck

#endif  // TRADECHECK_COMMON_DIGITS_H_
