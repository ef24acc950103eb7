// AuditStore: the append-only, tamper-evident audit trail on RocksDB.
//
// One record per check (tradecheck.v1.Decision), in one of two streams:
// BINDING (real checks; idempotent on declaration_id; may consume quota) and
// VALIDATE_ONLY (exporters' dry runs; never idempotency-checked, never
// consume quota). Each record is hashed (SHA-256) over a canonical encoding
// and chained to the previous record of its stream. Secondary indexes are
// written in the same WriteBatch as the record. Nothing is ever updated or
// deleted.
//
// Durability: Append() hands the record to a single writer thread that
// group-commits whatever has arrived into one WriteBatch with one synced
// WAL write, and only then runs the callbacks. No caller blocks on fsync.
//
// Thread safety: all methods are thread-safe. Callbacks run on the writer
// thread (on the calling thread when the store is already closed); they must
// not block (post to the caller's own machinery instead) and must not call
// Close().
//
// This header and storage/ are the only places that know about RocksDB.
#ifndef TRADECHECK_STORAGE_AUDIT_STORE_H_
#define TRADECHECK_STORAGE_AUDIT_STORE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/clock.h"
#include "common/tree_head.h"
#include "tradecheck/v1/audit_service.pb.h"
#include "tradecheck/v1/declaration.pb.h"
#include "tradecheck/v1/verdict.pb.h"

