// Client-side checks of the verifiable audit log, with no trust in the
// server: an offline check of a whole trail (from a backup or checkpoint,
// read by storage/trail_reader.h) against signed tree heads, a check of a
// tree-head log, the check of one inclusion proof, and the check of the
// chain of retroactive-impact records against the log's anchors. Pure:
// common/ math (RFC 9162) and Ed25519 only, no gRPC, no RocksDB.
//
//   TrailVerifier v(/*stream=*/1);
//   for (each stored record in order) v.Add(sequence, entry_bytes);
//   LogReport r = v.Finish(heads, *public_key);  // r.ok, r.problems
#ifndef TRADECHECK_CLIENT_LOG_VERIFIER_H_
#define TRADECHECK_CLIENT_LOG_VERIFIER_H_

#include <cstdint>
#include <map>
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

// What a tree-head log holds: signed tree heads (TH1 lines) and, from the
// build that anchors the impact chain on, one anchor per retroactive-impact
// record the server wrote (RI1 lines), each in the order of the file.
struct WitnessLog {
  std::vector<SignedTreeHead> heads;
  std::vector<SignedImpactAnchor> impacts;
};

// Reads a tree-head log (one FormatTreeHeadLine or FormatImpactAnchorLine
// per line; blank lines and lines starting with '#' skipped).
// INVALID_ARGUMENT naming the line.
absl::StatusOr<WitnessLog> ParseWitnessLog(absl::string_view text);
// Its heads only.
absl::StatusOr<std::vector<SignedTreeHead>> ParseTreeHeadLog(
    absl::string_view text);

// One retroactive-impact record checked whole (every page of its changes):
// its content digest recomputed here (ImpactDigest) against the one it
// carries, and the signature over that digest against `key`.
// FAILED_PRECONDITION naming the record and what does not match; an
// unsigned record is FAILED_PRECONDITION "... is not signed ...".
absl::Status CheckImpactRecord(const v1::RetroactiveImpact& whole,
                               const TreeHeadVerifier& key);

// Checks the whole chain of retroactive-impact records, with no trust in
// the server that served them: fed every record it lists, oldest first,
// each whole, it checks that the ids run from ri-000000000001 without a
// gap, each record (CheckImpactRecord) and each previous_digest against the
// content digest recomputed from the record before; then, given the
// anchors of a tree-head log, that every record the log anchors is still
// served with the digest the log recorded, so one dropped from the end is
// named. Unsigned records (written before the server signed them) pass
// only when a signed record or an anchor after them covers them through
// the links.
class ImpactChainVerifier {
 public:
  explicit ImpactChainVerifier(const TreeHeadVerifier& key) : key_(key) {}
  // The record the server serves as `number`, whole.
  void Add(uint64_t number, const v1::RetroactiveImpact& whole);
  // A record the server lists but does not serve (`why`: its answer).
  void Unreadable(uint64_t number, const absl::Status& why);
  // Checks `anchors` (a log's RI1 lines; may be empty) against what was
  // added. report.records: records added; heads_checked: anchors checked.
  LogReport Finish(const std::vector<SignedImpactAnchor>& anchors);

  // After Finish: the newest record added (0 when none), the newest one
  // the log anchored (0 when none), and the newest unsigned record that a
  // later signature or anchor covers (0 when none).
  uint64_t newest() const { return newest_; }
  uint64_t newest_anchored() const { return newest_anchored_; }
  uint64_t unsigned_through() const { return unsigned_through_; }

 private:
  void Problem(std::string p);
  // Records from `next_` to `number - 1` were never served.
  void Skip(uint64_t number);
  const TreeHeadVerifier& key_;
  uint64_t next_ = 1;            // the number the chain needs next
  uint64_t newest_ = 0;
  uint64_t newest_signed_ = 0;
  uint64_t newest_anchored_ = 0;
  uint64_t unsigned_through_ = 0;
  std::vector<uint64_t> unsigned_;  // ascending
  bool linked_ = true;           // previous_ is the record before next_
  std::string previous_;         // its recomputed digest, hex
  std::map<uint64_t, std::string> served_;  // number -> recomputed hex
  LogReport report_;
};

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
