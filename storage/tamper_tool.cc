// tradecheck_tamper: damages a stopped audit store by hand, for end-to-end
// tamper and loss tests (the store must be closed). Each op is one of the
// ways a trail is lost or altered on disk (docs/storage.md, "No silent
// loss"):
//
//   tradecheck_tamper --db=DIR --op=flip --sequence=N [--offset=K]
//   tradecheck_tamper --db=DIR --op=delete --sequence=N
//   tradecheck_tamper --db=DIR --op=swap --sequence=N --other=M
//   tradecheck_tamper --db=DIR --op=copy --sequence=N --other=M  (N over M)
//   tradecheck_tamper --db=DIR --op=cut --keep=N [--drop_heads]
//   tradecheck_tamper --db=DIR --op=forge --sequence=N [--caller=TEXT]
//   tradecheck_tamper --db=DIR --op=wal-flip [--fraction=F]
//   tradecheck_tamper --db=DIR --op=summary-outcome --sequence=N
//   tradecheck_tamper --db=DIR --op=impact-delete --sequence=N  (ri-N)
//   tradecheck_tamper --db=DIR --op=impact-flip --sequence=N [--offset=K]
//   tradecheck_tamper --db=DIR --op=drop-sources --revision=R
//   tradecheck_tamper --db=DIR --op=drop-active-revision
//
// impact-flip damages retroactive-impact record N (ri-N); drop-sources
// removes the stored files of a rule-set revision; drop-active-revision
// leaves the store as a build before the active revision was kept did.
//
// --stream=binding|validate_only selects the stream (default binding).
#include <cstdint>
#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "storage/keys.h"
#include "storage/testing/merkle_tamper.h"
#include "storage/testing/tamper.h"

ABSL_FLAG(std::string, db, "", "Directory of the audit store (closed).");
ABSL_FLAG(std::string, op, "flip",
          "flip, delete, swap, copy, cut, forge, wal-flip, summary-outcome, "
          "impact-delete, impact-flip, drop-sources or drop-active-revision.");
ABSL_FLAG(std::string, stream, "binding", "binding or validate_only.");
ABSL_FLAG(uint64_t, sequence, 0,
          "Sequence of the record to alter (>= 1); impact-delete: the "
          "impact record's number.");
ABSL_FLAG(uint64_t, other, 0,
          "swap: the record to exchange with; copy: the record overwritten.");
ABSL_FLAG(uint64_t, offset, 10,
          "flip, impact-flip: byte of the stored record to invert.");
ABSL_FLAG(uint64_t, keep, 0, "cut: records kept; every later one is removed.");
ABSL_FLAG(bool, drop_heads, false,
          "cut: also remove the store's signed heads covering the cut "
          "records (the tree-head log outside the store keeps them).");
ABSL_FLAG(std::string, caller, "someone else",
          "forge: the caller written into the record before its hash, every "
          "later link and the Merkle tree are recomputed.");
ABSL_FLAG(std::string, revision, "",
          "drop-sources: the rule-set revision whose stored files go.");
ABSL_FLAG(double, fraction, 0.5,
          "wal-flip: where in the newest write-ahead log to invert a byte "
          "(0..1 of its length).");