namespace tradecheck::storage {

// What one group commit wrote, reported to AuditStoreOptions::on_commit
// (the server's metrics). Index 0 is the binding stream, 1 validate-only.
struct CommitObservation {
  uint64_t records[2] = {0, 0};
  uint64_t record_bytes[2] = {0, 0};  // encoded records, without indexes
  uint64_t batch_bytes = 0;           // the whole WriteBatch
  double write_seconds = 0;           // DB::Write, with the fsync if synced
  bool synced = false;
  // Before the write: how long the batch's oldest record waited in the
  // queue for the writer (from Append to the writer taking the batch), and
  // the writer's staging of the batch (sequences, hashes, indexes, the
  // signed tree head). With write_seconds, where a durable append waits.
  double queue_seconds = 0;
  double stage_seconds = 0;
};

struct AuditStoreOptions {
  // Directory of the RocksDB database; created when missing.
  std::string path;
  // Stamps recorded_at. Not owned; must outlive the store.
  const Clock* clock = RealClock::Get();
  // Largest number of records group-committed in one WriteBatch.
  int max_batch = 512;
  // Sync the WAL before acknowledging (only tests of non-durable paths turn
  // this off).
  bool sync = true;
  // Key that signs page tokens (HMAC-SHA256). When empty, a random key is
  // generated on first open and kept in the store, so tokens survive a
  // restart.
  std::string page_token_key;
  // Signs a head of each stream a group commit adds to, written in the same
  // WriteBatch as the records (docs/storage.md, "Signed tree heads"). Null:
  // no heads are made (the Merkle tree is kept either way).
  std::shared_ptr<const TreeHeadSigner> tree_head_signer;
  // When set, every new signed head is also appended to this file as one
  // line (FormatTreeHeadLine), once its batch is durable: the witness copy
  // an operator ships elsewhere. The store's copy is authoritative; the
  // file is written without fsync, so a crash can lose its last lines
  // (they are in the store: GetSignedTreeHead / the heads family).
  std::string tree_head_log;
  // Called on the writer thread after each durable group commit: keep it
  // short (a few counter updates) and thread-safe.
  std::function<void(const CommitObservation&)> on_commit;
  // RocksDB's warnings and errors (storage/rocksdb_tuning.h); empty: its
  // LOG file in the store directory.
  std::function<void(bool error, const std::string& message)> log;
  // RocksDB's default options instead of the trail's tuning: only for
  // bench/store_size_bench, which measures what the tuning saves.
  bool rocksdb_defaults = false;
  // Refuse to open a store that has lost records (docs/storage.md, "No
  // silent loss"): an index entry, a time key or a signed tree head (in the
  // store or in `tree_head_log`) that reaches past the chain's head, or a
  // tree whose root differs from a signed head's. Off only for tools and
  // tests that open a damaged store to inspect it (CheckIntegrity).
  bool check_at_open = true;
  // Free space (bytes) to keep on the filesystem holding `path`. A group
  // commit is not started while less is free: its appends fail UNAVAILABLE
  // and nothing is written, so RocksDB never meets a full disk in the
  // middle of a write (Debian's build aborts there) and keeps room to
  // flush. Writes resume by themselves once space is back. Opened below
  // the reserve, the store opens read-only (reads work, every append is
  // UNAVAILABLE) instead of failing; restart it once space is freed.
  // 0: no reserve.
  uint64_t min_free_bytes = 0;
  // Open read-only (RocksDB's OpenForReadOnly): nothing is written, every
  // append is UNAVAILABLE. For verifying a backup and for inspection.
  bool read_only = false;
};

// Who the store is (schema 4): signed into every tree head.
struct StoreIdentity {
  std::string identity;  // 16 raw bytes, made at creation; empty read-only
                         // on a store from before schema 4
  uint64_t epoch = 1;    // advanced by each accepted loss
  std::vector<std::string> accepted_losses;  // oldest first, as recorded
};

// What CreateVerifiedBackup wrote and checked.
struct BackupResult {
  uint64_t binding_head = 0;       // last BINDING sequence in the backup
  uint64_t records_verified = 0;   // records of both streams verified
  uint64_t files_copied = 0;       // hard links replaced by copies
};

// Quota a record consumes when bound (see rules::QuotaDraw; the store keeps
// its own type so it does not depend on the rule engine).
struct QuotaDraw {
  std::string quota_key;
  int64_t amount_milli = 0;
  int64_t limit_milli = 0;
};

struct AppendRequest {
  v1::TrailStream stream = v1::TRAIL_STREAM_BINDING;
  v1::Declaration declaration;
  // The store fills decision_id, audit_sequence, record_hash, recorded_at
  // and validate_only.
  v1::Verdict verdict;
  // Who submitted the check, and in which role; both go into the hashed
  // record.
  std::string caller;
  v1::CallerRole caller_role = v1::CALLER_ROLE_UNSPECIFIED;
  // BINDING only. Applied atomically with the record: either every draw
  // fits and every balance is decremented in the record's WriteBatch, or
  // on_shortfall is called for each draw that does not fit (with what
  // remains of its balance), may rewrite the verdict (e.g. to DENY), and the
  // record is written without consuming any quota.
  std::vector<QuotaDraw> quota_draws;
  std::function<void(size_t draw_index, int64_t remaining_milli,
                     v1::Verdict* verdict)>
      on_shortfall;
};

struct AppendResult {
  v1::Decision decision;
  // True when a BINDING record with the same declaration_id and identical
  // declaration content already existed: it is returned unchanged and
  // nothing is written.
  bool replayed = false;
  // The record's bytes as written (`decision` serialized with both record
  // hashes cleared, hashing.h), so a caller can answer with the verdict's
  // bytes instead of serializing it again. Empty for a replay.
  std::string record;
};

// Called exactly once per Append, on the writer thread, after the record is
// durable (or with the error). Errors: ALREADY_EXISTS (declaration_id used
// with different content; the message names the decision holding it),
// DATA_LOSS (the declaration_id's index entry leads to a record that is
// missing or holds another declaration: never another declaration's
// verdict), UNAVAILABLE (store closed, or an I/O error such as a full disk:
// retry later), INTERNAL (any other RocksDB failure).
using AppendCallback = std::function<void(absl::StatusOr<AppendResult>)>;

// Counters since Open, for tests and monitoring.
struct AuditStoreStats {
  uint64_t records_written = 0;  // records made durable
  uint64_t batches_written = 0;  // WriteBatches written (one WAL write each)
  uint64_t synced_writes = 0;    // of those, written with sync (one fsync)
  uint64_t replays = 0;          // idempotent replays answered
  // Newest durable sequence of each stream (not reset by a restart).
  uint64_t binding_head = 0;
  uint64_t validate_only_head = 0;
};

// A Merkle audit path for one record (RFC 9162 2.1.3).
struct InclusionProofResult {
  v1::TrailStream stream = v1::TRAIL_STREAM_BINDING;
  uint64_t leaf_index = 0;  // the record's sequence - 1
  uint64_t tree_size = 0;
  std::string leaf_hash;                // 32 raw bytes (the record hash)
  std::vector<std::string> audit_path;  // 32 raw bytes each, leaf side first
  std::string root_hash;                // root of the tree of tree_size
};

// A Merkle consistency proof between two sizes (RFC 9162 2.1.4).
struct ConsistencyProofResult {
  v1::TrailStream stream = v1::TRAIL_STREAM_BINDING;
  uint64_t first_size = 0;
  uint64_t second_size = 0;
  std::vector<std::string> proof;  // 32 raw bytes each
  std::string first_root;
  std::string second_root;
};

// The order ListDecisions walks the trail in.
enum class ListOrder {
  kNewestFirst,  // "recorded_time desc": later pages never shift
  kOldestFirst,  // "recorded_time asc": records newer than the listing's
                 // last page appear at its end
  // "governing_date desc" / "asc": the days of the filter's governing range
  // (required) one by one, latest / earliest first, each day's decisions in
  // recorded order (newest / oldest first) within it. Walks the governing
  // day postings, so its cost grows with the days in the range that hold no
  // match as well as with the page.
  kGoverningNewestFirst,
  kGoverningOldestFirst,
};

// What ListDecisions returns of each match.
enum class ListView {
  kFull,  // the record, its hash checked
  // Its summary row (SummaryRow, storage/decision_index.h) from the
  // summaries family: the record is not read and its hash is not checked.
  // A store of schema 5 or older opened read-only has no rows yet; it
  // answers with SummaryRow of each record.
  kSummary,
};

struct ListResult {
  std::vector<v1::Decision> decisions;
  std::string next_page_token;  // empty at the end
};

// A page of retroactive-impact records, newest first, without their changes.
struct RetroactiveImpactPage {
  std::vector<v1::RetroactiveImpact> impacts;
  std::string next_page_token;  // empty at the end
};

class AuditStore {
 public:
  // Opens or creates the store. FAILED_PRECONDITION with a clear message
  // when the directory holds another schema version, is not a tradecheck
  // store, or cannot be opened; DATA_LOSS when RocksDB reports corruption.
  static absl::StatusOr<std::unique_ptr<AuditStore>> Open(
      const AuditStoreOptions& options);

