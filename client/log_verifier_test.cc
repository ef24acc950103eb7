#include "client/log_verifier.h"

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"
#include "common/merkle.h"
#include "common/proto_bytes.h"
#include "common/testing/status_matchers.h"
#include "common/tree_head.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tradecheck::cli {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::tradecheck::testing::IsOk;

// A chained trail of n records, built the way the store builds it.
std::vector<std::string> Trail(int n, const std::string& caller_of_4 = "a") {
  std::vector<std::string> entries;
  std::string previous;
  for (int i = 1; i <= n; ++i) {
    v1::Decision d;
    d.set_decision_id(absl::StrFormat("b-%012d", i));
    d.set_stream(v1::TRAIL_STREAM_BINDING);
    d.set_sequence(i);
    d.set_caller(i == 4 ? caller_of_4 : "a");
    d.set_previous_hash(previous.empty() ? std::string(64, '0')
                                         : absl::BytesToHexString(previous));
    entries.push_back(SerializeDeterministic(d));
    previous = merkle::HashLeaf(entries.back());
  }
  return entries;
}

class LogVerifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    signer_ = *TreeHeadSigner::FromPrivateKeyPem(
        TreeHeadSigner::GeneratePrivateKeyPem());
    verifier_ = *TreeHeadVerifier::FromPublicKeyPem(signer_->PublicKeyPem());
  }
  SignedTreeHead HeadOf(const std::vector<std::string>& entries, uint64_t n) {
    merkle::MemoryTree tree;
    for (uint64_t i = 0; i < n; ++i) tree.Append(merkle::HashLeaf(entries[i]));
    SignedTreeHead s;
    s.head.stream = 1;
    s.head.tree_size = n;
    s.head.timestamp_unix_nanos = 1;
    s.head.root_hash = tree.Root();
    s.signature = signer_->Sign(s.head);
    return s;
  }
  LogReport Check(const std::vector<std::string>& entries,
                  const std::vector<SignedTreeHead>& heads) {
    TrailVerifier v(1);
    for (size_t i = 0; i < entries.size(); ++i) v.Add(i + 1, entries[i]);
    return v.Finish(heads, *verifier_);
  }
  std::unique_ptr<TreeHeadSigner> signer_;
  std::unique_ptr<TreeHeadVerifier> verifier_;
};

TEST_F(LogVerifierTest, AnIntactTrailMatchesEverySignedHead) {
  const auto trail = Trail(13);
  LogReport r = Check(trail, {HeadOf(trail, 5), HeadOf(trail, 13)});
  EXPECT_TRUE(r.ok) << r.problems[0];
  EXPECT_EQ(r.records, 13u);
  EXPECT_EQ(r.heads_checked, 2u);
}

TEST_F(LogVerifierTest, ATailCutAfterASignedHeadIsNamed) {
  const auto trail = Trail(13);
  const auto head = HeadOf(trail, 13);
  const std::vector<std::string> cut(trail.begin(), trail.begin() + 9);
  LogReport r = Check(cut, {head});
  ASSERT_FALSE(r.ok);
  EXPECT_THAT(r.problems[0], HasSubstr("covers records b-000000000010 to "
                                       "b-000000000013, which the trail does "
                                       "not have"));
}

TEST_F(LogVerifierTest, AForgedRecordWithRecomputedLinksIsNamedBetweenHeads) {
  const auto trail = Trail(13);
  const std::vector<SignedTreeHead> heads = {HeadOf(trail, 3), HeadOf(trail, 8),
                                             HeadOf(trail, 13)};
  // Record 4 rewritten and every later link recomputed: the chain is whole.
  const auto forged = Trail(13, "someone else");
  LogReport r = Check(forged, heads);
  ASSERT_FALSE(r.ok);
  ASSERT_EQ(r.problems.size(), 1u) << r.problems[1];
  EXPECT_THAT(r.problems[0], HasSubstr("from b-000000000004 to b-000000000008 "
                                       "was changed"));
}

TEST_F(LogVerifierTest, ABrokenLinkAndAForeignSignatureAreNamed) {
  auto trail = Trail(6);
  auto head = HeadOf(trail, 6);
  head.head.tree_size = 5;  // altered after signing
  LogReport r = Check(trail, {head});
  ASSERT_FALSE(r.ok);
  EXPECT_THAT(r.problems[0], HasSubstr("does not match the public key"));

  std::vector<std::string> swapped = trail;
  std::swap(swapped[2], swapped[3]);
  r = Check(swapped, {HeadOf(trail, 6)});
  ASSERT_FALSE(r.ok);
  EXPECT_THAT(r.problems[0], HasSubstr("b-000000000003: the record claims"));
}

TEST_F(LogVerifierTest, InclusionIsCheckedFromTheDecisionsOwnContent) {
  const auto trail = Trail(11);
  merkle::MemoryTree tree;
  for (const auto& e : trail) tree.Append(merkle::HashLeaf(e));
  const SignedTreeHead head = HeadOf(trail, 11);
  v1::Decision d;
  ASSERT_TRUE(d.ParseFromString(trail[6]));
  d.set_record_hash(absl::BytesToHexString(merkle::HashLeaf(trail[6])));
  v1::GetInclusionProofResponse proof;
  proof.set_leaf_index(6);
  proof.set_tree_size(11);
  auto path = merkle::InclusionProof(tree.Reader(), 6, 11);
  ASSERT_THAT(path.status(), IsOk());
  for (const auto& h : *path) proof.add_audit_path(h);
  EXPECT_THAT(CheckInclusion(d, proof, head), IsOk());
  d.set_caller("edited in transit");
  EXPECT_FALSE(CheckInclusion(d, proof, head).ok());
}

TEST_F(LogVerifierTest, TreeHeadLogsParseAndNameABadLine) {
  const auto trail = Trail(2);
  const std::string text = "# witness\n" + FormatTreeHeadLine(HeadOf(trail, 1)) +
                           "\n\n" + FormatTreeHeadLine(HeadOf(trail, 2)) + "\n";
  auto heads = ParseTreeHeadLog(text);
  ASSERT_THAT(heads.status(), IsOk());
  EXPECT_EQ(heads->size(), 2u);
  EXPECT_THAT(ParseTreeHeadLog(text + "TH1 nonsense\n").status().message(),
              HasSubstr("line 5"));

  // A log with impact anchors (RI1) among the heads: the heads read as
  // before, the anchors apart; a damaged anchor names its line and field.
  SignedImpactAnchor anchor;
  anchor.anchor.number = 1;
  anchor.anchor.content_digest = std::string(32, 'd');
  anchor.signature = std::string(64, 's');
  const std::string with_anchor =
      text + FormatImpactAnchorLine(anchor) + "\n";
  heads = ParseTreeHeadLog(with_anchor);
  ASSERT_THAT(heads.status(), IsOk());
  EXPECT_EQ(heads->size(), 2u);
  auto log = ParseWitnessLog(with_anchor);
  ASSERT_THAT(log.status(), IsOk());
  EXPECT_EQ(log->heads.size(), 2u);
  ASSERT_EQ(log->impacts.size(), 1u);
  EXPECT_EQ(log->impacts[0].anchor.content_digest, std::string(32, 'd'));
  EXPECT_THAT(ParseWitnessLog(text + "RI1 ri-000000000001 zz 1 - 00\n")
                  .status()
                  .message(),
              AllOf(HasSubstr("line 5"), HasSubstr("content_digest")));
}

}  // namespace
}  // namespace tradecheck::cli
