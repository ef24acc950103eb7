// No silent loss, end to end: the real server binary writes a trail, is
// stopped (or killed), the store is damaged by hand with tradecheck_tamper
// (one way each: a flipped byte, a deleted record, two records swapped, a
// record copied, the tail cut, a forged record with recomputed links, a
// flipped byte in the write-ahead log), and the server is started again.
// Each damage is found, at start (the server refuses, naming what is
// missing) or by VerifyTrail / reads / a retry (naming the record), and no
// acknowledged verdict disappears without an error saying so.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gmock/gmock.h"
#include "common/testing/scratch_tmpfs.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "tests/e2e/e2e_util.h"
#include "tests/testing/server_process.h"

namespace tradecheck::testing {
namespace {

using ::testing::HasSubstr;

using HealthStatus = grpc::health::v1::HealthCheckResponse;

class NoLossE2eTest : public ::testing::Test {
 protected:
  void TearDown() override {
    server_.reset();  // SIGKILL if still running
    // ServerProcess keeps the data directory, its tree-head key and log
    // under one scratch directory: remove it whole.
    if (!scratch_.empty()) std::filesystem::remove_all(scratch_);
  }

  // Starts a server on a new store and checks declarations NL-0 .. NL-(n-1)
  // one at a time (so each is its own group commit with its own head).
  void StartAndCheck(int n) {
    TC_ASSERT_OK_AND_ASSIGN(server_, ServerProcess::Start({}));
    data_dir_ = server_->data_dir();
    scratch_ = std::filesystem::path(data_dir_).parent_path().string();
    ConnectTo(server_->address());
    for (int i = 0; i < n; ++i) {
      v1::CheckDeclarationResponse response;
      grpc::Status s = Check(i, &response);
      ASSERT_TRUE(s.ok()) << s.error_message();
      ASSERT_EQ(response.verdict().audit_sequence(),
                static_cast<uint64_t>(i + 1));
      acknowledged_.push_back(response.verdict().decision_id());
    }
  }

  void ConnectTo(const std::string& address) {
    channel_ = tradecheck::testing::Connect(address);
    compliance_ = v1::ComplianceService::NewStub(channel_);
    audit_ = v1::AuditService::NewStub(channel_);
  }

  grpc::Status Check(int i, v1::CheckDeclarationResponse* response) {
    v1::CheckDeclarationRequest request;
    *request.mutable_declaration() = PalmOilImport(absl::StrCat("NL-", i));
    return compliance_->CheckDeclaration(Ctx().get(), request, response);
  }

  void StopCleanly() {
    TC_ASSERT_OK_AND_ASSIGN(int code, server_->Stop());
    ASSERT_EQ(code, 0);
    server_.reset();
  }

  // Runs tradecheck_tamper on the stopped store.
  void Tamper(const std::string& args) {
    const std::string command = absl::StrCat(TC_TAMPER_BINARY, " --db='",
                                             data_dir_, "' ", args);
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
  }

  // Starts the server again on the damaged store; it must run.
  void Restart() {
    ServerProcessOptions options;
    options.data_dir = data_dir_;
    TC_ASSERT_OK_AND_ASSIGN(server_, ServerProcess::Start(options));
    ConnectTo(server_->address());
  }

  // Starts the server again; it must refuse. Returns what it said.
  std::string RestartRefused() {
    ServerProcessOptions options;
    options.data_dir = data_dir_;
    std::string log;
    absl::StatusOr<int> code = ServerProcess::RunToExit(options, &log);
    EXPECT_TRUE(code.ok()) << code.status();
    EXPECT_NE(code.value_or(0), 0) << log;
    return log;
  }

