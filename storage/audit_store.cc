#include "storage/audit_store.h"

#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/dates.h"
#include "common/merkle.h"
#include "common/proto_bytes.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "common/tree_head.h"
#include "rocksdb/cache.h"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/options.h"
#include "rocksdb/perf_level.h"
#include "rocksdb/slice_transform.h"
#include "rocksdb/table.h"
#include "rocksdb/utilities/checkpoint.h"
#include "rocksdb/write_batch.h"
#include "storage/hashing.h"
#include "storage/decision_index.h"
#include "storage/keys.h"
#include "storage/rocksdb_tuning.h"
#include "storage/page_token.h"
#include "storage/testing/write_fault.h"

namespace tradecheck::storage {
namespace {

std::atomic<int> injected_write_faults{0};

// Bump when the key schema or the entry encoding changes; a store written
// with another version is refused at Open (docs/storage.md).
//   1: one posting and one time key per record.
//   2: posting blocks and one time key per group commit. Version 1 is a
//      special case of it (an empty block value is one posting), so this
//      build opens a version 1 store and marks it version 2 in the first
//      group commit it writes (a store only opened stays version 1).
//   3: the Merkle tree (tree family) and signed tree heads (heads family).
//      A version 1 or 2 store is upgraded at Open: the tree is built over
//      the records' stored hashes, then version 3 is recorded.
//   4: a store identity and epoch in meta, signed into every head; from
//      epoch 2 on (after an accepted loss) decision ids carry "-e<epoch>",
//      which a version 3 build would take for misplaced records. A version
//      3 store is upgraded at Open (identity made, epoch 1); its ids and
//      heads stay as they are.
//   5: postings of declaration id, governing day, caller, caller role and
//      destination (storage/decision_index.h, since_schema 5). A version 1
//      to 4 store is upgraded at Open: those postings are backfilled from
//      its records (after the tree, for 1 and 2), then version 5 is
//      recorded.
//   6: a summary row per record (summaries family, SummaryRow in
//      storage/decision_index.h), so SummarizeDecisions reads no record.
//      A version 1 to 5 store is upgraded at Open: the rows are written
//      from its records (with the postings of version 5, for 1 to 4), then
//      version 6 is recorded. Opened read-only, a version 5 store is served
//      without the family (summaries read the records instead).
constexpr int kSchemaVersion = 6;
constexpr int kOldestUpgradableSchemaVersion = 1;
// Records per WriteBatch while building the tree of an upgraded store.
constexpr uint64_t kTreeBuildBatch = 8192;
constexpr int kDefaultPageSize = 100;
constexpr int kMaxPageSize = 1000;
// Stored record bytes after which a page of ListDecisions stops early (the
// page token continues after the last record returned): 2 MiB of records
// keeps a page within gRPC's default 4 MiB client receive limit even when
// the records are the largest declarations the limits allow.
constexpr size_t kMaxPageBytes = 2 * 1024 * 1024;

// A governing-date listing resumes at (day offset in the filter's range,
// sequence): the sequence in the low bits of PageToken::resume_at. 2^40
// records is far beyond any trail this store keeps.
constexpr int kGoverningSequenceBits = 40;

// Bound into page tokens (with the filter) for every order but the first.
const char* OrderName(ListOrder order) {
  switch (order) {
    case ListOrder::kNewestFirst:
      return "newest-first";
    case ListOrder::kOldestFirst:
      return "oldest-first";
    case ListOrder::kGoverningNewestFirst:
      return "governing-newest-first";
    case ListOrder::kGoverningOldestFirst:
      return "governing-oldest-first";
  }
  return "unknown";
}

const std::vector<std::string>& AllColumnFamilies() {
  static const auto* names =
      new std::vector<std::string>{rocksdb::kDefaultColumnFamilyName,
                                   keys::kMetaCf,
                                   keys::kRecordsCf,
                                   keys::kChainCf,
                                   keys::kDeclarationsCf,
                                   keys::kPostingsCf,
                                   keys::kTimeCf,
                                   keys::kQuotaCf,
                                   keys::kRuleSetsCf,
                                   keys::kTreeCf,
                                   keys::kHeadsCf,
                                   keys::kSummariesCf};
  return *names;
}

// Memtable insert hints (RocksDB's memtable_insert_with_hint_prefix_extractor)
// keep, per key prefix, where the last key of that prefix went in the skip
// list, so the next one is placed next to it instead of searched for from
// the top. Every family the writer appends to grows at one end per prefix:
// records, chain and time by sequence within a stream (the prefix is the
// stream byte), and each posting list at its newest-first front (the prefix
// is the posting key without its sequence).
class PostingListPrefix : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "tradecheck.PostingListPrefix"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return rocksdb::Slice(key.data(),
                          key.size() - keys::kPostingSequenceSize);
  }
  bool InDomain(const rocksdb::Slice& key) const override {
    return key.size() > keys::kPostingSequenceSize;
  }
};

absl::Status FromRocks(const rocksdb::Status& s, absl::string_view what) {
  if (s.ok()) return absl::OkStatus();
  std::string message = absl::StrCat(what, ": ", s.ToString());
  if (s.IsCorruption()) return absl::DataLossError(message);
  if (s.IsNotFound()) return absl::NotFoundError(message);
  // A full disk or a failing device: the request may succeed later (the
  // proto's promise), unlike a bug, which INTERNAL stands for.
  if (s.IsIOError() || s.IsNoSpace() || s.IsBusy() ||
      s.IsTimedOut() || s.IsTryAgain()) {
    return absl::UnavailableError(message);
  }
  return absl::InternalError(message);
}

rocksdb::Slice ToSlice(absl::string_view s) {
  return rocksdb::Slice(s.data(), s.size());
}
// The largest possible record (chain) key and time key of a stream: where a
// backwards seek for the stream's last entry starts.
std::string LastRecordKey(v1::TrailStream stream) {
  return keys::RecordKey(stream, std::numeric_limits<uint64_t>::max());
}
std::string LastTimeKey(v1::TrailStream stream) {
  return keys::TimeKey(stream, absl::InfiniteFuture(),
                       std::numeric_limits<uint64_t>::max());
}

absl::string_view ToView(const rocksdb::Slice& s) {
  return absl::string_view(s.data(), s.size());
}

// Whether a stored record's own decision_id names the position (stream,
// sequence) it is stored at, in any epoch.
bool IdNamesPosition(const std::string& decision_id, v1::TrailStream stream,
                     uint64_t sequence) {
  absl::StatusOr<keys::StreamSeq> at = keys::ParseDecisionId(decision_id);
  return at.ok() && at->stream == stream && at->sequence == sequence;
}

v1::TrailStream Normalize(v1::TrailStream stream) {
  return stream == v1::TRAIL_STREAM_UNSPECIFIED ? v1::TRAIL_STREAM_BINDING
                                                : stream;
}
bool IsKnownStream(v1::TrailStream stream) {
  return stream == v1::TRAIL_STREAM_BINDING ||
         stream == v1::TRAIL_STREAM_VALIDATE_ONLY;
}
int StreamIndex(v1::TrailStream stream) {
  return stream == v1::TRAIL_STREAM_VALIDATE_ONLY ? 1 : 0;
}

absl::Time ToTime(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}
google::protobuf::Timestamp ToTimestamp(absl::Time t) {
  google::protobuf::Timestamp ts;
  const int64_t seconds = absl::ToUnixSeconds(t);
  ts.set_seconds(seconds);
  ts.set_nanos(static_cast<int32_t>(
      absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(seconds))));
  return ts;
}

// One equality filter's postings, walked newest first, block by block
// (keys::EncodePostingBlock).
class PostingCursor {
 public:
  PostingCursor(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf,
                std::string prefix)
      : prefix_(std::move(prefix)), upper_(prefix_ + std::string(8, '\xff')) {
    upper_slice_ = rocksdb::Slice(upper_);
    lower_slice_ = rocksdb::Slice(prefix_);
    rocksdb::ReadOptions ro;
    ro.iterate_upper_bound = &upper_slice_;
    ro.iterate_lower_bound = &lower_slice_;
    it_.reset(db->NewIterator(ro, cf));
  }

  // Oldest first: the smallest sequence >= bound that has a posting, or
  // nullopt when none. The block keyed at or below bound may still hold
  // sequences above it; otherwise the next newer block starts above it.
  // REQUIRES: bound never decreases between calls.
  absl::StatusOr<std::optional<uint64_t>> SeekAtLeast(uint64_t bound) {
    if (started_) {
      // Oldest first: within the loaded block, then the next few newer
      // blocks (bound never decreases, so nothing below it is wanted); a
      // target further away is cheaper to reach by a seek.
      for (int step = 0; step <= kMaxSteps; ++step) {
        if (!it_->Valid()) {
          TC_RETURN_IF_ERROR(FromRocks(it_->status(), "reading an index"));
          return std::nullopt;  // no newer block: exhausted
        }
        if (!block_.empty() && block_.front() >= bound) {
          // block_ is newest first: the smallest element >= bound.
          return *std::lower_bound(block_.rbegin(), block_.rend(), bound);
        }
        if (step == kMaxSteps) break;
        it_->Prev();
        TC_RETURN_IF_ERROR(LoadBlock());
      }
    }
    started_ = true;
    it_->Seek(ToSlice(keys::PostingKey(prefix_, bound)));
    if (!it_->Valid()) {
      TC_RETURN_IF_ERROR(FromRocks(it_->status(), "reading an index"));
      it_->SeekToLast();  // every block starts above bound: the oldest
      TC_RETURN_IF_ERROR(LoadBlock());
      if (!it_->Valid()) return std::nullopt;
      return block_.back();
    }
    TC_RETURN_IF_ERROR(LoadBlock());
    // block_ is newest first: the last element >= bound is the smallest.
    for (auto it = block_.rbegin(); it != block_.rend(); ++it) {
      if (*it >= bound) return *it;
    }
    it_->Prev();
    TC_RETURN_IF_ERROR(LoadBlock());
    if (!it_->Valid()) return std::nullopt;
    return block_.back();
  }

  // The largest sequence <= bound that has a posting, or nullopt when none.
  // REQUIRES: bound never increases between calls.
  absl::StatusOr<std::optional<uint64_t>> SeekAtMost(uint64_t bound) {
    if (!started_) {
      started_ = true;
      return SeekBlock(bound);
    }
    // Newest first: within the loaded block, then the next few blocks; a
    // target further away is cheaper to reach by a seek, which searches
    // every level of the LSM tree again.
    for (int step = 0; it_->Valid(); ++step) {
      if (std::optional<uint64_t> found = FindInBlock(bound)) return found;
      if (step == kMaxSteps) return SeekBlock(bound);
      it_->Next();
      TC_RETURN_IF_ERROR(LoadBlock());
    }
    return std::nullopt;  // exhausted
  }

 private:
  static constexpr int kMaxSteps = 8;

  // Positions on the newest block whose smallest sequence is <= bound; the
  // blocks before it hold only larger sequences.
  absl::StatusOr<std::optional<uint64_t>> SeekBlock(uint64_t bound) {
    it_->Seek(ToSlice(keys::PostingKey(prefix_, bound)));
    TC_RETURN_IF_ERROR(LoadBlock());
    if (!it_->Valid()) return std::nullopt;
    return FindInBlock(bound);
  }

  // The first sequence <= bound from the current position in the block.
  std::optional<uint64_t> FindInBlock(uint64_t bound) {
    auto it = std::lower_bound(block_.begin() + position_, block_.end(),
                               bound, std::greater<uint64_t>());
    position_ = static_cast<size_t>(it - block_.begin());
    if (it == block_.end()) return std::nullopt;
    return *it;
  }

  absl::Status LoadBlock() {
    block_.clear();
    position_ = 0;
    if (!it_->Valid()) return FromRocks(it_->status(), "reading an index");
    TC_ASSIGN_OR_RETURN(
        const uint64_t smallest,
        keys::ParsePostingSequence(prefix_, ToView(it_->key())));
    TC_ASSIGN_OR_RETURN(block_, keys::DecodePostingBlock(
                                    smallest, ToView(it_->value())));
    return absl::OkStatus();
  }

  const std::string prefix_;
  const std::string upper_;
  rocksdb::Slice upper_slice_;
  rocksdb::Slice lower_slice_;
  std::unique_ptr<rocksdb::Iterator> it_;
  std::vector<uint64_t> block_;  // newest first
  size_t position_ = 0;
  bool started_ = false;
};

// Any of several postings of one field (a governing date range is one list
// per day), walked newest first: the largest sequence <= bound among them.
class AnyOfCursor {
 public:
  void Add(std::unique_ptr<PostingCursor> cursor) {
    cursors_.push_back(std::move(cursor));
    at_.push_back(std::nullopt);
    exhausted_.push_back(false);
  }

  // Oldest first: the smallest sequence >= bound among them.
  // REQUIRES: bound never decreases between calls.
  absl::StatusOr<std::optional<uint64_t>> SeekAtLeast(uint64_t bound) {
    std::optional<uint64_t> best;
    for (size_t i = 0; i < cursors_.size(); ++i) {
      if (exhausted_[i]) continue;
      if (!at_[i].has_value() || *at_[i] < bound) {
        TC_ASSIGN_OR_RETURN(at_[i], cursors_[i]->SeekAtLeast(bound));
        if (!at_[i].has_value()) {
          exhausted_[i] = true;
          continue;
        }
      }
      if (!best.has_value() || *at_[i] < *best) best = at_[i];
    }
    return best;
  }

  // REQUIRES: bound never increases between calls.
  absl::StatusOr<std::optional<uint64_t>> SeekAtMost(uint64_t bound) {
    std::optional<uint64_t> best;
    for (size_t i = 0; i < cursors_.size(); ++i) {
      if (exhausted_[i]) continue;
      // A cursor already at or below bound needs no step.
      if (!at_[i].has_value() || *at_[i] > bound) {
        TC_ASSIGN_OR_RETURN(at_[i], cursors_[i]->SeekAtMost(bound));
        if (!at_[i].has_value()) {
          exhausted_[i] = true;
          continue;
        }
      }
      if (!best.has_value() || *at_[i] > *best) best = at_[i];
    }
    return best;
  }

 private:
  std::vector<std::unique_ptr<PostingCursor>> cursors_;
  std::vector<std::optional<uint64_t>> at_;
  std::vector<bool> exhausted_;
};

struct Pending {
  AppendRequest request;
  AppendCallback done;
  // DeclarationDigest of a binding request, computed on the caller's thread
  // so the single writer does not.
  std::string digest;
  absl::Time queued_at;  // for CommitObservation::queue_seconds
};

// Chain state of one stream as of the last durable record.
struct StreamState {
  uint64_t head_sequence = 0;
  std::string head_hash;  // raw; empty before the first record
  absl::Time last_recorded_at = absl::InfinitePast();
  // The perfect subtrees covering the records so far (the tree's right
  // edge): each append adds its leaf here and stores the nodes it completes.
  merkle::Frontier frontier;
};

}  // namespace

class AuditStore::Impl {
 public:
  explicit Impl(const AuditStoreOptions& options) : options_(options) {}
  ~Impl() { Close().IgnoreError(); }

  absl::Status Open();
  void Append(AppendRequest request, AppendCallback done);
  absl::StatusOr<v1::Decision> FindByDeclarationId(const std::string& id) const;
  absl::StatusOr<v1::Decision> GetDecision(const std::string& id) const;
  absl::StatusOr<ListResult> ListDecisions(const v1::DecisionFilter& filter,
                                           int page_size,
                                           const std::string& token,
                                           ListOrder order,
                                           ListView view) const;
  absl::StatusOr<v1::VerifyTrailResponse> VerifyTrail(v1::TrailStream stream,
                                                      uint64_t from,
                                                      uint64_t to) const;
  absl::Status PutRuleSetSources(
      const std::string& revision,
      const std::map<std::string, std::string>& files);
  absl::StatusOr<std::map<std::string, std::string>> GetRuleSetSources(
      const std::string& revision) const;
  absl::StatusOr<std::string> GetActiveRevision() const;
  absl::Status SetActiveRevision(const std::string& revision);
  absl::StatusOr<int64_t> QuotaConsumed(const std::string& quota_key) const;
  absl::StatusOr<v1::RetroactiveImpact> AppendRetroactiveImpact(
      v1::RetroactiveImpact impact);
  absl::StatusOr<v1::GetRetroactiveImpactResponse> GetRetroactiveImpact(
      const std::string& impact_id, int page_size,
      const std::string& page_token) const;
  absl::StatusOr<RetroactiveImpactPage> ListRetroactiveImpacts(
      int page_size, const std::string& page_token) const;
  // Retroactive-impact record `number` checked against its digest and its
  // predecessor's; nullopt when there is none.
  absl::StatusOr<std::optional<v1::RetroactiveImpact>> ReadRetroactiveImpact(
      uint64_t number) const ABSL_SHARED_LOCKS_REQUIRED(db_mu_);
  // The number of the newest retroactive-impact record (0: none).
  absl::StatusOr<uint64_t> LastRetroactiveImpact() const
      ABSL_SHARED_LOCKS_REQUIRED(db_mu_);
  absl::StatusOr<uint64_t> CreateCheckpoint(const std::string& directory);
  absl::StatusOr<BackupResult> CreateVerifiedBackup(
      const std::string& directory);
  AuditStoreStats Stats() const;
  bool Writable() const;
  absl::Status Close();
  absl::StatusOr<uint64_t> CompactAndMeasure(
      std::map<std::string, uint64_t>* by_family);

