// Where a tradecheck binary finds the data it ships with, relative to the
// binary itself and never through a path compiled in at build time:
//
//   installed:   <prefix>/bin/tradecheck_server
//                <prefix>/share/tradecheck/agreements
//   build tree:  build/server/tradecheck_server
//                build/share/tradecheck/agreements -> the source tree's
//                agreements/ (a link CMake makes when it configures)
//
// So one rule, "../share/tradecheck/agreements from the binary's
// directory", serves both, and a build tree that is moved or deleted is
// never looked for.
#ifndef TRADECHECK_COMMON_INSTALL_PATHS_H_
#define TRADECHECK_COMMON_INSTALL_PATHS_H_

#include <string>

#include "absl/status/statusor.h"

namespace tradecheck {

// The directory of the running binary (from /proc/self/exe).
absl::StatusOr<std::string> BinaryDir();

// <BinaryDir()>/../share/tradecheck/agreements, normalized. NOT_FOUND,
// naming the path looked at, when it is not a directory.
absl::StatusOr<std::string> DefaultAgreementsDir();

}  // namespace tradecheck

#endif  // TRADECHECK_COMMON_INSTALL_PATHS_H_
