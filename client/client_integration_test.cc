// The client library and the `tradecheck` command against the real server
// binary (tests/testing/server_process.h: 127.0.0.1, a free port, a fresh
// data directory, stopped by its pid), with the declarations in examples/.
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "client/declaration_json.h"
#include "client/errors.h"
#include "client/tradecheck_client.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/server_process.h"

namespace tradecheck {
namespace {

using ::testing::AnyOf;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::tradecheck::testing::IsOk;
using ::tradecheck::testing::ServerProcess;
using ::tradecheck::testing::StatusIs;

std::string ExamplePath(const std::string& name) {
  return absl::StrCat(TC_EXAMPLES_DIR, "/", name);
}

v1::Declaration Example(const std::string& name) {
  std::ifstream in(ExamplePath(name));
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<v1::Declaration> declaration =
      ParseDeclarationJson(text.str(), name);
  EXPECT_THAT(declaration, IsOk());
  return declaration.ok() ? *declaration : v1::Declaration();
}

struct CliRun {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

// Runs the tradecheck binary with `args` (shell words, already quoted).
CliRun RunCli(const std::string& args) {
  CliRun run;
  const std::string command =
      absl::StrCat(TC_CLI_BINARY, " ", args, " 2>&1 </dev/null");
  std::FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return run;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) {
    run.output.append(buffer, n);
  }
  const int status = pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

class ClientIntegrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::string> backups = testing::MakeTempDir("client-backups");
    ASSERT_THAT(backups, IsOk());
    testing::ServerProcessOptions options;
    options.extra_flags = {"--backup_root=" + *backups};
    absl::StatusOr<std::unique_ptr<ServerProcess>> server =
        ServerProcess::Start(options);
    ASSERT_THAT(server, IsOk());
    server_ = server->release();
  }

  static void TearDownTestSuite() {
    if (server_ != nullptr) {
      absl::StatusOr<int> exit_code = server_->Stop();
      EXPECT_THAT(exit_code, IsOk());
      if (exit_code.ok()) {
        EXPECT_EQ(*exit_code, 0) << server_->log();
      }
      delete server_;
      server_ = nullptr;
    }
  }

  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    ClientOptions options;
    options.server = server_->address();
    auto client = TradecheckClient::Create(options);
    ASSERT_THAT(client, IsOk());
    client_ = *std::move(client);
  }

  std::string Server() const {
    return absl::StrCat("--server=", server_->address());
  }

  static ServerProcess* server_;
  std::unique_ptr<TradecheckClient> client_;
};

ServerProcess* ClientIntegrationTest::server_ = nullptr;

TEST_F(ClientIntegrationTest, CheckRecordsAVerdictAndReplaysIt) {
  v1::Declaration declaration = Example("customs/my-palm-oil-import.json");
  declaration.set_declaration_id("IT-PALM-1");
  auto first = client_->Check(declaration);
  ASSERT_THAT(first, IsOk());
  const v1::Verdict& verdict = first->verdict();
  EXPECT_NE(verdict.outcome(), v1::OUTCOME_UNSPECIFIED);
  EXPECT_FALSE(verdict.decision_id().empty());
  EXPECT_FALSE(verdict.rule_set_revision().empty());
  EXPECT_FALSE(verdict.validate_only());
  EXPECT_FALSE(first->replayed());
  ASSERT_EQ(verdict.lines_size(), 1);
  // 2025-09-15, Malaysia: the 19 % reciprocal tariff applies.
  bool has_19_percent = false;
  for (const v1::Duty& duty : verdict.lines(0).duties()) {
    if (duty.rate_basis_points() == 1900) has_19_percent = true;
  }
  EXPECT_TRUE(has_19_percent) << verdict.DebugString();

  auto again = client_->Check(declaration);
  ASSERT_THAT(again, IsOk());
  EXPECT_TRUE(again->replayed());
  EXPECT_EQ(again->verdict().decision_id(), verdict.decision_id());

  auto stored = client_->GetDecision(verdict.decision_id());
  ASSERT_THAT(stored, IsOk());
  EXPECT_EQ(stored->declaration().declaration_id(), "IT-PALM-1");

  auto reevaluated = client_->ReevaluateDecision(verdict.decision_id());
  ASSERT_THAT(reevaluated, IsOk());
  EXPECT_TRUE(reevaluated->matches_stored());
}

TEST_F(ClientIntegrationTest, ReusedIdNamesTheDecisionHoldingIt) {
  v1::Declaration declaration = Example("customs/my-gloves-us-content.json");
  declaration.set_declaration_id("IT-GLOVES-1");
  auto first = client_->Check(declaration);
  ASSERT_THAT(first, IsOk());
  declaration.mutable_lines(0)->set_description("Nitrile gloves, blue");
  auto second = client_->Check(declaration);
  EXPECT_THAT(second, StatusIs(absl::StatusCode::kAlreadyExists));
  auto info = ErrorInfoOf(second.status());
  ASSERT_TRUE(info.has_value()) << DescribeError(second.status());
  EXPECT_EQ(info->metadata().at("decision_id"), first->verdict().decision_id());
}