  absl::StatusOr<SignedTreeHead> LatestSignedTreeHead(
      v1::TrailStream stream) const;
  absl::StatusOr<SignedTreeHead> SignedTreeHeadAt(v1::TrailStream stream,
                                                  uint64_t size) const;
  absl::Status CheckLatestSignedTreeHead(v1::TrailStream stream) const;
  absl::StatusOr<std::vector<std::string>> CheckIntegrity(bool postings) const;
  absl::StatusOr<std::string> AcceptLoss(const std::string& reason);
  absl::Status RebuildSummaryRows();
  absl::StatusOr<StoreIdentity> Identity() const;
  absl::StatusOr<InclusionProofResult> InclusionProof(
      const std::string& decision_id, uint64_t tree_size) const;
  absl::StatusOr<ConsistencyProofResult> ConsistencyProof(
      v1::TrailStream stream, uint64_t first, uint64_t second) const;

 private:
  // Results of staging one batch on the writer thread.
  struct BatchState {
    StreamState streams[2];
    // Per stream: the recorded_at all of this batch's records share (they
    // become durable together); unset while the batch has none.
    std::optional<absl::Time> recorded_at[2];
    // declaration_id -> (digest, index of the staging request) for binding
    // records staged in this batch.
    std::map<std::string, std::pair<std::string, size_t>> declarations;
    // Balances after this batch, written once each.
    std::map<std::string, int64_t> quota_consumed;
    // Posting prefix -> the batch's sequences that have it (ascending):
    // one block key per prefix instead of one key per record.
    std::map<std::string, std::vector<uint64_t>> postings;
    std::vector<absl::StatusOr<AppendResult>> results;
    // Records, chain and declaration entries, put as they are staged (each
    // family's keys arrive in ascending order per stream, which the
    // memtable insert hints exploit); indexes and balances at the end.
    rocksdb::WriteBatch batch;
    // Tree-head log lines of this batch, appended once it is durable.
    std::vector<std::string> head_lines;
    uint64_t records = 0;
    uint64_t replays = 0;
    // For AuditStoreOptions::on_commit, per stream index.
    uint64_t stream_records[2] = {0, 0};
    uint64_t stream_bytes[2] = {0, 0};
  };

  absl::Status OpenDb();
  absl::Status LoadStreamState(v1::TrailStream stream);
  // The last entry of `stream` in `family` at or before `seek_key` (every
  // key of a stream starts with its byte), into `key` and `value`; false
  // when the stream has none there. `what` names the family in errors.
  absl::StatusOr<bool> LastOfStream(rocksdb::ColumnFamilyHandle* family,
                                    v1::TrailStream stream,
                                    const std::string& seek_key,
                                    absl::string_view what, std::string* key,
                                    std::string* value = nullptr) const;
  // Schema 1..3 -> 4: the postings of fields newer than the store's schema
  // (decision_index.h), from every record of `stream`.
  // The postings of fields newer than `from_schema`, and (from_schema < 6)
  // the summary rows, written from the stream's records.
  absl::Status BackfillFromRecords(v1::TrailStream stream, int from_schema);
  // Schema 1/2 -> 3: builds the tree over the chain, then records version 3.
  absl::Status BuildTree(v1::TrailStream stream);
  // Reads perfect subtree hashes of `stream` (level 0 from the chain).
  merkle::NodeReader TreeReader(v1::TrailStream stream) const;
  // The head size a proof request means (0 = head), or INVALID_ARGUMENT
  // naming `field`.
  absl::StatusOr<uint64_t> ResolveSize(v1::TrailStream stream, uint64_t size,
                                       absl::string_view field) const;
  absl::StatusOr<std::optional<SignedTreeHead>> ReadHead(
      v1::TrailStream stream, uint64_t at_most, bool exact) const;
  void WriterLoop();
  void CommitBatch(std::vector<Pending>& pending);
  absl::StatusOr<AppendResult> Stage(Pending& pending, size_t index,
                                     BatchState& state);
  absl::StatusOr<std::optional<std::string>> GetValue(
      rocksdb::ColumnFamilyHandle* cf, absl::string_view key) const;
  absl::StatusOr<int64_t> ReadQuotaConsumed(const std::string& key) const;
  // The stored record, checked against its stored hash (verify on read).
  absl::StatusOr<v1::Decision> ReadDecision(v1::TrailStream stream,
                                            uint64_t sequence) const;
  absl::StatusOr<v1::Decision> DecodeRecord(v1::TrailStream stream,
                                            uint64_t sequence,
                                            const std::string& value,
                                            const std::string& hash) const;
  // First sequence of `stream` recorded at or after `t`, if any.
  absl::StatusOr<std::optional<uint64_t>> FirstSequenceAtOrAfter(
      v1::TrailStream stream, absl::Time t) const;
  absl::Status CheckOpen() const ABSL_SHARED_LOCKS_REQUIRED(db_mu_);
  // OK, or UNAVAILABLE when the filesystem holding the store has less than
  // options_.min_free_bytes free.
  absl::Status CheckFreeSpace() const;
  // OK when the stream's chain and tree extend `head` (found in `source`);
  // else DATA_LOSS naming the missing records or the changed root.
  absl::Status CheckAgainstHead(v1::TrailStream stream,
                                const SignedTreeHead& head,
                                absl::string_view source) const;
  // CheckIntegrity without taking db_mu_ (Open, before any reader).
  absl::StatusOr<std::vector<std::string>> CheckIntegrityLocked(
      bool postings) const;
  // Adds a problem when a summary row differs from its record's SummaryRow,
  // lacks its record, or a record lacks its row.
  absl::Status CheckSummaryRows(std::vector<std::string>* problems) const;
  // The newest head of each stream in the tree-head log file (read from its
  // end), if it has any.
  absl::StatusOr<std::map<int, SignedTreeHead>> NewestLoggedHeads() const;

  const AuditStoreOptions options_;
  std::string token_key_;

  // Readers hold db_mu_ shared; only Close() takes it exclusively, so the
  // writer thread never blocks a reader.
  mutable absl::Mutex db_mu_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // destroyed in Close
  rocksdb::ColumnFamilyHandle* meta_ = nullptr;
  rocksdb::ColumnFamilyHandle* records_ = nullptr;
  rocksdb::ColumnFamilyHandle* chain_ = nullptr;
  rocksdb::ColumnFamilyHandle* declarations_ = nullptr;
  rocksdb::ColumnFamilyHandle* postings_ = nullptr;
  rocksdb::ColumnFamilyHandle* time_ = nullptr;
  rocksdb::ColumnFamilyHandle* quota_ = nullptr;
  rocksdb::ColumnFamilyHandle* rulesets_ = nullptr;
  rocksdb::ColumnFamilyHandle* tree_ = nullptr;
  rocksdb::ColumnFamilyHandle* heads_ = nullptr;
  // Null only for a store of schema 5 or older opened read-only (even when
  // an upgrade cut short left the family there).
  rocksdb::ColumnFamilyHandle* summaries_ = nullptr;
  // The tree-head log: signed heads from the writer thread, impact anchors
  // from AppendRetroactiveImpact (the mutex keeps each line whole when the
  // two append at once). Opened by Open, closed by Close.
  absl::Mutex head_log_mu_;
  std::FILE* head_log_ ABSL_GUARDED_BY(head_log_mu_) = nullptr;
  void AppendToHeadLog(const std::vector<std::string>& lines);
  bool closed_ ABSL_GUARDED_BY(db_mu_) = false;
  absl::Status close_status_ ABSL_GUARDED_BY(db_mu_);

  absl::Mutex queue_mu_;
  std::deque<Pending> queue_ ABSL_GUARDED_BY(queue_mu_);
  bool stopping_ ABSL_GUARDED_BY(queue_mu_) = false;
  std::thread writer_;

  // Writer thread only (and Open, before the writer starts).
  StreamState streams_[2];
  // A version 1 or 2 store: Open builds the tree and records version 3.
  bool build_tree_at_open_ = false;
  // The schema version of the store as opened (before any upgrade).
  int opened_schema_ = kSchemaVersion;
  // Opened read-only (no room to write at Open): every append fails
  // UNAVAILABLE. Set by Open only.
  bool read_only_ = false;
  std::string read_only_reason_;
  // The last write failed with an I/O error (e.g. ENOSPC); RocksDB refuses
  // writes until Resume() succeeds.
  mutable std::atomic<bool> write_failed_{false};
  // Schema 4: the store's identity (raw bytes) and epoch. The epoch only
  // changes in AcceptLoss, on a store nothing else is appending to.
  std::string identity_;
  std::atomic<uint64_t> epoch_{1};
  // Whether a signed head belongs to this store's current epoch (heads of
  // a store before schema 4 carry no identity and epoch 0, meaning 1).
  bool InCurrentEpoch(const TreeHead& head) const {
    const uint64_t epoch = head.epoch == 0 ? 1 : head.epoch;
    return epoch == epoch_.load() &&
           (head.store_identity.empty() || head.store_identity == identity_);
  }

  // Published by the writer after each durable batch.
  std::atomic<uint64_t> committed_head_[2] = {0, 0};
  std::atomic<uint64_t> records_written_{0};
  std::atomic<uint64_t> batches_written_{0};
  std::atomic<uint64_t> synced_writes_{0};
  std::atomic<uint64_t> replays_{0};

  absl::Mutex rulesets_mu_;  // serializes PutRuleSetSources
  absl::Mutex impacts_mu_;   // serializes AppendRetroactiveImpact
};

// ---------------------------------------------------------------- opening

absl::Status AuditStore::Impl::Open() {
  TC_RETURN_IF_ERROR(OpenDb());
  if (build_tree_at_open_ && read_only_) {
    return absl::UnavailableError(absl::StrCat(
        "audit store ", options_.path, " needs its Merkle tree built, which "
        "cannot be done read-only (", read_only_reason_, ")"));
  }
  if (build_tree_at_open_) {
    TC_RETURN_IF_ERROR(BuildTree(v1::TRAIL_STREAM_BINDING));
    TC_RETURN_IF_ERROR(BuildTree(v1::TRAIL_STREAM_VALIDATE_ONLY));
  }
  // Read-only (no room to write): the store is served as it is; postings
  // of fields newer than its schema are missing until it is next opened
  // for writing, which upgrades it.
  if (opened_schema_ < kSchemaVersion && !read_only_) {
    TC_RETURN_IF_ERROR(
        BackfillFromRecords(v1::TRAIL_STREAM_BINDING, opened_schema_));
    TC_RETURN_IF_ERROR(
        BackfillFromRecords(v1::TRAIL_STREAM_VALIDATE_ONLY, opened_schema_));
    rocksdb::WriteOptions wo;
    wo.sync = true;
    TC_RETURN_IF_ERROR(FromRocks(
        db_->Put(wo, meta_, keys::kMetaSchemaVersion,
                 std::to_string(kSchemaVersion)),
        absl::StrCat("recording schema version ", kSchemaVersion,
                     " after upgrading from ", opened_schema_)));
  }
  TC_RETURN_IF_ERROR(LoadStreamState(v1::TRAIL_STREAM_BINDING));
  TC_RETURN_IF_ERROR(LoadStreamState(v1::TRAIL_STREAM_VALIDATE_ONLY));
  if (options_.check_at_open) {
    TC_ASSIGN_OR_RETURN(std::vector<std::string> problems,
                        CheckIntegrityLocked(/*postings=*/false));
    if (!problems.empty()) {
      return absl::DataLossError(absl::StrCat(
          "audit store ", options_.path, " has lost records: ",
          absl::StrJoin(problems, "; "),
          ". Nothing was changed. `tradecheck_store_admin check --db=",
          options_.path,
          "` lists every problem; restore the newest backup (docs/storage.md, "
          "\"No silent loss\")"));
    }
  }
  if (!options_.tree_head_log.empty()) {
    absl::MutexLock log_lock(&head_log_mu_);
    head_log_ = std::fopen(options_.tree_head_log.c_str(), "a");
    if (head_log_ == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot open the tree-head log ",
                       options_.tree_head_log, " for appending"));
    }
  }
  writer_ = std::thread([this] { WriterLoop(); });
  return absl::OkStatus();
}