  // Closes the store (see Close) if still open.
  ~AuditStore();

  // Asynchronous, group-committed append. See AppendCallback.
  void Append(AppendRequest request, AppendCallback done);
  // Append and wait; for tests and tools, never on an RPC thread.
  absl::StatusOr<AppendResult> AppendAndWait(AppendRequest request);

  // BINDING decision holding `declaration_id`, NOT_FOUND if none.
  absl::StatusOr<v1::Decision> FindByDeclarationId(
      const std::string& declaration_id) const;
  // NOT_FOUND for an unknown id.
  absl::StatusOr<v1::Decision> GetDecision(
      const std::string& decision_id) const;

  // Newest first; every set filter must match. page_size 1..1000 (0 = 100).
  // INVALID_ARGUMENT for a bad page size or a page token that was not
  // issued by this store (or was altered), naming the field.
  // `order` (default newest first) is bound into the page token: a token
  // continues only a listing in the same order. `view` is not: a listing
  // may change view between pages.
  absl::StatusOr<ListResult> ListDecisions(
      const v1::DecisionFilter& filter, int page_size,
      const std::string& page_token,
      ListOrder order = ListOrder::kNewestFirst,
      ListView view = ListView::kFull) const;

  // Walks the chain of `stream` over [from_sequence, to_sequence] (0 = open)
  // and reports the first record whose content or link does not match.
  absl::StatusOr<v1::VerifyTrailResponse> VerifyTrail(
      v1::TrailStream stream, uint64_t from_sequence,
      uint64_t to_sequence) const;

  // The newest signed tree head of `stream`; NOT_FOUND when none was signed
  // yet (no signer, or nothing written since one was configured).
  absl::StatusOr<SignedTreeHead> LatestSignedTreeHead(
      v1::TrailStream stream) const;
  // The signed head of `stream` at exactly `tree_size`; NOT_FOUND if none.
  absl::StatusOr<SignedTreeHead> SignedTreeHeadAt(v1::TrailStream stream,
                                                  uint64_t tree_size) const;
  // For checks at open (a chain cut after a signed head): OK when the
  // stream's tree extends its newest signed head (or none exists); else
  // DATA_LOSS naming the signed size, the records missing or the root that
  // differs.
  absl::Status CheckLatestSignedTreeHead(v1::TrailStream stream) const;

  // Everything Open checks (see AuditStoreOptions::check_at_open), plus
  // every posting block: one line per problem, each naming the stream, the
  // index and the records concerned; empty when the store is whole. For
  // `tradecheck_store_admin check` on a store opened with check_at_open off.
  absl::StatusOr<std::vector<std::string>> CheckIntegrity(bool postings) const;

  // The operator's explicit acceptance of a loss CheckIntegrity found (for
  // `tradecheck_store_admin accept-loss`, on a store opened with
  // check_at_open off and nothing else appending). Removes what points past
  // the chain that is left (declaration ids, so their retries are checked
  // afresh; time keys; posting blocks; the store's signed heads beyond it),
  // advances the epoch (new decision ids end in "-e<epoch>", so no id given
  // out before the loss is ever given out again, and new heads are signed
  // with it; heads of earlier epochs no longer count at open), and keeps
  // the acceptance (time, reason, problems, epochs) in the store's meta
  // family, listed by Identity(). Returns that text. FAILED_PRECONDITION
  // when nothing is missing; INVALID_ARGUMENT naming `reason` when empty.
  absl::StatusOr<std::string> AcceptLoss(const std::string& reason);

