// TradecheckClient against the generated mock stubs: what each call sends,
// the deadline it sets, how errors and their details come back, and how
// listings and streams are walked without holding everything.
#include "client/tradecheck_client.h"

#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "client/client_test_util.h"
#include "client/errors.h"
#include "common/testing/status_matchers.h"
#include "common/testing/temp_dir.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "grpcpp/test/mock_stream.h"
#include "gtest/gtest.h"

namespace tradecheck {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::testing::_;
using ::testing::DoAll;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Invoke;
using ::testing::Return;
using ::testing::SetArgPointee;
using ::tradecheck::testing::IsOk;
using ::tradecheck::testing::MakeMockedClient;
using ::tradecheck::testing::PalmOilDeclaration;
using ::tradecheck::testing::StatusIs;
using ::tradecheck::testing::TimeLeft;
using ::tradecheck::testing::VerdictWith;

MATCHER(HasDeadlineNear7s, "") {
  const absl::Duration left = ::tradecheck::testing::TimeLeft(arg);
  return left > absl::Seconds(6) && left <= absl::Seconds(7);
}

TEST(TradecheckClientTest, CheckSendsBindingRequestWithDeadline) {
  ClientOptions options;
  options.timeout = absl::Seconds(7);
  auto mocked = MakeMockedClient(options);
  const v1::Declaration declaration = PalmOilDeclaration();
  EXPECT_CALL(*mocked.compliance, CheckDeclaration(HasDeadlineNear7s(), _, _))
      .WillOnce(Invoke([&](grpc::ClientContext*,
                           const v1::CheckDeclarationRequest& request,
                           v1::CheckDeclarationResponse* response) {
        EXPECT_FALSE(request.validate_only());
        EXPECT_TRUE(
            MessageDifferencer::Equals(request.declaration(), declaration));
        *response = VerdictWith(v1::OUTCOME_ALLOW);
        return grpc::Status::OK;
      }));

  auto response = mocked.client->Check(declaration);
  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->verdict().outcome(), v1::OUTCOME_ALLOW);
  EXPECT_EQ(response->verdict().decision_id(), "dec-000042");
}

TEST(TradecheckClientTest, DryRunSetsValidateOnly) {
  auto mocked = MakeMockedClient();
  EXPECT_CALL(*mocked.compliance, CheckDeclaration(_, _, _))
      .WillOnce(Invoke([](grpc::ClientContext*,
                          const v1::CheckDeclarationRequest& request,
                          v1::CheckDeclarationResponse* response) {
        EXPECT_TRUE(request.validate_only());
        *response = VerdictWith(v1::OUTCOME_NEEDS_REVIEW);
        response->mutable_verdict()->set_validate_only(true);
        return grpc::Status::OK;
      }));
  auto response = mocked.client->DryRun(PalmOilDeclaration());
  ASSERT_THAT(response, IsOk());
  EXPECT_TRUE(response->verdict().validate_only());
}

TEST(TradecheckClientTest, FieldViolationsSurviveAsPayload) {
  auto mocked = MakeMockedClient();
  EXPECT_CALL(*mocked.compliance, CheckDeclaration(_, _, _))
      .WillOnce(Return(testing::InvalidArgumentWithViolation(
          "lines[0].hs_code", "1511 is not a 6-digit HS 2022 subheading")));

  auto response = mocked.client->Check(PalmOilDeclaration());
  EXPECT_THAT(response, StatusIs(absl::StatusCode::kInvalidArgument,
                                 HasSubstr("malformed")));
  std::optional<google::rpc::BadRequest> bad = BadRequestOf(response.status());
  ASSERT_TRUE(bad.has_value());
  ASSERT_EQ(bad->field_violations_size(), 1);
  EXPECT_EQ(bad->field_violations(0).field(), "lines[0].hs_code");
  EXPECT_THAT(DescribeError(response.status()),
              HasSubstr("lines[0].hs_code: 1511 is not a 6-digit"));
}