absl::Status AuditStore::Impl::OpenDb() {
  namespace fs = std::filesystem;
  const std::string& path = options_.path;
  if (path.empty()) {
    return absl::InvalidArgumentError("audit store path is empty");
  }
  std::error_code ec;
  const bool exists = fs::exists(path, ec);
  if (exists && !fs::is_directory(path, ec)) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, " is not a tradecheck audit store: not a directory"));
  }
  const bool has_db = exists && fs::exists(fs::path(path) / "CURRENT", ec);
  if (exists && !has_db && !fs::is_empty(path, ec)) {
    return absl::FailedPreconditionError(absl::StrCat(
        path,
        " is not a tradecheck audit store: the directory is not empty and "
        "holds no database"));
  }

  rocksdb::Options options;
  options.create_if_missing = !has_db;
  options.create_missing_column_families = !has_db;
  options.paranoid_checks = true;
  // RocksDB's default (point-in-time recovery) replays the write-ahead log
  // up to the first damaged record and silently drops everything after it:
  // acknowledged verdicts would vanish with the store opening "fine". Here
  // a damaged record is an error at Open (DATA_LOSS); only an incomplete
  // record at the very end of the log, which a crash in the middle of a
  // write leaves and which was never acknowledged (acknowledgement follows
  // the synced write), is dropped.
  options.wal_recovery_mode =
      rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  options.max_background_jobs = 2;
  // Compression, compaction, block cache and filters: storage/rocksdb_tuning.h.
  rocksdb::BlockBasedTableOptions table;
  if (!options_.rocksdb_defaults) {
    ApplyTrailTuning(options_.log, &options, &table);
  }
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));

  std::vector<std::string> names = AllColumnFamilies();
  // A store of schema 1 to 5 (no summaries family): opened for writing it
  // gets the family, filled by the upgrade; read-only it is served without.
  bool only_summaries_missing = false;
  if (has_db) {
    // Open with the families the directory has, so a foreign RocksDB or
    // another schema is reported by what it holds, not by a RocksDB error.
    names.clear();
    rocksdb::Status s = rocksdb::DB::ListColumnFamilies(options, path, &names);
    if (!s.ok()) {
      if (s.IsCorruption()) {
        return absl::DataLossError(absl::StrCat(
            "audit store ", path, " is corrupted: ", s.ToString()));
      }
      return absl::FailedPreconditionError(
          absl::StrCat("cannot open audit store ", path, ": ", s.ToString()));
    }
    if (std::find(names.begin(), names.end(), keys::kMetaCf) == names.end()) {
      return absl::FailedPreconditionError(absl::StrCat(
          path,
          " is not a tradecheck audit store: a RocksDB database without the "
          "\"meta\" column family"));
    }
    // A store of schema 1 or 2 has no tree or heads family yet; they are
    // created empty and filled by the upgrade (BuildTree).
    for (const char* added : {keys::kTreeCf, keys::kHeadsCf}) {
      if (std::find(names.begin(), names.end(), added) == names.end()) {
        names.push_back(added);
        options.create_missing_column_families = true;
      }
    }
    if (std::find(names.begin(), names.end(), keys::kSummariesCf) ==
        names.end()) {
      only_summaries_missing = !options.create_missing_column_families;
      names.push_back(keys::kSummariesCf);
      options.create_missing_column_families = true;
    }
  }

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  const std::shared_ptr<const rocksdb::SliceTransform> stream_prefix(
      rocksdb::NewFixedPrefixTransform(1));
  const auto posting_prefix = std::make_shared<PostingListPrefix>();
  for (const std::string& name : names) {
    rocksdb::ColumnFamilyOptions cf_options(options);
    if (name == keys::kRecordsCf || name == keys::kChainCf ||
        name == keys::kTimeCf) {
      cf_options.memtable_insert_with_hint_prefix_extractor = stream_prefix;
      if (name == keys::kRecordsCf && !options_.rocksdb_defaults) {
        ApplyRecordsTuning(&cf_options);
      }
    } else if (name == keys::kPostingsCf) {
      cf_options.memtable_insert_with_hint_prefix_extractor = posting_prefix;
    } else if (name == keys::kDeclarationsCf) {
      // The idempotency lookup of a new declaration_id (almost always
      // absent) is answered by a memtable bloom filter instead of a skip
      // list search, as the table files' filters answer it for them.
      cf_options.memtable_whole_key_filtering = true;
      cf_options.memtable_prefix_bloom_size_ratio = 0.02;
    }
    descriptors.emplace_back(name, cf_options);
  }
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s;
  if (options_.read_only) {
    if (!has_db) {
      return absl::FailedPreconditionError(
          absl::StrCat(path, " holds no audit store to open read-only"));
    }
    read_only_ = true;
    read_only_reason_ = "opened read-only";
  }
  if (has_db && !read_only_) {
    // No room to write: open read-only rather than fail (a supervisor
    // would restart the server into the same full disk, again and again).
    if (absl::Status space = CheckFreeSpace(); !space.ok()) {
      read_only_ = true;
      read_only_reason_ = std::string(space.message());
    }
  }
  if (!read_only_) {
    s = rocksdb::DB::Open(options, path, descriptors, &handles_, &raw);
    if (has_db && (s.IsIOError() || s.IsNoSpace())) {
      read_only_ = true;
      read_only_reason_ =
          absl::StrCat("opening for writing failed: ", s.ToString());
      handles_.clear();
    }
  }
  if (read_only_ && only_summaries_missing) {
    options.create_missing_column_families = false;
    descriptors.erase(std::find_if(
        descriptors.begin(), descriptors.end(),
        [](const rocksdb::ColumnFamilyDescriptor& d) {
          return d.name == keys::kSummariesCf;
        }));
  }
  if (read_only_) {
    if (options.create_missing_column_families) {
      return absl::UnavailableError(absl::StrCat(
          "audit store ", path, " needs its schema upgraded, which cannot "
          "be done read-only (", read_only_reason_, ")"));
    }
    s = rocksdb::DB::OpenForReadOnly(options, path, descriptors, &handles_,
                                     &raw);
  }
  if (!s.ok()) {
    if (s.IsCorruption()) {
      // wal_recovery_mode (above): the store is not opened with records
      // silently dropped from a damaged write-ahead log.
      return absl::DataLossError(absl::StrCat(
          "audit store ", path,
          " is damaged and was not opened (RocksDB found corruption in its "
          "write-ahead log or table files; nothing was dropped): ",
          s.ToString(),
          ". Restore the newest backup (docs/storage.md, \"No silent "
          "loss\")"));
    }
    return absl::FailedPreconditionError(
        absl::StrCat("cannot open audit store ", path, ": ", s.ToString()));
  }
  db_.reset(raw);
  std::map<std::string, rocksdb::ColumnFamilyHandle*> by_name;
  for (rocksdb::ColumnFamilyHandle* h : handles_) by_name[h->GetName()] = h;
  meta_ = by_name[keys::kMetaCf];

  if (!has_db) {
    rocksdb::WriteBatch batch;
    batch.Put(meta_, keys::kMetaMagic, keys::kMagicValue);
    batch.Put(meta_, keys::kMetaSchemaVersion, std::to_string(kSchemaVersion));
    rocksdb::WriteOptions wo;
    wo.sync = true;
    TC_RETURN_IF_ERROR(
        FromRocks(db_->Write(wo, &batch), "initializing the audit store"));
  }

  TC_ASSIGN_OR_RETURN(std::optional<std::string> magic,
                      GetValue(meta_, keys::kMetaMagic));
  if (!magic.has_value() || *magic != keys::kMagicValue) {
    return absl::FailedPreconditionError(absl::StrCat(
        path,
        " is not a tradecheck audit store: its meta has no store marker"));
  }
  TC_ASSIGN_OR_RETURN(std::optional<std::string> version,
                      GetValue(meta_, keys::kMetaSchemaVersion));
  int version_number = 0;
  const bool upgradable =
      version.has_value() && absl::SimpleAtoi(*version, &version_number) &&
      version_number >= kOldestUpgradableSchemaVersion &&
      version_number < kSchemaVersion;
  build_tree_at_open_ = upgradable && version_number < 3;
  if (upgradable) opened_schema_ = version_number;
  if (!upgradable &&
      (!version.has_value() || *version != std::to_string(kSchemaVersion))) {
    return absl::FailedPreconditionError(
        absl::StrCat("audit store ", path, " has schema version ",
                     version.has_value() ? *version : "(none)",
                     "; this build reads version ", kSchemaVersion,
                     ". Open it with a matching build or migrate it"));
  }
  for (const std::string& name : AllColumnFamilies()) {
    if (name == keys::kSummariesCf && read_only_ && opened_schema_ < 6) {
      continue;
    }
    if (by_name.count(name) == 0) {
      return absl::DataLossError(absl::StrCat(
          "audit store ", path, " lacks the column family \"", name, "\""));
    }
  }
  records_ = by_name[keys::kRecordsCf];
  chain_ = by_name[keys::kChainCf];
  declarations_ = by_name[keys::kDeclarationsCf];
  postings_ = by_name[keys::kPostingsCf];
  time_ = by_name[keys::kTimeCf];
  quota_ = by_name[keys::kQuotaCf];
  rulesets_ = by_name[keys::kRuleSetsCf];
  tree_ = by_name[keys::kTreeCf];
  heads_ = by_name[keys::kHeadsCf];
  // The rows are used once the store is at schema 6, or is about to be
  // (opened for writing: Open fills them first). A schema 5 store opened
  // read-only may hold the family from an upgrade cut short, with some rows
  // missing: its summaries read the records.
  if (auto it = by_name.find(keys::kSummariesCf);
      it != by_name.end() && (opened_schema_ >= 6 || !read_only_)) {
    summaries_ = it->second;
  }

  TC_ASSIGN_OR_RETURN(std::optional<std::string> identity,
                      GetValue(meta_, keys::kMetaStoreIdentity));
  TC_ASSIGN_OR_RETURN(std::optional<std::string> epoch,
                      GetValue(meta_, keys::kMetaEpoch));
  uint64_t epoch_number = 1;
  if (epoch.has_value() && !absl::SimpleAtoi(*epoch, &epoch_number)) {
    return absl::DataLossError(absl::StrCat(
        "audit store ", path, " has an unreadable epoch \"", *epoch, "\""));
  }
  epoch_.store(epoch_number);
  if (identity.has_value()) {
    identity_ = *identity;
  } else if (read_only_) {
    // A store from before schema 4, read only: it has no identity yet (its
    // heads carry none either); it gets one when next opened for writing.
  } else {
    // A new store, or one from before schema 4: it gets its identity now.
    // Schema 3 -> 4 is only this (1 and 2 build their tree first, in
    // Open, and record version 4 after it).
    identity_ = RandomBytes(16);
    rocksdb::WriteBatch batch;
    batch.Put(meta_, keys::kMetaStoreIdentity, identity_);
    batch.Put(meta_, keys::kMetaEpoch, std::to_string(epoch_number));
    // The schema version is recorded by Open once every upgrade step is
    // done (a new store has it already).
    rocksdb::WriteOptions wo;
    wo.sync = true;
    TC_RETURN_IF_ERROR(FromRocks(db_->Write(wo, &batch),
                                 "recording the store's identity"));
  }

  token_key_ = options_.page_token_key;
  if (token_key_.empty()) {
    TC_ASSIGN_OR_RETURN(std::optional<std::string> stored,
                        GetValue(meta_, keys::kMetaPageTokenKey));
    if (stored.has_value()) {
      token_key_ = *stored;
    } else if (read_only_) {
      token_key_ = RandomBytes(32);  // tokens last until the restart
    } else {
      token_key_ = RandomBytes(32);
      rocksdb::WriteOptions wo;
      wo.sync = true;
      TC_RETURN_IF_ERROR(
          FromRocks(db_->Put(wo, meta_, keys::kMetaPageTokenKey, token_key_),
                    "storing the page token key"));
    }
  }
  return absl::OkStatus();
}

// Reads the head from the chain and time families only, so a store whose
// last record was altered still opens (and VerifyTrail can name it).
absl::StatusOr<bool> AuditStore::Impl::LastOfStream(
    rocksdb::ColumnFamilyHandle* family, v1::TrailStream stream,
    const std::string& seek_key, absl::string_view what, std::string* key,
    std::string* value) const {
  const char stream_byte = static_cast<char>(keys::StreamByte(stream));
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), family));
  it->SeekForPrev(ToSlice(seek_key));
  const bool found = it->Valid() && !it->key().empty() &&
                     it->key()[0] == stream_byte;
  if (found) {
    *key = it->key().ToString();
    if (value != nullptr) *value = it->value().ToString();
  }
  TC_RETURN_IF_ERROR(FromRocks(it->status(), absl::StrCat("reading ", what)));
  return found;
}

absl::Status AuditStore::Impl::LoadStreamState(v1::TrailStream stream) {
  StreamState& state = streams_[StreamIndex(stream)];
  std::string key;
  TC_ASSIGN_OR_RETURN(
      bool found,
      LastOfStream(chain_, stream, LastRecordKey(stream), "the chain head",
                   &key, &state.head_hash));
  if (found) {
    TC_ASSIGN_OR_RETURN(keys::StreamSeq head, keys::ParseRecordKey(key));
    state.head_sequence = head.sequence;
  }
  TC_ASSIGN_OR_RETURN(found, LastOfStream(time_, stream, LastTimeKey(stream),
                                          "the time index", &key));
  if (found) {
    TC_ASSIGN_OR_RETURN(keys::TimeSeq last, keys::ParseTimeKey(stream, key));
    state.last_recorded_at = last.recorded_at;
  }
  TC_ASSIGN_OR_RETURN(state.frontier,
                      merkle::Frontier::Load(TreeReader(stream),
                                             state.head_sequence));
  committed_head_[StreamIndex(stream)].store(state.head_sequence);
  return absl::OkStatus();
}

absl::Status AuditStore::Impl::BuildTree(v1::TrailStream stream) {
  const std::string stream_byte(1, static_cast<char>(keys::StreamByte(stream)));
  merkle::Frontier frontier;
  rocksdb::WriteBatch batch;
  rocksdb::WriteOptions wo;
  wo.sync = true;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), chain_));
  for (it->Seek(ToSlice(stream_byte));
       it->Valid() && it->key().starts_with(ToSlice(stream_byte)); it->Next()) {
    TC_ASSIGN_OR_RETURN(keys::StreamSeq at,
                        keys::ParseRecordKey(ToView(it->key())));
    if (at.sequence != frontier.size() + 1) {
      return absl::DataLossError(absl::StrCat(
          "building the Merkle tree: the hash of record ",
          keys::DecisionId(stream, frontier.size() + 1), " is missing"));
    }
    frontier.Append(ToView(it->value()), [&](int level, uint64_t index,
                                             const std::string& hash) {
      batch.Put(tree_, keys::TreeNodeKey(stream, level, index), hash);
    });
    if (frontier.size() % kTreeBuildBatch == 0) {
      TC_RETURN_IF_ERROR(
          FromRocks(db_->Write(wo, &batch), "writing the Merkle tree"));
      batch.Clear();
    }
  }
  TC_RETURN_IF_ERROR(FromRocks(it->status(), "reading the hash chain"));
  return FromRocks(db_->Write(wo, &batch), "writing the Merkle tree");
}

absl::Status AuditStore::Impl::BackfillFromRecords(v1::TrailStream stream,
                                                   int from_schema) {
  const std::string stream_byte(1, static_cast<char>(keys::StreamByte(stream)));
  rocksdb::WriteOptions wo;
  wo.sync = true;
  // Prefix -> sequences (ascending) of one chunk of records. A chunk is a
  // contiguous run of sequences, so its blocks overlap no other block of
  // the same prefix (keys.h).
  std::map<std::string, std::vector<uint64_t>> postings;
  rocksdb::WriteBatch batch;
  auto flush = [&]() -> absl::Status {
    for (const auto& [prefix, sequences] : postings) {
      batch.Put(postings_, keys::PostingKey(prefix, sequences.front()),
                keys::EncodePostingBlock(sequences));
    }
    postings.clear();
    absl::Status s =
        FromRocks(db_->Write(wo, &batch), "backfilling the indexes");
    batch.Clear();
    return s;
  };
  const bool summaries = from_schema < 6;
  // Whatever postings of these fields the stream holds (an upgrade cut
  // short by a crash) go first: blocks must not overlap.
  {
    rocksdb::WriteBatch clear;
    for (const IndexedField& f : IndexedFields()) {
      if (f.since_schema <= from_schema) continue;
      std::string begin(1, static_cast<char>(f.field));
      begin.push_back(static_cast<char>(keys::StreamByte(stream)));
      std::string end = begin;
      end.back() = static_cast<char>(keys::StreamByte(stream) + 1);
      clear.DeleteRange(postings_, begin, end);
    }
    if (summaries) {
      clear.DeleteRange(summaries_, stream_byte,
                        std::string(1, static_cast<char>(
                                           keys::StreamByte(stream) + 1)));
    }
    TC_RETURN_IF_ERROR(
        FromRocks(db_->Write(wo, &clear), "clearing postings to backfill"));
  }
  uint64_t in_chunk = 0;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), records_));
  for (it->Seek(ToSlice(stream_byte));
       it->Valid() && it->key().starts_with(ToSlice(stream_byte)); it->Next()) {
    TC_ASSIGN_OR_RETURN(keys::StreamSeq at,
                        keys::ParseRecordKey(ToView(it->key())));
    v1::Decision d;
    if (!d.ParseFromArray(it->value().data(),
                          static_cast<int>(it->value().size()))) {
      // A damaged record gets no postings and no row, and the store still
      // opens: VerifyTrail and `tradecheck_store_admin check` name it, and
      // the operator restores or accepts the loss (refusing to open here
      // would leave no way to either).
      continue;
    }
    for (const auto& [field, value] : PostingValues(d, from_schema)) {
      postings[keys::PostingPrefix(field, stream, value)].push_back(
          at.sequence);
    }
    if (summaries) {
      batch.Put(summaries_, it->key(), SerializeDeterministic(SummaryRow(d)));
    }
    if (++in_chunk == kTreeBuildBatch) {
      TC_RETURN_IF_ERROR(flush());
      in_chunk = 0;
    }
  }
  TC_RETURN_IF_ERROR(FromRocks(it->status(), "reading the records"));
  return flush();
}

merkle::NodeReader AuditStore::Impl::TreeReader(v1::TrailStream stream) const {
  return [this, stream](int level,
                        uint64_t index) -> absl::StatusOr<std::string> {
    absl::StatusOr<std::optional<std::string>> value =
        level == 0 ? GetValue(chain_, keys::RecordKey(stream, index + 1))
                   : GetValue(tree_, keys::TreeNodeKey(stream, level, index));
    if (!value.ok()) return value.status();
    if (!value->has_value()) {
      return absl::DataLossError(
          level == 0
              ? absl::StrCat("the hash of audit record ",
                             keys::DecisionId(stream, index + 1),
                             " is missing")
              : absl::StrCat("Merkle tree node (level ", level, ", index ",
                             index, ") of the ", keys::StreamByte(stream) ==
                                 'b' ? "binding" : "validate-only",
                             " stream is missing"));
    }
    return std::move(**value);
  };
}

// ---------------------------------------------------------------- writing

void AuditStore::Impl::Append(AppendRequest request, AppendCallback done) {
  std::string digest;
  if (Normalize(request.stream) == v1::TRAIL_STREAM_BINDING) {
    digest = DeclarationDigest(request.declaration);
  }
  {
    absl::MutexLock lock(&queue_mu_);
    if (!stopping_) {
      queue_.push_back(Pending{std::move(request), std::move(done),
                               std::move(digest), absl::Now()});
      return;
    }
  }
  done(absl::UnavailableError("audit store is closed"));
}

