// tradecheck_store_admin: the operator's view of a stopped audit store that
// the server refused to open (docs/storage.md, "No silent loss").
//
//   tradecheck_store_admin check --db=DIR [--tree_head_log=FILE]
//   tradecheck_store_admin accept-loss --db=DIR --reason=TEXT
//   tradecheck_store_admin rebuild-summaries --db=DIR
//
// `check` opens the store without the checks that made the server refuse
// it, then lists every problem: indexes, time keys and signed heads (the
// store's and the tree-head log's) that reach past the chain's head, a tree
// root that differs from a signed one, and the first record of each stream
// that VerifyTrail finds altered or missing; and the store's identity,
// epoch and every loss accepted so far. Exit code 0 when the store is
// whole, 3 when it is not, 1 when it cannot be read, 2 for bad usage.
//
// `accept-loss` is the explicit alternative to restoring a backup: the
// store goes on without what is missing. Nothing past the chain that is
// left is pointed at any more (a retry of a lost declaration is checked
// afresh), the epoch advances (decision ids from now on end in "-e<epoch>",
// so no id is given out twice; heads are signed with it) and the
// acceptance, with the reason and every problem found, is kept in the store
// (`check` lists it). A restored backup that is older than the tree-head
// log is a loss too: the server refuses it until it is accepted.
//
// `rebuild-summaries` rewrites the summary rows (what SummarizeDecisions
// reads) from the records, when `check` found rows that disagree with them.
// The records, the chain and the indexes are not touched.
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "storage/audit_store.h"

ABSL_FLAG(std::string, db, "", "Directory of the audit store (closed).");
ABSL_FLAG(std::string, reason, "",
          "accept-loss: why the loss is accepted (kept in the store).");
ABSL_FLAG(std::string, tree_head_log, "",
          "The tree-head log to check the store against; default "
          "<db>.tree-heads.log (the server's default) when it exists.");