TEST_F(ClientIntegrationTest, ServerValidationNamesTheField) {
  v1::Declaration declaration = Example("customs/my-palm-oil-import.json");
  declaration.set_declaration_id("IT-BAD-HS");
  declaration.mutable_lines(0)->set_hs_code("15111O0000");  // letter O
  auto response = client_->Check(declaration);
  EXPECT_THAT(response, StatusIs(absl::StatusCode::kInvalidArgument));
  auto bad = BadRequestOf(response.status());
  ASSERT_TRUE(bad.has_value()) << DescribeError(response.status());
  ASSERT_GE(bad->field_violations_size(), 1);
  EXPECT_EQ(bad->field_violations(0).field(), "lines[0].hs_code");
}

TEST_F(ClientIntegrationTest, RawConcentrateExportIsDenied) {
  auto response =
      client_->Check(Example("exporters/my-re-concentrate-export.json"));
  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->verdict().outcome(), v1::OUTCOME_DENY)
      << response->verdict().DebugString();
}

TEST_F(ClientIntegrationTest, DryRunBindsNothing) {
  v1::Declaration declaration = Example("exporters/vn-speakers-dry-run.json");
  auto first = client_->DryRun(declaration);
  ASSERT_THAT(first, IsOk());
  EXPECT_TRUE(first->verdict().validate_only());
  // Repeatable, and the id stays free for the binding check.
  EXPECT_THAT(client_->DryRun(declaration), IsOk());
  auto binding = client_->Check(declaration);
  ASSERT_THAT(binding, IsOk());
  EXPECT_FALSE(binding->verdict().validate_only());
  EXPECT_FALSE(binding->replayed());
}

TEST_F(ClientIntegrationTest, StreamThenListEveryPageThenVerify) {
  // Stream the examples' batch file, with ids of this test's own.
  std::ifstream in(ExamplePath("batch/customs-day.jsonl"));
  std::string line;
  int line_number = 0;
  int sent = 0;
  std::set<std::string> ids;
  auto next =
      [&]() -> absl::StatusOr<std::optional<v1::CheckDeclarationRequest>> {
    while (std::getline(in, line)) {
      ++line_number;
      if (line.empty()) continue;
      auto declaration =
          ParseDeclarationJson(line, "customs-day.jsonl", line_number);
      if (!declaration.ok()) return declaration.status();
      declaration->set_declaration_id(absl::StrCat("IT-STREAM-", sent++));
      v1::CheckDeclarationRequest request;
      *request.mutable_declaration() = *declaration;
      return request;
    }
    return std::nullopt;
  };
  int errors = 0;
  ASSERT_THAT(client_->CheckStream(next,
                                   [&](const v1::CheckResult& result) {
                                     ids.insert(result.declaration_id());
                                     if (result.has_error()) ++errors;
                                     return absl::OkStatus();
                                   }),
              IsOk());
  EXPECT_EQ(sent, 6);
  EXPECT_EQ(ids.size(), 6u);
  EXPECT_EQ(errors, 0);

  // List them back two per page: every one, newest first.
  v1::DecisionFilter filter;
  filter.set_stream(v1::TRAIL_STREAM_BINDING);
  TradecheckClient::ListOptions list_options;
  list_options.page_size = 2;
  std::set<std::string> listed;
  uint64_t previous_sequence = UINT64_MAX;
  ASSERT_THAT(client_->ForEachDecision(
                  filter, list_options,
                  [&](const v1::Decision& decision) {
                    EXPECT_LT(decision.sequence(), previous_sequence);
                    previous_sequence = decision.sequence();
                    listed.insert(decision.declaration().declaration_id());
                    return absl::OkStatus();
                  }),
              IsOk());
  for (const std::string& id : ids) EXPECT_EQ(listed.count(id), 1u) << id;

  // Filtered by origin: only Thai declarations.
  filter.set_origin_country("TH");
  int thai = 0;
  ASSERT_THAT(client_->ForEachDecision(
                  filter, list_options,
                  [&](const v1::Decision& decision) {
                    EXPECT_EQ(decision.declaration().origin_country(), "TH");
                    ++thai;
                    return absl::OkStatus();
                  }),
              IsOk());
  EXPECT_GE(thai, 2);

  auto verified = client_->VerifyTrail(v1::VerifyTrailRequest());
  ASSERT_THAT(verified, IsOk());
  EXPECT_TRUE(verified->ok()) << verified->problem();
  EXPECT_GE(verified->records_checked(), 6u);
}

