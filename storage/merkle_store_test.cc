// The audit store's Merkle tree and signed tree heads: proofs at every size,
// heads in the store and the log, the schema 2 -> 3 upgrade, and the
// tampering only the signed heads catch.
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/merkle.h"
#include "common/testing/status_matchers.h"
#include "common/tree_head.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/audit_store.h"
#include "storage/testing/merkle_tamper.h"
#include "storage/testing/tamper.h"

namespace tradecheck::storage {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::tradecheck::testing::IsOk;
using ::tradecheck::testing::StatusIs;

AppendRequest Request(const std::string& id,
                      v1::TrailStream stream = v1::TRAIL_STREAM_BINDING) {
  AppendRequest r;
  r.stream = stream;
  r.declaration.set_declaration_id(id);
  r.declaration.set_exporter_id("EXP-1");
  r.verdict.set_declaration_id(id);
  r.verdict.set_outcome(v1::OUTCOME_ALLOW);
  r.caller = "tester";
  return r;
}

class MerkleStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/merkle_store_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/db";
    log_ = dir_ + "/tree-heads.log";
    TC_ASSERT_OK_AND_ASSIGN(signer_, TreeHeadSigner::FromPrivateKeyPem(
                                         TreeHeadSigner::GeneratePrivateKeyPem()));
    TC_ASSERT_OK_AND_ASSIGN(verifier_, TreeHeadVerifier::FromPublicKeyPem(
                                           signer_->PublicKeyPem()));
  }
  void TearDown() override {
    if (store_ != nullptr) {
      EXPECT_THAT(store_->Close(), IsOk());
    }
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  AuditStoreOptions Options(bool sign = true, bool check_at_open = true) {
    AuditStoreOptions options;
    options.path = path_;
    options.clock = &clock_;
    options.sync = false;
    if (sign) {
      options.tree_head_signer = signer_;
      options.tree_head_log = log_;
    }
    options.check_at_open = check_at_open;
    return options;
  }
  void Open(bool sign = true, bool check_at_open = true) {
    TC_ASSERT_OK_AND_ASSIGN(store_,
                            AuditStore::Open(Options(sign, check_at_open)));
  }
  void Close() {
    ASSERT_THAT(store_->Close(), IsOk());
    store_.reset();
  }
  // Appends `n` records queued together (one or a few group commits) and
  // remembers their record hashes as the expected leaves.
  void AppendMany(int n, v1::TrailStream stream = v1::TRAIL_STREAM_BINDING) {
    absl::Mutex mu;
    int done = 0;
    auto all_done = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
      return done == n;
    };
    for (int i = 0; i < n; ++i) {
      store_->Append(Request(absl::StrCat("D-", next_++), stream),
                     [&](absl::StatusOr<AppendResult> r) {
                       EXPECT_THAT(r, IsOk());
                       absl::MutexLock lock(&mu);
                       ++done;
                     });
    }
    absl::MutexLock lock(&mu);
    mu.Await(absl::Condition(&all_done));
    clock_.Advance(absl::Seconds(1));
  }
  // The tree the records' own hashes make, from GetDecision.
  merkle::MemoryTree ExpectedTree(uint64_t n) {
    merkle::MemoryTree tree;
    for (uint64_t i = 1; i <= n; ++i) {
      auto d = store_->GetDecision(absl::StrFormat("b-%012d", i));
      EXPECT_THAT(d, IsOk());
      tree.Append(absl::HexStringToBytes(d->record_hash()));
    }
    return tree;
  }

  SimulatedClock clock_{absl::FromUnixSeconds(1'780'000'000)};
  std::string dir_, path_, log_;
  std::shared_ptr<TreeHeadSigner> signer_;
  std::unique_ptr<TreeHeadVerifier> verifier_;
  std::unique_ptr<AuditStore> store_;
  int next_ = 1;
};

TEST_F(MerkleStoreTest, ProofsVerifyAtEverySizeUpTo300) {
  Open();
  merkle::MemoryTree tree;
  std::vector<std::string> roots = {merkle::EmptyRoot()};
  // Group commits of 1, 2, 3, ... records, so sizes that are not powers of
  // two end batches.
  for (int k = 1; next_ <= 300; ++k) AppendMany(std::min(k, 301 - next_));
  tree = ExpectedTree(300);
  for (uint64_t n = 1; n <= 300; ++n) {
    roots.push_back(*merkle::Root(tree.Reader(), n));
  }
  for (uint64_t n = 1; n <= 300; n += (n < 40 ? 1 : 13)) {
    for (uint64_t m = 1; m <= n; m += (n < 40 ? 1 : 7)) {
      TC_ASSERT_OK_AND_ASSIGN(
          InclusionProofResult p,
          store_->InclusionProof(absl::StrFormat("b-%012d", m), n));
      EXPECT_EQ(p.leaf_index, m - 1);
      EXPECT_EQ(p.root_hash, roots[n]);
      ASSERT_THAT(merkle::VerifyInclusion(p.leaf_index, n, p.leaf_hash,
                                          p.audit_path, roots[n]),
                  IsOk())
          << m << " in " << n;
    }
    for (uint64_t m = 0; m <= n; m += (n < 40 ? 1 : 11)) {
      TC_ASSERT_OK_AND_ASSIGN(
          ConsistencyProofResult c,
          store_->ConsistencyProof(v1::TRAIL_STREAM_BINDING, m, n));
      EXPECT_EQ(c.first_root, roots[m]);
      ASSERT_THAT(merkle::VerifyConsistency(m, n, roots[m], roots[n], c.proof),
                  IsOk())
          << m << " to " << n;
    }
  }
}

TEST_F(MerkleStoreTest, EveryGroupCommitSignsAHeadInTheStoreAndTheLog) {
  Open();
  AppendMany(5);
  AppendMany(3, v1::TRAIL_STREAM_VALIDATE_ONLY);
  AppendMany(2);
  TC_ASSERT_OK_AND_ASSIGN(SignedTreeHead head,
                          store_->LatestSignedTreeHead(v1::TRAIL_STREAM_BINDING));
  EXPECT_EQ(head.head.tree_size, 7u);
  EXPECT_EQ(head.head.root_hash, ExpectedTree(7).Root());
  EXPECT_EQ(head.head.timestamp_unix_nanos,
            absl::ToUnixNanos(clock_.Now() - absl::Seconds(1)));
  EXPECT_THAT(verifier_->Verify(head), IsOk());
  TC_ASSERT_OK_AND_ASSIGN(
      SignedTreeHead vo,
      store_->LatestSignedTreeHead(v1::TRAIL_STREAM_VALIDATE_ONLY));
  EXPECT_EQ(vo.head.stream, 2);
  EXPECT_EQ(vo.head.tree_size, 3u);
  Close();

  // The log has one verifying line per head, each consistent with the next.
  std::ifstream in(log_);
  std::string line;
  std::vector<SignedTreeHead> binding;
  while (std::getline(in, line)) {
    TC_ASSERT_OK_AND_ASSIGN(SignedTreeHead h, ParseTreeHeadLine(line));
    EXPECT_THAT(verifier_->Verify(h), IsOk()) << line;
    if (h.head.stream == 1) binding.push_back(h);
  }
  ASSERT_GE(binding.size(), 2u);
  EXPECT_EQ(binding.back().head.tree_size, 7u);

  Open();
  for (size_t i = 0; i + 1 < binding.size(); ++i) {
    const TreeHead& a = binding[i].head;
    const TreeHead& b = binding[i + 1].head;
    TC_ASSERT_OK_AND_ASSIGN(ConsistencyProofResult c,
                            store_->ConsistencyProof(v1::TRAIL_STREAM_BINDING,
                                                     a.tree_size, b.tree_size));
    EXPECT_THAT(merkle::VerifyConsistency(a.tree_size, b.tree_size, a.root_hash,
                                          b.root_hash, c.proof),
                IsOk());
  }
  TC_ASSERT_OK_AND_ASSIGN(SignedTreeHead at, store_->SignedTreeHeadAt(
                                                 v1::TRAIL_STREAM_BINDING,
                                                 binding[0].head.tree_size));
  EXPECT_TRUE(at.head == binding[0].head);
  EXPECT_THAT(store_->CheckLatestSignedTreeHead(v1::TRAIL_STREAM_BINDING),
              IsOk());
}

// Each retroactive-impact record the store writes is anchored in the
// tree-head log (an RI1 line: its id and digest, signed), among the heads,
// and the store still opens and checks against a log holding both kinds.
TEST_F(MerkleStoreTest, EachImpactRecordIsAnchoredInTheTreeHeadLog) {
  Open();
  AppendMany(2);
  std::vector<v1::RetroactiveImpact> stored;
  for (const char* revision : {"rev-1", "rev-2"}) {
    v1::RetroactiveImpact impact;
    impact.set_previous_revision(revision);
    impact.add_changes()->set_decision_id("b-000000000001");
    TC_ASSERT_OK_AND_ASSIGN(v1::RetroactiveImpact written,
                            store_->AppendRetroactiveImpact(impact));
    stored.push_back(written);
  }
  AppendMany(1);
  Close();

  std::ifstream in(log_);
  std::string line;
  std::vector<SignedImpactAnchor> anchors;
  std::string identity;
  uint64_t head_size = 0;  // the newest head so far in the log
  while (std::getline(in, line)) {
    if (line.rfind("RI1 ", 0) == 0) {
      TC_ASSERT_OK_AND_ASSIGN(SignedImpactAnchor a, ParseImpactAnchorLine(line));
      EXPECT_THAT(verifier_->VerifyImpactAnchor(a), IsOk()) << line;
      // In the order written: after the heads of the first two records.
      EXPECT_EQ(head_size, 2u) << line;
      anchors.push_back(a);
      continue;
    }
    TC_ASSERT_OK_AND_ASSIGN(SignedTreeHead h, ParseTreeHeadLine(line));
    identity = h.head.store_identity;
    head_size = h.head.tree_size;
  }
  EXPECT_EQ(head_size, 3u);
  ASSERT_EQ(anchors.size(), 2u);
  for (size_t i = 0; i < anchors.size(); ++i) {
    EXPECT_EQ(ImpactId(anchors[i].anchor.number), stored[i].impact_id());
    EXPECT_EQ(absl::BytesToHexString(anchors[i].anchor.content_digest),
              stored[i].content_digest());
    EXPECT_EQ(anchors[i].anchor.store_identity, identity);
    EXPECT_EQ(anchors[i].anchor.epoch, 1u);
  }
  Open();  // checks the log's newest heads at open, past the RI1 lines
  TC_ASSERT_OK_AND_ASSIGN(std::vector<std::string> problems,
                          store_->CheckIntegrity(/*postings=*/false));
  EXPECT_THAT(problems, ::testing::IsEmpty());
}

TEST_F(MerkleStoreTest, WithoutASignerThereIsATreeButNoHead) {
  Open(/*sign=*/false);
  AppendMany(4);
  EXPECT_THAT(store_->LatestSignedTreeHead(v1::TRAIL_STREAM_BINDING),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no signed")));
  TC_ASSERT_OK_AND_ASSIGN(InclusionProofResult p,
                          store_->InclusionProof("b-000000000002", 0));
  EXPECT_EQ(p.tree_size, 4u);
  EXPECT_EQ(p.root_hash, ExpectedTree(4).Root());
}

TEST_F(MerkleStoreTest, BadProofRequestsNameTheField) {
  Open();
  AppendMany(3);
  EXPECT_THAT(store_->InclusionProof("b-000000000001", 4),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("tree_size: 4 is beyond the head")));
  EXPECT_THAT(store_->InclusionProof("b-000000000003", 2),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("not in the tree of size 2")));
  EXPECT_THAT(store_->InclusionProof("b-000000000009", 0),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("decision_id")));
  EXPECT_THAT(store_->InclusionProof("nonsense", 0),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("decision_id")));
  EXPECT_THAT(store_->ConsistencyProof(v1::TRAIL_STREAM_BINDING, 3, 2),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("first_size")));
  EXPECT_THAT(store_->ConsistencyProof(v1::TRAIL_STREAM_BINDING, 1, 9),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("second_size")));
}

