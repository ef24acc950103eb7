#include "common/install_paths.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace tradecheck {

absl::StatusOr<std::string> BinaryDir() {
  std::error_code error;
  const std::filesystem::path exe =
      std::filesystem::read_symlink("/proc/self/exe", error);
  if (error) {
    return absl::InternalError(absl::StrCat(
        "cannot find the running binary (/proc/self/exe): ", error.message()));
  }
  return exe.parent_path().string();
}

absl::StatusOr<std::string> DefaultAgreementsDir() {
  absl::StatusOr<std::string> bin = BinaryDir();
  if (!bin.ok()) return bin.status();
  const std::filesystem::path dir =
      (std::filesystem::path(*bin) / ".." / "share" / "tradecheck" /
       "agreements")
          .lexically_normal();
  std::error_code error;
  if (!std::filesystem::is_directory(dir, error)) {
    return absl::NotFoundError(absl::StrCat(
        "no agreement data at ", dir.string(),
        " (../share/tradecheck/agreements from the binary); pass "
        "--agreements_dir"));
  }
  return dir.string();
}

}  // namespace tradecheck