  // Rewrites every summary row from its record (for `tradecheck_store_admin
  // rebuild-summaries`, on a store nothing else is appending to), after
  // `check` found rows that disagree with their records. The records are
  // not changed. FAILED_PRECONDITION when opened read-only.
  absl::Status RebuildSummaryRows();

  // The store's identity, epoch and accepted losses.
  absl::StatusOr<StoreIdentity> Identity() const;

  // Merkle proofs over the durable records (tree_size 0 = the stream's
  // head). INVALID_ARGUMENT naming tree_size / first_size / second_size
  // when beyond the head or out of order; NOT_FOUND for an unknown decision
  // or one not in a tree of tree_size (naming decision_id).
  absl::StatusOr<InclusionProofResult> InclusionProof(
      const std::string& decision_id, uint64_t tree_size) const;
  absl::StatusOr<ConsistencyProofResult> ConsistencyProof(
      v1::TrailStream stream, uint64_t first_size, uint64_t second_size) const;

  // Keeps the data files of a rule-set revision, so decisions can be
  // re-evaluated under the revision they were made with. Idempotent.
  absl::Status PutRuleSetSources(
      const std::string& revision,
      const std::map<std::string, std::string>& files);
  // NOT_FOUND when the revision was never stored.
  absl::StatusOr<std::map<std::string, std::string>> GetRuleSetSources(
      const std::string& revision) const;

  // The revision last passed to SetActiveRevision; empty when none was
  // (a new store, or one from before it was kept).
  absl::StatusOr<std::string> GetActiveRevision() const;
  // Keeps `revision` as the one whose activation is accounted for (synced).
  // UNAVAILABLE when the store cannot write.
  absl::Status SetActiveRevision(const std::string& revision);

  // Retroactive-impact records (v1.RetroactiveImpact; docs/storage.md,
  // "Retroactive-impact records"): kept in the meta family, never changed
  // once written, each with a content digest chained to the one before.
  //
  // Gives `impact` the next impact id, previous_digest and content_digest,
  // writes it (synced) and returns it as stored. UNAVAILABLE when the store
  // cannot write (read-only, disk below the reserve, I/O error).
  absl::StatusOr<v1::RetroactiveImpact> AppendRetroactiveImpact(
      v1::RetroactiveImpact impact);
  // One record with a page of its changes (page_size 1..1000, 0 = 100; the
  // token continues the changes of that record only). INVALID_ARGUMENT
  // naming impact_id, page_size or page_token; NOT_FOUND naming impact_id;
  // DATA_LOSS when the record does not match its content digest or its
  // previous_digest does not match the record before it.
  absl::StatusOr<v1::GetRetroactiveImpactResponse> GetRetroactiveImpact(
      const std::string& impact_id, int page_size,
      const std::string& page_token) const;
  // Newest first, without their changes (page_size 1..100, 0 = 20), each
  // checked as GetRetroactiveImpact checks it.
  absl::StatusOr<RetroactiveImpactPage> ListRetroactiveImpacts(
      int page_size, const std::string& page_token) const;

  // Quota consumed so far under `quota_key` (0 if never drawn).
  absl::StatusOr<int64_t> QuotaConsumed(const std::string& quota_key) const;

  // Online, consistent copy of the database into `directory` (which must
  // not exist). Returns the last BINDING sequence it contains.
  absl::StatusOr<uint64_t> CreateCheckpoint(const std::string& directory);

  // A backup that survives the loss of the store's disk and is known good:
  // a checkpoint into `directory` (which must not exist) whose files are
  // then all copies (RocksDB hard-links table files when it can; a link
  // shares the store's blocks, so it is no copy), then opened read-only and
  // verified: both chains walked (VerifyTrail) and every check Open makes
  // (indexes, signed heads and tree roots within the copy). DATA_LOSS
  // naming the problem when the copy does not verify (the directory is
  // kept for inspection).
  absl::StatusOr<BackupResult> CreateVerifiedBackup(
      const std::string& directory);

  AuditStoreStats Stats() const;

  // Compacts every column family to the bottommost level and returns the
  // bytes of the table files: the store's size at rest (benchmarks). When
  // `by_family` is given, it also receives each column family's share.
  absl::StatusOr<uint64_t> CompactAndMeasure(
      std::map<std::string, uint64_t>* by_family = nullptr);
  // False while appends cannot be written: free space below
  // min_free_bytes, an I/O error RocksDB has not recovered from (this call
  // asks it to, once space is back), or the store was opened read-only.
  // Cheap (one statvfs); thread-safe.
  bool Writable() const;

  // Drains pending appends (their callbacks run), stops the writer and
  // closes RocksDB, returning its status. Later appends fail UNAVAILABLE.
  absl::Status Close();

 private:
  class Impl;
  explicit AuditStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tradecheck::storage

#endif  // TRADECHECK_STORAGE_AUDIT_STORE_H_