TEST_F(MerkleStoreTest, AVersion2StoreGetsItsTreeAtOpen) {
  Open(/*sign=*/false);
  AppendMany(37);
  AppendMany(5, v1::TRAIL_STREAM_VALIDATE_ONLY);
  Close();
  ASSERT_THAT(testing::RewriteAsVersion2(path_), IsOk());
  TC_ASSERT_OK_AND_ASSIGN(std::string version,
                          testing::GetSchemaVersion(path_));
  ASSERT_EQ(version, "2");

  Open();
  const merkle::MemoryTree tree = ExpectedTree(37);
  TC_ASSERT_OK_AND_ASSIGN(InclusionProofResult p,
                          store_->InclusionProof("b-000000000020", 0));
  EXPECT_EQ(p.root_hash, tree.Root());
  EXPECT_THAT(merkle::VerifyInclusion(19, 37, p.leaf_hash, p.audit_path,
                                      tree.Root()),
              IsOk());
  TC_ASSERT_OK_AND_ASSIGN(InclusionProofResult vo,
                          store_->InclusionProof("v-000000000005", 0));
  EXPECT_EQ(vo.tree_size, 5u);
  // Appends continue the upgraded tree.
  AppendMany(4);
  TC_ASSERT_OK_AND_ASSIGN(SignedTreeHead head,
                          store_->LatestSignedTreeHead(v1::TRAIL_STREAM_BINDING));
  EXPECT_EQ(head.head.tree_size, 41u);
  EXPECT_EQ(head.head.root_hash, ExpectedTree(41).Root());
  Close();
  TC_ASSERT_OK_AND_ASSIGN(version, testing::GetSchemaVersion(path_));
  EXPECT_EQ(version, "6");
}

