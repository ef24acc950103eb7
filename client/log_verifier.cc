#include "client/log_verifier.h"

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/proto_bytes.h"

namespace tradecheck::cli {
namespace {

std::string DecisionIdOf(int stream, uint64_t sequence) {
  return absl::StrFormat("%s-%012d", stream == 2 ? "v" : "b", sequence);
}

}  // namespace

void TrailVerifier::Problem(std::string p) {
  report_.ok = false;
  report_.problems.push_back(std::move(p));
}

void TrailVerifier::Add(uint64_t sequence, absl::string_view entry) {
  ++report_.records;
  const uint64_t expected = tree_.size() + 1;
  if (sequence != expected) {
    // The tree can only be rebuilt up to the gap; heads past it fail.
    if (report_.problems.empty() || sequence > expected) {
      Problem(absl::StrCat("records ", DecisionIdOf(stream_, expected),
                           " to ", DecisionIdOf(stream_, sequence - 1),
                           " are missing from the trail"));
    }
    return;
  }
  const std::string leaf = merkle::HashLeaf(entry);
  v1::Decision d;
  if (!d.ParseFromArray(entry.data(), static_cast<int>(entry.size()))) {
    Problem(absl::StrCat(DecisionIdOf(stream_, sequence),
                         ": the record does not parse as a Decision"));
  } else {
    // After an accepted loss ids carry their epoch: "b-...-e2".
    const std::string base = DecisionIdOf(stream_, sequence);
    if (d.sequence() != sequence ||
        (d.decision_id() != base &&
         !absl::StartsWith(d.decision_id(), base + "-e"))) {
      Problem(absl::StrCat(DecisionIdOf(stream_, sequence),
                           ": the record claims to be ", d.decision_id()));
    }
    const std::string want_previous =
        previous_hash_.empty() ? std::string(64, '0')
                               : absl::BytesToHexString(previous_hash_);
    if (d.previous_hash() != want_previous) {
      Problem(absl::StrCat(DecisionIdOf(stream_, sequence), ": previous_hash ",
                           d.previous_hash(),
                           " is not the hash of the record before (",
                           want_previous, ")"));
    }
  }
  previous_hash_ = leaf;
  tree_.Append(leaf);
}

LogReport TrailVerifier::Finish(const std::vector<SignedTreeHead>& heads_in,
                                const TreeHeadVerifier& verifier) {
  std::vector<SignedTreeHead> heads;
  for (const SignedTreeHead& h : heads_in) {
    if (h.head.stream == stream_) heads.push_back(h);
  }
  std::stable_sort(heads.begin(), heads.end(),
                   [](const SignedTreeHead& a, const SignedTreeHead& b) {
                     return a.head.tree_size < b.head.tree_size;
                   });
  if (heads.empty()) {
    Problem(absl::StrCat("no signed tree head of the ",
                         TreeHeadStreamName(stream_),
                         " stream to check the trail against"));
    return report_;
  }
  uint64_t matched = 0;  // largest size whose root matched
  for (const SignedTreeHead& h : heads) {
    ++report_.heads_checked;
    absl::Status sig = verifier.Verify(h);
    if (!sig.ok()) {
      Problem(std::string(sig.message()));
      continue;
    }
    const uint64_t n = h.head.tree_size;
    if (n > tree_.size()) {
      Problem(absl::StrCat(
          "the signed head of size ", n, " covers records ",
          DecisionIdOf(stream_, tree_.size() + 1), " to ",
          DecisionIdOf(stream_, n),
          ", which the trail does not have (cut from its end?)"));
      break;
    }
    absl::StatusOr<std::string> root = merkle::Root(tree_.Reader(), n);
    if (!root.ok() || *root != h.head.root_hash) {
      Problem(absl::StrCat(
          "the trail's first ", n, " records do not have the root signed at "
          "size ", n, " (",
          absl::BytesToHexString(h.head.root_hash), "): a record from ",
          DecisionIdOf(stream_, matched + 1), " to ", DecisionIdOf(stream_, n),
          " was changed, removed or inserted after it was signed"));
      break;
    }
    matched = n;
  }
  return report_;
}

absl::StatusOr<WitnessLog> ParseWitnessLog(absl::string_view text) {
  WitnessLog out;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    absl::Status bad;
    if (absl::StartsWith(line, "RI1 ")) {
      absl::StatusOr<SignedImpactAnchor> anchor = ParseImpactAnchorLine(line);
      if (anchor.ok()) {
        out.impacts.push_back(*std::move(anchor));
      } else {
        bad = anchor.status();
      }
    } else {
      absl::StatusOr<SignedTreeHead> head = ParseTreeHeadLine(line);
      if (head.ok()) {
        out.heads.push_back(*std::move(head));
      } else {
        bad = head.status();
      }
    }
    if (!bad.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", line_number, ": ", bad.message()));
    }
  }
  return out;
}

