#include "common/testing/temp_dir.h"

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace tradecheck::testing {
namespace {

struct ScratchRegistry {
  std::mutex mu;
  std::vector<std::string> dirs;
};

ScratchRegistry& Registry() {
  static ScratchRegistry* registry = new ScratchRegistry;
  return *registry;
}

void RemoveScratchDirs() {
  const char* keep = getenv("TC_KEEP_TEST_DIRS");
  if (keep != nullptr && std::string(keep) == "1") return;
  ScratchRegistry& registry = Registry();
  std::lock_guard<std::mutex> lock(registry.mu);
  for (const std::string& dir : registry.dirs) {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
  registry.dirs.clear();
}

void Register(const std::string& dir) {
  static const bool installed = [] {
    std::atexit(RemoveScratchDirs);
    return true;
  }();
  (void)installed;
  ScratchRegistry& registry = Registry();
  std::lock_guard<std::mutex> lock(registry.mu);
  registry.dirs.push_back(dir);
}

}  // namespace

absl::StatusOr<std::string> MakeTempDir(const std::string& prefix) {
  const char* base = getenv("TEST_TMPDIR");
  std::string pattern = absl::StrCat(
      base != nullptr && *base ? base : "/tmp", "/", prefix, "-XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("mkdtemp ", pattern, " failed"));
  }
  Register(pattern);
  return pattern;
}

}  // namespace tradecheck::testing
