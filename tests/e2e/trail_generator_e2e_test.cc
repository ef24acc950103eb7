// bench/trail_generator writes stores that the real tools accept: a store
// of generated records passes `tradecheck_store_admin check`, a second run
// extends it from its head, and the real server starts on it with the
// generated key and tree-head log, chains its own check onto the last
// generated record, answers filtered queries from the generated indexes,
// and proves a generated record against a signed head (CLI, public key).
#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/e2e_util.h"
#include "tests/testing/server_process.h"
#include "tradecheck/v1/audit_service.grpc.pb.h"
#include "tradecheck/v1/compliance_service.grpc.pb.h"

namespace tradecheck::testing {
namespace {

using ::testing::HasSubstr;

class TrailGeneratorE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TC_ASSERT_OK_AND_ASSIGN(scratch_, MakeTempDir("trail_generator_e2e"));
    db_ = scratch_ + "/data";
  }
  void TearDown() override {
    server_.reset();  // SIGKILL if still running
    std::filesystem::remove_all(scratch_);
  }

  int Generate(int records, std::string* out) {
    return RunCommand(absl::StrCat(TC_TRAIL_GENERATOR_BINARY, " --db=", db_,
                                   " --records=", records, " --batch=500"),
                      out);
  }
  int AdminCheck(std::string* out) {
    return RunCommand(absl::StrCat(TC_STORE_ADMIN_BINARY, " check --db=", db_,
                                   " --tree_head_log=", db_,
                                   ".tree-heads.log"),
                      out);
  }

  std::string scratch_, db_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(TrailGeneratorE2eTest, TheServerAndTheAdminCheckAcceptAGeneratedTrail) {
  std::string out;
  ASSERT_EQ(Generate(3000, &out), 0) << out;
  ASSERT_EQ(AdminCheck(&out), 0) << out;
  EXPECT_THAT(out, HasSubstr("is whole (3000 binding"));
  // A second run extends the store from its head, signing on.
  ASSERT_EQ(Generate(4500, &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("3000 records, writing 3001 to 4500"));
  ASSERT_EQ(AdminCheck(&out), 0) << out;
  EXPECT_THAT(out, HasSubstr("is whole (4500 binding"));

  // The server starts on it (its checks at open compare the store with the
  // generated tree-head log) and chains a real check onto it.
  ServerProcessOptions options;
  options.data_dir = db_;
  TC_ASSERT_OK_AND_ASSIGN(server_, ServerProcess::Start(options));
  auto channel = Connect(server_->address());
  auto compliance = v1::ComplianceService::NewStub(channel);
  auto audit = v1::AuditService::NewStub(channel);

  v1::GetDecisionRequest get;
  get.set_decision_id("b-000000004500");
  v1::Decision last;
  grpc::Status s = audit->GetDecision(Ctx().get(), get, &last);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(last.declaration().declaration_id(), "DECL-0000004499");

  v1::CheckDeclarationRequest check;
  *check.mutable_declaration() = PalmOilImport("TG-1");
  v1::CheckDeclarationResponse checked;
  s = compliance->CheckDeclaration(Ctx().get(), check, &checked);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(checked.verdict().decision_id(), "b-000000004501");
  get.set_decision_id("b-000000004501");
  v1::Decision mine;
  ASSERT_TRUE(audit->GetDecision(Ctx().get(), get, &mine).ok());
  EXPECT_EQ(mine.previous_hash(), last.record_hash());

  // The generated indexes answer a filter: every record of the page is an
  // exporter's, and there are more pages.
  v1::ListDecisionsRequest list;
  list.mutable_filter()->set_exporter_id("EXP-007");
  list.set_page_size(20);
  v1::ListDecisionsResponse page;
  s = audit->ListDecisions(Ctx().get(), list, &page);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(page.decisions_size(), 20);
  for (const v1::Decision& d : page.decisions()) {
    EXPECT_EQ(d.declaration().exporter_id(), "EXP-007");
  }
  EXPECT_FALSE(page.next_page_token().empty());

  v1::VerifyTrailRequest verify;
  v1::VerifyTrailResponse verified;
  s = audit->VerifyTrail(Ctx().get(), verify, &verified);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(verified.ok()) << verified.problem();
  EXPECT_EQ(verified.records_checked(), 4501u);

  // A generated record is proved against the newest signed head with the
  // generated key's public half.
  EXPECT_EQ(RunCli(absl::StrCat("--server=", server_->address(),
                                " audit proof b-000000002500 --public-key=",
                                db_, ".tree-head-key.pem.pub"),
                   &out),
            0)
      << out;
  EXPECT_THAT(out, HasSubstr("ok: b-000000002500 is leaf 2499"));
  TC_ASSERT_OK_AND_ASSIGN(int code, server_->Stop());
  EXPECT_EQ(code, 0);
}

TEST_F(TrailGeneratorE2eTest, BadFlagsNameTheFlagAndWriteNothing) {
  std::string out;
  EXPECT_EQ(RunCommand(absl::StrCat(TC_TRAIL_GENERATOR_BINARY, " --db=", db_,
                                    " --kind=nonsense"),
                       &out),
            2);
  EXPECT_THAT(out, HasSubstr("--kind"));
  EXPECT_EQ(RunCommand(absl::StrCat(TC_TRAIL_GENERATOR_BINARY, " --records=5"),
                       &out),
            2);
  EXPECT_THAT(out, HasSubstr("--db"));
  EXPECT_FALSE(std::filesystem::exists(db_));
}

}  // namespace
}  // namespace tradecheck::testing