TEST(TradecheckClientTest, UnavailableNamesMethodAndServer) {
  ClientOptions options;
  options.server = "customs-gw.example:50051";
  auto mocked = MakeMockedClient(options);
  EXPECT_CALL(*mocked.audit, GetDecision(_, _, _))
      .WillOnce(Return(
          grpc::Status(grpc::StatusCode::UNAVAILABLE, "connection refused")));
  auto decision = mocked.client->GetDecision("dec-1");
  EXPECT_THAT(decision,
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("GetDecision on customs-gw.example:50051: "
                                 "connection refused")));
}

TEST(TradecheckClientTest, EveryUnaryCallHasADeadlineAndItsArguments) {
  ClientOptions options;
  options.timeout = absl::Seconds(7);
  auto mocked = MakeMockedClient(options);

  EXPECT_CALL(*mocked.audit, GetDecision(HasDeadlineNear7s(), _, _))
      .WillOnce(Invoke([](auto*, const v1::GetDecisionRequest& request,
                          v1::Decision* decision) {
        EXPECT_EQ(request.decision_id(), "dec-9");
        decision->set_decision_id("dec-9");
        return grpc::Status::OK;
      }));
  EXPECT_CALL(*mocked.audit, ReevaluateDecision(HasDeadlineNear7s(), _, _))
      .WillOnce(Invoke(
          [](auto*, const v1::ReevaluateDecisionRequest& request, auto*) {
            EXPECT_EQ(request.decision_id(), "dec-9");
            return grpc::Status::OK;
          }));
  EXPECT_CALL(*mocked.audit, VerifyTrail(HasDeadlineNear7s(), _, _))
      .WillOnce(Invoke([](auto*, const v1::VerifyTrailRequest& request,
                          v1::VerifyTrailResponse* response) {
        EXPECT_EQ(request.stream(), v1::TRAIL_STREAM_VALIDATE_ONLY);
        EXPECT_EQ(request.from_sequence(), 5u);
        response->set_ok(true);
        return grpc::Status::OK;
      }));
  EXPECT_CALL(*mocked.agreement, ListInstruments(HasDeadlineNear7s(), _, _))
      .WillOnce(
          Invoke([](auto*, const v1::ListInstrumentsRequest& request, auto*) {
            EXPECT_EQ(request.as_of().year(), 2026);
            return grpc::Status::OK;
          }));
  EXPECT_CALL(*mocked.agreement, GetInstrument(HasDeadlineNear7s(), _, _))
      .WillOnce(
          Invoke([](auto*, const v1::GetInstrumentRequest& request, auto*) {
            EXPECT_EQ(request.instrument_id(), "us-eo-14326");
            return grpc::Status::OK;
          }));
  EXPECT_CALL(*mocked.agreement, GetRuleSet(HasDeadlineNear7s(), _, _))
      .WillOnce(Return(grpc::Status::OK));
  EXPECT_CALL(*mocked.admin, ReloadRuleSet(HasDeadlineNear7s(), _, _))
      .WillOnce(Return(grpc::Status::OK));
  EXPECT_CALL(*mocked.admin, CreateBackup(HasDeadlineNear7s(), _, _))
      .WillOnce(
          Invoke([](auto*, const v1::CreateBackupRequest& request, auto*) {
            EXPECT_EQ(request.directory(), "/var/backups/tc-1");
            return grpc::Status::OK;
          }));
  EXPECT_CALL(*mocked.compliance, CheckDeclarations(HasDeadlineNear7s(), _, _))
      .WillOnce(Return(grpc::Status::OK));

  EXPECT_THAT(mocked.client->GetDecision("dec-9"), IsOk());
  EXPECT_THAT(mocked.client->ReevaluateDecision("dec-9"), IsOk());
  v1::VerifyTrailRequest verify;
  verify.set_stream(v1::TRAIL_STREAM_VALIDATE_ONLY);
  verify.set_from_sequence(5);
  EXPECT_THAT(mocked.client->VerifyTrail(verify), IsOk());
  v1::Date as_of;
  as_of.set_year(2026);
  as_of.set_month(3);
  as_of.set_day(1);
  EXPECT_THAT(mocked.client->ListInstruments(as_of), IsOk());
  EXPECT_THAT(mocked.client->GetInstrument("us-eo-14326"), IsOk());
  EXPECT_THAT(mocked.client->GetRuleSet(), IsOk());
  EXPECT_THAT(mocked.client->ReloadRuleSet(), IsOk());
  EXPECT_THAT(mocked.client->CreateBackup("/var/backups/tc-1"), IsOk());
  EXPECT_THAT(mocked.client->CheckBatch(v1::CheckDeclarationsRequest()),
              IsOk());
}

