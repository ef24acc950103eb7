// End-to-end tests of tradecheck_server as a process: health, reflection,
// checks over a real socket, input errors, idempotency, restart, start-up
// refusals, signals.
#include <signal.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <set>

#include "absl/time/clock.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/e2e/e2e_util.h"
#include "tests/testing/server_process.h"

namespace tradecheck::testing {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

class ServerE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TC_ASSERT_OK_AND_ASSIGN(server_, ServerProcess::Start({}));
    Reconnect();
  }

  void Reconnect() {
    channel_ = Connect(server_->address());
    compliance_ = v1::ComplianceService::NewStub(channel_);
    audit_ = v1::AuditService::NewStub(channel_);
    agreements_ = v1::AgreementService::NewStub(channel_);
  }

  grpc::Status Check(const v1::Declaration& d, v1::CheckDeclarationResponse* out,
                     bool validate_only = false) {
    v1::CheckDeclarationRequest request;
    *request.mutable_declaration() = d;
    request.set_validate_only(validate_only);
    return compliance_->CheckDeclaration(Ctx().get(), request, out);
  }

  std::unique_ptr<ServerProcess> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::ComplianceService::Stub> compliance_;
  std::unique_ptr<v1::AuditService::Stub> audit_;
  std::unique_ptr<v1::AgreementService::Stub> agreements_;
};

TEST_F(ServerE2eTest, HealthReportsServing) {
  auto health = grpc::health::v1::Health::NewStub(channel_);
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  ASSERT_TRUE(health->Check(Ctx().get(), request, &response).ok());
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
}