  v1::VerifyTrailResponse Verify() {
    v1::VerifyTrailRequest request;
    v1::VerifyTrailResponse response;
    grpc::Status s = audit_->VerifyTrail(Ctx().get(), request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response;
  }

  grpc::Status Get(const std::string& id, v1::Decision* decision) {
    v1::GetDecisionRequest request;
    request.set_decision_id(id);
    return audit_->GetDecision(Ctx().get(), request, decision);
  }

  std::unique_ptr<ServerProcess> server_;
  std::string data_dir_, scratch_;
  std::vector<std::string> acknowledged_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::ComplianceService::Stub> compliance_;
  std::unique_ptr<v1::AuditService::Stub> audit_;
};

TEST_F(NoLossE2eTest, AFlippedByteIsNamedByVerifyAndReads) {
  ASSERT_NO_FATAL_FAILURE(StartAndCheck(5));
  StopCleanly();
  Tamper("--op=flip --sequence=3 --offset=40");
  ASSERT_NO_FATAL_FAILURE(Restart());
  const v1::VerifyTrailResponse verify = Verify();
  EXPECT_FALSE(verify.ok());
  EXPECT_EQ(verify.first_bad_decision_id(), acknowledged_[2]);
  EXPECT_THAT(verify.problem(), HasSubstr("does not match the recorded hash"));
  v1::Decision decision;
  grpc::Status s = Get(acknowledged_[2], &decision);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DATA_LOSS);
  EXPECT_THAT(s.error_message(), HasSubstr(acknowledged_[2]));
}

TEST_F(NoLossE2eTest, ADeletedRecordIsNamedAndItsRetryIsDataLoss) {
  ASSERT_NO_FATAL_FAILURE(StartAndCheck(6));
  StopCleanly();
  Tamper("--op=delete --sequence=3");
  ASSERT_NO_FATAL_FAILURE(Restart());
  const v1::VerifyTrailResponse verify = Verify();
  EXPECT_FALSE(verify.ok());
  EXPECT_EQ(verify.first_bad_decision_id(), "b-000000000003");
  EXPECT_THAT(verify.problem(), HasSubstr("missing"));
  // The caller retrying the lost declaration learns it was lost; it is not
  // told "replayed" with someone else's verdict, nor given a new one.
  v1::CheckDeclarationResponse response;
  grpc::Status s = Check(2, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DATA_LOSS) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("b-000000000003"));
  // The other verdicts are still served.
  v1::Decision decision;
  EXPECT_TRUE(Get(acknowledged_[3], &decision).ok());
}

TEST_F(NoLossE2eTest, TwoSwappedRecordsAreNamed) {
  ASSERT_NO_FATAL_FAILURE(StartAndCheck(5));
  StopCleanly();
  Tamper("--op=swap --sequence=2 --other=4");
  ASSERT_NO_FATAL_FAILURE(Restart());
  const v1::VerifyTrailResponse verify = Verify();
  EXPECT_FALSE(verify.ok());
  EXPECT_EQ(verify.first_bad_decision_id(), "b-000000000002");
  EXPECT_THAT(verify.problem(), HasSubstr("claims to be b-000000000004"));
  v1::Decision decision;
  grpc::Status s = Get("b-000000000004", &decision);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DATA_LOSS);
  EXPECT_THAT(s.error_message(), HasSubstr("holds record b-000000000002"));
  v1::CheckDeclarationResponse response;
  s = Check(1, &response);  // NL-1 was b-000000000002
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DATA_LOSS) << s.error_message();
}

TEST_F(NoLossE2eTest, ACopiedRecordIsNamedAndNeverAnsweredAsAnotherReplay) {
  ASSERT_NO_FATAL_FAILURE(StartAndCheck(5));
  StopCleanly();
  // Over an older record (covered by a stored subtree of the tree), the
  // server starts; verify, reads and retries name it.
  Tamper("--op=copy --sequence=2 --other=4");
  ASSERT_NO_FATAL_FAILURE(Restart());
  const v1::VerifyTrailResponse verify = Verify();
  EXPECT_FALSE(verify.ok());
  EXPECT_EQ(verify.first_bad_decision_id(), "b-000000000004");
  EXPECT_THAT(verify.problem(), HasSubstr("claims to be b-000000000002"));
  // NL-3's slot now holds NL-1's verdict: its retry is DATA_LOSS, never
  // NL-1's verdict with replayed=true.
  v1::CheckDeclarationResponse response;
  grpc::Status s = Check(3, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DATA_LOSS) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("holds record b-000000000002"));

  // Over the newest record, the tree's root no longer matches the signed
  // head: the server refuses to start.
  StopCleanly();
  Tamper("--op=copy --sequence=2 --other=5");
  EXPECT_THAT(RestartRefused(),
              HasSubstr("a record up to b-000000000005 was changed"));
}