TradecheckClient::ListOptions Listing(int32_t page_size,
                                      int64_t max_decisions) {
  TradecheckClient::ListOptions options;
  options.page_size = page_size;
  options.max_decisions = max_decisions;
  return options;
}

v1::ListDecisionsResponse Page(std::vector<std::string> ids,
                               std::string next_token) {
  v1::ListDecisionsResponse page;
  for (const std::string& id : ids) page.add_decisions()->set_decision_id(id);
  page.set_next_page_token(std::move(next_token));
  return page;
}

TEST(TradecheckClientTest, ForEachDecisionFollowsPageTokens) {
  ClientOptions options;
  options.timeout = absl::Seconds(7);
  auto mocked = MakeMockedClient(options);
  std::vector<std::string> tokens_sent;
  EXPECT_CALL(*mocked.audit, ListDecisions(HasDeadlineNear7s(), _, _))
      .Times(3)
      .WillRepeatedly(Invoke([&](auto*, const v1::ListDecisionsRequest& request,
                                 v1::ListDecisionsResponse* response) {
        EXPECT_EQ(request.filter().origin_country(), "MY");
        EXPECT_EQ(request.page_size(), 2);
        tokens_sent.push_back(request.page_token());
        if (request.page_token().empty()) {
          *response = Page({"d5", "d4"}, "t1");
        } else if (request.page_token() == "t1") {
          *response = Page({"d3", "d2"}, "t2");
        } else {
          *response = Page({"d1"}, "");
        }
        return grpc::Status::OK;
      }));

  v1::DecisionFilter filter;
  filter.set_origin_country("MY");
  std::vector<std::string> seen;
  EXPECT_THAT(
      mocked.client->ForEachDecision(filter, Listing(2, 0),
                                     [&](const v1::Decision& decision) {
                                       seen.push_back(decision.decision_id());
                                       return absl::OkStatus();
                                     }),
      IsOk());
  EXPECT_THAT(seen, ElementsAre("d5", "d4", "d3", "d2", "d1"));
  EXPECT_THAT(tokens_sent, ElementsAre("", "t1", "t2"));
}

TEST(TradecheckClientTest, ForEachDecisionStopsAtTheLimitWithoutMorePages) {
  auto mocked = MakeMockedClient();
  EXPECT_CALL(*mocked.audit, ListDecisions(_, _, _))
      .WillOnce(DoAll(SetArgPointee<2>(Page({"d5", "d4", "d3"}, "t1")),
                      Return(grpc::Status::OK)));
  std::vector<std::string> seen;
  EXPECT_THAT(
      mocked.client->ForEachDecision({}, Listing(0, 2),
                                     [&](const v1::Decision& decision) {
                                       seen.push_back(decision.decision_id());
                                       return absl::OkStatus();
                                     }),
      IsOk());
  EXPECT_THAT(seen, ElementsAre("d5", "d4"));
}

TEST(TradecheckClientTest, ForEachDecisionReturnsTheCallbacksError) {
  auto mocked = MakeMockedClient();
  EXPECT_CALL(*mocked.audit, ListDecisions(_, _, _))
      .WillOnce(DoAll(SetArgPointee<2>(Page({"d2", "d1"}, "t1")),
                      Return(grpc::Status::OK)));
  int calls = 0;
  EXPECT_THAT(
      mocked.client->ForEachDecision({}, {},
                                     [&](const v1::Decision&) {
                                       ++calls;
                                       return absl::CancelledError("enough");
                                     }),
      StatusIs(absl::StatusCode::kCancelled));
  EXPECT_EQ(calls, 1);
}

