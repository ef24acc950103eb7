// TradecheckCore: everything the service does, without gRPC. Each public
// method is one RPC of the v1 API, takes the request message and answers
// through a callback with absl::StatusOr<response>; the server's handlers
// only forward (tensorflow/serving style thin handlers).
//
// Threading: methods never block the calling thread. Checks validate and
// evaluate on the caller's thread (microseconds) and hand the record to the
// store's group-commit writer; once the record is durable the callback runs
// on one of the core's completion threads. Everything that touches the disk otherwise (audit
// reads, verification, backups, reloads) runs on the core's own worker
// pool. Callbacks must not block.
//
// Errors carry google.rpc details as absl::Status payloads (core/errors.h).
#ifndef TRADECHECK_CORE_TRADECHECK_CORE_H_
#define TRADECHECK_CORE_TRADECHECK_CORE_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "common/executor.h"
#include "core/access.h"
#include "core/access_policy.h"
#include "core/call_limiter.h"
#include "core/rule_set_holder.h"
#include "storage/audit_store.h"
#include "tradecheck/v1/admin_service.pb.h"
#include "tradecheck/v1/agreement_service.pb.h"
#include "common/tree_head.h"
#include "tradecheck/v1/audit_service.pb.h"
#include "tradecheck/v1/compliance_service.pb.h"

namespace tradecheck {

// Default of CoreOptions::retroactive_impact_limit (--retroactive_impact_limit).
inline constexpr int64_t kDefaultRetroactiveImpactLimit = 10000;

struct CoreOptions {
  // Directory of agreement data files (see agreements/).
  std::string agreements_dir;
  // Directory of the audit store; created when missing.
  std::string data_dir;
  // Not owned; must outlive the core.
  const Clock* clock = RealClock::Get();
  // Worker threads for blocking work.
  int worker_threads = 2;
  // Threads that answer checks once their records are durable.
  int completion_threads = 2;
  // Largest group commit.
  int max_batch = 512;
  // Signs a tree head after each group commit; null: no heads (see
  // storage::AuditStoreOptions). tree_head_log: the witness file.
  std::shared_ptr<const TreeHeadSigner> tree_head_signer;
  std::string tree_head_log;
  // Told about each durable group commit (storage::AuditStoreOptions).
  std::function<void(const storage::CommitObservation&)> on_commit;
  // RocksDB's warnings and errors (storage::AuditStoreOptions::log).
  std::function<void(bool error, const std::string& message)> store_log;
  // Free space to keep on the store's filesystem: below it, checks answer
  // UNAVAILABLE with a RetryInfo instead of writing (see
  // storage::AuditStoreOptions::min_free_bytes). 0: no reserve.
  uint64_t min_free_disk_bytes = 0;
  // The access policy file (core/access_policy.h); empty when the server
  // runs plaintext on loopback and every caller is Caller::Local().
  std::string access_policy_path;
  // Backups go only into new directories directly under this one; empty
  // turns CreateBackup off (FAILED_PRECONDITION).
  std::string backup_root;
  // PreviewRuleSet reads candidate agreement data only from directories
  // directly under this one, by name; empty turns previews off
  // (FAILED_PRECONDITION). A caller never names a path on the machine.
  std::string candidates_root;
  // Expensive calls (VerifyTrail, CreateBackup) running at once; more are
  // refused with RESOURCE_EXHAUSTED. Must be below worker_threads, so a
  // worker is always left for reads.
  int max_expensive_calls = 1;
  // When set, the limiter to use (tests hold its slots); otherwise one of
  // max_expensive_calls slots is made.
  std::shared_ptr<CallLimiter> expensive_calls;
  // Where denied attempts are logged, one line each; stderr when empty.
  AccessLog access_log;
  // Past binding decisions a reload that changes the revision evaluates
  // for its retroactive-impact record (newest first); the record says when
  // this bound cut the walk short. 0 writes no records.
  int64_t retroactive_impact_limit = kDefaultRetroactiveImpactLimit;
  // BENCHMARKS ONLY: answer checks with the verdict but record nothing (no
  // trail, no decision id, no quota drawn), to show the store's share of a
  // check's cost. No flag of tradecheck_server sets it; only the
  // benchmark-only binary bench/ builds (tradecheck_server_no_store) does.
  bool benchmark_skip_store = false;
};

template <typename T>
using Callback = std::function<void(absl::StatusOr<T>)>;

// Receives each changed verdict of a preview, on a worker thread; returns
// false to stop the preview (the caller went away).
using PreviewSink = std::function<bool(v1::PreviewChange)>;

// Decisions a preview evaluates when the request sets no limit, and at most.
inline constexpr int kDefaultPreviewDecisions = 10000;
inline constexpr int kMaxPreviewDecisions = 100000;

class TradecheckCore {
 public:
  // Opens the store and loads the rules. Fails, naming the file, line and
  // problem, on invalid agreement data; and clearly on an unusable data
  // directory.
  static absl::StatusOr<std::unique_ptr<TradecheckCore>> Create(
      const CoreOptions& options);
  ~TradecheckCore();

