#include "common/testing/scratch_tmpfs.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/testing/temp_dir.h"

namespace tradecheck::testing {

absl::StatusOr<std::unique_ptr<ScratchTmpfs>> ScratchTmpfs::Mount(
    int size_mib) {
  absl::StatusOr<std::string> dir = MakeTempDir("tmpfs");
  if (!dir.ok()) return dir.status();
  const std::string size = absl::StrCat("size=", size_mib, "m");
  if (mount("tmpfs", dir->c_str(), "tmpfs", 0, size.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::filesystem::remove(*dir);
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot mount a tmpfs here (", why,
        "): filling a filesystem needs root or CAP_SYS_ADMIN"));
  }
  return std::unique_ptr<ScratchTmpfs>(new ScratchTmpfs(*std::move(dir)));
}

ScratchTmpfs::~ScratchTmpfs() {
  umount2(path_.c_str(), MNT_DETACH);
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

uint64_t ScratchTmpfs::FreeBytes() const {
  struct statvfs fs;
  if (statvfs(path_.c_str(), &fs) != 0) return 0;
  return static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
}

absl::Status ScratchTmpfs::Fill(uint64_t leave) {
  const std::string filler = path_ + "/filler";
  const int fd = open(filler.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (fd < 0) {
    return absl::InternalError(
        absl::StrCat("cannot create ", filler, ": ", std::strerror(errno)));
  }
  const std::string chunk(64 * 1024, 'x');
  absl::Status status;
  while (FreeBytes() > leave + chunk.size()) {
    if (write(fd, chunk.data(), chunk.size()) !=
        static_cast<ssize_t>(chunk.size())) {
      status = absl::InternalError(
          absl::StrCat("cannot fill ", filler, ": ", std::strerror(errno)));
      break;
    }
  }
  close(fd);
  return status;
}

void ScratchTmpfs::Unfill() {
  std::error_code ignored;
  std::filesystem::remove(path_ + "/filler", ignored);
}

}  // namespace tradecheck::testing
