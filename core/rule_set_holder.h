// RuleSetHolder: the rule set in force, and the ones decisions were made
// with. Checks take a std::shared_ptr<const RuleSet> snapshot and keep it to
// the end, so a reload (which validates the new files first and then swaps
// the pointer) never changes a check half way. Every revision ever put in
// force is also kept in the audit store, so a decision can be re-evaluated
// under the exact data it was made with, even after a restart.
//
// Thread-safe.
#ifndef TRADECHECK_CORE_RULE_SET_HOLDER_H_
#define TRADECHECK_CORE_RULE_SET_HOLDER_H_

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "rules/rule_set.h"
#include "storage/audit_store.h"

namespace tradecheck {

class RuleSetHolder {
 public:
  // Loads `agreements_dir` (refusing invalid data with file, line and
  // reason) and records its sources in `store`. `store` and `clock` are not
  // owned and must outlive the holder.
  static absl::StatusOr<std::unique_ptr<RuleSetHolder>> Create(
      std::string agreements_dir, storage::AuditStore* store,
      const Clock* clock);

  std::shared_ptr<const rules::RuleSet> Current() const;
  // Revision, counts, files and when it was loaded.
  v1::RuleSetInfo CurrentInfo() const;

  struct ReloadResult {
    std::string previous_revision;
    // The set in force before this reload (== current when !changed).
    std::shared_ptr<const rules::RuleSet> previous;
    std::shared_ptr<const rules::RuleSet> current;
    // When the new set was swapped in (changed only).
    absl::Time activated_at;
    // What is in force after this reload, read under the reload lock (a
    // concurrent reload cannot mix its answer into this one).
    v1::RuleSetInfo info;
    bool changed = false;
  };
  // Re-reads the directory. On invalid data returns the loader's error and
  // keeps the set in force. Blocking (file and store I/O).
  absl::StatusOr<ReloadResult> Reload();

  // The rule set of `revision`: the current one, a cached one, or one
  // rebuilt from the sources kept in the store. FAILED_PRECONDITION when the
  // store has no sources for it. Blocking.
  absl::StatusOr<std::shared_ptr<const rules::RuleSet>> ForRevision(
      const std::string& revision);

 private:
  RuleSetHolder(std::string dir, storage::AuditStore* store,
                const Clock* clock)
      : dir_(std::move(dir)), store_(store), clock_(clock) {}

  const std::string dir_;
  storage::AuditStore* const store_;
  const Clock* const clock_;
  absl::Mutex reload_mu_;  // serialises Reload(); never held by checks
  mutable absl::Mutex mu_;
  std::shared_ptr<const rules::RuleSet> current_ ABSL_GUARDED_BY(mu_);
  absl::Time loaded_at_ ABSL_GUARDED_BY(mu_);
  // Older revisions rebuilt for re-evaluation. Small: one entry per
  // revision an auditor asked about.
  std::map<std::string, std::shared_ptr<const rules::RuleSet>> by_revision_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace tradecheck

#endif  // TRADECHECK_CORE_RULE_SET_HOLDER_H_