TEST(TradecheckClientTest, ForEachDecisionRejectsARepeatedToken) {
  auto mocked = MakeMockedClient();
  EXPECT_CALL(*mocked.audit, ListDecisions(_, _, _))
      .WillRepeatedly(DoAll(SetArgPointee<2>(Page({"d1"}, "same")),
                            Return(grpc::Status::OK)));
  EXPECT_THAT(mocked.client->ForEachDecision(
                  {}, {}, [](const v1::Decision&) { return absl::OkStatus(); }),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("page token")));
}

TEST(TradecheckClientTest, ForEachDecisionPassesOnAnRpcError) {
  auto mocked = MakeMockedClient();
  EXPECT_CALL(*mocked.audit, ListDecisions(_, _, _))
      .WillOnce(Return(testing::InvalidArgumentWithViolation(
          "filter.hs_code_prefix", "must be 2 to 10 digits")));
  auto status = mocked.client->ForEachDecision(
      {}, {}, [](const v1::Decision&) { return absl::OkStatus(); });
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_TRUE(BadRequestOf(status).has_value());
}

using Stream =
    grpc::testing::MockClientReaderWriter<v1::CheckDeclarationRequest,
                                          v1::CheckResult>;

// A source that yields `n` requests with ids "D0".."D{n-1}".
TradecheckClient::RequestSource CountingSource(int n, int* produced) {
  return [n, produced]()
             -> absl::StatusOr<std::optional<v1::CheckDeclarationRequest>> {
    if (*produced == n) return std::nullopt;
    v1::CheckDeclarationRequest request;
    request.mutable_declaration()->set_declaration_id(
        absl::StrCat("D", (*produced)++));
    return request;
  };
}

// Read() hands out one result per id, then ends the stream.
void ExpectResults(Stream* stream, const std::vector<std::string>& ids) {
  ::testing::InSequence sequence;
  for (size_t i = 0; i < ids.size(); ++i) {
    v1::CheckResult result;
    result.set_index(i);
    result.set_declaration_id(ids[i]);
    *result.mutable_response() = VerdictWith(v1::OUTCOME_ALLOW);
    EXPECT_CALL(*stream, Read(_))
        .WillOnce(DoAll(SetArgPointee<0>(result), Return(true)));
  }
  EXPECT_CALL(*stream, Read(_)).WillOnce(Return(false));
}

TEST(TradecheckClientTest, CheckStreamSendsEverythingAndDeliversEachResult) {
  ClientOptions options;
  options.stream_timeout = absl::Minutes(3);
  auto mocked = MakeMockedClient(options);
  auto* stream = new Stream();  // owned by the client once returned
  std::vector<std::string> written;
  EXPECT_CALL(*stream, Write(_, _))
      .Times(3)
      .WillRepeatedly(Invoke(
          [&](const v1::CheckDeclarationRequest& request, grpc::WriteOptions) {
            written.push_back(request.declaration().declaration_id());
            return true;
          }));
  EXPECT_CALL(*stream, WritesDone()).WillOnce(Return(true));
  ExpectResults(stream, {"D0", "D1", "D2"});
  EXPECT_CALL(*stream, Finish()).WillOnce(Return(grpc::Status::OK));
  EXPECT_CALL(*mocked.compliance, StreamCheckDeclarationsRaw(_))
      .WillOnce(Invoke([&](grpc::ClientContext* context) {
        const absl::Duration left = TimeLeft(context);
        EXPECT_GT(left, absl::Minutes(2));
        EXPECT_LE(left, absl::Minutes(3));
        return stream;
      }));

  int produced = 0;
  std::vector<std::string> received;
  EXPECT_THAT(
      mocked.client->CheckStream(CountingSource(3, &produced),
                                 [&](const v1::CheckResult& result) {
                                   received.push_back(result.declaration_id());
                                   return absl::OkStatus();
                                 }),
      IsOk());
  EXPECT_THAT(written, ElementsAre("D0", "D1", "D2"));
  EXPECT_THAT(received, ElementsAre("D0", "D1", "D2"));
}

