#include "core/backup_path.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/errors.h"

namespace tradecheck {
namespace fs = std::filesystem;

absl::Status ValidateDirectoryName(const NamedRoot& root,
                                   absl::string_view field,
                                   absl::string_view name) {
  if (name.empty()) {
    return InvalidField(field, absl::StrCat("is required: the name of a "
                                            "directory under the server's ",
                                            root.flag));
  }
  if (name.size() > kMaxBackupNameBytes) {
    return InvalidField(field, absl::StrCat("is ", name.size(),
                                            " bytes; at most ",
                                            kMaxBackupNameBytes));
  }
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) {
      return InvalidField(field, absl::StrCat(QuoteValue(name),
                                              " holds a control character"));
    }
    if (c == '/' || c == '\\') {
      return InvalidField(
          field, absl::StrCat(QuoteValue(name),
                              " holds a path separator: give a name, not a "
                              "path (the server looks under its ",
                              root.flag, ")"));
    }
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) {
      return InvalidField(field,
                          absl::StrCat(QuoteValue(name),
                                       " may hold only A-Z a-z 0-9 . _ -"));
    }
  }
  if (absl::StrContains(name, "..")) {
    return InvalidField(field, absl::StrCat(QuoteValue(name),
                                            " holds \"..\""));
  }
  const char first = name.front();
  if (first == '.' || first == '-' || first == '_') {
    return InvalidField(field, absl::StrCat(QuoteValue(name),
                                            " must start with a letter or a "
                                            "digit"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ResolveUnderRoot(const NamedRoot& root,
                                             absl::string_view field,
                                             absl::string_view name) {
  if (root.root.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(root.feature, " are off on this server: its operator ",
                     "must start it with ", root.flag, "=DIR"));
  }
  if (absl::Status valid = ValidateDirectoryName(root, field, name);
      !valid.ok()) {
    return valid;
  }
  return absl::StrCat(root.root, "/", name);
}

absl::StatusOr<std::string> ResolveBackupPath(absl::string_view root,
                                              absl::string_view field,
                                              absl::string_view name) {
  return ResolveUnderRoot({root, "--backup_root", "backups"}, field, name);
}

absl::Status PrepareBackupRoot(const std::string& root,
                               const std::string& data_dir) {
  std::error_code ec;
  // Refused before anything is created: a root inside the live store is
  // never made.
  const fs::path r = fs::weakly_canonical(root, ec);
  const fs::path d = fs::weakly_canonical(data_dir, ec);
  if (!d.empty()) {
    auto [end, _] = std::mismatch(d.begin(), d.end(), r.begin(), r.end());
    if (end == d.end()) {
      return absl::FailedPreconditionError(
          absl::StrCat("--backup_root ", root, " lies inside --data_dir ",
                       data_dir, "; put backups outside the live store"));
    }
  }
  if (!fs::exists(root, ec)) {
    fs::create_directories(root, ec);
    if (ec) {
      return absl::FailedPreconditionError(absl::StrCat(
          "--backup_root ", root, " cannot be created: ", ec.message()));
    }
    ::chmod(root.c_str(), 0700);
  }
  if (!fs::is_directory(root, ec)) {
    return absl::FailedPreconditionError(
        absl::StrCat("--backup_root ", root, " is not a directory"));
  }
  return absl::OkStatus();
}

absl::Status RestrictToOwner(const std::string& dir) {
  std::error_code ec;
  if (::chmod(dir.c_str(), 0700) != 0) {
    return absl::InternalError(absl::StrCat("cannot chmod ", dir));
  }
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const bool is_dir = it->is_directory(ec);
    if (::chmod(it->path().c_str(), is_dir ? 0700 : 0600) != 0) {
      return absl::InternalError(
          absl::StrCat("cannot chmod ", it->path().string()));
    }
  }
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot walk ", dir, ": ", ec.message()));
  }
  return absl::OkStatus();
}

}  // namespace tradecheck