void AuditStore::Impl::WriterLoop() {
  const size_t max_batch = static_cast<size_t>(std::max(1, options_.max_batch));
  // Reused across batches: allocating it afresh each time costs more than
  // the moves (a large block makes malloc consolidate its free lists).
  std::vector<Pending> pending;
  pending.reserve(std::min<size_t>(max_batch, 1024));
  // RocksDB's per-thread perf counters (on by default) cost a thread-local
  // lookup per key comparison; nothing reads them here.
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
  while (true) {
    pending.clear();
    {
      absl::MutexLock lock(&queue_mu_);
      queue_mu_.Await(absl::Condition(
          +[](Impl* impl) ABSL_NO_THREAD_SAFETY_ANALYSIS {
            return !impl->queue_.empty() || impl->stopping_;
          },
          this));
      if (queue_.empty()) return;  // stopping and drained
      while (!queue_.empty() && pending.size() < max_batch) {
        pending.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    CommitBatch(pending);
  }
}

void AuditStore::Impl::CommitBatch(std::vector<Pending>& pending) {
  const absl::Time taken_at = absl::Now();
  BatchState state;
  state.streams[0] = streams_[0];
  state.streams[1] = streams_[1];
  state.results.reserve(pending.size());
  for (size_t i = 0; i < pending.size(); ++i) {
    state.results.push_back(Stage(pending[i], i, state));
  }

  absl::Status write_status;
  rocksdb::WriteBatch& batch = state.batch;
  for (const v1::TrailStream stream :
       {v1::TRAIL_STREAM_BINDING, v1::TRAIL_STREAM_VALIDATE_ONLY}) {
    const int i = StreamIndex(stream);
    if (!state.recorded_at[i].has_value()) continue;
    // The batch's first record follows the last durable one.
    batch.Put(time_,
              keys::TimeKey(stream, *state.recorded_at[i],
                            streams_[i].head_sequence + 1),
              "");
  }
  for (const auto& [prefix, sequences] : state.postings) {
    batch.Put(postings_, keys::PostingKey(prefix, sequences.front()),
              keys::EncodePostingBlock(sequences));
  }
  for (const auto& [key, consumed] : state.quota_consumed) {
    batch.Put(quota_, key, keys::EncodeQuotaConsumed(consumed));
  }
  if (options_.tree_head_signer != nullptr) {
    // One signed head per stream the batch added to, in the same WriteBatch
    // as its records: a head is durable exactly when what it covers is.
    for (const v1::TrailStream stream :
         {v1::TRAIL_STREAM_BINDING, v1::TRAIL_STREAM_VALIDATE_ONLY}) {
      const int i = StreamIndex(stream);
      if (!state.recorded_at[i].has_value()) continue;
      SignedTreeHead signed_head;
      TreeHead& head = signed_head.head;
      head.stream = static_cast<int>(stream);
      head.tree_size = state.streams[i].head_sequence;
      head.timestamp_unix_nanos = absl::ToUnixNanos(*state.recorded_at[i]);
      head.root_hash = state.streams[i].frontier.Root();
      head.store_identity = identity_;
      head.epoch = epoch_.load();
      signed_head.signature = options_.tree_head_signer->Sign(head);
      std::string line = FormatTreeHeadLine(signed_head);
      batch.Put(heads_, keys::TreeHeadKey(stream, head.tree_size), line);
      state.head_lines.push_back(std::move(line));
    }
  }
  if (batch.Count() > 0) {
    rocksdb::WriteOptions wo;
    wo.sync = options_.sync;
    if (read_only_) {
      write_status = absl::UnavailableError(absl::StrCat(
          "the audit store is read-only: ", read_only_reason_,
          "; nothing was written. Free space and restart the server"));
    } else {
      write_status = CheckFreeSpace();
    }
    if (write_status.ok() && write_failed_.load()) {
      // RocksDB stops writing after an I/O error until told to resume.
      write_status = FromRocks(db_->Resume(), "resuming after a write error");
    }
    if (!write_status.ok()) {
      // Refused before writing: nothing of the batch reached RocksDB.
    } else if (injected_write_faults.load() > 0 &&
               injected_write_faults.fetch_sub(1) > 0) {
      write_status =
          absl::InternalError("writing audit records: injected fault");
    } else {
      const absl::Time write_start = absl::Now();
      write_status =
          FromRocks(db_->Write(wo, &batch), "writing audit records");
      if (write_status.ok() && options_.on_commit) {
        CommitObservation seen;
        for (int i = 0; i < 2; ++i) {
          seen.records[i] = state.stream_records[i];
          seen.record_bytes[i] = state.stream_bytes[i];
        }
        seen.batch_bytes = batch.GetDataSize();
        seen.write_seconds = absl::ToDoubleSeconds(absl::Now() - write_start);
        seen.synced = wo.sync;
        // The queue is FIFO: the batch's first record waited longest.
        seen.queue_seconds =
            absl::ToDoubleSeconds(taken_at - pending.front().queued_at);
        seen.stage_seconds = absl::ToDoubleSeconds(write_start - taken_at);
        options_.on_commit(seen);
      }
      write_failed_.store(absl::IsUnavailable(write_status));
    }
    if (write_status.ok()) {
      streams_[0] = std::move(state.streams[0]);
      streams_[1] = std::move(state.streams[1]);
      AppendToHeadLog(state.head_lines);
      committed_head_[0].store(streams_[0].head_sequence);
      committed_head_[1].store(streams_[1].head_sequence);
      records_written_ += state.records;
      batches_written_ += 1;
      if (options_.sync) synced_writes_ += 1;
    }
  }
  if (write_status.ok()) replays_ += state.replays;
  for (size_t i = 0; i < pending.size(); ++i) {
    if (!write_status.ok()) {
      pending[i].done(write_status);
    } else {
      pending[i].done(std::move(state.results[i]));
    }
  }
}

void AuditStore::Impl::AppendToHeadLog(const std::vector<std::string>& lines) {
  absl::MutexLock lock(&head_log_mu_);
  if (head_log_ == nullptr || lines.empty()) return;
  for (const std::string& line : lines) {
    std::fputs(line.c_str(), head_log_);
    std::fputc('\n', head_log_);
  }
  std::fflush(head_log_);
}

absl::StatusOr<AppendResult> AuditStore::Impl::Stage(Pending& pending,
                                                     size_t index,
                                                     BatchState& state) {
  AppendRequest& request = pending.request;
  const v1::TrailStream stream = Normalize(request.stream);
  if (!IsKnownStream(stream)) {
    return absl::InvalidArgumentError(
        absl::StrCat("stream: unknown trail stream ", request.stream));
  }
  const bool binding = stream == v1::TRAIL_STREAM_BINDING;
  const std::string declaration_id = request.declaration.declaration_id();
  const std::string& digest = pending.digest;

  if (binding) {
    if (declaration_id.empty()) {
      return absl::InvalidArgumentError(
          "declaration.declaration_id: required for a binding record (it is "
          "the idempotency key)");
    }
    std::optional<std::pair<std::string, uint64_t>> holder;  // digest, seq
    std::optional<size_t> staged_by;
    if (auto it = state.declarations.find(declaration_id);
        it != state.declarations.end()) {
      staged_by = it->second.second;
      holder.emplace(it->second.first,
                     state.results[*staged_by]->decision.sequence());
    } else {
      TC_ASSIGN_OR_RETURN(std::optional<std::string> value,
                          GetValue(declarations_, declaration_id));
      if (value.has_value()) {
        TC_ASSIGN_OR_RETURN(keys::DeclarationEntry entry,
                            keys::DecodeDeclarationEntry(*value));
        holder.emplace(entry.digest, entry.sequence);
      }
    }
    if (holder.has_value()) {
      const std::string holder_id =
          keys::DecisionId(v1::TRAIL_STREAM_BINDING, holder->second);
      if (holder->first != digest) {
        return absl::AlreadyExistsError(absl::StrCat(
            "declaration_id \"", declaration_id,
            "\" is already held by decision ", holder_id,
            " with different declaration content; use a new declaration_id"));
      }
      AppendResult replay;
      replay.replayed = true;
      if (staged_by.has_value()) {
        replay.decision = state.results[*staged_by]->decision;
      } else {
        // The index says which record holds the id; the record itself must
        // say so too. A record that is gone (a cut tail) or that holds
        // another declaration (its sequence reused after a loss) is
        // DATA_LOSS, never another declaration's verdict.
        absl::StatusOr<v1::Decision> stored =
            ReadDecision(v1::TRAIL_STREAM_BINDING, holder->second);
        if (absl::IsNotFound(stored.status())) {
          return absl::DataLossError(absl::StrCat(
              "declaration_id \"", declaration_id, "\" was recorded as ",
              holder_id, ", which the audit trail no longer has"));
        }
        TC_RETURN_IF_ERROR(stored.status());
        if (stored->declaration().declaration_id() != declaration_id ||
            DeclarationDigest(stored->declaration()) != digest) {
          return absl::DataLossError(absl::StrCat(
              "declaration_id \"", declaration_id, "\" was recorded as ",
              holder_id, ", but that record holds declaration \"",
              stored->declaration().declaration_id(),
              "\" (or other content): the trail lost the original"));
        }
        replay.decision = *std::move(stored);
      }
      ++state.replays;
      return replay;
    }
  }

  // Quota: all draws fit and are consumed, or none is.
  std::map<std::string, int64_t> consumed_after;
  if (binding && !request.quota_draws.empty()) {
    std::vector<std::pair<size_t, int64_t>> shortfalls;  // draw, remaining
    for (size_t i = 0; i < request.quota_draws.size(); ++i) {
      const QuotaDraw& draw = request.quota_draws[i];
      if (draw.quota_key.empty() || draw.amount_milli < 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            "quota_draws[", i, "]: needs a quota_key and amount_milli >= 0"));
      }
      auto it = consumed_after.find(draw.quota_key);
      if (it == consumed_after.end()) {
        int64_t consumed = 0;
        if (auto staged = state.quota_consumed.find(draw.quota_key);
            staged != state.quota_consumed.end()) {
          consumed = staged->second;
        } else {
          TC_ASSIGN_OR_RETURN(consumed, ReadQuotaConsumed(draw.quota_key));
        }
        it = consumed_after.emplace(draw.quota_key, consumed).first;
      }
      const int64_t remaining =
          std::max<int64_t>(0, draw.limit_milli - it->second);
      if (draw.amount_milli > remaining) {
        shortfalls.emplace_back(i, remaining);
      } else {
        it->second += draw.amount_milli;
      }
    }
    if (!shortfalls.empty()) {
      consumed_after.clear();
      if (request.on_shortfall) {
        for (const auto& [draw, remaining] : shortfalls) {
          request.on_shortfall(draw, remaining, &request.verdict);
        }
      }
    }
  }

  const int stream_index = StreamIndex(stream);
  StreamState& chain = state.streams[stream_index];
  const uint64_t sequence = chain.head_sequence + 1;
  const std::string decision_id =
      keys::DecisionId(stream, sequence, epoch_.load());
  if (!state.recorded_at[stream_index].has_value()) {
    state.recorded_at[stream_index] =
        std::max(options_.clock->Now(), chain.last_recorded_at);
  }
  const absl::Time recorded_at = *state.recorded_at[stream_index];

  AppendResult result;
  v1::Decision& d = result.decision;
  d.set_decision_id(decision_id);
  d.set_stream(stream);
  d.set_sequence(sequence);
  *d.mutable_declaration() = std::move(request.declaration);
  *d.mutable_verdict() = std::move(request.verdict);
  v1::Verdict& verdict = *d.mutable_verdict();
  verdict.set_decision_id(decision_id);
  verdict.set_audit_sequence(sequence);
  verdict.set_validate_only(!binding);
  verdict.set_leaf_index(sequence - 1);
  *verdict.mutable_recorded_at() = ToTimestamp(recorded_at);
  d.set_rule_set_revision(verdict.rule_set_revision());
  *d.mutable_governing_date() = verdict.governing_date();
  *d.mutable_recorded_at() = ToTimestamp(recorded_at);
  d.set_caller(request.caller);
  d.set_caller_role(request.caller_role);
  d.set_previous_hash(chain.head_hash.empty()
                          ? GenesisHashHex()
                          : absl::BytesToHexString(chain.head_hash));
  std::string entry = EntryBytesClearingHashes(&d);
  const std::string hash = LeafHash(entry);
  d.set_record_hash(absl::BytesToHexString(hash));
  verdict.set_record_hash(d.record_hash());

  const std::string record_key = keys::RecordKey(stream, sequence);
  state.batch.Put(records_, record_key, entry);
  state.batch.Put(chain_, record_key, hash);
  state.batch.Put(summaries_, record_key,
                  SerializeDeterministic(SummaryRow(d)));
  for (const auto& [field, value] : PostingValues(d)) {
    state.postings[keys::PostingPrefix(field, stream, value)].push_back(
        sequence);
  }
  if (binding) {
    state.batch.Put(declarations_, declaration_id,
                    keys::EncodeDeclarationEntry({sequence, digest}));
    state.declarations[declaration_id] = {digest, index};
    for (const auto& [key, consumed] : consumed_after) {
      state.quota_consumed[key] = consumed;
    }
  }
  chain.frontier.Append(hash, [this, &state, stream](int level, uint64_t node,
                                               const std::string& h) {
    state.batch.Put(tree_, keys::TreeNodeKey(stream, level, node), h);
  });
  chain.head_sequence = sequence;
  chain.head_hash = hash;
  chain.last_recorded_at = recorded_at;
  ++state.records;
  ++state.stream_records[StreamIndex(stream)];
  state.stream_bytes[StreamIndex(stream)] += entry.size();
  result.record = std::move(entry);  // the batch holds its own copy
  return result;
}

// ---------------------------------------------------------------- reading

absl::Status AuditStore::Impl::CheckOpen() const {
  if (closed_) return absl::UnavailableError("audit store is closed");
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::string>> AuditStore::Impl::GetValue(
    rocksdb::ColumnFamilyHandle* cf, absl::string_view key) const {
  std::string value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), cf, ToSlice(key), &value);
  if (s.IsNotFound()) return std::nullopt;
  TC_RETURN_IF_ERROR(FromRocks(s, "reading the audit store"));
  return value;
}

absl::StatusOr<int64_t> AuditStore::Impl::ReadQuotaConsumed(
    const std::string& key) const {
  TC_ASSIGN_OR_RETURN(std::optional<std::string> value, GetValue(quota_, key));
  if (!value.has_value()) return 0;
  return keys::DecodeQuotaConsumed(*value);
}

absl::StatusOr<v1::Decision> AuditStore::Impl::DecodeRecord(
    v1::TrailStream stream, uint64_t sequence, const std::string& value,
    const std::string& hash) const {
  const std::string id = keys::DecisionId(stream, sequence);
  if (!ConstantTimeEquals(LeafHash(value), hash)) {
    return absl::DataLossError(absl::StrCat(
        "audit record ", id,
        " does not match its recorded hash (altered in storage); run "
        "VerifyTrail"));
  }
  v1::Decision d;
  if (!d.ParseFromString(value)) {
    return absl::DataLossError(
        absl::StrCat("audit record ", id, " is unreadable"));
  }
  // A whole record moved or copied under another key keeps a valid hash;
  // its own id says where it belongs.
  if (d.stream() != stream || d.sequence() != sequence ||
      !IdNamesPosition(d.decision_id(), stream, sequence)) {
    return absl::DataLossError(absl::StrCat(
        "the audit trail's slot for ", id, " holds record ", d.decision_id(),
        " (moved or copied in storage); run VerifyTrail"));
  }
  d.set_record_hash(absl::BytesToHexString(hash));
  d.mutable_verdict()->set_record_hash(d.record_hash());
  return d;
}

absl::StatusOr<v1::Decision> AuditStore::Impl::ReadDecision(
    v1::TrailStream stream, uint64_t sequence) const {
  const std::string key = keys::RecordKey(stream, sequence);
  TC_ASSIGN_OR_RETURN(std::optional<std::string> value,
                      GetValue(records_, key));
  if (!value.has_value()) {
    return absl::NotFoundError(absl::StrCat(
        "no decision with id \"", keys::DecisionId(stream, sequence), "\""));
  }
  TC_ASSIGN_OR_RETURN(std::optional<std::string> hash, GetValue(chain_, key));
  if (!hash.has_value()) {
    return absl::DataLossError(absl::StrCat("audit record ",
                                            keys::DecisionId(stream, sequence),
                                            " has no recorded hash"));
  }
  return DecodeRecord(stream, sequence, *value, *hash);
}

absl::StatusOr<v1::Decision> AuditStore::Impl::FindByDeclarationId(
    const std::string& id) const {
  absl::ReaderMutexLock lock(&db_mu_);
  TC_RETURN_IF_ERROR(CheckOpen());
  TC_ASSIGN_OR_RETURN(std::optional<std::string> value,
                      GetValue(declarations_, id));
  if (!value.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("no binding decision for declaration_id \"", id, "\""));
  }
  TC_ASSIGN_OR_RETURN(keys::DeclarationEntry entry,
                      keys::DecodeDeclarationEntry(*value));
  return ReadDecision(v1::TRAIL_STREAM_BINDING, entry.sequence);
}