namespace {

using tradecheck::storage::keys::DecisionId;
namespace testing = tradecheck::storage::testing;

int Usage(const std::string& why) {
  std::cerr << "tradecheck_tamper: " << why
            << "\nusage: tradecheck_tamper --db=DIR --op=flip|delete|swap|"
               "copy|cut|forge|wal-flip|summary-outcome|impact-delete|"
               "impact-flip|drop-sources|drop-active-revision "
               "[--stream=binding] [--sequence=N] [--other=M] [--keep=N] "
               "[--offset=K] [--fraction=F] [--revision=R]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const std::string db = absl::GetFlag(FLAGS_db);
  const std::string op = absl::GetFlag(FLAGS_op);
  const std::string stream_name = absl::GetFlag(FLAGS_stream);
  const uint64_t sequence = absl::GetFlag(FLAGS_sequence);
  const uint64_t other = absl::GetFlag(FLAGS_other);
  tradecheck::v1::TrailStream stream;
  if (stream_name == "binding") {
    stream = tradecheck::v1::TRAIL_STREAM_BINDING;
  } else if (stream_name == "validate_only") {
    stream = tradecheck::v1::TRAIL_STREAM_VALIDATE_ONLY;
  } else {
    return Usage("--stream must be binding or validate_only");
  }
  if (db.empty()) return Usage("--db is required");
  const bool needs_sequence =
      op == "flip" || op == "delete" || op == "swap" || op == "copy" ||
      op == "forge" || op == "summary-outcome" || op == "impact-delete" ||
      op == "impact-flip";
  if (needs_sequence && sequence == 0) {
    return Usage("--sequence is required (>= 1) for --op=" + op);
  }
  if ((op == "swap" || op == "copy") && (other == 0 || other == sequence)) {
    return Usage("--other is required (>= 1, not --sequence) for --op=" + op);
  }

  absl::Status s;
  std::string done;
  if (op == "flip") {
    s = testing::FlipByteInRecord(db, stream, sequence,
                                  absl::GetFlag(FLAGS_offset));
    done = "flipped byte " + std::to_string(absl::GetFlag(FLAGS_offset)) +
           " of record " + DecisionId(stream, sequence);
  } else if (op == "delete") {
    s = testing::DeleteRecord(db, stream, sequence);
    done = "deleted record " + DecisionId(stream, sequence);
  } else if (op == "swap") {
    s = testing::SwapRecords(db, stream, sequence, other);
    done = "swapped records " + DecisionId(stream, sequence) + " and " +
           DecisionId(stream, other);
  } else if (op == "copy") {
    s = testing::CopyRecord(db, stream, sequence, other);
    done = "copied record " + DecisionId(stream, sequence) + " over " +
           DecisionId(stream, other);
  } else if (op == "cut") {
    s = testing::CutTail(db, stream, absl::GetFlag(FLAGS_keep),
                         absl::GetFlag(FLAGS_drop_heads));
    done = "cut the " + stream_name + " chain after " +
           std::to_string(absl::GetFlag(FLAGS_keep)) + " records";
  } else if (op == "forge") {
    s = testing::ForgeRecord(db, stream, sequence, absl::GetFlag(FLAGS_caller));
    done = "forged record " + DecisionId(stream, sequence) +
           " and recomputed every later link";
  } else if (op == "summary-outcome") {
    s = testing::ForgeSummaryOutcome(db, stream, sequence);
    done = "changed the outcome in the summary row of " +
           DecisionId(stream, sequence);
  } else if (op == "impact-delete") {
    s = testing::DeleteMetaValue(
        db, tradecheck::storage::keys::RetroactiveImpactKey(sequence));
    done = "deleted retroactive-impact record " +
           tradecheck::storage::keys::RetroactiveImpactId(sequence);
  } else if (op == "impact-flip") {
    s = testing::FlipByteInMetaValue(
        db, tradecheck::storage::keys::RetroactiveImpactKey(sequence),
        absl::GetFlag(FLAGS_offset));
    done = "flipped byte " + std::to_string(absl::GetFlag(FLAGS_offset)) +
           " of retroactive-impact record " +
           tradecheck::storage::keys::RetroactiveImpactId(sequence);
  } else if (op == "drop-sources") {
    const std::string revision = absl::GetFlag(FLAGS_revision);
    if (revision.empty()) return Usage("--revision is required");
    absl::StatusOr<int> deleted = testing::DeleteRuleSetSources(db, revision);
    s = deleted.status();
    if (deleted.ok()) {
      done = "deleted " + std::to_string(*deleted) +
             " stored files of rule-set revision " + revision;
    }
  } else if (op == "drop-active-revision") {
    s = testing::DeleteMetaValue(db, tradecheck::storage::keys::kMetaActiveRevision);
    done = "deleted the store's active rule-set revision";
  } else if (op == "wal-flip") {
    absl::StatusOr<std::string> file =
        testing::FlipByteInWal(db, absl::GetFlag(FLAGS_fraction));
    s = file.status();
    if (file.ok()) done = "flipped a byte of " + *file;
  } else {
    return Usage("unknown --op=" + op);
  }
  if (!s.ok()) {
    std::cerr << "tradecheck_tamper: " << s << "\n";
    return 1;
  }
  std::cout << done << "\n";
  return 0;
}
