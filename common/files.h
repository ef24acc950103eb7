// Reading a whole file into memory: the one helper every layer uses for
// keys, certificates, policies, agreement data and test fixtures.
#ifndef TRADECHECK_COMMON_FILES_H_
#define TRADECHECK_COMMON_FILES_H_

#include <string>

#include "absl/status/statusor.h"

namespace tradecheck {

// The file's bytes. NOT_FOUND ("cannot read <path>: <reason>") when it
// cannot be opened, DATA_LOSS when reading stops part-way.
absl::StatusOr<std::string> ReadFileToString(const std::string& path);

}  // namespace tradecheck

#endif  // TRADECHECK_COMMON_FILES_H_