absl::StatusOr<v1::Decision> AuditStore::Impl::GetDecision(
    const std::string& id) const {
  absl::ReaderMutexLock lock(&db_mu_);
  TC_RETURN_IF_ERROR(CheckOpen());
  TC_ASSIGN_OR_RETURN(keys::StreamSeq at, keys::ParseDecisionId(id));
  if (at.sequence > committed_head_[StreamIndex(at.stream)].load()) {
    return absl::NotFoundError(
        absl::StrCat("no decision with id \"", id, "\""));
  }
  TC_ASSIGN_OR_RETURN(v1::Decision d, ReadDecision(at.stream, at.sequence));
  if (d.decision_id() != id) {
    // The id was given out in another epoch: its record was lost and the
    // loss accepted; the position now holds a later decision.
    return absl::NotFoundError(absl::StrCat(
        "no decision with id \"", id, "\" (its position now holds ",
        d.decision_id(), ", recorded after a loss was accepted)"));
  }
  return d;
}

absl::StatusOr<std::optional<uint64_t>>
AuditStore::Impl::FirstSequenceAtOrAfter(v1::TrailStream stream,
                                         absl::Time t) const {
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), time_));
  it->Seek(ToSlice(keys::TimeKey(stream, t, 0)));
  std::optional<uint64_t> out;
  if (it->Valid() &&
      static_cast<uint8_t>(it->key()[0]) == keys::StreamByte(stream)) {
    TC_ASSIGN_OR_RETURN(keys::TimeSeq at,
                        keys::ParseTimeKey(stream, ToView(it->key())));
    out = at.sequence;
  }
  TC_RETURN_IF_ERROR(FromRocks(it->status(), "reading the time index"));
  return out;
}

absl::StatusOr<ListResult> AuditStore::Impl::ListDecisions(
    const v1::DecisionFilter& filter_in, int page_size,
    const std::string& page_token, ListOrder order, ListView view) const {
  const bool ascending = order == ListOrder::kOldestFirst ||
                         order == ListOrder::kGoverningOldestFirst;
  const bool by_governing = order == ListOrder::kGoverningNewestFirst ||
                            order == ListOrder::kGoverningOldestFirst;
  if (page_size < 0 || page_size > kMaxPageSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size: must be 1..", kMaxPageSize, " (0 means ",
                     kDefaultPageSize, "), got ", page_size));
  }
  if (page_size == 0) page_size = kDefaultPageSize;
  v1::DecisionFilter filter = filter_in;
  const v1::TrailStream stream = Normalize(filter.stream());
  if (!IsKnownStream(stream)) {
    return absl::InvalidArgumentError(
        absl::StrCat("filter.stream: unknown trail stream ", filter.stream()));
  }
  filter.set_stream(stream);
  TC_RETURN_IF_ERROR(ValidateIndexedFilter(filter));
  if (by_governing && !filter.has_governing_from()) {
    return absl::InvalidArgumentError(
        "order_by: governing-date order needs filter.governing_from and "
        "filter.governing_to (the days it walks, at most 3660)");
  }
  const std::string& hs = filter.hs_code_prefix();
  if (!hs.empty() &&
      (hs.size() < 2 || hs.size() > 10 ||
       !std::all_of(hs.begin(), hs.end(), absl::ascii_isdigit))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "filter.hs_code_prefix: must be 2 to 10 digits, got \"", hs, "\""));
  }

  absl::ReaderMutexLock lock(&db_mu_);
  TC_RETURN_IF_ERROR(CheckOpen());
  // The order is bound into the token (newest-first tokens keep the
  // digest they always had).
  const std::string digest =
      order == ListOrder::kNewestFirst
          ? FilterDigest(filter)
          : Sha256(absl::StrCat(OrderName(order), "/", FilterDigest(filter)))
                .substr(0, 16);
  uint64_t hi = committed_head_[StreamIndex(stream)].load();
  uint64_t lo = 1;
  uint64_t resume_at = 0;
  if (!page_token.empty()) {
    TC_ASSIGN_OR_RETURN(PageToken token,
                        DecodePageToken(token_key_, page_token, digest));
    resume_at = token.resume_at;
    if (!ascending && !by_governing) hi = std::min(hi, resume_at);
  }
  if (filter.has_recorded_from()) {
    TC_ASSIGN_OR_RETURN(
        std::optional<uint64_t> first,
        FirstSequenceAtOrAfter(stream, ToTime(filter.recorded_from())));
    lo = first.value_or(hi + 1);
  }
  if (filter.has_recorded_to()) {
    TC_ASSIGN_OR_RETURN(
        std::optional<uint64_t> first,
        FirstSequenceAtOrAfter(stream, ToTime(filter.recorded_to())));
    if (first.has_value()) hi = std::min(hi, *first - 1);
  }

  // The matches of `f` in [lo, hi], from `start` on in the walk's
  // direction, appended to `out` until it holds `want`.
  const auto join = [&](const v1::DecisionFilter& f, bool up, uint64_t start,
                        size_t want,
                        std::vector<uint64_t>* out) -> absl::Status {
    // One cursor per filtered field (decision_index.h); a field with several
    // accepted values (a governing date range) walks them as one.
    std::vector<std::unique_ptr<AnyOfCursor>> cursors;
    for (const IndexedField& field : IndexedFields()) {
      std::vector<std::string> any_of = field.filter_values(f);
      if (any_of.empty()) continue;
      auto cursor = std::make_unique<AnyOfCursor>();
      for (const std::string& value : any_of) {
        cursor->Add(std::make_unique<PostingCursor>(
            db_.get(), postings_,
            keys::PostingPrefix(field.field, stream, value)));
      }
      cursors.push_back(std::move(cursor));
    }
    // Leapfrog join: every cursor seeks to the nearest sequence at or past
    // target (<= newest first, >= oldest first); the first one past it
    // moves target; when none does, target matches every filter. Without
    // equality filters every sequence matches (sequences are dense).
    uint64_t target = up ? std::max(lo, start) : std::min(hi, start);
    while (out->size() < want && target >= lo && target <= hi &&
           target > 0) {
      bool all_match = true;
      bool exhausted = false;
      for (auto& cursor : cursors) {
        std::optional<uint64_t> at;
        if (up) {
          TC_ASSIGN_OR_RETURN(at, cursor->SeekAtLeast(target));
        } else {
          TC_ASSIGN_OR_RETURN(at, cursor->SeekAtMost(target));
        }
        if (!at.has_value() || *at < lo || *at > hi) {
          exhausted = true;
          break;
        }
        if (*at != target) {
          target = *at;
          all_match = false;
          break;
        }
      }
      if (exhausted) break;
      if (all_match) {
        out->push_back(target);
        if (up) {
          ++target;
        } else {
          --target;
        }
      }
    }
    return absl::OkStatus();
  };

  // One match beyond the page tells whether there is a next page. In
  // governing-date order the days of the filter's range are walked one by
  // one (each day's postings in recorded order within it), and a match is
  // resumed after as (day offset, sequence).
  std::vector<uint64_t> matches;
  std::vector<int64_t> match_day;  // governing order: offset from the first
  const size_t want = static_cast<size_t>(page_size) + 1;
  if (!by_governing) {
    TC_RETURN_IF_ERROR(join(filter, ascending,
                            ascending ? std::max(lo, resume_at) : hi, want,
                            &matches));
  } else {
    const absl::CivilDay first = *ToCivilDay(filter.governing_from());
    const absl::CivilDay last = *ToCivilDay(filter.governing_to());
    const int64_t days = last - first + 1;
    int64_t offset = 0;
    uint64_t start = ascending ? lo : hi;
    if (!page_token.empty()) {
      offset = static_cast<int64_t>(resume_at >> kGoverningSequenceBits);
      start = resume_at & ((uint64_t{1} << kGoverningSequenceBits) - 1);
    }
    for (; offset < days && matches.size() < want; ++offset) {
      const absl::CivilDay day =
          ascending ? first + offset : last - offset;
      v1::DecisionFilter one_day = filter;
      *one_day.mutable_governing_from() = ToDate(day);
      *one_day.mutable_governing_to() = ToDate(day);
      TC_RETURN_IF_ERROR(join(one_day, ascending, start, want, &matches));
      match_day.resize(matches.size(), offset);
      start = ascending ? lo : hi;
    }
  }
  // Where the listing resumes after matches[i].
  const auto resume_after = [&](size_t i) -> uint64_t {
    const uint64_t next = ascending ? matches[i] + 1 : matches[i] - 1;
    if (!by_governing) return next;
    return (static_cast<uint64_t>(match_day[i]) << kGoverningSequenceBits) |
           next;
  };

  ListResult result;
  const size_t page = std::min(matches.size(), static_cast<size_t>(page_size));
  std::vector<std::string> key_storage;
  key_storage.reserve(page);
  for (size_t i = 0; i < page; ++i) {
    key_storage.push_back(keys::RecordKey(stream, matches[i]));
  }
  // Summary rows alone, or records and their hashes.
  const bool rows = view == ListView::kSummary && summaries_ != nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> cfs;
  std::vector<rocksdb::Slice> slices;
  for (rocksdb::ColumnFamilyHandle* family :
       rows ? std::vector{summaries_} : std::vector{records_, chain_}) {
    for (const std::string& key : key_storage) {
      cfs.push_back(family);
      slices.push_back(ToSlice(key));
    }
  }
  std::vector<std::string> values;
  std::vector<rocksdb::Status> statuses =
      db_->MultiGet(rocksdb::ReadOptions(), cfs, slices, &values);
  size_t page_bytes = 0;
  for (size_t i = 0; i < page; ++i) {
    for (size_t j = i; j < statuses.size(); j += page) {
      if (statuses[j].IsNotFound()) {
        return absl::DataLossError(absl::StrCat(
            "the index names audit record ",
            keys::DecisionId(stream, matches[i]), " but ",
            rows ? "its summary row" : "it", " is missing"));
      }
      TC_RETURN_IF_ERROR(FromRocks(statuses[j], "reading audit records"));
    }
    v1::Decision d;
    if (rows) {
      if (!d.ParseFromString(values[i]) || d.sequence() != matches[i]) {
        return absl::DataLossError(absl::StrCat(
            "the summary row of ", keys::DecisionId(stream, matches[i]),
            " is damaged; `tradecheck_store_admin check` compares every row "
            "with its record"));
      }
    } else {
      TC_ASSIGN_OR_RETURN(
          d, DecodeRecord(stream, matches[i], values[i], values[i + page]));
      if (view == ListView::kSummary) d = SummaryRow(d);
    }
    // Filters no index answers drop records from the page (which may then
    // hold fewer than page_size, or none, with the token to go on).
    if (MatchesUnindexed(filter, d)) {
      result.decisions.push_back(std::move(d));
      page_bytes += values[i].size();
    }
    // A page stops once it holds kMaxPageBytes of records (at least one
    // record), so a page of large records still fits a client's default
    // 4 MiB receive limit; the token continues right after it.
    if (page_bytes >= kMaxPageBytes && i + 1 < page) {
      result.next_page_token =
          EncodePageToken(token_key_, PageToken{digest, resume_after(i)});
      return result;
    }
  }
  if (matches.size() > page) {
    result.next_page_token =
        EncodePageToken(token_key_, PageToken{digest, resume_after(page - 1)});
  }
  return result;
}

absl::StatusOr<v1::VerifyTrailResponse> AuditStore::Impl::VerifyTrail(
    v1::TrailStream stream_in, uint64_t from, uint64_t to) const {
  const v1::TrailStream stream = Normalize(stream_in);
  if (!IsKnownStream(stream)) {
    return absl::InvalidArgumentError(
        absl::StrCat("stream: unknown trail stream ", stream_in));
  }
  if (from != 0 && to != 0 && from > to) {
    return absl::InvalidArgumentError(
        absl::StrCat("from_sequence: ", from, " is after to_sequence ", to));
  }
  absl::ReaderMutexLock lock(&db_mu_);
  TC_RETURN_IF_ERROR(CheckOpen());
  const uint64_t head = committed_head_[StreamIndex(stream)].load();
  from = std::max<uint64_t>(from, 1);
  if (to == 0 || to > head) to = head;

  v1::VerifyTrailResponse response;
  response.set_ok(true);
  // The link of the first record checked is against the stored hash of the
  // record before the range.
  std::string previous;
  if (from > 1 && from <= to) {
    TC_ASSIGN_OR_RETURN(std::optional<std::string> stored,
                        GetValue(chain_, keys::RecordKey(stream, from - 1)));
    if (!stored.has_value()) {
      return absl::DataLossError(
          absl::StrCat("audit record ", keys::DecisionId(stream, from - 1),
                       " has no recorded hash"));
    }
    previous = *stored;
  }
  auto fail = [&](uint64_t seq, std::string problem) {
    response.set_ok(false);
    response.set_first_bad_sequence(seq);
    response.set_first_bad_decision_id(keys::DecisionId(stream, seq));
    response.set_problem(std::move(problem));
  };

  rocksdb::ReadOptions ro;
  const std::string upper = keys::RecordKey(stream, to + 1);
  rocksdb::Slice upper_slice(upper);
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> records(db_->NewIterator(ro, records_));
  std::unique_ptr<rocksdb::Iterator> hashes(db_->NewIterator(ro, chain_));
  const std::string start = keys::RecordKey(stream, from);
  records->Seek(start);
  hashes->Seek(start);
  for (uint64_t seq = from; seq <= to && from <= to;
       ++seq, records->Next(), hashes->Next()) {
    const std::string key = keys::RecordKey(stream, seq);
    if (!records->Valid() || records->key() != rocksdb::Slice(key)) {
      fail(seq, "the record is missing");
      break;
    }
    if (!hashes->Valid() || hashes->key() != rocksdb::Slice(key)) {
      fail(seq, "the record's stored hash is missing");
      break;
    }
    const std::string value = records->value().ToString();
    const std::string computed = LeafHash(value);
    const std::string stored = hashes->value().ToString();
    if (computed != stored) {
      fail(seq, absl::StrCat("content does not match the recorded hash: ",
                             "recorded ", absl::BytesToHexString(stored),
                             ", computed ", absl::BytesToHexString(computed)));
      break;
    }
    v1::Decision d;
    if (!d.ParseFromString(value)) {
      fail(seq, "the record does not parse as a Decision");
      break;
    }
    if (d.stream() != stream || d.sequence() != seq ||
        !IdNamesPosition(d.decision_id(), stream, seq)) {
      fail(seq, absl::StrCat("the record claims to be ", d.decision_id(),
                             " (stream ", d.stream(), ", sequence ",
                             d.sequence(), ")"));
      break;
    }
    const std::string expected_previous =
        seq == 1 ? GenesisHashHex() : absl::BytesToHexString(previous);
    if (d.previous_hash() != expected_previous) {
      fail(seq, absl::StrCat("previous_hash ", d.previous_hash(),
                             " does not match the hash of the record before (",
                             expected_previous, ")"));
      break;
    }
    previous = computed;
    response.set_records_checked(response.records_checked() + 1);
    response.set_head_sequence(seq);
    response.set_head_hash(absl::BytesToHexString(computed));
  }
  TC_RETURN_IF_ERROR(FromRocks(records->status(), "reading audit records"));
  TC_RETURN_IF_ERROR(FromRocks(hashes->status(), "reading the hash chain"));
  return response;
}

// ---------------------------------------------------------------- loss

absl::Status AuditStore::Impl::RebuildSummaryRows() {
  absl::ReaderMutexLock lock(&db_mu_);
  TC_RETURN_IF_ERROR(CheckOpen());
  if (read_only_) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the summary rows cannot be rebuilt: the store is read-only (",
        read_only_reason_, ")"));
  }
  // Schema 5 had every posting and no row: only the rows are written.
  TC_RETURN_IF_ERROR(BackfillFromRecords(v1::TRAIL_STREAM_BINDING, 5));
  return BackfillFromRecords(v1::TRAIL_STREAM_VALIDATE_ONLY, 5);
}

