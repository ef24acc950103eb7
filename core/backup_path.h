// Directories a request may name on the server's machine: only under a
// root the operator set (--backup_root for backups, --candidates_root for
// previewed agreement data), by a name, never a path. The name is 1..100
// characters of [A-Za-z0-9._-], starts with a letter or digit and holds no
// "..", so it can name nothing but a directory directly inside the root.
#ifndef TRADECHECK_CORE_BACKUP_PATH_H_
#define TRADECHECK_CORE_BACKUP_PATH_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tradecheck {

inline constexpr size_t kMaxBackupNameBytes = 100;

// A directory a request names under a root the operator set with a flag:
// backups (--backup_root) and candidate agreement data for previews
// (--candidates_root).
struct NamedRoot {
  absl::string_view root;     // empty: the feature is off
  absl::string_view flag;     // "--backup_root", named in errors
  absl::string_view feature;  // "backups", in "backups are off ..."
};

// OK, or INVALID_ARGUMENT naming `field` and what is wrong with `name`.
absl::Status ValidateDirectoryName(const NamedRoot& root,
                                   absl::string_view field,
                                   absl::string_view name);

// root + "/" + name after ValidateDirectoryName. FAILED_PRECONDITION naming
// the flag when no root is configured (the feature is off).
absl::StatusOr<std::string> ResolveUnderRoot(const NamedRoot& root,
                                             absl::string_view field,
                                             absl::string_view name);

// ResolveUnderRoot for a new backup under --backup_root.
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
