// Test-only changes underneath the audit store that only the Merkle tree
// and signed tree heads can catch, plus the schema 2 layout for upgrade
// tests. The store at `db_path` must be closed.
//
//   TC_ASSERT_OK(CutTail(dir, v1::TRAIL_STREAM_BINDING, 5));
//   // reopen; CheckLatestSignedTreeHead names records 6.. as missing
#ifndef TRADECHECK_STORAGE_TESTING_MERKLE_TAMPER_H_
#define TRADECHECK_STORAGE_TESTING_MERKLE_TAMPER_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "tradecheck/v1/audit_service.pb.h"

namespace tradecheck::storage::testing {

// Removes every record of `stream` after `keep` (record, chain hash and
// tree nodes; with `drop_heads`, also the signed heads covering them), as
// someone hiding the newest records would. The chain that is left verifies.
absl::Status CutTail(const std::string& db_path, v1::TrailStream stream,
                     uint64_t keep, bool drop_heads);

// Rewrites record `sequence` of `stream` with a different caller, then
// recomputes its hash, every later record's previous_hash and hash, and
// the whole Merkle tree: the hash chain verifies, only a signed head does
// not match.
absl::Status ForgeRecord(const std::string& db_path, v1::TrailStream stream,
                         uint64_t sequence, const std::string& new_caller);

// The meta a schema version 3 build wrote: no store identity or epoch.
absl::Status RewriteAsVersion3(const std::string& db_path);

// The layout a schema version 2 build wrote: no tree or heads family.
absl::Status RewriteAsVersion2(const std::string& db_path);

}  // namespace tradecheck::storage::testing

#endif  // TRADECHECK_STORAGE_TESTING_MERKLE_TAMPER_H_