absl::StatusOr<std::string> AuditStore::Impl::AcceptLoss(
    const std::string& reason) {
  if (reason.empty()) {
    return absl::InvalidArgumentError(
        "reason: say why the loss is accepted (it is kept in the store)");
  }
  if (read_only_) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot accept a loss: the store is read-only (", read_only_reason_,
        ")"));
  }
  absl::ReaderMutexLock lock(&db_mu_);
  TC_RETURN_IF_ERROR(CheckOpen());
  TC_ASSIGN_OR_RETURN(std::vector<std::string> problems,
                      CheckIntegrityLocked(/*postings=*/true));
  if (problems.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "audit store ", options_.path,
        " has lost nothing the checks can see; there is no loss to accept"));
  }
  uint64_t head[2] = {committed_head_[0].load(), committed_head_[1].load()};
  rocksdb::WriteBatch batch;
  // Nothing may point past the chain that is left: declaration ids (their
  // retries are then checked afresh), time keys, posting blocks, records
  // without hashes, and signed heads beyond it (the tree-head log keeps
  // them, and the acceptance below says why they no longer match).
  {
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(rocksdb::ReadOptions(), declarations_));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      TC_ASSIGN_OR_RETURN(keys::DeclarationEntry entry,
                          keys::DecodeDeclarationEntry(ToView(it->value())));
      if (entry.sequence > head[0]) batch.Delete(declarations_, it->key());
    }
    TC_RETURN_IF_ERROR(FromRocks(it->status(), "reading declaration ids"));
  }
  for (const v1::TrailStream stream :
       {v1::TRAIL_STREAM_BINDING, v1::TRAIL_STREAM_VALIDATE_ONLY}) {
    const uint64_t h = head[StreamIndex(stream)];
    const std::string stream_byte(1,
                                  static_cast<char>(keys::StreamByte(stream)));
    const uint64_t end = std::numeric_limits<uint64_t>::max();
    batch.DeleteRange(records_, keys::RecordKey(stream, h + 1),
                      keys::RecordKey(stream, end));
    batch.DeleteRange(summaries_, keys::RecordKey(stream, h + 1),
                      keys::RecordKey(stream, end));
    batch.DeleteRange(heads_, keys::TreeHeadKey(stream, h + 1),
                      keys::TreeHeadKey(stream, end));
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(rocksdb::ReadOptions(), time_));
    for (it->SeekForPrev(ToSlice(keys::TimeKey(stream, absl::InfiniteFuture(),
                                               end)));
         it->Valid() && it->key().starts_with(ToSlice(stream_byte));
         it->Prev()) {
      TC_ASSIGN_OR_RETURN(keys::TimeSeq t,
                          keys::ParseTimeKey(stream, ToView(it->key())));
      if (t.sequence <= h) break;
      batch.Delete(time_, it->key());
    }
    TC_RETURN_IF_ERROR(FromRocks(it->status(), "reading the time index"));
  }
  {
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(rocksdb::ReadOptions(), postings_));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const absl::string_view key = ToView(it->key());
      if (key.size() <= keys::kPostingSequenceSize + 1) continue;
      const uint64_t h =
          static_cast<uint8_t>(key[1]) ==
                  keys::StreamByte(v1::TRAIL_STREAM_VALIDATE_ONLY)
              ? head[1]
              : head[0];
      const absl::string_view prefix =
          key.substr(0, key.size() - keys::kPostingSequenceSize);
      TC_ASSIGN_OR_RETURN(const uint64_t smallest,
                          keys::ParsePostingSequence(prefix, key));
      TC_ASSIGN_OR_RETURN(
          std::vector<uint64_t> block,
          keys::DecodePostingBlock(smallest, ToView(it->value())));
      if (block.empty() || block.front() <= h) continue;
      std::vector<uint64_t> kept;  // ascending
      for (auto s = block.rbegin(); s != block.rend() && *s <= h; ++s) {
        kept.push_back(*s);
      }
      if (kept.empty()) {
        batch.Delete(postings_, it->key());
      } else {
        batch.Put(postings_, it->key(), keys::EncodePostingBlock(kept));
      }
    }
    TC_RETURN_IF_ERROR(FromRocks(it->status(), "reading the postings"));
  }
  const uint64_t old_epoch = epoch_.load();
  const uint64_t new_epoch = old_epoch + 1;
  const std::string acceptance = absl::StrCat(
      "loss accepted at ",
      absl::FormatTime(absl::RFC3339_sec, options_.clock->Now(),
                       absl::UTCTimeZone()),
      "; reason: ", reason, "; found: ", absl::StrJoin(problems, "; "),
      "; kept the binding chain through ", head[0],
      " and the validate-only chain through ", head[1], "; epoch ", old_epoch,
      " -> ", new_epoch, " (new decision ids end in -e", new_epoch, ")");
  std::string epoch_key = keys::kMetaAcceptedLossPrefix;
  for (int shift = 56; shift >= 0; shift -= 8) {
    epoch_key.push_back(static_cast<char>((new_epoch >> shift) & 0xff));
  }
  batch.Put(meta_, epoch_key, acceptance);
  batch.Put(meta_, keys::kMetaEpoch, std::to_string(new_epoch));
  rocksdb::WriteOptions wo;
  wo.sync = true;
  TC_RETURN_IF_ERROR(
      FromRocks(db_->Write(wo, &batch), "recording the accepted loss"));
  epoch_.store(new_epoch);
  return acceptance;
}

absl::StatusOr<StoreIdentity> AuditStore::Impl::Identity() const {
  absl::ReaderMutexLock lock(&db_mu_);
  TC_RETURN_IF_ERROR(CheckOpen());
  StoreIdentity out;
  out.identity = identity_;
  out.epoch = epoch_.load();
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), meta_));
  const rocksdb::Slice prefix(keys::kMetaAcceptedLossPrefix);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix);
       it->Next()) {
    out.accepted_losses.push_back(it->value().ToString());
  }
  TC_RETURN_IF_ERROR(FromRocks(it->status(), "reading accepted losses"));
  return out;
}

// ---------------------------------------------------------------- backup

absl::StatusOr<BackupResult> AuditStore::Impl::CreateVerifiedBackup(
    const std::string& directory) {
  namespace fs = std::filesystem;
  BackupResult result;
  TC_RETURN_IF_ERROR(CreateCheckpoint(directory).status());
  // Replace every hard link by a copy (written, synced, renamed over).
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(directory, ec)) {
    if (!entry.is_regular_file(ec) || fs::hard_link_count(entry.path(), ec) < 2) {
      continue;
    }
    const fs::path copy = entry.path().string() + ".copy";
    fs::copy_file(entry.path(), copy, ec);
    if (!ec) {
      std::FILE* f = std::fopen(copy.c_str(), "rb+");
      if (f == nullptr || fsync(fileno(f)) != 0) ec = std::error_code(errno, std::generic_category());
      if (f != nullptr) std::fclose(f);
    }
    if (!ec) fs::rename(copy, entry.path(), ec);
    if (ec) {
      return absl::UnavailableError(absl::StrCat(
          "backup ", directory, ": copying ", entry.path().string(), ": ",
          ec.message()));
    }
    ++result.files_copied;
  }
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("backup ", directory, ": ", ec.message()));
  }
  // Verify the copy as a restore would find it, without writing to it.
  AuditStoreOptions copy_options;
  copy_options.path = directory;
  copy_options.read_only = true;
  copy_options.page_token_key = "unused";
  absl::StatusOr<std::unique_ptr<AuditStore>> copy =
      AuditStore::Open(copy_options);
  if (!copy.ok()) {
    return absl::DataLossError(absl::StrCat(
        "backup ", directory, " does not verify: ", copy.status().message()));
  }
  for (const v1::TrailStream stream :
       {v1::TRAIL_STREAM_BINDING, v1::TRAIL_STREAM_VALIDATE_ONLY}) {
    TC_ASSIGN_OR_RETURN(v1::VerifyTrailResponse verify,
                        (*copy)->VerifyTrail(stream, 0, 0));
    if (!verify.ok()) {
      return absl::DataLossError(absl::StrCat(
          "backup ", directory, " does not verify: record ",
          verify.first_bad_decision_id(), ": ", verify.problem()));
    }
    result.records_verified += verify.records_checked();
  }
  // And everything derived from the records agrees with them: the indexes
  // stop short of the chain's head, and every summary row is its record's
  // (what a summary read from this backup would report).
  TC_ASSIGN_OR_RETURN(std::vector<std::string> problems,
                      (*copy)->CheckIntegrity(/*postings=*/true));
  if (!problems.empty()) {
    return absl::DataLossError(absl::StrCat("backup ", directory,
                                            " does not verify: ",
                                            absl::StrJoin(problems, "; ")));
  }
  result.binding_head = (*copy)->Stats().binding_head;
  TC_RETURN_IF_ERROR((*copy)->Close());
  return result;
}

// ---------------------------------------------------------------- tree

absl::StatusOr<uint64_t> AuditStore::Impl::ResolveSize(
    v1::TrailStream stream, uint64_t size, absl::string_view field) const {
  const uint64_t head = committed_head_[StreamIndex(stream)].load();
  if (size == 0) return head;
  if (size > head) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", size, " is beyond the head of the stream (",
                     head, " records)"));
  }
  return size;
}

absl::StatusOr<std::optional<SignedTreeHead>> AuditStore::Impl::ReadHead(
    v1::TrailStream stream, uint64_t at_most, bool exact) const {
  std::string key, line;
  TC_ASSIGN_OR_RETURN(const bool found,
                      LastOfStream(heads_, stream,
                                   keys::TreeHeadKey(stream, at_most),
                                   "signed tree heads", &key, &line));
  std::optional<SignedTreeHead> out;
  if (found) {
    absl::StatusOr<SignedTreeHead> head = ParseTreeHeadLine(line);
    if (!head.ok()) {
      return absl::DataLossError(absl::StrCat(
          "a stored signed tree head does not parse: ", head.status().message()));
    }
    if (!exact || head->head.tree_size == at_most) out = *std::move(head);
  }
  return out;
}

absl::StatusOr<SignedTreeHead> AuditStore::Impl::LatestSignedTreeHead(
    v1::TrailStream stream_in) const {
  const v1::TrailStream stream = Normalize(stream_in);
  if (!IsKnownStream(stream)) {
    return absl::InvalidArgumentError(
        absl::StrCat("stream: unknown trail stream ", stream_in));
  }
  absl::ReaderMutexLock lock(&db_mu_);
  TC_RETURN_IF_ERROR(CheckOpen());
  TC_ASSIGN_OR_RETURN(
      std::optional<SignedTreeHead> head,
      ReadHead(stream, std::numeric_limits<uint64_t>::max(), false));
  if (!head.has_value()) {
    return absl::NotFoundError(
        "no signed tree head yet: the server signs one after each group "
        "commit once it has a tree-head key");
  }
  return *std::move(head);
}

absl::StatusOr<SignedTreeHead> AuditStore::Impl::SignedTreeHeadAt(
    v1::TrailStream stream_in, uint64_t size) const {
  const v1::TrailStream stream = Normalize(stream_in);
  if (!IsKnownStream(stream)) {
    return absl::InvalidArgumentError(
        absl::StrCat("stream: unknown trail stream ", stream_in));
  }
  absl::ReaderMutexLock lock(&db_mu_);
  TC_RETURN_IF_ERROR(CheckOpen());
  TC_ASSIGN_OR_RETURN(std::optional<SignedTreeHead> head,
                      ReadHead(stream, size, true));
  if (!head.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("tree_size: no signed tree head of size ", size));
  }
  return *std::move(head);
}

absl::Status AuditStore::Impl::CheckLatestSignedTreeHead(
    v1::TrailStream stream) const {
  absl::StatusOr<SignedTreeHead> latest = LatestSignedTreeHead(stream);
  if (absl::IsNotFound(latest.status())) return absl::OkStatus();
  TC_RETURN_IF_ERROR(latest.status());
  absl::ReaderMutexLock lock(&db_mu_);
  TC_RETURN_IF_ERROR(CheckOpen());
  return CheckAgainstHead(stream, *latest, "the newest signed tree head");
}

absl::Status AuditStore::Impl::CheckAgainstHead(
    v1::TrailStream stream, const SignedTreeHead& signed_head,
    absl::string_view source) const {
  const uint64_t head = committed_head_[StreamIndex(stream)].load();
  const uint64_t signed_size = signed_head.head.tree_size;
  if (head < signed_size) {
    return absl::DataLossError(absl::StrCat(
        source, " covers ", signed_size, " records but the chain ends at ",
        head, ": records ", keys::DecisionId(stream, head + 1), " to ",
        keys::DecisionId(stream, signed_size), " are missing"));
  }
  absl::StatusOr<std::string> root =
      merkle::Root(TreeReader(stream), signed_size);
  TC_RETURN_IF_ERROR(root.status());
  if (*root != signed_head.head.root_hash) {
    return absl::DataLossError(absl::StrCat(
        "the tree of the first ", signed_size, " records has root ",
        absl::BytesToHexString(*root), ", not the root ",
        absl::BytesToHexString(signed_head.head.root_hash), " of ", source,
        ": a record up to ", keys::DecisionId(stream, signed_size),
        " was changed"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::map<int, SignedTreeHead>>
AuditStore::Impl::NewestLoggedHeads() const {
  std::map<int, SignedTreeHead> newest;
  if (options_.tree_head_log.empty()) return newest;
  std::FILE* file = std::fopen(options_.tree_head_log.c_str(), "r");
  if (file == nullptr) return newest;  // none written yet
  // The log grows by a line per group commit; its newest heads are at the
  // end. Reading the last MiB keeps Open cheap on a long log; a stream with
  // no head in it (all its heads older) is checked against the store's own.
  constexpr long kTail = 1 << 20;
  std::string text;
  if (std::fseek(file, 0, SEEK_END) == 0) {
    const long size = std::ftell(file);
    const long from = size > kTail ? size - kTail : 0;
    std::fseek(file, from, SEEK_SET);
    text.resize(static_cast<size_t>(size - from));
    text.resize(std::fread(text.data(), 1, text.size(), file));
    if (from > 0) {
      const size_t first_line = text.find('\n');
      text.erase(0, first_line == std::string::npos ? text.size()
                                                    : first_line + 1);
    }
  }
  std::fclose(file);
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (line.empty()) continue;
    absl::StatusOr<SignedTreeHead> head = ParseTreeHeadLine(line);
    // A line cut short by a crash (the log is not synced) is skipped, and
    // so are heads of an earlier epoch (their loss was accepted) or of
    // another store.
    if (!head.ok() || !InCurrentEpoch(head->head)) continue;
    SignedTreeHead& slot = newest[head->head.stream];
    if (head->head.tree_size >= slot.head.tree_size) slot = *std::move(head);
  }
  return newest;
}

absl::StatusOr<std::vector<std::string>> AuditStore::Impl::CheckIntegrity(
    bool postings) const {
  absl::ReaderMutexLock lock(&db_mu_);
  TC_RETURN_IF_ERROR(CheckOpen());
  return CheckIntegrityLocked(postings);
}

absl::StatusOr<std::vector<std::string>>
AuditStore::Impl::CheckIntegrityLocked(bool postings) const {
  std::vector<std::string> problems;
  using LoggedHeads = std::map<int, SignedTreeHead>;
  TC_ASSIGN_OR_RETURN(const LoggedHeads logged, NewestLoggedHeads());
  for (const v1::TrailStream stream :
       {v1::TRAIL_STREAM_BINDING, v1::TRAIL_STREAM_VALIDATE_ONLY}) {
    const uint64_t head = committed_head_[StreamIndex(stream)].load();
    const std::string name = TreeHeadStreamName(static_cast<int>(stream));
    const std::string past_head =
        head == 0 ? absl::StrCat("the ", name, " chain is empty")
                  : absl::StrCat("the ", name, " chain ends at ",
                                 keys::DecisionId(stream, head));
    // A record without its hash: the chain was cut under it.
    std::string key;
    TC_ASSIGN_OR_RETURN(bool found,
                        LastOfStream(records_, stream, LastRecordKey(stream),
                                     "audit records", &key));
    if (found) {
      TC_ASSIGN_OR_RETURN(keys::StreamSeq last, keys::ParseRecordKey(key));
      if (last.sequence > head) {
        problems.push_back(absl::StrCat(
            "record ", keys::DecisionId(stream, last.sequence),
            " has no hash in the chain (", past_head, ")"));
      }
    }
    // The time index: one key per group commit, naming its first record.
    TC_ASSIGN_OR_RETURN(found, LastOfStream(time_, stream, LastTimeKey(stream),
                                            "the time index", &key));
    if (found) {
      TC_ASSIGN_OR_RETURN(keys::TimeSeq last, keys::ParseTimeKey(stream, key));
      if (last.sequence > head) {
        problems.push_back(absl::StrCat(
            "the time index holds a group commit from record ",
            keys::DecisionId(stream, last.sequence), " on, but ", past_head,
            ": those records are missing"));
      }
    }
    // Signed heads: the store's own newest, and the witness log's.
    absl::StatusOr<std::optional<SignedTreeHead>> stored =
        ReadHead(stream, std::numeric_limits<uint64_t>::max(), false);
    TC_RETURN_IF_ERROR(stored.status());
    if (stored->has_value() && InCurrentEpoch((*stored)->head)) {
      absl::Status s =
          CheckAgainstHead(stream, **stored, "the newest signed tree head");
      if (absl::IsDataLoss(s)) {
        problems.emplace_back(s.message());
      } else {
        TC_RETURN_IF_ERROR(s);
      }
    }
    if (auto it = logged.find(static_cast<int>(stream)); it != logged.end()) {
      absl::Status s = CheckAgainstHead(
          stream, it->second,
          absl::StrCat("the newest head in the tree-head log ",
                       options_.tree_head_log));
      if (absl::IsDataLoss(s)) {
        problems.emplace_back(s.message());
      } else {
        TC_RETURN_IF_ERROR(s);
      }
    }
  }

  // Declaration ids (BINDING): an id whose record is gone would be answered
  // as a replay of nothing, or of whatever later takes its sequence.
  {
    const uint64_t head =
        committed_head_[StreamIndex(v1::TRAIL_STREAM_BINDING)].load();
    uint64_t count = 0, lowest = std::numeric_limits<uint64_t>::max(),
             highest = 0;
    std::vector<std::string> examples;
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(rocksdb::ReadOptions(), declarations_));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      TC_ASSIGN_OR_RETURN(keys::DeclarationEntry entry,
                          keys::DecodeDeclarationEntry(ToView(it->value())));
      if (entry.sequence <= head) continue;
      ++count;
      lowest = std::min(lowest, entry.sequence);
      highest = std::max(highest, entry.sequence);
      if (examples.size() < 3) {
        examples.push_back(absl::StrCat("\"", ToView(it->key()), "\""));
      }
    }
    TC_RETURN_IF_ERROR(FromRocks(it->status(), "reading declaration ids"));
    if (count > 0) {
      problems.push_back(absl::StrCat(
          count, " declaration id(s) (", absl::StrJoin(examples, ", "),
          count > examples.size() ? ", ..." : "", ") point to records ",
          keys::DecisionId(v1::TRAIL_STREAM_BINDING, lowest), " to ",
          keys::DecisionId(v1::TRAIL_STREAM_BINDING, highest),
          ", past the binding chain's head (",
          head == 0 ? std::string("none")
                    : keys::DecisionId(v1::TRAIL_STREAM_BINDING, head),
          ")"));
    }
  }

  if (postings) {
    // Every posting block (one key per value and group commit): slow on a
    // large store, so only on request (tradecheck_store_admin check).
    uint64_t highest[2] = {0, 0};
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(rocksdb::ReadOptions(), postings_));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const absl::string_view key = ToView(it->key());
      if (key.size() <= keys::kPostingSequenceSize + 1) continue;
      const uint8_t stream_byte = static_cast<uint8_t>(key[1]);
      std::optional<v1::TrailStream> stream;
      for (const v1::TrailStream candidate :
           {v1::TRAIL_STREAM_BINDING, v1::TRAIL_STREAM_VALIDATE_ONLY}) {
        if (keys::StreamByte(candidate) == stream_byte) stream = candidate;
      }
      if (!stream.has_value()) continue;
      const absl::string_view prefix =
          key.substr(0, key.size() - keys::kPostingSequenceSize);
      TC_ASSIGN_OR_RETURN(const uint64_t smallest,
                          keys::ParsePostingSequence(prefix, key));
      TC_ASSIGN_OR_RETURN(
          std::vector<uint64_t> block,
          keys::DecodePostingBlock(smallest, ToView(it->value())));
      if (!block.empty()) {
        uint64_t& h = highest[StreamIndex(*stream)];
        h = std::max(h, block.front());
      }
    }
    TC_RETURN_IF_ERROR(FromRocks(it->status(), "reading the postings"));
    for (const v1::TrailStream stream :
         {v1::TRAIL_STREAM_BINDING, v1::TRAIL_STREAM_VALIDATE_ONLY}) {
      const int i = StreamIndex(stream);
      const uint64_t head = committed_head_[i].load();
      if (highest[i] > head) {
        problems.push_back(absl::StrCat(
            "the query index names records up to ",
            keys::DecisionId(stream, highest[i]), ", past the ",
            TreeHeadStreamName(static_cast<int>(stream)),
            " chain's head (", head, " records)"));
      }
    }
    if (summaries_ != nullptr) {
      TC_RETURN_IF_ERROR(CheckSummaryRows(&problems));
    }
  }
  return problems;
}

