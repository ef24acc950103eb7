// Test-only access underneath the audit store, for tamper and compatibility
// tests: they change stored bytes the way an attacker or an old build would.
// The store at `db_path` must be closed (RocksDB's lock refuses otherwise).
//
//   TC_ASSERT_OK(FlipByteInRecord(dir, v1::TRAIL_STREAM_BINDING, 7, 20));
//   // reopen; VerifyTrail names b-000000000007
#ifndef TRADECHECK_STORAGE_TESTING_TAMPER_H_
#define TRADECHECK_STORAGE_TESTING_TAMPER_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tradecheck/v1/audit_service.pb.h"

namespace tradecheck::storage::testing {

// Inverts every bit of byte `byte_offset` of the stored value of record
// `sequence` in `stream`. OUT_OF_RANGE when the record is shorter, NOT_FOUND
// when there is no such record.
absl::Status FlipByteInRecord(const std::string& db_path,
                              v1::TrailStream stream, uint64_t sequence,
                              size_t byte_offset);

// Deletes record `sequence` of `stream` (its value and its chain hash), as
// a lost or removed record would look. NOT_FOUND when there is none.
absl::Status DeleteRecord(const std::string& db_path, v1::TrailStream stream,
                          uint64_t sequence);

// Exchanges records `a` and `b` of `stream` (values and chain hashes).
absl::Status SwapRecords(const std::string& db_path, v1::TrailStream stream,
                         uint64_t a, uint64_t b);

// Overwrites record `to` of `stream` with a copy of record `from` (value
// and chain hash), as a replayed or duplicated write would.
absl::Status CopyRecord(const std::string& db_path, v1::TrailStream stream,
                        uint64_t from, uint64_t to);

// Inverts one byte of the store's newest write-ahead log file (`*.log`),
// at `fraction` (0..1) of its length. NOT_FOUND when the store has no
// non-empty log. Returns the file changed.
absl::StatusOr<std::string> FlipByteInWal(const std::string& db_path,
                                          double fraction);

// Inverts every bit of byte `byte_offset` of the value of `key` in the
// meta column family (e.g. keys::RetroactiveImpactKey(1)). OUT_OF_RANGE
// when the value is shorter; an error when there is no such key.
absl::Status FlipByteInMetaValue(const std::string& db_path,
                                 const std::string& key, size_t byte_offset);

// Deletes `key` from the meta column family (e.g. the newest
// keys::RetroactiveImpactKey, as a dropped impact record would look, or
// keys::kMetaActiveRevision, as a build before that key left the store).
// NOT_FOUND when there is no such key.
absl::Status DeleteMetaValue(const std::string& db_path,
                             const std::string& key);

// Deletes the stored sources of rule-set `revision` (every key of it in the
// rulesets family), as a store that never kept them, or lost them, would
// be. Returns how many keys it deleted; NOT_FOUND when there were none.
absl::StatusOr<int> DeleteRuleSetSources(const std::string& db_path,
                                         const std::string& revision);

// Overwrites the schema version in the meta column family.
absl::Status SetSchemaVersion(const std::string& db_path,
                              const std::string& version);

// The schema version in the meta column family.
absl::StatusOr<std::string> GetSchemaVersion(const std::string& db_path);

// Rewrites the indexes in the layout a schema version 1 build wrote: every
// posting block as single postings (one key per record, empty value) and
// the time family as one key per record (its recorded_at, its sequence).
// Returns how many posting blocks held more than one record. Does not
// change the schema version (see SetSchemaVersion).
absl::StatusOr<int> RewriteIndexesAsVersion1(const std::string& db_path);

// Deletes every posting of the fields a build of `schema` did not write
// (decision_index.h, since_schema > schema): with SetSchemaVersion, the
// store as that build left it. Returns how many keys it deleted.
absl::StatusOr<int> DropPostingsNewerThan(const std::string& db_path,
                                          int schema);

// Drops the summaries family: with SetSchemaVersion(…, "5"), the store as a
// build of schema 5 left it.
absl::Status DropSummaryRows(const std::string& db_path);

// Overwrites the summary row of (stream, sequence) with `bytes`.
absl::Status PutSummaryRow(const std::string& db_path, v1::TrailStream stream,
                           uint64_t sequence, const std::string& bytes);

// Rewrites the summary row of (stream, sequence) with another outcome (DENY,
// or ALLOW when it was DENY): what a summary reports changes, the record
// does not. NOT_FOUND when there is no such row.
absl::Status ForgeSummaryOutcome(const std::string& db_path,
                                 v1::TrailStream stream, uint64_t sequence);

}  // namespace tradecheck::storage::testing

#endif  // TRADECHECK_STORAGE_TESTING_TAMPER_H_