TEST_F(ServerE2eTest, ReflectionListsEveryService) {
  auto reflection =
      grpc::reflection::v1alpha::ServerReflection::NewStub(channel_);
  auto context = Ctx();
  auto stream = reflection->ServerReflectionInfo(context.get());
  grpc::reflection::v1alpha::ServerReflectionRequest request;
  request.set_list_services("");
  ASSERT_TRUE(stream->Write(request));
  stream->WritesDone();
  grpc::reflection::v1alpha::ServerReflectionResponse response;
  ASSERT_TRUE(stream->Read(&response));
  std::set<std::string> names;
  for (const auto& s : response.list_services_response().service()) {
    names.insert(s.name());
  }
  EXPECT_THAT(names, Contains("tradecheck.v1.ComplianceService"));
  EXPECT_THAT(names, Contains("tradecheck.v1.AuditService"));
  EXPECT_THAT(names, Contains("tradecheck.v1.AgreementService"));
  EXPECT_THAT(names, Contains("tradecheck.v1.AdminService"));
  EXPECT_THAT(names, Contains("grpc.health.v1.Health"));
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(ServerE2eTest, CheckReturnsARecordedVerdictWithCitedReasons) {
  v1::CheckDeclarationResponse response;
  grpc::Status status = Check(PalmOilImport("E2E-PALM-1"), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  const v1::Verdict& verdict = response.verdict();
  EXPECT_FALSE(response.replayed());
  EXPECT_EQ(verdict.declaration_id(), "E2E-PALM-1");
  EXPECT_FALSE(verdict.decision_id().empty());
  EXPECT_NE(verdict.outcome(), v1::OUTCOME_UNSPECIFIED);
  EXPECT_EQ(verdict.rule_set_revision().size(), 64u);
  EXPECT_EQ(verdict.record_hash().size(), 64u);
  EXPECT_EQ(verdict.audit_sequence(), 1u);
  EXPECT_EQ(verdict.governing_date().year(), 2025);
  EXPECT_EQ(verdict.governing_date().month(), 9);
  EXPECT_EQ(verdict.governing_date().day(), 29);
  ASSERT_EQ(verdict.lines_size(), 1);
  // Something decided this line, and every reason cites its source.
  const v1::LineVerdict& line = verdict.lines(0);
  ASSERT_GT(line.findings_size() + line.duties_size(), 0);
  for (const v1::Finding& f : line.findings()) {
    EXPECT_FALSE(f.rule_id().empty());
    EXPECT_FALSE(f.message().empty()) << f.rule_id();
    EXPECT_FALSE(f.citation().source_url().empty()) << f.rule_id();
  }
  for (const v1::Duty& d : line.duties()) {
    EXPECT_FALSE(d.citation().source_url().empty()) << d.measure_id();
    EXPECT_EQ(d.amount().currency_code(), "USD");
  }

  // The trail holds exactly what was returned.
  v1::GetDecisionRequest get;
  get.set_decision_id(verdict.decision_id());
  v1::Decision decision;
  ASSERT_TRUE(audit_->GetDecision(Ctx().get(), get, &decision).ok());
  EXPECT_EQ(decision.verdict().SerializeAsString(), verdict.SerializeAsString());
  EXPECT_EQ(decision.declaration().declaration_id(), "E2E-PALM-1");
  EXPECT_EQ(decision.stream(), v1::TRAIL_STREAM_BINDING);
}

TEST_F(ServerE2eTest, MalformedInputNamesEveryFieldAndServerKeepsServing) {
  v1::Declaration bad = PalmOilImport("E2E-BAD-1");
  bad.set_origin_country("XX");
  bad.mutable_lines(0)->set_hs_code("12ab");
  bad.mutable_lines(0)->mutable_customs_value()->set_minor_units(-5);
  bad.mutable_entry_date()->set_day(31);  // 2025-09-31 does not exist
  v1::CheckDeclarationResponse response;
  grpc::Status status = Check(bad, &response);
  ASSERT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  std::set<std::string> fields;
  const google::rpc::BadRequest bad_request = BadRequestOf(status);
  for (const auto& v : bad_request.field_violations()) {
    fields.insert(v.field());
    EXPECT_FALSE(v.description().empty());
  }
  EXPECT_THAT(fields, Contains("origin_country"));
  EXPECT_THAT(fields, Contains("lines[0].hs_code"));
  EXPECT_THAT(fields, Contains("lines[0].customs_value.minor_units"));
  EXPECT_THAT(fields, Contains("entry_date"));
  EXPECT_THAT(status.error_message(), HasSubstr("origin_country"));

  // Nothing was recorded, and the server still serves.
  v1::ListDecisionsRequest list;
  v1::ListDecisionsResponse listed;
  ASSERT_TRUE(audit_->ListDecisions(Ctx().get(), list, &listed).ok());
  EXPECT_EQ(listed.decisions_size(), 0);
  ASSERT_TRUE(Check(PalmOilImport("E2E-GOOD-1"), &response).ok());
}

TEST_F(ServerE2eTest, MissingDeclarationAndEmptyBatchAreInvalid) {
  v1::CheckDeclarationRequest empty;
  v1::CheckDeclarationResponse response;
  grpc::Status status =
      compliance_->CheckDeclaration(Ctx().get(), empty, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  v1::CheckDeclarationsRequest batch;
  v1::CheckDeclarationsResponse batch_response;
  status = compliance_->CheckDeclarations(Ctx().get(), batch, &batch_response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  ASSERT_EQ(BadRequestOf(status).field_violations_size(), 1);
  EXPECT_EQ(BadRequestOf(status).field_violations(0).field(), "requests");
}

TEST_F(ServerE2eTest, SameIdSameContentReplaysDifferentContentIsRefused) {
  v1::CheckDeclarationResponse first, again, conflict;
  ASSERT_TRUE(Check(PalmOilImport("E2E-IDEM-1"), &first).ok());
  ASSERT_TRUE(Check(PalmOilImport("E2E-IDEM-1"), &again).ok());
  EXPECT_TRUE(again.replayed());
  EXPECT_EQ(again.verdict().SerializeAsString(),
            first.verdict().SerializeAsString());

  v1::Declaration changed = PalmOilImport("E2E-IDEM-1");
  changed.mutable_lines(0)->mutable_customs_value()->set_minor_units(1);
  grpc::Status status = Check(changed, &conflict);
  ASSERT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_THAT(status.error_message(), HasSubstr(first.verdict().decision_id()));
  EXPECT_EQ(ErrorInfoOf(status).metadata().at("decision_id"),
            first.verdict().decision_id());

  // Still one binding record.
  v1::ListDecisionsRequest list;
  v1::ListDecisionsResponse listed;
  ASSERT_TRUE(audit_->ListDecisions(Ctx().get(), list, &listed).ok());
  EXPECT_EQ(listed.decisions_size(), 1);
}

TEST_F(ServerE2eTest, DryRunBindsNothing) {
  v1::CheckDeclarationResponse dry, real;
  v1::Declaration draft = PalmOilImport("E2E-DRY-1");
  draft.mutable_lines(0)->mutable_customs_value()->set_minor_units(999);
  ASSERT_TRUE(Check(draft, &dry, /*validate_only=*/true).ok());
  EXPECT_TRUE(dry.verdict().validate_only());
  // The id is not reserved: the binding check with other content succeeds.
  ASSERT_TRUE(Check(PalmOilImport("E2E-DRY-1"), &real).ok());
  EXPECT_FALSE(real.replayed());
  EXPECT_FALSE(real.verdict().validate_only());
  EXPECT_NE(dry.verdict().decision_id(), real.verdict().decision_id());

  // Auditors see the dry run in its own stream.
  v1::ListDecisionsRequest list;
  list.mutable_filter()->set_stream(v1::TRAIL_STREAM_VALIDATE_ONLY);
  v1::ListDecisionsResponse listed;
  ASSERT_TRUE(audit_->ListDecisions(Ctx().get(), list, &listed).ok());
  ASSERT_EQ(listed.decisions_size(), 1);
  EXPECT_EQ(listed.decisions(0).decision_id(), dry.verdict().decision_id());
}

TEST_F(ServerE2eTest, BatchReportsEachItemOnItsOwn) {
  v1::CheckDeclarationsRequest batch;
  *batch.add_requests()->mutable_declaration() = PalmOilImport("E2E-B-1");
  v1::Declaration bad = PalmOilImport("E2E-B-2");
  bad.set_destination_country("usa");
  *batch.add_requests()->mutable_declaration() = bad;
  *batch.add_requests()->mutable_declaration() = PalmOilImport("E2E-B-3");
  v1::CheckDeclarationsResponse response;
  ASSERT_TRUE(compliance_->CheckDeclarations(Ctx().get(), batch, &response).ok());
  ASSERT_EQ(response.results_size(), 3);
  EXPECT_TRUE(response.results(0).has_response());
  EXPECT_EQ(response.results(1).error().code(),
            static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_THAT(response.results(1).error().message(),
              HasSubstr("destination_country"));
  EXPECT_EQ(response.results(1).declaration_id(), "E2E-B-2");
  EXPECT_TRUE(response.results(2).has_response());
  EXPECT_EQ(response.results(2).index(), 2u);
}

TEST_F(ServerE2eTest, StreamAnswersEveryRequest) {
  auto context = Ctx(60);
  auto stream = compliance_->StreamCheckDeclarations(context.get());
  constexpr int kCount = 300;
  for (int i = 0; i < kCount; ++i) {
    v1::CheckDeclarationRequest request;
    *request.mutable_declaration() = PalmOilImport("E2E-S-" + std::to_string(i));
    if (i % 50 == 7) request.mutable_declaration()->set_origin_country("");
    ASSERT_TRUE(stream->Write(request));
  }
  stream->WritesDone();
  std::set<uint64_t> seen;
  int errors = 0;
  v1::CheckResult result;
  while (stream->Read(&result)) {
    seen.insert(result.index());
    if (result.has_error()) ++errors;
  }
  ASSERT_TRUE(stream->Finish().ok());
  EXPECT_EQ(seen.size(), static_cast<size_t>(kCount));
  EXPECT_EQ(errors, 6);
}

TEST_F(ServerE2eTest, RestartKeepsEarlierDecisions) {
  v1::CheckDeclarationResponse first;
  ASSERT_TRUE(Check(PalmOilImport("E2E-RESTART-1"), &first).ok());
  TC_ASSERT_OK_AND_ASSIGN(int code, server_->Stop());
  EXPECT_EQ(code, 0);
  EXPECT_THAT(server_->log(), HasSubstr("stopped cleanly"));

  ServerProcessOptions options;
  options.data_dir = server_->data_dir();
  TC_ASSERT_OK_AND_ASSIGN(server_, ServerProcess::Start(options));
  Reconnect();
  v1::GetDecisionRequest get;
  get.set_decision_id(first.verdict().decision_id());
  v1::Decision decision;
  ASSERT_TRUE(audit_->GetDecision(Ctx().get(), get, &decision).ok());
  EXPECT_EQ(decision.verdict().SerializeAsString(),
            first.verdict().SerializeAsString());
  // The idempotency key survives the restart too.
  v1::CheckDeclarationResponse again;
  ASSERT_TRUE(Check(PalmOilImport("E2E-RESTART-1"), &again).ok());
  EXPECT_TRUE(again.replayed());
  // And the chain continues where it stopped.
  v1::CheckDeclarationResponse next;
  ASSERT_TRUE(Check(PalmOilImport("E2E-RESTART-2"), &next).ok());
  EXPECT_EQ(next.verdict().audit_sequence(), 2u);
  v1::VerifyTrailRequest verify;
  v1::VerifyTrailResponse verified;
  ASSERT_TRUE(audit_->VerifyTrail(Ctx().get(), verify, &verified).ok());
  EXPECT_TRUE(verified.ok()) << verified.problem();
  EXPECT_EQ(verified.records_checked(), 2u);
}

TEST_F(ServerE2eTest, RuleSetAndInstrumentsAreListed) {
  v1::GetRuleSetRequest request;
  v1::RuleSetInfo info;
  ASSERT_TRUE(agreements_->GetRuleSet(Ctx().get(), request, &info).ok());
  EXPECT_EQ(info.revision().size(), 64u);
  EXPECT_GT(info.instrument_count(), 10);
  v1::ListInstrumentsRequest list;
  v1::ListInstrumentsResponse listed;
  ASSERT_TRUE(agreements_->ListInstruments(Ctx().get(), list, &listed).ok());
  EXPECT_EQ(listed.rule_set_revision(), info.revision());
  ASSERT_GT(listed.instruments_size(), 10);
  v1::GetInstrumentRequest get;
  get.set_instrument_id(listed.instruments(0).instrument_id());
  v1::Instrument instrument;
  ASSERT_TRUE(agreements_->GetInstrument(Ctx().get(), get, &instrument).ok());
  EXPECT_GT(instrument.measures_size() + instrument.status_history_size(), 0);
  get.set_instrument_id("no-such-instrument");
  EXPECT_EQ(agreements_->GetInstrument(Ctx().get(), get, &instrument).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(ServerE2eTest, SigtermDrainsAndExitsCleanly) {
  TC_ASSERT_OK_AND_ASSIGN(int code, server_->Stop());
  EXPECT_EQ(code, 0);
  EXPECT_THAT(server_->log(), HasSubstr("draining"));
  EXPECT_THAT(server_->log(), HasSubstr("stopped cleanly"));
}

TEST(ServerReloadTest, SighupSwapsValidDataAndRefusesInvalidData) {
  TC_ASSERT_OK_AND_ASSIGN(std::string dir, MakeTempDir("reload-agreements"));
  const std::string copy = "cp -r '" TC_AGREEMENTS_DIR "/.' '" + dir + "/'";
  ASSERT_EQ(std::system(copy.c_str()), 0);
  ServerProcessOptions options;
  options.agreements_dir = dir;
  TC_ASSERT_OK_AND_ASSIGN(auto server, ServerProcess::Start(options));
  auto agreements = v1::AgreementService::NewStub(Connect(server->address()));
  auto revision = [&]() {
    v1::RuleSetInfo info;
    EXPECT_TRUE(agreements->GetRuleSet(Ctx().get(), v1::GetRuleSetRequest(),
                                       &info).ok());
    return info.revision();
  };
  auto wait_for_log = [&](const std::string& text) {
    server->WaitForLog(text, absl::Seconds(5));
  };
  const std::string before = revision();

  // A reviewed change to the data: a new revision, without a restart.
  { std::ofstream(dir + "/ruleset.textproto", std::ios::app) << "\n# reviewed\n"; }
  ASSERT_TRUE(server->Signal(SIGHUP).ok());
  wait_for_log("rule set reloaded");
  const std::string after = revision();
  EXPECT_NE(after, before);
  EXPECT_THAT(server->log(), HasSubstr(before + " -> " + after));

  // Invalid data: refused, naming the file; the set in force stays.
  { std::ofstream(dir + "/zz-broken.textproto") << "nonsense {\n"; }
  ASSERT_TRUE(server->Signal(SIGHUP).ok());
  wait_for_log("reload refused");
  EXPECT_THAT(server->log(), HasSubstr("zz-broken.textproto"));
  EXPECT_EQ(revision(), after);
}

TEST(ServerStartupTest, ATakenPortFailsLoudly) {
  TC_ASSERT_OK_AND_ASSIGN(auto first, ServerProcess::Start({}));
  ServerProcessOptions options;
  options.extra_flags = {"--listen=" + first->address()};
  std::string log;
  TC_ASSERT_OK_AND_ASSIGN(int code, ServerProcess::RunToExit(options, &log));
  EXPECT_EQ(code, 2);
  EXPECT_THAT(log, HasSubstr("cannot listen on " + first->address()));
  // The first server is unaffected.
  auto health = grpc::health::v1::Health::NewStub(Connect(first->address()));
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  EXPECT_TRUE(health->Check(Ctx().get(), request, &response).ok());
}

TEST(ServerStartupTest, InvalidAgreementDataIsRefusedNamingFileAndLine) {
  TC_ASSERT_OK_AND_ASSIGN(std::string dir, MakeTempDir("bad-agreements"));
  const std::string copy = "cp -r '" TC_AGREEMENTS_DIR "/.' '" + dir + "/'";
  ASSERT_EQ(std::system(copy.c_str()), 0);
  {
    std::ofstream broken(dir + "/zz-broken.textproto");
    broken << "# a reviewer's typo\n\nthis is not a text proto {\n";
  }
  ServerProcessOptions options;
  options.agreements_dir = dir;
  std::string log;
  TC_ASSERT_OK_AND_ASSIGN(int code, ServerProcess::RunToExit(options, &log));
  EXPECT_EQ(code, 1);
  EXPECT_THAT(log, AllOf(HasSubstr("cannot start"),
                         HasSubstr("zz-broken.textproto:3")));
}

TEST(ServerStartupTest, UnusableDataDirectoryIsRefused) {
  TC_ASSERT_OK_AND_ASSIGN(std::string dir, MakeTempDir("not-a-dir"));
  const std::string file = dir + "/plain-file";
  { std::ofstream(file) << "not a database\n"; }
  ServerProcessOptions options;
  options.data_dir = file;
  std::string log;
  TC_ASSERT_OK_AND_ASSIGN(int code, ServerProcess::RunToExit(options, &log));
  EXPECT_EQ(code, 1);
  EXPECT_THAT(log, AllOf(HasSubstr("cannot start"), HasSubstr(file)));
}

}  // namespace
}  // namespace tradecheck::testing