namespace {

namespace storage = tradecheck::storage;
namespace v1 = tradecheck::v1;

int Usage(const std::string& why) {
  std::cerr << "tradecheck_store_admin: " << why
            << "\nusage: tradecheck_store_admin check --db=DIR "
               "[--tree_head_log=FILE]\n"
               "       tradecheck_store_admin accept-loss --db=DIR "
               "--reason=TEXT [--tree_head_log=FILE]\n"
               "       tradecheck_store_admin rebuild-summaries --db=DIR\n";
  return 2;
}

absl::StatusOr<std::unique_ptr<storage::AuditStore>> OpenUnchecked(
    const std::string& db, std::string* log) {
  storage::AuditStoreOptions options;
  options.path = db;
  options.check_at_open = false;
  options.tree_head_log = absl::GetFlag(FLAGS_tree_head_log);
  if (options.tree_head_log.empty()) {
    std::error_code ec;
    const std::string fallback = db + ".tree-heads.log";
    if (std::filesystem::exists(fallback, ec)) options.tree_head_log = fallback;
  }
  *log = options.tree_head_log;
  if (!std::filesystem::exists(std::filesystem::path(db) / "CURRENT")) {
    return absl::FailedPreconditionError(db + " holds no audit store");
  }
  return storage::AuditStore::Open(options);
}

int Check(const std::string& db) {
  std::string log;
  absl::StatusOr<std::unique_ptr<storage::AuditStore>> store =
      OpenUnchecked(db, &log);
  if (!store.ok()) {
    std::cerr << "tradecheck_store_admin: " << store.status() << "\n";
    return 1;
  }
  absl::StatusOr<std::vector<std::string>> problems =
      (*store)->CheckIntegrity(/*postings=*/true);
  if (!problems.ok()) {
    std::cerr << "tradecheck_store_admin: " << problems.status() << "\n";
    return 1;
  }
  for (const v1::TrailStream stream :
       {v1::TRAIL_STREAM_BINDING, v1::TRAIL_STREAM_VALIDATE_ONLY}) {
    absl::StatusOr<v1::VerifyTrailResponse> verify =
        (*store)->VerifyTrail(stream, 0, 0);
    if (!verify.ok()) {
      std::cerr << "tradecheck_store_admin: " << verify.status() << "\n";
      return 1;
    }
    if (!verify->ok()) {
      problems->push_back(absl::StrCat("record ",
                                       verify->first_bad_decision_id(), ": ",
                                       verify->problem()));
    }
  }
  const storage::AuditStoreStats stats = (*store)->Stats();
  absl::StatusOr<storage::StoreIdentity> identity = (*store)->Identity();
  if (identity.ok()) {
    std::cout << "store identity "
              << (identity->identity.empty()
                      ? std::string("(none yet)")
                      : absl::BytesToHexString(identity->identity))
              << ", epoch " << identity->epoch << "\n";
    for (const std::string& loss : identity->accepted_losses) {
      std::cout << "  " << loss << "\n";
    }
  }
  absl::Status closed = (*store)->Close();
  if (!closed.ok()) {
    std::cerr << "tradecheck_store_admin: " << closed << "\n";
    return 1;
  }
  if (problems->empty()) {
    std::cout << "ok: " << db << " is whole (" << stats.binding_head
              << " binding and " << stats.validate_only_head
              << " validate-only records, every index and signed head "
                 "within them"
              << (log.empty() ? ""
                              : ", the tree-head log " + log + " included")
              << ")\n";
    return 0;
  }
  std::cout << db << " has " << problems->size() << " problem(s):\n";
  for (const std::string& problem : *problems) {
    std::cout << "  - " << problem << "\n";
  }
  std::cout << "Choices: restore the newest backup that passes this check "
               "(docs/storage.md, \"Backup and restore\"), keeping this "
               "directory for investigation; or go on without what is "
               "missing: tradecheck_store_admin accept-loss --db="
            << db << " --reason=TEXT (kept in the store).\n";
  return 3;
}

int AcceptLoss(const std::string& db) {
  const std::string reason = absl::GetFlag(FLAGS_reason);
  if (reason.empty()) return Usage("accept-loss needs --reason=TEXT");
  std::string log;
  absl::StatusOr<std::unique_ptr<storage::AuditStore>> store =
      OpenUnchecked(db, &log);
  if (!store.ok()) {
    std::cerr << "tradecheck_store_admin: " << store.status() << "\n";
    return 1;
  }
  absl::StatusOr<std::string> accepted = (*store)->AcceptLoss(reason);
  absl::Status closed = (*store)->Close();
  if (!accepted.ok()) {
    std::cerr << "tradecheck_store_admin: " << accepted.status() << "\n";
    return 1;
  }
  if (!closed.ok()) {
    std::cerr << "tradecheck_store_admin: " << closed << "\n";
    return 1;
  }
  std::cout << *accepted << "\n";
  return 0;
}

int RebuildSummaries(const std::string& db) {
  std::string log;
  absl::StatusOr<std::unique_ptr<storage::AuditStore>> store =
      OpenUnchecked(db, &log);
  if (!store.ok()) {
    std::cerr << "tradecheck_store_admin: " << store.status() << "\n";
    return 1;
  }
  absl::Status rebuilt = (*store)->RebuildSummaryRows();
  absl::Status closed = (*store)->Close();
  if (!rebuilt.ok() || !closed.ok()) {
    std::cerr << "tradecheck_store_admin: "
              << (rebuilt.ok() ? closed : rebuilt) << "\n";
    return 1;
  }
  std::cout << "summary rows rewritten from the records of " << db << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() != 2) return Usage("one command is needed");
  const std::string command = args[1];
  const std::string db = absl::GetFlag(FLAGS_db);
  if (db.empty()) return Usage("--db is required");
  if (command == "check") return Check(db);
  if (command == "accept-loss") return AcceptLoss(db);
  if (command == "rebuild-summaries") return RebuildSummaries(db);
  return Usage("unknown command " + command);
}
