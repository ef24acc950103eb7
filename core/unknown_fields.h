// Finds fields a message carries that its schema does not know: protobuf
// keeps them as "unknown fields" and would store and re-serialize them
// unchanged. The declaration validator refuses a declaration that has any,
// so nothing unchecked (and invisible to every reader of the trail) is ever
// recorded.
#ifndef TRADECHECK_CORE_UNKNOWN_FIELDS_H_
#define TRADECHECK_CORE_UNKNOWN_FIELDS_H_

#include <string>
#include <vector>

#include "google/protobuf/message.h"

namespace tradecheck {

// Field paths ("lines[0].bill_of_materials[1]") of every message within
// `message` (itself included, path "") that holds unknown fields, each with
// the unknown field numbers: {"lines[0]", "field 99"}. At most `max_results`.
struct UnknownField {
  std::string path;      // "" for the top-level message
  std::string numbers;   // "99, 1000"
};
std::vector<UnknownField> FindUnknownFields(
    const google::protobuf::Message& message, size_t max_results = 25);

}  // namespace tradecheck

#endif  // TRADECHECK_CORE_UNKNOWN_FIELDS_H_