TEST_F(MerkleStoreTest, ATailCutAfterASignedHeadIsNamed) {
  Open();
  AppendMany(6);
  AppendMany(4);
  Close();
  // The attacker deletes records 7..10 and rebuilds the tree; the chain
  // that is left verifies, but the store still holds the signed head of 10.
  ASSERT_THAT(testing::CutTail(path_, v1::TRAIL_STREAM_BINDING, 6,
                               /*drop_heads=*/false),
              IsOk());
  // Open refuses the store, naming what is missing...
  EXPECT_THAT(AuditStore::Open(Options()).status(),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("records b-000000000007 to b-000000000010 "
                                 "are missing")));
  // ...which a tool opening it without the check sees too.
  Open(/*sign=*/true, /*check_at_open=*/false);
  TC_ASSERT_OK_AND_ASSIGN(
      v1::VerifyTrailResponse verify,
      store_->VerifyTrail(v1::TRAIL_STREAM_BINDING, 0, 0));
  EXPECT_TRUE(verify.ok());
  TC_ASSERT_OK_AND_ASSIGN(std::vector<std::string> problems,
                          store_->CheckIntegrity(/*postings=*/true));
  EXPECT_THAT(problems, Contains(HasSubstr("the query index names records up "
                                           "to b-000000000010")));
  EXPECT_THAT(problems,
              Contains(HasSubstr("4 declaration id(s)")));
  EXPECT_THAT(store_->CheckLatestSignedTreeHead(v1::TRAIL_STREAM_BINDING),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("records b-000000000007 to b-000000000010 "
                                 "are missing")));
}

