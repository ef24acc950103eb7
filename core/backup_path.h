// Where a backup may go: only under the backup root the operator set
// (--backup_root), under a name the request gives, never a path. The name
// is 1..100 characters of [A-Za-z0-9._-], starts with a letter or digit and
// holds no "..", so it can name nothing but a new directory directly inside
// the root.
#ifndef TRADECHECK_CORE_BACKUP_PATH_H_
#define TRADECHECK_CORE_BACKUP_PATH_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tradecheck {

inline constexpr size_t kMaxBackupNameBytes = 100;

// OK, or INVALID_ARGUMENT naming `field` and what is wrong with `name`.
absl::Status ValidateBackupName(absl::string_view field, absl::string_view name);

// root + "/" + name after ValidateBackupName. FAILED_PRECONDITION when no
// root is configured (backups are off).
absl::StatusOr<std::string> ResolveBackupPath(absl::string_view root,
                                              absl::string_view field,
                                              absl::string_view name);

// Creates `root` (mode 0700) when missing. FAILED_PRECONDITION when it is
// not a directory or cannot be created, or lies inside `data_dir` (a backup
// inside the live store would be copied into later backups and shares its
// fate on a lost disk).
absl::Status PrepareBackupRoot(const std::string& root,
                               const std::string& data_dir);

// chmod 0700 on `dir` and its subdirectories, 0600 on every file in them:
// a backup holds every declaration and the page-token signing key.
absl::Status RestrictToOwner(const std::string& dir);

}  // namespace tradecheck

#endif  // TRADECHECK_CORE_BACKUP_PATH_H_