TEST_F(ClientIntegrationTest, AgreementsAndRules) {
  auto instruments = client_->ListInstruments(std::nullopt);
  ASSERT_THAT(instruments, IsOk());
  EXPECT_GT(instruments->instruments_size(), 5);
  auto instrument = client_->GetInstrument("us-eo-14326");
  ASSERT_THAT(instrument, IsOk());
  EXPECT_FALSE(instrument->measures().empty());
  EXPECT_THAT(client_->GetInstrument("no-such-instrument"),
              StatusIs(absl::StatusCode::kNotFound));
  auto rule_set = client_->GetRuleSet();
  ASSERT_THAT(rule_set, IsOk());
  auto reloaded = client_->ReloadRuleSet();
  ASSERT_THAT(reloaded, IsOk());
  EXPECT_FALSE(reloaded->changed());
  EXPECT_EQ(reloaded->rule_set().revision(), rule_set->revision());
}

TEST_F(ClientIntegrationTest, BackupOnceThenTheDirectoryExists) {
  // A name under the server's --backup_root, never a path.
  const std::string target = "client-backup-1";
  auto backup = client_->CreateBackup(target);
  ASSERT_THAT(backup, IsOk());
  EXPECT_EQ(backup->directory(), target);
  EXPECT_THAT(client_->CreateBackup(target),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr(target)));
}

// --- The command line against the same server --------------------------------

TEST_F(ClientIntegrationTest, CliCheckExitCodes) {
  CliRun palm = RunCli(absl::StrCat(
      Server(), " check ", ExamplePath("customs/my-palm-oil-import.json")));
  EXPECT_THAT(palm.exit_code, AnyOf(0, 10, 11)) << palm.output;
  EXPECT_THAT(palm.output, HasSubstr("Outcome"));
  EXPECT_THAT(palm.output, HasSubstr("1511100000"));

  CliRun concentrate = RunCli(
      absl::StrCat(Server(), " check --json ",
                   ExamplePath("exporters/my-re-concentrate-export.json")));
  EXPECT_EQ(concentrate.exit_code, 10) << concentrate.output;
  v1::CheckDeclarationResponse response;
  EXPECT_THAT(ParseJsonMessage(concentrate.output, "stdout", &response),
              IsOk());
  EXPECT_EQ(response.verdict().outcome(), v1::OUTCOME_DENY);

  CliRun dry =
      RunCli(absl::StrCat(Server(), " check --validate-only ",
                          ExamplePath("customs/th-furniture-section122.json")));
  EXPECT_THAT(dry.exit_code, AnyOf(0, 10, 11)) << dry.output;
  EXPECT_THAT(dry.output, HasSubstr("dry run"));
}

TEST_F(ClientIntegrationTest, CliBadInputNeverReachesTheServer) {
  // An address nothing listens on: the input error must come first.
  CliRun run = RunCli(absl::StrCat("--server=127.0.0.1:1 check ",
                                   ExamplePath("invalid/unknown-field.json")));
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_THAT(run.output, HasSubstr("lines[0].hscode: unknown field"));
  EXPECT_THAT(run.output, Not(HasSubstr("UNAVAILABLE")));
}

TEST_F(ClientIntegrationTest, CliBatchListVerify) {
  // The batch file's ids may already be recorded by an earlier run of this
  // binary's tests against the same server: replays are fine.
  CliRun batch =
      RunCli(absl::StrCat(Server(), " check --batch --validate-only ",
                          ExamplePath("batch/customs-day.jsonl")));
  EXPECT_THAT(batch.exit_code, AnyOf(0, 10, 11)) << batch.output;
  EXPECT_THAT(batch.output, HasSubstr("6 declarations:"));

  CliRun list = RunCli(absl::StrCat(
      Server(), " audit list --json --stream=validate_only --page-size=2"));
  EXPECT_EQ(list.exit_code, 0) << list.output;
  int lines = 0;
  for (absl::string_view line : absl::StrSplit(list.output, '\n')) {
    if (line.empty()) continue;
    v1::Decision decision;
    EXPECT_THAT(ParseJsonMessage(line, "stdout", &decision), IsOk()) << line;
    ++lines;
  }
  EXPECT_GE(lines, 6);

  CliRun verify = RunCli(absl::StrCat(Server(), " audit verify"));
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
  EXPECT_THAT(verify.output, HasSubstr("Trail OK"));

  CliRun agreements = RunCli(absl::StrCat(Server(), " agreements list"));
  EXPECT_EQ(agreements.exit_code, 0) << agreements.output;
  EXPECT_THAT(agreements.output, HasSubstr("us-eo-14326"));
}

TEST(ClientStoppedServerTest, UnreachableServerIsUnavailable) {
  auto server = ServerProcess::Start({});
  ASSERT_THAT(server, IsOk());
  const std::string address = (*server)->address();
  absl::StatusOr<int> exit_code = (*server)->Stop();
  ASSERT_THAT(exit_code, IsOk());

  ClientOptions options;
  options.server = address;
  options.timeout = absl::Seconds(5);
  auto client = TradecheckClient::Create(options);
  ASSERT_THAT(client, IsOk());
  EXPECT_THAT((*client)->GetRuleSet(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr(address)));
  CliRun run = RunCli(absl::StrCat("--server=", address, " rules show"));
  EXPECT_EQ(run.exit_code, 3) << run.output;
}

}  // namespace
}  // namespace tradecheck
