// Operability of the real binaries (issue 14): --version and --help, the
// bundled agreement data found relative to the binary, flags checked before
// anything is created on disk.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/e2e_util.h"
#include "tests/testing/server_process.h"

namespace tradecheck {
namespace {

using ::testing::AllOf;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;
using testing::Connect;
using testing::Ctx;
using testing::MakeTempDir;
using testing::RunCommand;
using testing::Scrape;
using testing::PalmOilImport;
using testing::ServerProcess;
using testing::ServerProcessOptions;

namespace fs = std::filesystem;

// The log line that holds `needle`, or empty.
std::string LineWith(const std::string& log, const std::string& needle) {
  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    if (absl::StrContains(line, needle)) return std::string(line);
  }
  return "";
}

// The exit code, or -1000 - code when the process could not be run.
int ExitCodeOf(const absl::StatusOr<int>& code) {
  return code.ok() ? *code : -1000 - static_cast<int>(code.status().code());
}

std::string ReadBinary(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A directory removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    auto dir = MakeTempDir("tradecheck-ops");
    if (dir.ok()) path_ = *dir;
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) fs::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A port someone is listening on, for as long as this object lives.
class TakenPort {
 public:
  TakenPort() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    listen(fd_, 1);
    socklen_t size = sizeof(address);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size);
    port_ = ntohs(address.sin_port);
  }
  ~TakenPort() { close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST(VersionTest, BothBinariesNameVersionCommitAndBuildType) {
  const std::string expected_tail = absl::StrCat(
      " ", TC_PROJECT_VERSION,
      R"( \(commit ([0-9a-f]{12}(-dirty)?|unknown), )", TC_BUILD_TYPE,
      R"( build\)
)");
  std::string out;
  ASSERT_EQ(RunCommand(absl::StrCat(TC_SERVER_BINARY, " --version"), &out), 0) << out;
  EXPECT_THAT(out, MatchesRegex("tradecheck_server" + expected_tail));
  ASSERT_EQ(RunCommand(absl::StrCat(TC_CLI_BINARY, " --version"), &out), 0) << out;
  EXPECT_THAT(out, MatchesRegex("tradecheck" + expected_tail));
}

TEST(HelpTest, ServerHelpListsItsOwnFlagsOnly) {
  std::string out;
  // Abseil's flag parser exits 1 after printing help; the text is the point.
  RunCommand(absl::StrCat(TC_SERVER_BINARY, " --help"), &out);
  EXPECT_THAT(out, AllOf(HasSubstr("--listen"), HasSubstr("--data_dir"),
                         HasSubstr("--agreements_dir"),
                         HasSubstr("--grace_period")));
  // Abseil's own flags (--flagfile, --fromenv, ...) are for --helpfull.
  EXPECT_THAT(out, AllOf(Not(HasSubstr("--fromenv")),
                         Not(HasSubstr("--tryfromenv")),
                         Not(HasSubstr("--undefok"))));
  RunCommand(absl::StrCat(TC_SERVER_BINARY, " --helpfull"), &out);
  EXPECT_THAT(out, HasSubstr("--fromenv"));
}

TEST(AgreementsDirTest, NoBuildPathIsCompiledIn) {
  const std::string binary = ReadBinary(TC_SERVER_BINARY);
  ASSERT_FALSE(binary.empty());
  EXPECT_EQ(binary.find(TC_AGREEMENTS_DIR), std::string::npos)
      << "the server binary names " << TC_AGREEMENTS_DIR;
}

TEST(AgreementsDirTest, DefaultIsTheBundledSetNextToTheBinary) {
  // The build tree's binary, no --agreements_dir (an empty value): it
  // serves with build/share/tradecheck/agreements.
  ServerProcessOptions options;
  options.extra_flags = {"--agreements_dir="};
  TC_ASSERT_OK_AND_ASSIGN(auto server, ServerProcess::Start(options));
  EXPECT_THAT(server->log(),
              ContainsRegex("agreements_dir=[^;]*/share/tradecheck/agreements"));
  EXPECT_EQ(ExitCodeOf(server->Stop()), 0);
}

TEST(AgreementsDirTest, ACopiedBinaryLooksBesideItselfNotAtTheBuildTree) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  fs::create_directories(dir.path() + "/bin");
  const std::string copy = dir.path() + "/bin/tradecheck_server";
  fs::copy_file(TC_SERVER_BINARY, copy);
  ServerProcessOptions options;
  options.binary = copy;
  options.data_dir = dir.path() + "/data";
  options.extra_flags = {"--agreements_dir="};
  std::string log;
  EXPECT_EQ(ExitCodeOf(ServerProcess::RunToExit(options, &log)), 1);
  EXPECT_THAT(log, HasSubstr(absl::StrCat("no agreement data at ", dir.path(),
                                          "/share/tradecheck/agreements")));
  EXPECT_FALSE(fs::exists(options.data_dir));

  // Installed layout: <prefix>/share/tradecheck/agreements.
  fs::create_directories(dir.path() + "/share/tradecheck");
  fs::create_directory_symlink(TC_AGREEMENTS_DIR,
                               dir.path() + "/share/tradecheck/agreements");
  TC_ASSERT_OK_AND_ASSIGN(auto server, ServerProcess::Start(options));
  EXPECT_THAT(server->log(),
              HasSubstr(absl::StrCat("agreements_dir=", dir.path(),
                                     "/share/tradecheck/agreements")));
  EXPECT_EQ(ExitCodeOf(server->Stop()), 0);
}