  // Every RPC method takes the Caller the server resolved from the client
  // certificate (ResolveCaller) and answers UNAUTHENTICATED /
  // PERMISSION_DENIED per core/access.h before doing anything; a record the
  // caller may not read is NOT_FOUND, like an unknown id. Denials are
  // logged (CoreOptions::access_log). The overloads without a Caller act as
  // Caller::Local(): for in-process tools and tests, never for RPCs.

  // The caller an authenticated identity is under the access policy in
  // force (role UNSPECIFIED when the policy does not name it); with no
  // policy (loopback plaintext), Caller::Local().
  Caller ResolveCaller(absl::string_view identity) const;
  // Re-reads the access policy file (SIGHUP); on error the policy in force
  // stays. Returns the number of grants in force. Blocking (file read).
  absl::StatusOr<int> ReloadAccessPolicy();
  bool has_access_policy() const { return access_policy_ != nullptr; }

  // ComplianceService.CheckDeclaration. The caller's identity and role are
  // recorded in the trail. Binding checks need CHECK_BINDING, dry runs
  // CHECK_DRY_RUN; an exporter may dry-run only declarations whose
  // exporter_id is in its scope.
  void CheckDeclaration(const Caller& caller,
                        const v1::CheckDeclarationRequest& request,
                        Callback<v1::CheckDeclarationResponse> done);
  void CheckDeclaration(const v1::CheckDeclarationRequest& request,
                        const std::string& caller,
                        Callback<v1::CheckDeclarationResponse> done);
  // The same check, answered with the CheckDeclarationResponse's wire bytes
  // for a server that sends them as they are: the verdict's bytes are the
  // audit record's as the store wrote them, with the record hash added
  // (response_bytes.h), so a check serializes its verdict once instead of
  // once for the record and again for the answer. Same errors.
  void CheckDeclarationWire(const Caller& caller,
                            const v1::CheckDeclarationRequest& request,
                            Callback<std::string> done);
  // OK when the caller may make checks of some kind: batches and streams
  // are refused as a whole otherwise (each item is still authorized).
  absl::Status AuthorizeAnyCheck(const Caller& caller) const;