TEST_F(NoLossE2eTest, ACutTailStopsTheServerFromStarting) {
  ASSERT_NO_FATAL_FAILURE(StartAndCheck(6));
  StopCleanly();
  // The heads in the store go too; the tree-head log outside it stays.
  Tamper("--op=cut --keep=4 --drop_heads");
  const std::string log = RestartRefused();
  EXPECT_THAT(log, HasSubstr("has lost records"));
  EXPECT_THAT(log, HasSubstr("records b-000000000005 to b-000000000006 are "
                             "missing"));
  EXPECT_THAT(log, HasSubstr("tree-head log"));
  EXPECT_THAT(log, HasSubstr("declaration id(s)"));
  EXPECT_THAT(log, HasSubstr("tradecheck_store_admin check"));

  // The operator's tool lists the same, and the query index too.
  std::string out;
  EXPECT_EQ(RunCommand(absl::StrCat(TC_STORE_ADMIN_BINARY, " check --db='",
                             data_dir_, "'"),
                &out),
            3)
      << out;
  EXPECT_THAT(out, HasSubstr("records b-000000000005 to b-000000000006 are "
                             "missing"));
  EXPECT_THAT(out, HasSubstr("the query index names records up to "
                             "b-000000000006"));
}

TEST_F(NoLossE2eTest, AnAcceptedLossIsRecordedAndNoIdIsGivenOutTwice) {
  ASSERT_NO_FATAL_FAILURE(StartAndCheck(6));
  StopCleanly();
  Tamper("--op=cut --keep=4 --drop_heads");
  RestartRefused();
  const std::string admin =
      absl::StrCat(TC_STORE_ADMIN_BINARY, " --db='", data_dir_, "' ");
  std::string out;
  EXPECT_EQ(RunCommand(admin + "accept-loss", &out), 2) << out;  // no reason
  ASSERT_EQ(RunCommand(admin + "accept-loss --reason='disk swapped, tail lost'",
                &out),
            0)
      << out;
  EXPECT_THAT(out, HasSubstr("epoch 1 -> 2"));
  EXPECT_EQ(RunCommand(admin + "check", &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("disk swapped, tail lost"));
  EXPECT_THAT(out, HasSubstr("epoch 2"));

  ASSERT_NO_FATAL_FAILURE(Restart());
  // NL-4 was acknowledged as b-000000000005, then lost: its retry is a new
  // check under a new id, and the old id names nothing.
  v1::CheckDeclarationResponse response;
  grpc::Status s = Check(4, &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_FALSE(response.replayed());
  EXPECT_EQ(response.verdict().decision_id(), "b-000000000005-e2");
  v1::Decision decision;
  EXPECT_EQ(Get("b-000000000005", &decision).error_code(),
            grpc::StatusCode::NOT_FOUND);
  ASSERT_TRUE(Get("b-000000000005-e2", &decision).ok());
  EXPECT_EQ(decision.declaration().declaration_id(), "NL-4");
  EXPECT_TRUE(Verify().ok());
  v1::GetSignedTreeHeadRequest request;
  v1::SignedTreeHead head;
  ASSERT_TRUE(audit_->GetSignedTreeHead(Ctx().get(), request, &head).ok());
  EXPECT_EQ(head.epoch(), 2u);
  EXPECT_EQ(head.store_identity().size(), 16u);
}

// Summaries are answered from summary rows, not records. A row changed by
// hand changes what SummarizeDecisions reports, so the operator's check
// compares every row with its record and names the one that differs, and
// rebuild-summaries writes the rows again from the records (the records,
// chain and verdicts are never touched).
TEST_F(NoLossE2eTest, AForgedSummaryRowIsNamedByCheckAndRebuilt) {
  ASSERT_NO_FATAL_FAILURE(StartAndCheck(6));
  auto outcomes = [&]() {
    v1::SummarizeDecisionsRequest request;
    request.add_group_by(v1::SUMMARY_DIMENSION_OUTCOME);
    v1::SummarizeDecisionsResponse response;
    grpc::Status s =
        audit_->SummarizeDecisions(Ctx().get(), request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    std::string out;
    for (const v1::SummaryGroup& g : response.groups()) {
      absl::StrAppend(&out, g.key(0), "=", g.decisions(), " ");
    }
    return out;
  };
  const std::string before = outcomes();
  ASSERT_THAT(before, HasSubstr("=6 "));
  StopCleanly();
  Tamper("--op=summary-outcome --sequence=3");
  ASSERT_NO_FATAL_FAILURE(Restart());
  EXPECT_NE(outcomes(), before);  // what the forged row says
  EXPECT_TRUE(Verify().ok());     // the records are whole
  StopCleanly();

  const std::string admin =
      absl::StrCat(TC_STORE_ADMIN_BINARY, " --db='", data_dir_, "' ");
  std::string out;
  EXPECT_EQ(RunCommand(admin + "check", &out), 3) << out;
  EXPECT_THAT(out, HasSubstr("summary rows disagree with the records"));
  EXPECT_THAT(out, HasSubstr("b-000000000003"));
  EXPECT_THAT(out, HasSubstr("rebuild-summaries"));
  ASSERT_EQ(RunCommand(admin + "rebuild-summaries", &out), 0) << out;
  EXPECT_EQ(RunCommand(admin + "check", &out), 0) << out;

  ASSERT_NO_FATAL_FAILURE(Restart());
  EXPECT_EQ(outcomes(), before);
}

TEST_F(NoLossE2eTest, ACutTailWithItsHeadsKeptIsNamedFromTheStoresHeads) {
  ASSERT_NO_FATAL_FAILURE(StartAndCheck(5));
  StopCleanly();
  Tamper("--op=cut --keep=3");
  const std::string log = RestartRefused();
  EXPECT_THAT(log, HasSubstr("the newest signed tree head covers 5 records "
                             "but the chain ends at 3"));
}

TEST_F(NoLossE2eTest, AForgedRecordWithRecomputedLinksStopsTheServer) {
  ASSERT_NO_FATAL_FAILURE(StartAndCheck(6));
  StopCleanly();
  Tamper("--op=forge --sequence=3 --caller=mallory");
  const std::string log = RestartRefused();
  EXPECT_THAT(log, HasSubstr("a record up to b-000000000006 was changed"));
}

TEST_F(NoLossE2eTest, AFlippedByteInTheWriteAheadLogStopsTheServer) {
  ASSERT_NO_FATAL_FAILURE(StartAndCheck(10));
  // A crash: the records are in the write-ahead log only.
  ASSERT_THAT(server_->Kill(), tradecheck::testing::IsOk());
  server_.reset();
  Tamper("--op=wal-flip --fraction=0.6");
  const std::string log = RestartRefused();
  // RocksDB's default recovery would have started with the records after
  // the damage gone; here the start fails and says why.
  EXPECT_THAT(log, HasSubstr("DATA_LOSS"));
  EXPECT_THAT(log, HasSubstr("write-ahead log"));
}

// A full disk: a small tmpfs mounted by the test holds the store; a file
// fills it under the running server, then goes away.
class DiskFullE2eTest : public ::testing::Test {
 protected:
  static constexpr uint64_t kMiB = 1 << 20;

  void SetUp() override {
    auto fs = ScratchTmpfs::Mount(192);
    if (!fs.ok()) GTEST_SKIP() << fs.status().message();
    fs_ = *std::move(fs);
    data_dir_ = fs_->path() + "/data";
  }
  void TearDown() override {
    server_.reset();
    fs_.reset();
  }

  // Fills the filesystem until `leave` bytes are free.
  void Fill(uint64_t leave) {
    ASSERT_THAT(fs_->Fill(leave), tradecheck::testing::IsOk());
  }
  void Unfill() { fs_->Unfill(); }

  void StartServer() {
    ServerProcessOptions options;
    options.data_dir = data_dir_;
    options.extra_flags = {"--min_free_disk_mb=32",
                           "--health_listen=127.0.0.1:0"};
    TC_ASSERT_OK_AND_ASSIGN(server_, ServerProcess::Start(options));
    channel_ = Connect(server_->address());
    compliance_ = v1::ComplianceService::NewStub(channel_);
    audit_ = v1::AuditService::NewStub(channel_);
    health_ = grpc::health::v1::Health::NewStub(channel_);
    // The plaintext probe port (--health_listen) is in the start-up log.
    const std::string log = server_->log();
    const std::string marker = "health (plaintext) on port ";
    const size_t at = log.find(marker);
    ASSERT_NE(at, std::string::npos) << log;
    int probe_port = 0;
    ASSERT_TRUE(absl::SimpleAtoi(
        log.substr(at + marker.size(),
                   log.find_first_not_of("0123456789", at + marker.size()) -
                       (at + marker.size())),
        &probe_port))
        << log;
    probe_ = grpc::health::v1::Health::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", probe_port),
        grpc::InsecureChannelCredentials()));
  }
  // The status `stub` gives for `service` ("" is readiness).
  static HealthStatus::ServingStatus StatusOf(
      grpc::health::v1::Health::Stub& stub, const std::string& service) {
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    HealthStatus response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(5));
    if (!stub.Check(&context, request, &response).ok()) {
      return HealthStatus::UNKNOWN;
    }
    return response.status();
  }
  grpc::Status Check(const std::string& id,
                     v1::CheckDeclarationResponse* response) {
    v1::CheckDeclarationRequest request;
    *request.mutable_declaration() = PalmOilImport(id);
    return compliance_->CheckDeclaration(Ctx().get(), request, response);
  }
  // Waits (up to 10 s: the server looks once a second) for `want`.
  bool HealthBecomes(HealthStatus::ServingStatus want) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (absl::Now() < deadline) {
      // Readiness on both ports; liveness stays SERVING throughout, so a
      // full disk does not get the process restarted by a supervisor.
      if (StatusOf(*health_, "") == want && StatusOf(*probe_, "") == want) {
        return StatusOf(*health_, "liveness") == HealthStatus::SERVING &&
               StatusOf(*probe_, "liveness") == HealthStatus::SERVING;
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
    return false;
  }
  bool Alive() { return kill(server_->pid(), 0) == 0; }

  std::unique_ptr<ScratchTmpfs> fs_;
  std::string data_dir_;
  std::unique_ptr<ServerProcess> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::ComplianceService::Stub> compliance_;
  std::unique_ptr<v1::AuditService::Stub> audit_;
  std::unique_ptr<grpc::health::v1::Health::Stub> health_;
  std::unique_ptr<grpc::health::v1::Health::Stub> probe_;
};

TEST_F(DiskFullE2eTest, UnavailableNotAnAbortAndWritingResumes) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  std::vector<std::string> acknowledged;
  for (int i = 0; i < 3; ++i) {
    v1::CheckDeclarationResponse response;
    grpc::Status s = Check(absl::StrCat("DISK-", i), &response);
    ASSERT_TRUE(s.ok()) << s.error_message();
    acknowledged.push_back(response.verdict().decision_id());
  }

  Fill(8 * kMiB);  // below the 32 MiB reserve
  v1::CheckDeclarationResponse response;
  grpc::Status s = Check("DISK-full", &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("--min_free_disk_mb"));
  bool has_retry_info = false;
  const google::rpc::Status details = Details(s);
  for (const auto& detail : details.details()) {
    has_retry_info |=
        detail.type_url() == "type.googleapis.com/google.rpc.RetryInfo";
  }
  EXPECT_TRUE(has_retry_info);
  EXPECT_TRUE(HealthBecomes(HealthStatus::NOT_SERVING));
  // Reads go on; the process is alive.
  v1::GetDecisionRequest get;
  get.set_decision_id(acknowledged[1]);
  v1::Decision decision;
  EXPECT_TRUE(audit_->GetDecision(Ctx().get(), get, &decision).ok());
  EXPECT_TRUE(Alive());

  Unfill();
  EXPECT_TRUE(HealthBecomes(HealthStatus::SERVING));
  s = Check("DISK-full", &response);  // the same check, retried
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_FALSE(response.replayed());
  EXPECT_EQ(response.verdict().audit_sequence(), 4u);
  v1::VerifyTrailRequest verify;
  v1::VerifyTrailResponse verified;
  ASSERT_TRUE(audit_->VerifyTrail(Ctx().get(), verify, &verified).ok());
  EXPECT_TRUE(verified.ok()) << verified.problem();
  EXPECT_EQ(verified.records_checked(), 4u);

  // Stopped, and started again on a full disk: it serves read-only instead
  // of failing (a supervisor would restart it into the same disk forever).
  TC_ASSERT_OK_AND_ASSIGN(int code, server_->Stop());
  ASSERT_EQ(code, 0);
  Fill(8 * kMiB);
  ASSERT_NO_FATAL_FAILURE(StartServer());
  EXPECT_TRUE(HealthBecomes(HealthStatus::NOT_SERVING));
  EXPECT_TRUE(audit_->GetDecision(Ctx().get(), get, &decision).ok());
  s = Check("DISK-read-only", &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("read-only"));
  EXPECT_TRUE(Alive());
  TC_ASSERT_OK_AND_ASSIGN(code, server_->Stop());
  EXPECT_EQ(code, 0);
  server_.reset();
  Unfill();
}

}  // namespace
}  // namespace tradecheck::testing