absl::Status AuditStore::Impl::CheckSummaryRows(
    std::vector<std::string>* problems) const {
  // Records and rows share their keys: one merged walk of both families.
  // A row must be SummaryRow of its record, byte for byte.
  uint64_t differing = 0, missing = 0, orphaned = 0;
  std::vector<std::string> examples;
  const auto note = [&](uint64_t* count, absl::string_view key) {
    ++*count;
    if (examples.size() >= 3) return;
    absl::StatusOr<keys::StreamSeq> at = keys::ParseRecordKey(key);
    examples.push_back(at.ok() ? keys::DecisionId(at->stream, at->sequence)
                               : absl::BytesToHexString(key));
  };
  std::unique_ptr<rocksdb::Iterator> record(
      db_->NewIterator(rocksdb::ReadOptions(), records_));
  std::unique_ptr<rocksdb::Iterator> row(
      db_->NewIterator(rocksdb::ReadOptions(), summaries_));
  record->SeekToFirst();
  row->SeekToFirst();
  while (record->Valid() || row->Valid()) {
    const int order = !record->Valid() ? 1
                      : !row->Valid()  ? -1
                                       : record->key().compare(row->key());
    if (order < 0) {
      note(&missing, ToView(record->key()));
      record->Next();
      continue;
    }
    if (order > 0) {
      note(&orphaned, ToView(row->key()));
      row->Next();
      continue;
    }
    v1::Decision d;
    if (!d.ParseFromArray(record->value().data(),
                          static_cast<int>(record->value().size())) ||
        SerializeDeterministic(SummaryRow(d)) != ToView(row->value())) {
      note(&differing, ToView(record->key()));
    }
    record->Next();
    row->Next();
  }
  TC_RETURN_IF_ERROR(FromRocks(record->status(), "reading the records"));
  TC_RETURN_IF_ERROR(FromRocks(row->status(), "reading the summary rows"));
  if (differing + missing + orphaned > 0) {
    problems->push_back(absl::StrCat(
        "the summary rows disagree with the records (", differing,
        " differ from their record, ", missing, " missing, ", orphaned,
        " without a record; for example ", absl::StrJoin(examples, ", "),
        "): SummarizeDecisions would not agree with the records. "
        "`tradecheck_store_admin rebuild-summaries` rewrites them from the "
        "records"));
  }
  return absl::OkStatus();
}

absl::StatusOr<InclusionProofResult> AuditStore::Impl::InclusionProof(
    const std::string& decision_id, uint64_t tree_size) const {
  absl::StatusOr<keys::StreamSeq> at = keys::ParseDecisionId(decision_id);
  if (!at.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("decision_id: ", at.status().message()));
  }
  absl::ReaderMutexLock lock(&db_mu_);
  TC_RETURN_IF_ERROR(CheckOpen());
  TC_ASSIGN_OR_RETURN(const uint64_t size,
                      ResolveSize(at->stream, tree_size, "tree_size"));
  if (at->sequence == 0 || at->sequence > size) {
    return absl::NotFoundError(absl::StrCat(
        "decision_id: ", decision_id, " is not in the ",
        tree_size == 0 ? "trail" : absl::StrCat("tree of size ", size)));
  }
  if (absl::StatusOr<v1::Decision> d = ReadDecision(at->stream, at->sequence);
      d.ok() && d->decision_id() != decision_id) {
    return absl::NotFoundError(absl::StrCat(
        "decision_id: ", decision_id, " is not in the trail (its position "
        "holds ", d->decision_id(), ")"));
  }
  InclusionProofResult out;
  out.stream = at->stream;
  out.leaf_index = at->sequence - 1;
  out.tree_size = size;
  const merkle::NodeReader read = TreeReader(at->stream);
  TC_ASSIGN_OR_RETURN(out.leaf_hash, read(0, out.leaf_index));
  TC_ASSIGN_OR_RETURN(out.audit_path,
                      merkle::InclusionProof(read, out.leaf_index, size));
  TC_ASSIGN_OR_RETURN(out.root_hash, merkle::Root(read, size));
  return out;
}

absl::StatusOr<ConsistencyProofResult> AuditStore::Impl::ConsistencyProof(
    v1::TrailStream stream_in, uint64_t first, uint64_t second) const {
  const v1::TrailStream stream = Normalize(stream_in);
  if (!IsKnownStream(stream)) {
    return absl::InvalidArgumentError(
        absl::StrCat("stream: unknown trail stream ", stream_in));
  }
  absl::ReaderMutexLock lock(&db_mu_);
  TC_RETURN_IF_ERROR(CheckOpen());
  TC_ASSIGN_OR_RETURN(const uint64_t second_size,
                      ResolveSize(stream, second, "second_size"));
  if (first > second_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "first_size: ", first, " is larger than second_size ", second_size));
  }
  ConsistencyProofResult out;
  out.stream = stream;
  out.first_size = first;
  out.second_size = second_size;
  const merkle::NodeReader read = TreeReader(stream);
  TC_ASSIGN_OR_RETURN(out.proof,
                      merkle::ConsistencyProof(read, first, second_size));
  TC_ASSIGN_OR_RETURN(out.first_root, merkle::Root(read, first));
  TC_ASSIGN_OR_RETURN(out.second_root, merkle::Root(read, second_size));
  return out;
}

// ---------------------------------------------------------------- other data

absl::Status AuditStore::Impl::PutRuleSetSources(
    const std::string& revision,
    const std::map<std::string, std::string>& files) {
  if (revision.empty()) {
    return absl::InvalidArgumentError("revision: required");
  }
  for (const auto& [name, contents] : files) {
    if (name.empty()) {
      return absl::InvalidArgumentError("files: a file name is empty");
    }
  }
  absl::MutexLock put_lock(&rulesets_mu_);
  auto existing = GetRuleSetSources(revision);
  if (existing.ok()) {
    if (*existing == files) return absl::OkStatus();
    return absl::AlreadyExistsError(
        absl::StrCat("rule-set revision \"", revision,
                     "\" is already stored with different files"));
  }
  if (existing.status().code() != absl::StatusCode::kNotFound) {
    return existing.status();
  }
  absl::ReaderMutexLock lock(&db_mu_);
  TC_RETURN_IF_ERROR(CheckOpen());
  if (read_only_) {
    return absl::UnavailableError(absl::StrCat(
        "cannot store rule-set revision \"", revision,
        "\": the audit store is read-only (", read_only_reason_, ")"));
  }
  TC_RETURN_IF_ERROR(CheckFreeSpace());
  rocksdb::WriteBatch batch;
  batch.Put(rulesets_, keys::RuleSetFileKey(revision, ""), rocksdb::Slice());
  for (const auto& [name, contents] : files) {
    batch.Put(rulesets_, keys::RuleSetFileKey(revision, name), contents);
  }
  rocksdb::WriteOptions wo;
  wo.sync = options_.sync;
  return FromRocks(db_->Write(wo, &batch), "storing rule-set sources");
}

absl::StatusOr<std::string> AuditStore::Impl::GetActiveRevision() const {
  absl::ReaderMutexLock lock(&db_mu_);
  TC_RETURN_IF_ERROR(CheckOpen());
  TC_ASSIGN_OR_RETURN(std::optional<std::string> value,
                      GetValue(meta_, keys::kMetaActiveRevision));
  return value.value_or("");
}

absl::Status AuditStore::Impl::SetActiveRevision(const std::string& revision) {
  absl::ReaderMutexLock lock(&db_mu_);
  TC_RETURN_IF_ERROR(CheckOpen());
  if (read_only_) {
    return absl::UnavailableError(absl::StrCat(
        "cannot keep the active rule-set revision: the audit store is "
        "read-only (", read_only_reason_, ")"));
  }
  rocksdb::WriteOptions wo;
  wo.sync = true;  // rare, and what the next start compares against
  return FromRocks(db_->Put(wo, meta_, keys::kMetaActiveRevision, revision),
                   "keeping the active rule-set revision");
}

absl::StatusOr<std::map<std::string, std::string>>
AuditStore::Impl::GetRuleSetSources(const std::string& revision) const {
  absl::ReaderMutexLock lock(&db_mu_);
  TC_RETURN_IF_ERROR(CheckOpen());
  const std::string prefix = keys::RuleSetPrefix(revision);
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), rulesets_));
  bool found = false;
  std::map<std::string, std::string> files;
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix);
       it->Next()) {
    found = true;
    std::string name = it->key().ToString().substr(prefix.size());
    if (!name.empty()) files.emplace(std::move(name), it->value().ToString());
  }
  TC_RETURN_IF_ERROR(FromRocks(it->status(), "reading rule-set sources"));
  if (!found) {
    return absl::NotFoundError(absl::StrCat("rule-set revision \"", revision,
                                            "\" is not in the store"));
  }
  return files;
}

// ------------------------------------------------------ retroactive impacts

namespace {

constexpr int kDefaultImpactPageSize = 20;
constexpr int kMaxImpactPageSize = 100;
constexpr int kDefaultChangesPageSize = 100;
constexpr int kMaxChangesPageSize = 1000;

// The record's content digest as it is kept: hex (common/tree_head.h).
std::string ImpactDigestHex(const v1::RetroactiveImpact& impact) {
  return absl::BytesToHexString(::tradecheck::ImpactDigest(impact));
}

// What a page token of these listings is bound to (PageToken::filter_digest).
std::string ImpactTokenScope(absl::string_view what) {
  return Sha256(absl::StrCat("retroactive-impacts/", what)).substr(0, 16);
}

}  // namespace

absl::StatusOr<uint64_t> AuditStore::Impl::LastRetroactiveImpact() const {
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), meta_));
  const std::string prefix = keys::kMetaRetroactiveImpactPrefix;
  it->SeekForPrev(keys::RetroactiveImpactKey(
      std::numeric_limits<uint64_t>::max()));
  uint64_t last = 0;
  if (it->Valid() && it->key().starts_with(prefix) &&
      it->key().size() == prefix.size() + 8) {
    last = keys::ReadBigEndian64(
        absl::string_view(it->key().data() + prefix.size(), 8));
  }
  TC_RETURN_IF_ERROR(
      FromRocks(it->status(), "reading the retroactive-impact records"));
  return last;
}

absl::StatusOr<std::optional<v1::RetroactiveImpact>>
AuditStore::Impl::ReadRetroactiveImpact(uint64_t number) const {
  TC_ASSIGN_OR_RETURN(std::optional<std::string> value,
                      GetValue(meta_, keys::RetroactiveImpactKey(number)));
  if (!value.has_value()) return std::nullopt;
  const std::string id = keys::RetroactiveImpactId(number);
  v1::RetroactiveImpact impact;
  if (!impact.ParseFromString(*value) || impact.impact_id() != id ||
      impact.content_digest() != ImpactDigestHex(impact)) {
    return absl::DataLossError(absl::StrCat(
        "retroactive-impact record ", id,
        " does not match its content digest: it was altered or damaged"));
  }
  std::string previous_digest;
  if (number > 1) {
    TC_ASSIGN_OR_RETURN(std::optional<std::string> previous,
                        GetValue(meta_, keys::RetroactiveImpactKey(number - 1)));
    v1::RetroactiveImpact before;
    if (!previous.has_value() || !before.ParseFromString(*previous)) {
      return absl::DataLossError(absl::StrCat(
          "retroactive-impact record ", keys::RetroactiveImpactId(number - 1),
          ", which ", id, " follows, is missing or unreadable"));
    }
    previous_digest = before.content_digest();
  }
  if (impact.previous_digest() != previous_digest) {
    return absl::DataLossError(absl::StrCat(
        "retroactive-impact record ", id,
        " does not link to the record before it"));
  }
  return impact;
}

absl::StatusOr<v1::RetroactiveImpact>
AuditStore::Impl::AppendRetroactiveImpact(v1::RetroactiveImpact impact) {
  absl::MutexLock append_lock(&impacts_mu_);
  absl::ReaderMutexLock lock(&db_mu_);
  TC_RETURN_IF_ERROR(CheckOpen());
  if (read_only_) {
    return absl::UnavailableError(absl::StrCat(
        "cannot store a retroactive-impact record: the audit store is "
        "read-only (", read_only_reason_, ")"));
  }
  TC_RETURN_IF_ERROR(CheckFreeSpace());
  TC_ASSIGN_OR_RETURN(uint64_t last, LastRetroactiveImpact());
  std::string previous_digest;
  if (last > 0) {
    TC_ASSIGN_OR_RETURN(std::optional<v1::RetroactiveImpact> before,
                        ReadRetroactiveImpact(last));
    if (before.has_value()) previous_digest = before->content_digest();
  }
  impact.set_impact_id(keys::RetroactiveImpactId(last + 1));
  impact.set_previous_digest(previous_digest);
  impact.set_content_digest(ImpactDigestHex(impact));
  if (options_.tree_head_signer != nullptr) {
    impact.set_signature(options_.tree_head_signer->SignImpact(
        absl::HexStringToBytes(impact.content_digest())));
  }
  rocksdb::WriteOptions wo;
  wo.sync = options_.sync;
  TC_RETURN_IF_ERROR(FromRocks(
      db_->Put(wo, meta_, keys::RetroactiveImpactKey(last + 1),
               SerializeDeterministic(impact)),
      "storing a retroactive-impact record"));
  if (options_.tree_head_signer != nullptr) {
    // The chain's new head, outside the store: a record later dropped from
    // the end is still named by the log (like the signed tree heads, the
    // line is written once the record is durable, without fsync).
    SignedImpactAnchor anchor;
    anchor.anchor.number = last + 1;
    anchor.anchor.content_digest =
        absl::HexStringToBytes(impact.content_digest());
    anchor.anchor.store_identity = identity_;
    anchor.anchor.epoch = epoch_.load();
    anchor.signature = options_.tree_head_signer->SignImpactAnchor(anchor.anchor);
    AppendToHeadLog({FormatImpactAnchorLine(anchor)});
  }
  return impact;
}