  // AuditService. Reads are record-level (CanRead): an exporter's listing
  // is forced to its scope (filter.exporter_id must be one of its ids, and
  // is taken as its only id when empty), a customs caller's listing holds
  // only the records it submitted (pages may then hold fewer records than
  // asked, still with a next_page_token).
  void GetDecision(const Caller& caller, const v1::GetDecisionRequest& request,
                   Callback<v1::Decision> done);
  void ListDecisions(const Caller& caller,
                     const v1::ListDecisionsRequest& request,
                     Callback<v1::ListDecisionsResponse> done);
  void ReevaluateDecision(const Caller& caller,
                          const v1::ReevaluateDecisionRequest& request,
                          Callback<v1::ReevaluateDecisionResponse> done);
  // Counts and duty totals over a filter (SUMMARIZE); an expensive call.
  void SummarizeDecisions(const Caller& caller,
                          const v1::SummarizeDecisionsRequest& request,
                          Callback<v1::SummarizeDecisionsResponse> done);
  // Retroactive-impact records (READ_IMPACTS: customs, auditors, LOCAL).
  void ListRetroactiveImpacts(const Caller& caller,
                              const v1::ListRetroactiveImpactsRequest& request,
                              Callback<v1::ListRetroactiveImpactsResponse> done);
  void GetRetroactiveImpact(const Caller& caller,
                            const v1::GetRetroactiveImpactRequest& request,
                            Callback<v1::GetRetroactiveImpactResponse> done);
  // An expensive call: RESOURCE_EXHAUSTED while max_expensive_calls run.
  void VerifyTrail(const Caller& caller, const v1::VerifyTrailRequest& request,
                   Callback<v1::VerifyTrailResponse> done);
  // The verifiable log (RFC 9162): signed tree heads and Merkle proofs.
  // Each needs READ_DECISIONS; an inclusion proof also needs the record to
  // be readable by the caller (NOT_FOUND otherwise, like an unknown id).
  void GetSignedTreeHead(const Caller& caller,
                         const v1::GetSignedTreeHeadRequest& request,
                         Callback<v1::SignedTreeHead> done);
  void GetInclusionProof(const Caller& caller,
                         const v1::GetInclusionProofRequest& request,
                         Callback<v1::GetInclusionProofResponse> done);
  void GetConsistencyProof(const Caller& caller,
                           const v1::GetConsistencyProofRequest& request,
                           Callback<v1::GetConsistencyProofResponse> done);
  void GetSignedTreeHead(const v1::GetSignedTreeHeadRequest& request,
                         Callback<v1::SignedTreeHead> done) {
    GetSignedTreeHead(Caller::Local(), request, std::move(done));
  }
  void GetInclusionProof(const v1::GetInclusionProofRequest& request,
                         Callback<v1::GetInclusionProofResponse> done) {
    GetInclusionProof(Caller::Local(), request, std::move(done));
  }
  void GetConsistencyProof(const v1::GetConsistencyProofRequest& request,
                           Callback<v1::GetConsistencyProofResponse> done) {
    GetConsistencyProof(Caller::Local(), request, std::move(done));
  }
  void GetDecision(const v1::GetDecisionRequest& request,
                   Callback<v1::Decision> done) {
    GetDecision(Caller::Local(), request, std::move(done));
  }
  void ListDecisions(const v1::ListDecisionsRequest& request,
                     Callback<v1::ListDecisionsResponse> done) {
    ListDecisions(Caller::Local(), request, std::move(done));
  }
  void ReevaluateDecision(const v1::ReevaluateDecisionRequest& request,
                          Callback<v1::ReevaluateDecisionResponse> done) {
    ReevaluateDecision(Caller::Local(), request, std::move(done));
  }
  void VerifyTrail(const v1::VerifyTrailRequest& request,
                   Callback<v1::VerifyTrailResponse> done) {
    VerifyTrail(Caller::Local(), request, std::move(done));
  }

  // AgreementService (in memory; answers on the calling thread).
  absl::StatusOr<v1::ListInstrumentsResponse> ListInstruments(
      const v1::ListInstrumentsRequest& request) const;
  absl::StatusOr<v1::Instrument> GetInstrument(
      const v1::GetInstrumentRequest& request) const;
  v1::RuleSetInfo GetRuleSet() const;
  // Instruments of the rule set in force whose confirmation review is due
  // today or earlier, described for an operator's log.
  std::vector<std::string> InstrumentsPastReview() const;

