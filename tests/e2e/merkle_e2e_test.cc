// End-to-end tests of the verifiable log through the real server binary and
// the real `tradecheck` CLI: signed tree heads, inclusion and consistency
// proofs checked client-side, and the tampering only the signed heads catch
// (a tail cut after a signed head, a forged record with recomputed links),
// found by `tradecheck audit verify --offline` with the server stopped.
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/log_verifier.h"
#include "common/merkle.h"
#include "common/testing/status_matchers.h"
#include "common/tree_head.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/testing/merkle_tamper.h"
#include "tests/e2e/e2e_util.h"
#include "tests/testing/server_process.h"

namespace tradecheck::testing {
namespace {

using ::testing::HasSubstr;

class MerkleE2eTest : public ::testing::Test {
 protected:
  void StartAndCheck(int n) {
    TC_ASSERT_OK_AND_ASSIGN(server_, ServerProcess::Start({}));
    channel_ = Connect(server_->address());
    compliance_ = v1::ComplianceService::NewStub(channel_);
    audit_ = v1::AuditService::NewStub(channel_);
    for (int i = 0; i < n; ++i) {
      v1::CheckDeclarationRequest request;
      *request.mutable_declaration() = PalmOilImport(absl::StrCat("M-", i));
      v1::CheckDeclarationResponse response;
      grpc::Status s =
          compliance_->CheckDeclaration(Ctx().get(), request, &response);
      ASSERT_TRUE(s.ok()) << s.error_message();
      ASSERT_TRUE(response.verdict().has_leaf_index());
      EXPECT_EQ(response.verdict().leaf_index(),
                response.verdict().audit_sequence() - 1);
    }
    public_key_ = server_->data_dir() + ".tree-head-key.pem.pub";
    log_ = server_->data_dir() + ".tree-heads.log";
    TC_ASSERT_OK_AND_ASSIGN(verifier_, TreeHeadVerifier::FromPublicKeyPem(
                                           ReadFileOrEmpty(public_key_)));
  }
  SignedTreeHead Head() {
    v1::GetSignedTreeHeadRequest request;
    v1::SignedTreeHead head;
    grpc::Status s = audit_->GetSignedTreeHead(Ctx().get(), request, &head);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return cli::FromProto(head);
  }

  std::unique_ptr<ServerProcess> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::ComplianceService::Stub> compliance_;
  std::unique_ptr<v1::AuditService::Stub> audit_;
  std::unique_ptr<TreeHeadVerifier> verifier_;
  std::string public_key_, log_;
};

TEST_F(MerkleE2eTest, HeadsAndProofsCheckOutOnTheClient) {
  StartAndCheck(7);
  const SignedTreeHead head = Head();
  EXPECT_EQ(head.head.tree_size, 7u);
  EXPECT_THAT(verifier_->Verify(head), tradecheck::testing::IsOk());

  // Inclusion of decision 5, from its own content, against the signed root.
  v1::GetDecisionRequest get;
  get.set_decision_id("b-000000000005");
  v1::Decision decision;
  ASSERT_TRUE(audit_->GetDecision(Ctx().get(), get, &decision).ok());
  v1::GetInclusionProofRequest ip;
  ip.set_decision_id("b-000000000005");
  ip.set_tree_size(head.head.tree_size);
  v1::GetInclusionProofResponse inclusion;
  ASSERT_TRUE(audit_->GetInclusionProof(Ctx().get(), ip, &inclusion).ok());
  EXPECT_EQ(inclusion.leaf_index(), 4u);
  EXPECT_THAT(cli::CheckInclusion(decision, inclusion, head),
              tradecheck::testing::IsOk());

  // The first head in the witness log is consistent with the newest.
  auto logged = cli::ParseTreeHeadLog(ReadFileOrEmpty(log_));
  ASSERT_TRUE(logged.ok());
  ASSERT_EQ(logged->size(), 7u);  // one check at a time: a head each
  const TreeHead& first = (*logged)[1].head;
  v1::GetConsistencyProofRequest cp;
  cp.set_first_size(first.tree_size);
  cp.set_second_size(head.head.tree_size);
  v1::GetConsistencyProofResponse consistency;
  ASSERT_TRUE(audit_->GetConsistencyProof(Ctx().get(), cp, &consistency).ok());
  std::vector<std::string> proof(consistency.proof().begin(),
                                 consistency.proof().end());
  EXPECT_THAT(merkle::VerifyConsistency(first.tree_size, head.head.tree_size,
                                        first.root_hash, head.head.root_hash,
                                        proof),
              tradecheck::testing::IsOk());

  // The CLI does the same.
  std::string out;
  EXPECT_EQ(RunCli(absl::StrCat("--server=", server_->address(),
                                " audit proof b-000000000003 --public-key=",
                                public_key_),
                   &out),
            0)
      << out;
  EXPECT_THAT(out, HasSubstr("ok: b-000000000003 is leaf 2 of the signed "
                             "binding tree of 7 records"));
  EXPECT_EQ(RunCli(absl::StrCat("--server=", server_->address(),
                                " audit verify-heads --log=", log_,
                                " --public-key=", public_key_),
                   &out),
            0)
      << out;

  // Bad requests name the field; the server keeps serving.
  ip.set_tree_size(99);
  grpc::Status s = audit_->GetInclusionProof(Ctx().get(), ip, &inclusion);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("tree_size"));
  EXPECT_EQ(BadRequestOf(s).field_violations(0).field(), "tree_size");
  cp.set_first_size(6);
  cp.set_second_size(3);
  s = audit_->GetConsistencyProof(Ctx().get(), cp, &consistency);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("first_size"));
  ip.set_decision_id("b-000000000123");
  ip.set_tree_size(0);
  s = audit_->GetInclusionProof(Ctx().get(), ip, &inclusion);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Head().head.tree_size, 7u);
}

TEST_F(MerkleE2eTest, OfflineVerifyCatchesACutTailAndAForgedRecord) {
  StartAndCheck(9);
  TC_ASSERT_OK_AND_ASSIGN(int code, server_->Stop());
  ASSERT_EQ(code, 0);
  const std::string data = server_->data_dir();
  const std::string verify = absl::StrCat(
      "audit verify --offline --trail=", data, " --head=", log_,
      " --public-key=", public_key_);
  std::string out;
  EXPECT_EQ(RunCli(verify, &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("ok: 9 records of the binding stream"));

  // A forged record whose links were recomputed: the chain is whole, the
  // signed heads are not.
  ASSERT_THAT(storage::testing::ForgeRecord(data, v1::TRAIL_STREAM_BINDING, 6,
                                            "someone else"),
              tradecheck::testing::IsOk());
  EXPECT_EQ(RunCli(verify, &out), 12) << out;
  EXPECT_THAT(out, HasSubstr("a record from b-000000000006 to "
                             "b-000000000006 was changed"));

  // The tail cut after the last signed head (and its heads removed from
  // the store): the witness log still names what is gone.
  ASSERT_THAT(storage::testing::CutTail(data, v1::TRAIL_STREAM_BINDING, 4,
                                        /*drop_heads=*/true),
              tradecheck::testing::IsOk());
  EXPECT_EQ(RunCli(verify, &out), 12) << out;
  EXPECT_THAT(out, HasSubstr("covers records b-000000000005 to "
                             "b-000000000005, which the trail does not have"));
}

}  // namespace
}  // namespace tradecheck::testing