TEST(ListenFlagTest, ABadListenLeavesNothingOnDisk) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  TakenPort taken;
  for (const std::string& listen :
       {std::string("127.0.0.1:notaport"), std::string("127.0.0.1:70000"),
        absl::StrCat("127.0.0.1:", taken.port())}) {
    ServerProcessOptions options;
    options.data_dir = dir.path() + "/data";
    // Flags later on the command line win: this replaces the harness's
    // --listen=127.0.0.1:0.
    options.extra_flags = {"--listen=" + listen};
    std::string log;
    EXPECT_EQ(ExitCodeOf(ServerProcess::RunToExit(options, &log)), 2)
        << listen;
    EXPECT_THAT(log, HasSubstr("--listen=" + listen));
    EXPECT_TRUE(fs::is_empty(dir.path())) << listen << " left files behind";
  }
}

// The request log: one JSON line per RPC with the fields an operator needs
// and no declaration contents; the request id is the caller's or a new one,
// and comes back in the response metadata either way.
TEST(RequestLogTest, OneJsonLinePerRpcWithTheCallersRequestId) {
  TC_ASSERT_OK_AND_ASSIGN(auto server, ServerProcess::Start({}));
  auto stub = v1::ComplianceService::NewStub(Connect(server->address()));

  v1::CheckDeclarationRequest request;
  *request.mutable_declaration() = PalmOilImport("OPS-LOG-1");
  v1::CheckDeclarationResponse response;
  auto context = Ctx();
  context->AddMetadata("x-request-id", "ops-test-0001");
  ASSERT_TRUE(stub->CheckDeclaration(context.get(), request, &response).ok());
  auto echoed = context->GetServerInitialMetadata().find("x-request-id");
  ASSERT_NE(echoed, context->GetServerInitialMetadata().end());
  EXPECT_EQ(std::string(echoed->second.data(), echoed->second.size()),
            "ops-test-0001");

  // No id sent: the server makes one and returns it.
  v1::CheckDeclarationRequest bad;
  *bad.mutable_declaration() = PalmOilImport("OPS-LOG-2");
  bad.mutable_declaration()->set_origin_country("not a country");
  v1::CheckDeclarationResponse ignored;
  auto context2 = Ctx();
  EXPECT_EQ(stub->CheckDeclaration(context2.get(), bad, &ignored).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  auto generated = context2->GetServerInitialMetadata().find("x-request-id");
  ASSERT_NE(generated, context2->GetServerInitialMetadata().end());
  const std::string generated_id(generated->second.data(),
                                 generated->second.size());
  EXPECT_THAT(generated_id, MatchesRegex("[0-9a-f]{32}"));

  std::string outcome = v1::Outcome_Name(response.verdict().outcome());
  outcome = outcome.substr(std::string("OUTCOME_").size());
  const std::string line =
      LineWith(server->log(), R"("request_id":"ops-test-0001")");
  ASSERT_FALSE(line.empty()) << server->log();
  EXPECT_THAT(line, MatchesRegex(R"(\{"time":"[0-9-]+T[0-9:.]+Z","level":"info",.*\})"));
  EXPECT_THAT(line, AllOf(
      HasSubstr(R"("method":"/tradecheck.v1.ComplianceService/CheckDeclaration")"),
      HasSubstr(R"("caller":"local","role":"LOCAL")"),
      HasSubstr(R"("declaration_id":"OPS-LOG-1")"),
      HasSubstr(absl::StrCat(R"("outcome":")", outcome, R"(")")),
      ContainsRegex(R"("duration_ms":[0-9]+\.[0-9]{3})"),
      HasSubstr(R"("status":"OK")")));
  for (const v1::LineVerdict& l : response.verdict().lines()) {
    for (const v1::Finding& finding : l.findings()) {
      EXPECT_THAT(line, ContainsRegex(absl::StrCat(R"("rules":\[[^]]*")",
                                                   finding.rule_id(), R"(")")));
    }
  }
  // Ids only: nothing of the declaration's contents.
  EXPECT_THAT(line, AllOf(Not(HasSubstr("US-IMP-0042")),
                          Not(HasSubstr("Crude palm oil")),
                          Not(HasSubstr("151110"))));
  const std::string failed =
      LineWith(server->log(), absl::StrCat(R"("request_id":")", generated_id));
  EXPECT_THAT(failed, AllOf(HasSubstr(R"("declaration_id":"OPS-LOG-2")"),
                            HasSubstr(R"("status":"INVALID_ARGUMENT")")));

  // Every line the server wrote is one JSON object, checked by a real
  // JSON parser.
  TempDir dir;
  const std::string log_copy = dir.path() + "/server.log";
  { std::ofstream(log_copy) << server->log(); }
  std::string out;
  EXPECT_EQ(RunCommand(absl::StrCat(
                    "/usr/bin/python3 -c 'import json,sys\n"
                    "for l in open(sys.argv[1]): json.loads(l)' ",
                    log_copy),
                &out),
            0)
      << out;
  EXPECT_EQ(ExitCodeOf(server->Stop()), 0);
}

TEST(RequestLogTest, LogLevelIsCheckedAndFiltersInfo) {
  ServerProcessOptions options;
  options.extra_flags = {"--log_level=loud"};
  std::string log;
  EXPECT_EQ(ExitCodeOf(ServerProcess::RunToExit(options, &log)), 1);
  EXPECT_THAT(log, HasSubstr("--log_level=loud"));

  options.extra_flags = {"--log_level=warning"};
  TC_ASSERT_OK_AND_ASSIGN(auto server, ServerProcess::Start(options));
  auto stub = v1::ComplianceService::NewStub(Connect(server->address()));
  v1::CheckDeclarationRequest request;
  *request.mutable_declaration() = PalmOilImport("OPS-LOG-3");
  v1::CheckDeclarationResponse response;
  ASSERT_TRUE(stub->CheckDeclaration(Ctx().get(), request, &response).ok());
  EXPECT_EQ(ExitCodeOf(server->Stop()), 0);
  EXPECT_THAT(server->log(), Not(HasSubstr("OPS-LOG-3")));
  EXPECT_THAT(server->log(), Not(HasSubstr("serving on port")));
}

// The real server under a little load, scraped, and every count compared
// with what was sent and what came back.
TEST(MetricsTest, ScrapeCountsMatchWhatWasSent) {
  ServerProcessOptions options;
  options.extra_flags = {"--metrics_listen=127.0.0.1:0"};
  TC_ASSERT_OK_AND_ASSIGN(auto server, ServerProcess::Start(options));
  const int port = server->metrics_port();
  ASSERT_GT(port, 0) << server->log();

  auto channel = Connect(server->address());
  auto compliance = v1::ComplianceService::NewStub(channel);
  auto agreements = v1::AgreementService::NewStub(channel);
  constexpr int kBinding = 12, kDryRun = 5, kInvalid = 3;
  std::map<std::string, int> outcomes, rules;
  for (int i = 0; i < kBinding + kDryRun + kInvalid; ++i) {
    v1::CheckDeclarationRequest request;
    *request.mutable_declaration() = PalmOilImport(absl::StrCat("OPS-M-", i));
    request.set_validate_only(i >= kBinding);
    if (i >= kBinding + kDryRun) {
      request.mutable_declaration()->set_origin_country("not a country");
    }
    v1::CheckDeclarationResponse response;
    const grpc::Status status =
        compliance->CheckDeclaration(Ctx().get(), request, &response);
    if (i >= kBinding + kDryRun) {
      ASSERT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
      continue;
    }
    ASSERT_TRUE(status.ok()) << status.error_message();
    ++outcomes[v1::Outcome_Name(response.verdict().outcome()).substr(8)];
    for (const v1::Finding& f : response.verdict().findings()) ++rules[f.rule_id()];
    for (const v1::LineVerdict& l : response.verdict().lines()) {
      for (const v1::Finding& f : l.findings()) ++rules[f.rule_id()];
    }
  }
  v1::RuleSetInfo rule_set;
  ASSERT_TRUE(agreements
                  ->GetRuleSet(Ctx().get(), v1::GetRuleSetRequest(), &rule_set)
                  .ok());

  std::map<std::string, double> m = Scrape(port);
  const std::string check =
      "method=/tradecheck.v1.ComplianceService/CheckDeclaration";
  EXPECT_EQ(m[absl::StrCat("tradecheck_rpc_total{code=OK,", check, "}")],
            kBinding + kDryRun);
  EXPECT_EQ(m[absl::StrCat("tradecheck_rpc_total{code=INVALID_ARGUMENT,", check,
                           "}")],
            kInvalid);
  EXPECT_EQ(m[absl::StrCat("tradecheck_rpc_duration_seconds_count{code=OK,",
                           check, "}")],
            kBinding + kDryRun);
  EXPECT_EQ(m[absl::StrCat(
                "tradecheck_rpc_duration_seconds_bucket{code=OK,le=+Inf,",
                check, "}")],
            kBinding + kDryRun);
  EXPECT_GT(m[absl::StrCat("tradecheck_rpc_duration_seconds_sum{code=OK,",
                           check, "}")],
            0);
  for (const auto& [outcome, count] : outcomes) {
    EXPECT_EQ(m[absl::StrCat("tradecheck_verdicts_total{outcome=", outcome, "}")],
              count)
        << outcome;
  }
  for (const auto& [rule, count] : rules) {
    EXPECT_EQ(m[absl::StrCat("tradecheck_rule_hits_total{rule=", rule, "}")],
              count)
        << rule;
  }
  EXPECT_EQ(m["tradecheck_records_written_total{stream=binding}"], kBinding);
  EXPECT_EQ(m["tradecheck_records_written_total{stream=validate_only}"], kDryRun);
  EXPECT_GT(m["tradecheck_record_bytes_written_total{stream=binding}"],
            kBinding * 100);
  EXPECT_EQ(m["tradecheck_stream_records{stream=binding}"], kBinding);
  EXPECT_EQ(m["tradecheck_stream_records{stream=validate_only}"], kDryRun);
  EXPECT_EQ(m["tradecheck_group_commit_records_sum{}"], kBinding + kDryRun);
  EXPECT_GE(m["tradecheck_group_commit_records_count{}"], 1);
  EXPECT_EQ(m["tradecheck_group_commit_write_seconds_count{synced=true}"],
            m["tradecheck_group_commit_records_count{}"]);
  // Where a durable append waits: one queue and one staging time per group
  // commit, beside its write.
  EXPECT_EQ(m["tradecheck_group_commit_queue_seconds_count{}"],
            m["tradecheck_group_commit_records_count{}"]);
  EXPECT_EQ(m["tradecheck_group_commit_stage_seconds_count{}"],
            m["tradecheck_group_commit_records_count{}"]);
  EXPECT_GT(m["tradecheck_group_commit_stage_seconds_sum{}"], 0);
  EXPECT_GT(m["tradecheck_store_bytes{}"], 0);
  EXPECT_GE(m["tradecheck_agreement_confirmation_age_days{}"], 0);
  EXPECT_EQ(m.count("tradecheck_agreement_instruments_past_review{}"), 1u);
  EXPECT_EQ(m[absl::StrCat("tradecheck_rule_set_info{revision=",
                           rule_set.revision(), "}")],
            1);
  EXPECT_EQ(ExitCodeOf(server->Stop()), 0);
}

// A batch and a stream count each verdict they return, as unary calls do
// (the server reads outcomes and rule ids from the response's bytes).
TEST(MetricsTest, BatchAndStreamVerdictsAreCounted) {
  ServerProcessOptions options;
  options.extra_flags = {"--metrics_listen=127.0.0.1:0"};
  TC_ASSERT_OK_AND_ASSIGN(auto server, ServerProcess::Start(options));
  const int port = server->metrics_port();
  ASSERT_GT(port, 0) << server->log();
  auto compliance = v1::ComplianceService::NewStub(Connect(server->address()));

  std::map<std::string, int> outcomes, rules;
  auto count = [&](const v1::CheckResult& result) {
    if (!result.has_response()) return;
    const v1::Verdict& v = result.response().verdict();
    ++outcomes[v1::Outcome_Name(v.outcome()).substr(8)];
    for (const v1::Finding& f : v.findings()) ++rules[f.rule_id()];
    for (const v1::LineVerdict& l : v.lines()) {
      for (const v1::Finding& f : l.findings()) ++rules[f.rule_id()];
    }
  };
  v1::CheckDeclarationsRequest batch;
  for (int i = 0; i < 3; ++i) {
    *batch.add_requests()->mutable_declaration() =
        PalmOilImport(absl::StrCat("OPS-B-", i));
  }
  batch.mutable_requests(2)->mutable_declaration()->set_origin_country("");
  v1::CheckDeclarationsResponse batch_response;
  ASSERT_TRUE(
      compliance->CheckDeclarations(Ctx().get(), batch, &batch_response).ok());
  for (const v1::CheckResult& r : batch_response.results()) count(r);

  auto context = Ctx();
  auto stream = compliance->StreamCheckDeclarations(context.get());
  for (int i = 0; i < 2; ++i) {
    v1::CheckDeclarationRequest request;
    *request.mutable_declaration() = PalmOilImport(absl::StrCat("OPS-S-", i));
    request.set_validate_only(i == 1);
    ASSERT_TRUE(stream->Write(request));
  }
  stream->WritesDone();
  v1::CheckResult result;
  int results = 0;
  while (stream->Read(&result)) {
    count(result);
    ++results;
  }
  ASSERT_TRUE(stream->Finish().ok());
  ASSERT_EQ(results, 2);

  int verdicts = 0;
  for (const auto& [outcome, n] : outcomes) verdicts += n;
  ASSERT_EQ(verdicts, 4);  // the batch's invalid declaration has none
  ASSERT_FALSE(rules.empty());
  std::map<std::string, double> m = Scrape(port);
  for (const auto& [outcome, n] : outcomes) {
    EXPECT_EQ(m[absl::StrCat("tradecheck_verdicts_total{outcome=", outcome, "}")],
              n)
        << outcome;
  }
  for (const auto& [rule, n] : rules) {
    EXPECT_EQ(m[absl::StrCat("tradecheck_rule_hits_total{rule=", rule, "}")], n)
        << rule;
  }
  EXPECT_EQ(ExitCodeOf(server->Stop()), 0);
}

TEST(MetricsTest, ATakenMetricsPortFailsBeforeAnythingIsWritten) {
  TempDir dir;
  TakenPort taken;
  ServerProcessOptions options;
  options.data_dir = dir.path() + "/data";
  options.extra_flags = {
      absl::StrCat("--metrics_listen=127.0.0.1:", taken.port())};
  std::string log;
  EXPECT_EQ(ExitCodeOf(ServerProcess::RunToExit(options, &log)), 2);
  EXPECT_THAT(log, HasSubstr("--metrics_listen="));
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

// A clean stop flushes the memtables, so the next start has no write-ahead
// log to replay (issue 14 measured 36 MB left behind).
TEST(CleanStopTest, LeavesNoWriteAheadLogBehind) {
  TC_ASSERT_OK_AND_ASSIGN(auto server, ServerProcess::Start({}));
  auto stub = v1::ComplianceService::NewStub(Connect(server->address()));
  for (int i = 0; i < 50; ++i) {
    v1::CheckDeclarationRequest request;
    *request.mutable_declaration() = PalmOilImport(absl::StrCat("OPS-WAL-", i));
    v1::CheckDeclarationResponse response;
    ASSERT_TRUE(stub->CheckDeclaration(Ctx().get(), request, &response).ok());
  }
  uintmax_t wal_before = 0;
  for (const auto& entry : fs::directory_iterator(server->data_dir())) {
    if (entry.path().extension() == ".log") wal_before += entry.file_size();
  }
  EXPECT_GT(wal_before, 50u * 1000) << "the records should be in the WAL";
  EXPECT_EQ(ExitCodeOf(server->Stop()), 0);
  uintmax_t wal_after = 0;
  for (const auto& entry : fs::directory_iterator(server->data_dir())) {
    if (entry.path().extension() == ".log") wal_after += entry.file_size();
  }
  EXPECT_EQ(wal_after, 0u) << "bytes of WAL left after a clean stop";
}

}  // namespace
}  // namespace tradecheck