  // AgreementService with a caller: READ_AGREEMENTS (every role).
  absl::StatusOr<v1::ListInstrumentsResponse> ListInstruments(
      const Caller& caller, const v1::ListInstrumentsRequest& request) const;
  absl::StatusOr<v1::Instrument> GetInstrument(
      const Caller& caller, const v1::GetInstrumentRequest& request) const;
  absl::StatusOr<v1::RuleSetInfo> GetRuleSet(const Caller& caller) const;
  // AgreementService.LookupMeasures (READ_AGREEMENTS): the measures of the
  // rule set in force for a product from a country on a date
  // (rules/lookup.h). INVALID_ARGUMENT names each bad field. In memory.
  absl::StatusOr<v1::LookupMeasuresResponse> LookupMeasures(
      const Caller& caller, const v1::LookupMeasuresRequest& request) const;

  // AdminService.ReloadRuleSet (RELOAD_RULE_SET; SIGHUP as Caller::Local()).
  // When the revision changes, then evaluates the past binding decisions
  // (v1.RetroactiveImpact says which) under the previous and the new set on
  // the same worker, up to retroactive_impact_limit, and stores a
  // retroactive-impact record when a verdict differs or the limit cut the
  // walk short; `done` gets the response naming it. Checks are never held
  // up: they take the new set at once and do not use the workers.
  // Every activation is accounted for in the store in the order the
  // revisions came into force: the store keeps the revision whose
  // activation was accounted for last (its active revision), and a reload
  // first accounts for the activation of the set in force when the store
  // has not (the start's walk, or an earlier reload's, could not write its
  // record, or has not run yet): that walk runs from the kept revision, at
  // the time and under the caller of that activation, and the response
  // names its record (earlier_retroactive_impact_id). When that cannot be
  // recorded now either, the reload is refused with its error and the set
  // in force stays: no activation is ever left out of the records.
  // At start: when the store's active revision differs from the one loaded
  // now, the agreement files changed while the server was down: the past
  // is compared under both and a retroactive-impact record written, as a
  // reload would, activated by "server start" (LOCAL), on a worker (checks
  // do not wait). `done` gets the response a reload would (changed false
  // when there was nothing to account for, e.g. a reload came first and
  // accounted for it). A walk that cannot write its record leaves the kept
  // revision as it was (retroactive_impact_error says why).
  void RecordImpactSinceLastRun(Callback<v1::ReloadRuleSetResponse> done);
  void ReloadRuleSet(const Caller& caller,
                     Callback<v1::ReloadRuleSetResponse> done);
  // CreateBackup: request.directory is a name (core/backup_path.h), the
  // backup goes to backup_root/name, owner-only. An expensive call.
  void CreateBackup(const Caller& caller,
                    const v1::CreateBackupRequest& request,
                    Callback<v1::CreateBackupResponse> done);
  absl::StatusOr<v1::GetStoreStatsResponse> GetStoreStats(
      const Caller& caller) const;
  // PreviewRuleSet (PREVIEW_RULE_SET): loads the directory named by
  // request.agreements_dir under candidates_root as a reload would, without activating it, and evaluates the binding
  // decisions of the range under it and under the rule set in force, newest
  // first, up to the limit. Each decision whose verdict differs goes to
  // `emit`; `done` gets the totals (or the error) last. An expensive call on
  // the worker pool: RESOURCE_EXHAUSTED while max_expensive_calls run.
  void PreviewRuleSet(const Caller& caller,
                      const v1::PreviewRuleSetRequest& request,
                      PreviewSink emit, Callback<v1::PreviewTotals> done);
  void ReloadRuleSet(Callback<v1::ReloadRuleSetResponse> done) {
    ReloadRuleSet(Caller::Local(), std::move(done));
  }
  void CreateBackup(const v1::CreateBackupRequest& request,
                    Callback<v1::CreateBackupResponse> done) {
    CreateBackup(Caller::Local(), request, std::move(done));
  }
  // Counters only (no I/O); answers on the calling thread.
  v1::GetStoreStatsResponse GetStoreStats() const;
  // Where the retroactive-impact accounting stands, for the metrics.
  struct ImpactAccounting {
    // The store's active revision is not the one in force: its activation's
    // walk is running, or could not write its record and waits for a retry
    // (the next reload or start), or the active revision cannot be read.
    bool pending = false;
    // Since the start: activations whose record could not be written, and
    // those whose impact cannot be computed (their earlier revision cannot
    // be rebuilt from the store; accounted for without a record).
    uint64_t not_recorded = 0;
    uint64_t uncomputable = 0;
  };
  // One read of the store's meta family.
  ImpactAccounting GetImpactAccounting() const;
  // False while the store cannot write (free space below the reserve, an
  // I/O error not yet recovered, or opened read-only): health reports
  // NOT_SERVING, checks answer UNAVAILABLE, reads go on. Cheap (a statvfs).
  bool StoreWritable() const;

