#include "common/build_info.h"

#include "absl/strings/str_cat.h"
#include "build_info_values.h"  // generated: TC_GIT_COMMIT

namespace tradecheck {

const BuildInfo& GetBuildInfo() {
  static const BuildInfo info{TC_VERSION, TC_GIT_COMMIT, TC_BUILD_TYPE};
  return info;
}

std::string VersionText(absl::string_view program) {
  const BuildInfo& info = GetBuildInfo();
  return absl::StrCat(program, " ", info.version, " (commit ", info.git_commit,
                      ", ", info.build_type, " build)\n");
}

}  // namespace tradecheck
