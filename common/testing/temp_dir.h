// Scratch directories for tests. Each is fresh (mkdtemp under $TEST_TMPDIR or
// /tmp) and is removed, with everything in it, when the test process exits:
// a store may outlive the object that made it (a test restarts a server on
// the same data directory), so the directory goes with the process. Set
// TC_KEEP_TEST_DIRS=1 to keep them for a post-mortem.
#ifndef TRADECHECK_COMMON_TESTING_TEMP_DIR_H_
#define TRADECHECK_COMMON_TESTING_TEMP_DIR_H_

#include <string>

#include "absl/status/statusor.h"

namespace tradecheck::testing {

// A fresh directory named "<prefix>-XXXXXX"; never reused.
absl::StatusOr<std::string> MakeTempDir(const std::string& prefix);

}  // namespace tradecheck::testing

#endif  // TRADECHECK_COMMON_TESTING_TEMP_DIR_H_