absl::StatusOr<std::vector<SignedTreeHead>> ParseTreeHeadLog(
    absl::string_view text) {
  absl::StatusOr<WitnessLog> log = ParseWitnessLog(text);
  if (!log.ok()) return log.status();
  return std::move(log->heads);
}

absl::Status CheckImpactRecord(const v1::RetroactiveImpact& whole,
                               const TreeHeadVerifier& key) {
  const std::string digest = ImpactDigest(whole);
  if (absl::BytesToHexString(digest) != whole.content_digest()) {
    return absl::FailedPreconditionError(absl::StrCat(
        whole.impact_id(),
        " does not match its content digest: the record was altered after "
        "it was written"));
  }
  if (whole.signature().empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        whole.impact_id(),
        " is not signed (the server signed no tree heads when it wrote it)"));
  }
  return key.VerifyImpact(
      digest, whole.signature(),
      absl::StrCat("retroactive-impact record ", whole.impact_id()));
}

void ImpactChainVerifier::Problem(std::string p) {
  report_.ok = false;
  report_.problems.push_back(std::move(p));
}

void ImpactChainVerifier::Skip(uint64_t number) {
  if (number <= next_) return;
  Problem(number == next_ + 1
              ? absl::StrCat(ImpactId(next_), " is missing from the chain")
              : absl::StrCat("records ", ImpactId(next_), " to ",
                             ImpactId(number - 1),
                             " are missing from the chain"));
  linked_ = false;
}

void ImpactChainVerifier::Unreadable(uint64_t number, const absl::Status& why) {
  Skip(number);
  Problem(absl::StrCat(ImpactId(number), ": the server lists it but does not "
                       "serve it: ", why.message()));
  newest_ = std::max(newest_, number);
  next_ = number + 1;
  linked_ = false;
}

void ImpactChainVerifier::Add(uint64_t number,
                              const v1::RetroactiveImpact& whole) {
  ++report_.records;
  Skip(number);
  const std::string id = ImpactId(number);
  const std::string raw_digest = ImpactDigest(whole);
  const std::string digest = absl::BytesToHexString(raw_digest);
  if (whole.impact_id() != id) {
    Problem(absl::StrCat(id, ": impact_id: the server returned the record \"",
                         whole.impact_id(), "\""));
  } else if (whole.content_digest() != digest) {
    Problem(absl::StrCat(id, ": content_digest ", whole.content_digest(),
                         " is not the digest of the record as served (",
                         digest, "): it was altered after it was written"));
  } else if (whole.signature().empty()) {
    unsigned_.push_back(number);  // covered later, or named in Finish
  } else if (absl::Status s = key_.VerifyImpact(
                 raw_digest, whole.signature(),
                 absl::StrCat("retroactive-impact record ", id));
             !s.ok()) {
    Problem(absl::StrCat(id, ": signature: ", s.message()));
  } else {
    newest_signed_ = number;
  }
  if (linked_) {
    const std::string& want = previous_;  // empty before the first record
    if (whole.previous_digest() != want) {
      Problem(number == 1
                  ? absl::StrCat(id, ": previous_digest ",
                                 whole.previous_digest(),
                                 " is not empty, yet no record comes before "
                                 "the first")
                  : absl::StrCat(id, ": previous_digest ",
                                 whole.previous_digest(),
                                 " is not the content digest of ",
                                 ImpactId(number - 1), " (", want,
                                 "): the chain does not link"));
    }
  }
  served_[number] = digest;
  previous_ = digest;
  linked_ = true;
  newest_ = number;
  next_ = number + 1;
}