  // Finishes pending work and closes the store; returns the store's close
  // status. Later checks fail UNAVAILABLE. REQUIRES: no RPC is running (the
  // server has been shut down); called from one thread.
  absl::Status Shutdown();

 private:
  TradecheckCore(const CoreOptions& options,
                 std::unique_ptr<storage::AuditStore> store,
                 std::unique_ptr<RuleSetHolder> rules,
                 std::unique_ptr<AccessPolicyHolder> access_policy);

  // Authorize(), logging a denial. `what` names the call for the log.
  absl::Status Check(const Caller& caller, Permission permission,
                     absl::string_view what) const;
  // Check() for a call that answers through `done`: false (and `done`
  // answered with the denial) when the caller may not.
  template <typename T>
  bool Permitted(const Caller& caller, Permission permission,
                 absl::string_view what, Callback<T>& done) const {
    absl::Status allowed = Check(caller, permission, what);
    if (allowed.ok()) return true;
    done(std::move(allowed));
    return false;
  }
  // Logs a denied attempt (one line).
  void LogDenied(const Caller& caller, absl::string_view what,
                 const absl::Status& status) const;
  // The decision if the caller may read it; NOT_FOUND like an unknown id
  // otherwise. Blocking (store read).
  // With or_declaration_id, an id that is not a decision id is taken as a
  // declaration id (its binding decision).
  absl::StatusOr<v1::Decision> ReadableDecision(
      const Caller& caller, const std::string& id, absl::string_view what,
      bool or_declaration_id = false) const;

  // Answers `done` with work() run on a worker; UNAVAILABLE once shut down.
  template <typename T, typename Work>
  void OnWorker(Callback<T> done, Work work);

