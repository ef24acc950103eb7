#include "server/tree_head_key.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/files.h"

namespace tradecheck::server {
namespace {

namespace fs = std::filesystem;

std::string Canonical(const std::string& path) {
  std::error_code ec;
  fs::path p = fs::weakly_canonical(fs::absolute(path, ec), ec);
  return p.lexically_normal().string();
}

bool IsInside(const std::string& path, const std::string& dir) {
  std::string d = Canonical(dir);
  while (d.size() > 1 && d.back() == '/') d.pop_back();
  const std::string p = Canonical(path);
  return p == d || absl::StartsWith(p, d + "/");
}

absl::Status WriteNewFile(const std::string& path, const std::string& data,
                          mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, mode);
  if (fd < 0) return absl::FailedPreconditionError(absl::StrCat("cannot create ", path));
  const bool ok = ::write(fd, data.data(), data.size()) ==
                      static_cast<ssize_t>(data.size()) &&
                  ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TreeHeadSetup> SetUpTreeHeads(const std::string& data_dir,
                                             const std::string& key_flag,
                                             const std::string& log_flag) {
  std::string base(absl::StripSuffix(data_dir, "/"));
  TreeHeadSetup setup;
  setup.key_path = key_flag.empty() ? base + ".tree-head-key.pem" : key_flag;
  setup.public_key_path = setup.key_path + ".pub";
  setup.log_path = log_flag.empty() ? base + ".tree-heads.log" : log_flag;
  if (IsInside(setup.key_path, data_dir)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--tree_head_key: ", setup.key_path,
        " is inside --data_dir; keep the signing key outside the store, so "
        "a copy of the store does not carry it"));
  }
  if (IsInside(setup.log_path, data_dir)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--tree_head_log: ", setup.log_path,
        " is inside --data_dir; the witness log must live outside the store"));
  }
  std::error_code ec;
  if (!fs::exists(setup.key_path, ec)) {
    if (!key_flag.empty()) {
      return absl::NotFoundError(absl::StrCat(
          "--tree_head_key: ", key_flag,
          " does not exist; make one with `openssl genpkey -algorithm "
          "ed25519 -out ",
          key_flag, "`"));
    }
    const std::string pem = TreeHeadSigner::GeneratePrivateKeyPem();
    absl::Status s = WriteNewFile(setup.key_path, pem, 0600);
    if (!s.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("--tree_head_key: ", s.message()));
    }
    setup.generated = true;
  }
  absl::StatusOr<std::string> pem = ReadFileToString(setup.key_path);
  if (!pem.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("--tree_head_key: ", pem.status().message()));
  }
  auto signer = TreeHeadSigner::FromPrivateKeyPem(*pem);
  if (!signer.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--tree_head_key: ", setup.key_path, ": ", signer.status().message()));
  }
  const std::string public_pem = (*signer)->PublicKeyPem();
  absl::StatusOr<std::string> existing = ReadFileToString(setup.public_key_path);
  if (!existing.ok() || *existing != public_pem) {
    std::ofstream out(setup.public_key_path, std::ios::trunc);
    out << public_pem;
    if (!out.good()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot write the public key to ", setup.public_key_path));
    }
  }
  setup.signer = std::move(*signer);
  return setup;
}

}  // namespace tradecheck::server
