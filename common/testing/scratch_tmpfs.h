// A small tmpfs mounted on a fresh scratch directory, for tests of what
// happens when a filesystem fills up: a store on it sees the free space
// fall below its reserve when the test fills it, and come back when the
// test removes the filler. Mounting needs root or CAP_SYS_ADMIN; Mount says
// why when it cannot, so the caller can skip.
//
//   auto fs = ScratchTmpfs::Mount(64);
//   if (!fs.ok()) GTEST_SKIP() << fs.status();
//   ... store in (*fs)->path() ...
//   TC_ASSERT_OK((*fs)->Fill(8 << 20));  // about 8 MiB left
//   (*fs)->Unfill();
#ifndef TRADECHECK_COMMON_TESTING_SCRATCH_TMPFS_H_
#define TRADECHECK_COMMON_TESTING_SCRATCH_TMPFS_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tradecheck::testing {

class ScratchTmpfs {
 public:
  // FAILED_PRECONDITION naming the reason when it cannot be mounted.
  static absl::StatusOr<std::unique_ptr<ScratchTmpfs>> Mount(int size_mib);
  ScratchTmpfs(const ScratchTmpfs&) = delete;
  ScratchTmpfs& operator=(const ScratchTmpfs&) = delete;
  // Unmounts (lazily, so a store still open does not keep it) and removes
  // the directory.
  ~ScratchTmpfs();

  const std::string& path() const { return path_; }
  uint64_t FreeBytes() const;
  // Writes one filler file until no more than about `leave` bytes are free.
  absl::Status Fill(uint64_t leave);
  // Removes the filler.
  void Unfill();

 private:
  explicit ScratchTmpfs(std::string path) : path_(std::move(path)) {}
  const std::string path_;
};

}  // namespace tradecheck::testing

#endif  // TRADECHECK_COMMON_TESTING_SCRATCH_TMPFS_H_