absl::StatusOr<v1::GetRetroactiveImpactResponse>
AuditStore::Impl::GetRetroactiveImpact(const std::string& impact_id,
                                       int page_size,
                                       const std::string& page_token) const {
  TC_ASSIGN_OR_RETURN(uint64_t number,
                      keys::ParseRetroactiveImpactId(impact_id));
  if (page_size < 0 || page_size > kMaxChangesPageSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "page_size: must be 0 (", kDefaultChangesPageSize, ") to ",
        kMaxChangesPageSize));
  }
  const size_t size = page_size == 0 ? kDefaultChangesPageSize : page_size;
  const std::string scope = ImpactTokenScope(impact_id);
  uint64_t offset = 0;
  if (!page_token.empty()) {
    TC_ASSIGN_OR_RETURN(PageToken token,
                        DecodePageToken(token_key_, page_token, scope));
    offset = token.resume_at;
  }
  absl::ReaderMutexLock lock(&db_mu_);
  TC_RETURN_IF_ERROR(CheckOpen());
  TC_ASSIGN_OR_RETURN(std::optional<v1::RetroactiveImpact> impact,
                      ReadRetroactiveImpact(number));
  if (!impact.has_value()) {
    return absl::NotFoundError(absl::StrCat(
        "impact_id: no retroactive-impact record \"", impact_id, "\""));
  }
  const size_t total = impact->changes_size();
  if (offset > total) {
    return absl::InvalidArgumentError("page_token: beyond the record's changes");
  }
  v1::GetRetroactiveImpactResponse response;
  v1::RetroactiveImpact* out = response.mutable_impact();
  *out = std::move(*impact);
  auto* changes = out->mutable_changes();
  // Keep [offset, offset + size).
  const size_t end = std::min(total, offset + size);
  changes->DeleteSubrange(static_cast<int>(end),
                          static_cast<int>(total - end));
  changes->DeleteSubrange(0, static_cast<int>(offset));
  if (end < total) {
    response.set_next_page_token(
        EncodePageToken(token_key_, PageToken{scope, end}));
  }
  return response;
}

absl::StatusOr<RetroactiveImpactPage> AuditStore::Impl::ListRetroactiveImpacts(
    int page_size, const std::string& page_token) const {
  if (page_size < 0 || page_size > kMaxImpactPageSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "page_size: must be 0 (", kDefaultImpactPageSize, ") to ",
        kMaxImpactPageSize));
  }
  const int size = page_size == 0 ? kDefaultImpactPageSize : page_size;
  const std::string scope = ImpactTokenScope("list");
  absl::ReaderMutexLock lock(&db_mu_);
  TC_RETURN_IF_ERROR(CheckOpen());
  uint64_t next = 0;
  if (page_token.empty()) {
    TC_ASSIGN_OR_RETURN(next, LastRetroactiveImpact());
  } else {
    TC_ASSIGN_OR_RETURN(PageToken token,
                        DecodePageToken(token_key_, page_token, scope));
    next = token.resume_at;
  }
  RetroactiveImpactPage page;
  for (; next >= 1 && static_cast<int>(page.impacts.size()) < size; --next) {
    TC_ASSIGN_OR_RETURN(std::optional<v1::RetroactiveImpact> impact,
                        ReadRetroactiveImpact(next));
    if (!impact.has_value()) {
      return absl::DataLossError(absl::StrCat(
          "retroactive-impact record ", keys::RetroactiveImpactId(next),
          " is missing"));
    }
    impact->clear_changes();
    page.impacts.push_back(std::move(*impact));
  }
  if (next >= 1) {
    page.next_page_token = EncodePageToken(token_key_, PageToken{scope, next});
  }
  return page;
}

absl::StatusOr<int64_t> AuditStore::Impl::QuotaConsumed(
    const std::string& quota_key) const {
  absl::ReaderMutexLock lock(&db_mu_);
  TC_RETURN_IF_ERROR(CheckOpen());
  return ReadQuotaConsumed(quota_key);
}

absl::StatusOr<uint64_t> AuditStore::Impl::CreateCheckpoint(
    const std::string& directory) {
  std::error_code ec;
  if (std::filesystem::exists(directory, ec)) {
    return absl::AlreadyExistsError(
        absl::StrCat("checkpoint directory ", directory, " already exists"));
  }
  absl::ReaderMutexLock lock(&db_mu_);
  TC_RETURN_IF_ERROR(CheckOpen());
  rocksdb::Checkpoint* raw = nullptr;
  TC_RETURN_IF_ERROR(
      FromRocks(rocksdb::Checkpoint::Create(db_.get(), &raw), "checkpoint"));
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  TC_RETURN_IF_ERROR(FromRocks(checkpoint->CreateCheckpoint(directory),
                               "creating the checkpoint"));
  // Appends continue during the checkpoint, so read its head from the copy.
  AuditStoreOptions copy_options;
  copy_options.path = directory;
  copy_options.page_token_key = "unused";  // never writes to the copy's meta
  Impl copy(copy_options);
  TC_RETURN_IF_ERROR(copy.OpenDb());
  TC_RETURN_IF_ERROR(copy.LoadStreamState(v1::TRAIL_STREAM_BINDING));
  const uint64_t head = copy.streams_[0].head_sequence;
  TC_RETURN_IF_ERROR(copy.Close());
  return head;
}

absl::StatusOr<uint64_t> AuditStore::Impl::CompactAndMeasure(
    std::map<std::string, uint64_t>* by_family) {
  absl::ReaderMutexLock lock(&db_mu_);
  TC_RETURN_IF_ERROR(CheckOpen());
  rocksdb::FlushOptions flush;
  flush.wait = true;
  TC_RETURN_IF_ERROR(FromRocks(db_->Flush(flush, handles_), "flushing"));
  rocksdb::CompactRangeOptions compact;
  compact.bottommost_level_compaction =
      rocksdb::BottommostLevelCompaction::kForce;
  uint64_t bytes = 0;
  for (rocksdb::ColumnFamilyHandle* h : handles_) {
    TC_RETURN_IF_ERROR(FromRocks(db_->CompactRange(compact, h, nullptr, nullptr),
                                 "compacting"));
    uint64_t size = 0;
    if (db_->GetIntProperty(h, "rocksdb.total-sst-files-size", &size)) {
      bytes += size;
      if (by_family != nullptr) (*by_family)[h->GetName()] = size;
    }
  }
  return bytes;
}

absl::Status AuditStore::Impl::CheckFreeSpace() const {
  if (options_.min_free_bytes == 0) return absl::OkStatus();
  struct statvfs fs;
  if (statvfs(options_.path.c_str(), &fs) != 0) {
    return absl::OkStatus();  // the write itself will say what is wrong
  }
  const uint64_t free_bytes =
      static_cast<uint64_t>(fs.f_bavail) * static_cast<uint64_t>(fs.f_frsize);
  if (free_bytes >= options_.min_free_bytes) return absl::OkStatus();
  return absl::UnavailableError(absl::StrCat(
      "the disk holding the audit store ", options_.path, " has ",
      free_bytes / 1024, " KiB free, below the reserve of ",
      options_.min_free_bytes / 1024,
      " KiB (--min_free_disk_mb); nothing was written, retry later"));
}

bool AuditStore::Impl::Writable() const {
  if (read_only_) return false;
  absl::ReaderMutexLock lock(&db_mu_);
  if (!CheckOpen().ok() || !CheckFreeSpace().ok()) return false;
  if (write_failed_.load()) {
    if (!db_->Resume().ok()) return false;
    write_failed_.store(false);
  }
  return true;
}

AuditStoreStats AuditStore::Impl::Stats() const {
  AuditStoreStats stats;
  stats.records_written = records_written_.load();
  stats.batches_written = batches_written_.load();
  stats.synced_writes = synced_writes_.load();
  stats.replays = replays_.load();
  stats.binding_head = committed_head_[StreamIndex(v1::TRAIL_STREAM_BINDING)];
  stats.validate_only_head =
      committed_head_[StreamIndex(v1::TRAIL_STREAM_VALIDATE_ONLY)];
  return stats;
}

absl::Status AuditStore::Impl::Close() {
  {
    absl::MutexLock lock(&queue_mu_);
    stopping_ = true;
  }
  if (writer_.joinable()) writer_.join();
  {
    absl::MutexLock log_lock(&head_log_mu_);
    if (head_log_ != nullptr) {
      std::fclose(head_log_);
      head_log_ = nullptr;
    }
  }
  absl::MutexLock lock(&db_mu_);
  if (closed_) return close_status_;
  closed_ = true;
  if (db_ == nullptr) return close_status_;
  // A clean stop leaves no write-ahead log to replay: the memtables go to
  // table files (the WAL they covered becomes obsolete and is deleted) and
  // what is left of the WAL is synced. Without this a stop after a busy
  // hour left tens of MB of WAL that the next start replays.
  if (close_status_.ok() && !read_only_ && !handles_.empty()) {
    rocksdb::FlushOptions flush;
    flush.wait = true;
    close_status_ =
        FromRocks(db_->Flush(flush, handles_), "flushing the store at close");
    if (close_status_.ok()) {
      close_status_ = FromRocks(db_->FlushWAL(/*sync=*/true),
                                "syncing the write-ahead log at close");
    }
  }
  for (rocksdb::ColumnFamilyHandle* h : handles_) {
    rocksdb::Status s = db_->DestroyColumnFamilyHandle(h);
    if (close_status_.ok()) close_status_ = FromRocks(s, "closing the store");
  }
  handles_.clear();
  absl::Status s = FromRocks(db_->Close(), "closing the audit store");
  if (close_status_.ok()) close_status_ = s;
  db_.reset();
  return close_status_;
}

// ---------------------------------------------------------------- facade

absl::StatusOr<std::unique_ptr<AuditStore>> AuditStore::Open(
    const AuditStoreOptions& options) {
  if (options.clock == nullptr) {
    return absl::InvalidArgumentError("clock: required");
  }
  auto impl = std::make_unique<Impl>(options);
  absl::Status s = impl->Open();
  if (!s.ok()) {
    impl->Close().IgnoreError();
    return s;
  }
  return std::unique_ptr<AuditStore>(new AuditStore(std::move(impl)));
}

namespace testing {
void FailNextWritesForTesting(int count) { injected_write_faults.store(count); }
}  // namespace testing

AuditStore::AuditStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AuditStore::~AuditStore() = default;

void AuditStore::Append(AppendRequest request, AppendCallback done) {
  impl_->Append(std::move(request), std::move(done));
}

absl::StatusOr<AppendResult> AuditStore::AppendAndWait(AppendRequest request) {
  absl::Mutex mu;
  std::optional<absl::StatusOr<AppendResult>> out;
  Append(std::move(request), [&](absl::StatusOr<AppendResult> result) {
    absl::MutexLock lock(&mu);
    out = std::move(result);
  });
  absl::MutexLock lock(&mu);
  mu.Await(absl::Condition(
      +[](std::optional<absl::StatusOr<AppendResult>>* o) {
        return o->has_value();
      },
      &out));
  return std::move(*out);
}

absl::StatusOr<v1::Decision> AuditStore::FindByDeclarationId(
    const std::string& declaration_id) const {
  return impl_->FindByDeclarationId(declaration_id);
}
absl::StatusOr<v1::Decision> AuditStore::GetDecision(
    const std::string& decision_id) const {
  return impl_->GetDecision(decision_id);
}
absl::StatusOr<ListResult> AuditStore::ListDecisions(
    const v1::DecisionFilter& filter, int page_size,
    const std::string& page_token, ListOrder order, ListView view) const {
  return impl_->ListDecisions(filter, page_size, page_token, order, view);
}
absl::StatusOr<v1::VerifyTrailResponse> AuditStore::VerifyTrail(
    v1::TrailStream stream, uint64_t from_sequence,
    uint64_t to_sequence) const {
  return impl_->VerifyTrail(stream, from_sequence, to_sequence);
}
absl::Status AuditStore::PutRuleSetSources(
    const std::string& revision,
    const std::map<std::string, std::string>& files) {
  return impl_->PutRuleSetSources(revision, files);
}
absl::StatusOr<std::map<std::string, std::string>>
AuditStore::GetRuleSetSources(const std::string& revision) const {
  return impl_->GetRuleSetSources(revision);
}
absl::StatusOr<std::string> AuditStore::GetActiveRevision() const {
  return impl_->GetActiveRevision();
}
absl::Status AuditStore::SetActiveRevision(const std::string& revision) {
  return impl_->SetActiveRevision(revision);
}
absl::StatusOr<v1::RetroactiveImpact> AuditStore::AppendRetroactiveImpact(
    v1::RetroactiveImpact impact) {
  return impl_->AppendRetroactiveImpact(std::move(impact));
}
absl::StatusOr<v1::GetRetroactiveImpactResponse>
AuditStore::GetRetroactiveImpact(const std::string& impact_id, int page_size,
                                 const std::string& page_token) const {
  return impl_->GetRetroactiveImpact(impact_id, page_size, page_token);
}
absl::StatusOr<RetroactiveImpactPage> AuditStore::ListRetroactiveImpacts(
    int page_size, const std::string& page_token) const {
  return impl_->ListRetroactiveImpacts(page_size, page_token);
}
absl::StatusOr<int64_t> AuditStore::QuotaConsumed(
    const std::string& quota_key) const {
  return impl_->QuotaConsumed(quota_key);
}
absl::StatusOr<std::string> AuditStore::AcceptLoss(const std::string& reason) {
  return impl_->AcceptLoss(reason);
}
absl::Status AuditStore::RebuildSummaryRows() {
  return impl_->RebuildSummaryRows();
}
absl::StatusOr<StoreIdentity> AuditStore::Identity() const {
  return impl_->Identity();
}

absl::StatusOr<BackupResult> AuditStore::CreateVerifiedBackup(
    const std::string& directory) {
  return impl_->CreateVerifiedBackup(directory);
}

absl::StatusOr<uint64_t> AuditStore::CreateCheckpoint(
    const std::string& directory) {
  return impl_->CreateCheckpoint(directory);
}
AuditStoreStats AuditStore::Stats() const { return impl_->Stats(); }

absl::StatusOr<uint64_t> AuditStore::CompactAndMeasure(
    std::map<std::string, uint64_t>* by_family) {
  return impl_->CompactAndMeasure(by_family);
}
bool AuditStore::Writable() const { return impl_->Writable(); }
absl::StatusOr<SignedTreeHead> AuditStore::LatestSignedTreeHead(
    v1::TrailStream stream) const {
  return impl_->LatestSignedTreeHead(stream);
}
absl::StatusOr<SignedTreeHead> AuditStore::SignedTreeHeadAt(
    v1::TrailStream stream, uint64_t tree_size) const {
  return impl_->SignedTreeHeadAt(stream, tree_size);
}
absl::StatusOr<std::vector<std::string>> AuditStore::CheckIntegrity(
    bool postings) const {
  return impl_->CheckIntegrity(postings);
}

absl::Status AuditStore::CheckLatestSignedTreeHead(
    v1::TrailStream stream) const {
  return impl_->CheckLatestSignedTreeHead(stream);
}
absl::StatusOr<InclusionProofResult> AuditStore::InclusionProof(
    const std::string& decision_id, uint64_t tree_size) const {
  return impl_->InclusionProof(decision_id, tree_size);
}
absl::StatusOr<ConsistencyProofResult> AuditStore::ConsistencyProof(
    v1::TrailStream stream, uint64_t first_size, uint64_t second_size) const {
  return impl_->ConsistencyProof(stream, first_size, second_size);
}
absl::Status AuditStore::Close() { return impl_->Close(); }

}  // namespace tradecheck::storage
