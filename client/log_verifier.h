// Client-side checks of the verifiable audit log, with no trust in the
// server: an offline check of a whole trail (from a backup or checkpoint,
// read by storage/trail_reader.h) against signed tree heads, a check of a
// tree-head log, and the check of one inclusion proof. Pure: common/ math
// (RFC 9162) and Ed25519 only, no gRPC, no RocksDB.
//
//   TrailVerifier v(/*stream=*/1);
//   for (each stored record in order) v.Add(sequence, entry_bytes);
//   LogReport r = v.Finish(heads, *public_key);  // r.ok, r.problems
#ifndef TRADECHECK_CLIENT_LOG_VERIFIER_H_
#define TRADECHECK_CLIENT_LOG_VERIFIER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/merkle.h"
#include "common/tree_head.h"
#include "tradecheck/v1/audit_service.pb.h"

namespace tradecheck::cli {

struct LogReport {
  bool ok = true;
  uint64_t records = 0;       // records read
  uint64_t heads_checked = 0;
  // What is wrong, first found first; each names the record(s) or head.
  std::vector<std::string> problems;
};

// Rebuilds the Merkle tree of one stream from its records and checks it,
// and the records' own chain, against signed heads.
class TrailVerifier {
 public:
  explicit TrailVerifier(int stream) : stream_(stream) {}
  // One stored record; sequences must come in ascending order.
  void Add(uint64_t sequence, absl::string_view entry);
  // Checks every head of this stream (other streams' heads are skipped):
  // its signature, that the trail has every record it covers, and that the
  // root of those records is the signed root. A mismatch names the records
  // between the last head that matched and the first that does not.
  LogReport Finish(const std::vector<SignedTreeHead>& heads,
                   const TreeHeadVerifier& verifier);

 private:
  void Problem(std::string p);
  const int stream_;
  merkle::MemoryTree tree_;
  std::string previous_hash_;  // raw
  LogReport report_;
};

// Reads a tree-head log (one FormatTreeHeadLine per line; blank lines and
// lines starting with '#' skipped). INVALID_ARGUMENT naming the line.
absl::StatusOr<std::vector<SignedTreeHead>> ParseTreeHeadLog(
    absl::string_view text);

// The head as the server sent it.
SignedTreeHead FromProto(const v1::SignedTreeHead& head);

// The record hash of a decision as returned by the server, recomputed from
// its content (docs/storage.md "Hash chain"): never the record_hash field.
std::string RecomputeLeafHash(const v1::Decision& decision);

// Checks an inclusion proof: the decision's recomputed leaf, at its leaf
// index, leads to the signed head's root. FAILED_PRECONDITION naming what
// does not match.
absl::Status CheckInclusion(const v1::Decision& decision,
                            const v1::GetInclusionProofResponse& proof,
                            const SignedTreeHead& head);

}  // namespace tradecheck::cli

#endif  // TRADECHECK_CLIENT_LOG_VERIFIER_H_