  // `view` kSummary answers summary rows (SummarizeNow), not records.
  absl::StatusOr<v1::ListDecisionsResponse> ListDecisionsNow(
      const Caller& caller, const v1::ListDecisionsRequest& request,
      storage::ListView view = storage::ListView::kFull) const;
  absl::StatusOr<v1::SummarizeDecisionsResponse> SummarizeNow(
      const Caller& caller, const v1::SummarizeDecisionsRequest& request) const;
  absl::StatusOr<v1::ReevaluateDecisionResponse> ReevaluateNow(
      const Caller& caller, const v1::ReevaluateDecisionRequest& request);
  // `dir`: request.agreements_dir resolved under candidates_root.
  absl::StatusOr<v1::PreviewTotals> PreviewNow(
      const v1::PreviewRuleSetRequest& request, const std::string& dir,
      const PreviewSink& emit) const;
  // The comparison a preview and a reload's retroactive impact share: the
  // decisions `filter` selects, newest first, up to `limit`, each evaluated
  // under `before` and `after` at its own governing date; every one whose
  // verdict differs goes to `emit`. Blocking (store reads).
  absl::StatusOr<v1::PreviewTotals> CompareRuleSets(
      const rules::RuleSet& before, const rules::RuleSet& after,
      const v1::DecisionFilter& filter, int64_t limit,
      const PreviewSink& emit) const;
  // The verdict `rules` gives `declaration`, without the quota balance
  // (a re-evaluation's view): the engine's, with the declaration id and
  // the revision a stored verdict carries. Never records anything.
  static v1::Verdict EvaluateUnder(const rules::RuleSet& rules,
                                   const v1::Declaration& declaration);
  // Accounts for the activation of the set in force unless the store did
  // (its active revision is that set's): the walk from the kept revision
  // (for a store without one, the newest impact record's new revision), at
  // the time the set came into force and by last_activated_by_, and its
  // record; fills `response` as that activation's would be. OK when the
  // activation is accounted for now: recorded, nothing past changed, or
  // the kept revision cannot be rebuilt any more (its sources are gone or
  // damaged: the response says so and the set in force is kept, since no
  // retry could compute it). Otherwise the error, the kept revision
  // unchanged. Blocking.
  absl::Status AccountForActivationLocked(v1::ReloadRuleSetResponse* response)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(activation_mu_);
  // After an activation that changed the revision: the retroactive-impact
  // walk and record, filling the response's retroactive_* fields, then the
  // new revision kept as the store's active one. OK when that is done; the
  // error (also in retroactive_impact_error) when the walk, the record or
  // keeping the revision failed: the kept revision then stays, and the
  // next activation or start accounts for this one first. Blocking.
  absl::Status RecordRetroactiveImpact(const Caller& caller,
                                       const RuleSetHolder::ReloadResult& reload,
                                       v1::ReloadRuleSetResponse* response)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(activation_mu_);
  // Both CheckDeclaration answers are made from this: the store's result
  // (in the no-store benchmark build, the verdict alone) or the error.
  void RunCheck(const Caller& caller,
                const v1::CheckDeclarationRequest& request,
                Callback<storage::AppendResult> done);
  void FinishConflict(const std::string& declaration_id, absl::Status status,
                      Callback<storage::AppendResult> done);

  // Activations (a reload with its walk, the start's walk) one at a time:
  // each first accounts for the one before it when the store has not, so
  // the active revision the store keeps follows the order revisions came
  // into force whichever of a reload and the start's walk runs first.
  absl::Mutex activation_mu_;
  // Who activated the set in force: "server start" until a reload changes
  // the revision.
  Caller last_activated_by_ ABSL_GUARDED_BY(activation_mu_);
  // Activations whose retroactive impact could not be recorded (pending,
  // retried) or cannot be computed (the earlier revision cannot be
  // rebuilt), since the core started: for the server's metrics.
  std::atomic<uint64_t> impacts_not_recorded_{0};
  std::atomic<uint64_t> impacts_uncomputable_{0};

  const Clock* const clock_;
  std::atomic<bool> shut_down_{false};
  absl::Status close_status_;
  std::unique_ptr<storage::AuditStore> store_;
  std::unique_ptr<RuleSetHolder> rules_;
  // Null when the server runs plaintext on loopback (every caller local).
  std::unique_ptr<AccessPolicyHolder> access_policy_;
  const std::string backup_root_;
  const std::string candidates_root_;
  const std::shared_ptr<CallLimiter> expensive_calls_;
  const AccessLog access_log_;
  const bool benchmark_skip_store_;
  const int64_t retroactive_impact_limit_;
  // Declared last: destroyed first, so queued work finishes while the store
  // and rules are still alive.
  std::unique_ptr<ThreadPool> workers_;
  // Answers checks once their records are durable. The store's writer is
  // the one serial stage of a check; handing the answers (response copy,
  // serialization, socket write) to these threads lets it start the next
  // group commit at once.
  std::unique_ptr<ThreadPool> completions_;
};

// The verdict with the fields that belong to the audit record cleared
// (decision id, sequence, hash, recorded_at, validate_only): what the rule
// engine alone determines.
v1::Verdict EngineView(const v1::Verdict& verdict);

// Human-readable differences between two verdicts ("line 1: outcome
// OUTCOME_ALLOW -> OUTCOME_NEEDS_REVIEW"); empty when they agree.
std::vector<std::string> DescribeChanges(const v1::Verdict& before,
                                         const v1::Verdict& after);

}  // namespace tradecheck

#endif  // TRADECHECK_CORE_TRADECHECK_CORE_H_