TEST(TradecheckClientTest, CheckStreamReportsMissingResults) {
  auto mocked = MakeMockedClient();
  auto* stream = new Stream();
  EXPECT_CALL(*stream, Write(_, _)).WillRepeatedly(Return(true));
  EXPECT_CALL(*stream, WritesDone()).WillOnce(Return(true));
  ExpectResults(stream, {"D0"});
  EXPECT_CALL(*stream, Finish()).WillOnce(Return(grpc::Status::OK));
  EXPECT_CALL(*mocked.compliance, StreamCheckDeclarationsRaw(_))
      .WillOnce(Return(stream));
  int produced = 0;
  EXPECT_THAT(
      mocked.client->CheckStream(
          CountingSource(2, &produced),
          [](const v1::CheckResult&) { return absl::OkStatus(); }),
      StatusIs(absl::StatusCode::kInternal, HasSubstr("1 results for 2")));
}

TEST(TradecheckClientTest, CheckStreamSourceErrorCancelsAndIsReturned) {
  auto mocked = MakeMockedClient();
  auto* stream = new Stream();
  EXPECT_CALL(*stream, Write(_, _)).WillOnce(Return(true));
  EXPECT_CALL(*stream, WritesDone()).Times(0);
  EXPECT_CALL(*stream, Read(_)).WillRepeatedly(Return(false));
  EXPECT_CALL(*stream, Finish())
      .WillOnce(Return(grpc::Status(grpc::StatusCode::CANCELLED, "")));
  EXPECT_CALL(*mocked.compliance, StreamCheckDeclarationsRaw(_))
      .WillOnce(Return(stream));
  int calls = 0;
  auto source =
      [&]() -> absl::StatusOr<std::optional<v1::CheckDeclarationRequest>> {
    if (calls++ == 0) return v1::CheckDeclarationRequest();
    return absl::DataLossError("batch.jsonl:2: cannot read");
  };
  EXPECT_THAT(
      mocked.client->CheckStream(
          source, [](const v1::CheckResult&) { return absl::OkStatus(); }),
      StatusIs(absl::StatusCode::kDataLoss, HasSubstr("batch.jsonl:2")));
}

TEST(TradecheckClientTest, CheckStreamPassesOnTheStreamsError) {
  auto mocked = MakeMockedClient();
  auto* stream = new Stream();
  EXPECT_CALL(*stream, Write(_, _)).WillRepeatedly(Return(false));
  EXPECT_CALL(*stream, Read(_)).WillRepeatedly(Return(false));
  EXPECT_CALL(*stream, Finish())
      .WillOnce(Return(
          grpc::Status(grpc::StatusCode::UNAVAILABLE, "server shutting down")));
  EXPECT_CALL(*mocked.compliance, StreamCheckDeclarationsRaw(_))
      .WillOnce(Return(stream));
  int produced = 0;
  EXPECT_THAT(mocked.client->CheckStream(
                  CountingSource(5, &produced),
                  [](const v1::CheckResult&) { return absl::OkStatus(); }),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("StreamCheckDeclarations")));
}

TEST(TradecheckClientCreateTest, RejectsBadOptions) {
  ClientOptions no_tls;
  no_tls.ca_cert_file = "/etc/ssl/certs/ca.pem";
  EXPECT_THAT(TradecheckClient::Create(no_tls),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--tls")));

  ClientOptions missing;
  missing.tls = true;
  missing.ca_cert_file = "/nonexistent/ca.pem";
  EXPECT_THAT(
      TradecheckClient::Create(missing),
      StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent/ca.pem")));

  const std::string not_pem =
      ::tradecheck::testing::MakeTempDir("tc-client-test").value() +
      "/not_a_cert.pem";
  std::ofstream(not_pem) << "hello\n";
  ClientOptions garbage;
  garbage.tls = true;
  garbage.ca_cert_file = not_pem;
  EXPECT_THAT(TradecheckClient::Create(garbage),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("no PEM certificate")));

  ClientOptions zero_timeout;
  zero_timeout.timeout = absl::ZeroDuration();
  EXPECT_THAT(TradecheckClient::Create(zero_timeout),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(TradecheckClientCreateTest, CreatingDoesNotConnect) {
  ClientOptions options;
  options.server = "127.0.0.1:1";  // nothing listens there
  EXPECT_THAT(TradecheckClient::Create(options), IsOk());
}

}  // namespace
}  // namespace tradecheck
