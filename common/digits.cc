#include "common/digits.h"

#include <algorithm>

#include "absl/strings/ascii.h"

namespace tradecheck {

bool AllDigits(absl::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return absl::ascii_isdigit(static_cast<unsigned char>(c));
  });
}

}  // namespace tradecheck
