// What a tradecheck binary is: the project version (CMake's project
// VERSION), the git commit it was built from and the build type. Every
// binary's --version prints VersionText().
//
//   std::cout << tradecheck::VersionText("tradecheck_server");
//   // tradecheck_server 0.9.0 (commit 98f5a9b1c2d3, RelWithDebInfo build)
#ifndef TRADECHECK_COMMON_BUILD_INFO_H_
#define TRADECHECK_COMMON_BUILD_INFO_H_

#include <string>

#include "absl/strings/string_view.h"

namespace tradecheck {

struct BuildInfo {
  const char* version;     // "0.9.0"
  const char* git_commit;  // 12 hex digits, "-dirty" when the tree had
                           // uncommitted changes, "unknown" outside git
  const char* build_type;  // CMAKE_BUILD_TYPE, e.g. "RelWithDebInfo"
};

const BuildInfo& GetBuildInfo();

// "<program> <version> (commit <commit>, <build type> build)\n".
std::string VersionText(absl::string_view program);

}  // namespace tradecheck

#endif  // TRADECHECK_COMMON_BUILD_INFO_H_