TEST_F(MerkleStoreTest, AForgedRecordWithRecomputedLinksIsNamed) {
  Open();
  AppendMany(9);
  Close();
  ASSERT_THAT(testing::ForgeRecord(path_, v1::TRAIL_STREAM_BINDING, 4,
                                   "someone else"),
              IsOk());
  EXPECT_THAT(AuditStore::Open(Options()).status(),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("a record up to b-000000000009 was changed")));
  Open(/*sign=*/true, /*check_at_open=*/false);
  TC_ASSERT_OK_AND_ASSIGN(
      v1::VerifyTrailResponse verify,
      store_->VerifyTrail(v1::TRAIL_STREAM_BINDING, 0, 0));
  EXPECT_TRUE(verify.ok()) << verify.problem();
  EXPECT_THAT(store_->CheckLatestSignedTreeHead(v1::TRAIL_STREAM_BINDING),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("a record up to b-000000000009 was changed")));
}

TEST_F(MerkleStoreTest, AVersion3StoreGetsAnIdentityAndEpochAtOpen) {
  Open();
  AppendMany(3);
  Close();
  ASSERT_THAT(testing::RewriteAsVersion3(path_), IsOk());
  Open();
  TC_ASSERT_OK_AND_ASSIGN(StoreIdentity identity, store_->Identity());
  EXPECT_EQ(identity.identity.size(), 16u);
  EXPECT_EQ(identity.epoch, 1u);
  AppendMany(2);
  TC_ASSERT_OK_AND_ASSIGN(SignedTreeHead head,
                          store_->LatestSignedTreeHead(v1::TRAIL_STREAM_BINDING));
  EXPECT_EQ(head.head.store_identity, identity.identity);
  EXPECT_EQ(head.head.epoch, 1u);
  EXPECT_THAT(verifier_->Verify(head), IsOk());
  Close();
  TC_ASSERT_OK_AND_ASSIGN(std::string version,
                          testing::GetSchemaVersion(path_));
  EXPECT_EQ(version, "6");
  // The identity stays; the heads signed before it (none) still count.
  Open();
  TC_ASSERT_OK_AND_ASSIGN(StoreIdentity again, store_->Identity());
  EXPECT_EQ(again.identity, identity.identity);
}