LogReport ImpactChainVerifier::Finish(
    const std::vector<SignedImpactAnchor>& anchors) {
  uint64_t cut_from = 0, cut_to = 0;  // anchored, past the chain's end
  for (const SignedImpactAnchor& a : anchors) {
    ++report_.heads_checked;
    const uint64_t n = a.anchor.number;
    if (absl::Status s = key_.VerifyImpactAnchor(a); !s.ok()) {
      Problem(std::string(s.message()));
      continue;
    }
    const std::string anchored = absl::BytesToHexString(a.anchor.content_digest);
    auto served = served_.find(n);
    if (served != served_.end()) {
      if (served->second != anchored) {
        Problem(absl::StrCat(ImpactId(n), ": content_digest ", served->second,
                             " is not the one the tree-head log anchored (",
                             anchored, "): the record was replaced"));
      } else {
        newest_anchored_ = std::max(newest_anchored_, n);
      }
    } else if (n > newest_) {
      cut_from = cut_from == 0 ? n : std::min(cut_from, n);
      cut_to = std::max(cut_to, n);
    }
    // An anchored record inside the chain that is not served was named as
    // missing by Add.
  }
  if (cut_to != 0) {
    const std::string named =
        cut_from == cut_to
            ? absl::StrCat(ImpactId(cut_to), ", which the server does not serve")
            : absl::StrCat(ImpactId(cut_from), " to ", ImpactId(cut_to),
                           ", which the server does not serve");
    Problem(absl::StrCat(
        "the tree-head log anchors ", named, ": ",
        newest_ == 0 ? "the whole chain"
                     : absl::StrCat("the chain after ", ImpactId(newest_)),
        " was cut from its end"));
  }
  // A signature or an anchor covers every record before it: its digest
  // covers previous_digest, which is the digest of the one before, and so on.
  const uint64_t covered = std::max(newest_signed_, newest_anchored_);
  for (uint64_t n : unsigned_) {
    if (n <= covered) {
      unsigned_through_ = n;
      continue;
    }
    Problem(absl::StrCat(
        ImpactId(n), ": signature: the record is not signed and no signed "
        "record or anchor after it covers it, so nothing shows who wrote it"));
    break;
  }
  return report_;
}

SignedTreeHead FromProto(const v1::SignedTreeHead& p) {
  SignedTreeHead s;
  s.head.stream = static_cast<int>(p.stream());
  s.head.tree_size = p.tree_size();
  s.head.timestamp_unix_nanos =
      p.timestamp().seconds() * 1'000'000'000 + p.timestamp().nanos();
  s.head.root_hash = p.root_hash();
  s.head.store_identity = p.store_identity();
  s.head.epoch = p.epoch();
  s.signature = p.signature();
  return s;
}

std::string RecomputeLeafHash(const v1::Decision& decision) {
  v1::Decision entry = decision;
  entry.clear_record_hash();
  if (entry.has_verdict()) entry.mutable_verdict()->clear_record_hash();
  return merkle::HashLeaf(SerializeDeterministic(entry));
}

absl::Status CheckInclusion(const v1::Decision& decision,
                            const v1::GetInclusionProofResponse& proof,
                            const SignedTreeHead& head) {
  if (proof.tree_size() != head.head.tree_size) {
    return absl::FailedPreconditionError(
        absl::StrCat("the proof is for a tree of ", proof.tree_size(),
                     " records, the signed head for ", head.head.tree_size));
  }
  if (decision.sequence() == 0 || proof.leaf_index() != decision.sequence() - 1) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the proof is for leaf ", proof.leaf_index(), ", but ",
        decision.decision_id(), " is leaf ", decision.sequence() - 1));
  }
  std::vector<std::string> path(proof.audit_path().begin(),
                                proof.audit_path().end());
  absl::Status s =
      merkle::VerifyInclusion(proof.leaf_index(), proof.tree_size(),
                              RecomputeLeafHash(decision), path,
                              head.head.root_hash);
  if (!s.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        decision.decision_id(), " as the server returned it is not in the "
        "signed tree of ", head.head.tree_size, " records: ", s.message()));
  }
  return absl::OkStatus();
}

}  // namespace tradecheck::cli