TEST_F(MerkleStoreTest, AnAcceptedLossAdvancesTheEpochAndNeverReusesAnId) {
  Open();
  AppendMany(4);
  AppendMany(2);
  Close();
  ASSERT_THAT(testing::CutTail(path_, v1::TRAIL_STREAM_BINDING, 4,
                               /*drop_heads=*/false),
              IsOk());
  EXPECT_THAT(AuditStore::Open(Options()).status(),
              StatusIs(absl::StatusCode::kDataLoss));
  Open(/*sign=*/true, /*check_at_open=*/false);
  EXPECT_THAT(store_->AcceptLoss(""),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("reason")));
  TC_ASSERT_OK_AND_ASSIGN(std::string accepted,
                          store_->AcceptLoss("disk replaced; tail gone"));
  EXPECT_THAT(accepted, HasSubstr("disk replaced; tail gone"));
  EXPECT_THAT(accepted, HasSubstr("records b-000000000005 to "
                                  "b-000000000006 are missing"));
  EXPECT_THAT(accepted, HasSubstr("epoch 1 -> 2"));
  EXPECT_THAT(store_->AcceptLoss("again"),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  Close();

  Open();  // the checks pass now
  // The lost declaration D-5 is checked afresh, under a new id.
  TC_ASSERT_OK_AND_ASSIGN(AppendResult again,
                          store_->AppendAndWait(Request("D-5")));
  EXPECT_FALSE(again.replayed);
  EXPECT_EQ(again.decision.decision_id(), "b-000000000005-e2");
  TC_ASSERT_OK_AND_ASSIGN(v1::Decision got,
                          store_->GetDecision("b-000000000005-e2"));
  EXPECT_EQ(got.declaration().declaration_id(), "D-5");
  // The id given out before the loss names nothing now.
  EXPECT_THAT(store_->GetDecision("b-000000000005"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("-e2")));
  TC_ASSERT_OK_AND_ASSIGN(SignedTreeHead head,
                          store_->LatestSignedTreeHead(v1::TRAIL_STREAM_BINDING));
  EXPECT_EQ(head.head.epoch, 2u);
  EXPECT_EQ(head.head.tree_size, 5u);
  TC_ASSERT_OK_AND_ASSIGN(
      v1::VerifyTrailResponse verify,
      store_->VerifyTrail(v1::TRAIL_STREAM_BINDING, 0, 0));
  EXPECT_TRUE(verify.ok()) << verify.problem();
  TC_ASSERT_OK_AND_ASSIGN(StoreIdentity identity, store_->Identity());
  EXPECT_EQ(identity.epoch, 2u);
  ASSERT_EQ(identity.accepted_losses.size(), 1u);
  EXPECT_EQ(identity.accepted_losses[0], accepted);
  TC_ASSERT_OK_AND_ASSIGN(std::vector<std::string> problems,
                          store_->CheckIntegrity(/*postings=*/true));
  EXPECT_TRUE(problems.empty()) << problems.front();
  Close();
  Open();  // and still after a restart
}

}  // namespace
}  // namespace tradecheck::storage
