// The client over a real gRPC channel to an in-process fake server on
// 127.0.0.1: gRPC's own retry policy retries what is safe and nothing else,
// deadlines fire, error details cross the wire in the trailer, and the
// bidirectional stream works over real flow control.
#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/client_test_util.h"
#include "client/errors.h"
#include "client/tradecheck_client.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "grpcpp/server_context.h"
#include "gtest/gtest.h"
#include "tradecheck/v1/admin_service.grpc.pb.h"
#include "tradecheck/v1/agreement_service.grpc.pb.h"
#include "tradecheck/v1/audit_service.grpc.pb.h"
#include "tradecheck/v1/compliance_service.grpc.pb.h"

namespace tradecheck {
namespace {

using ::testing::HasSubstr;
using ::tradecheck::testing::IsOk;
using ::tradecheck::testing::StatusIs;

class FakeCompliance final : public v1::ComplianceService::Service {
 public:
  // The first `failures` checks answer UNAVAILABLE.
  std::atomic<int> failures{0};
  std::atomic<int> calls{0};
  bool reject_with_details = false;

  grpc::Status CheckDeclaration(
      grpc::ServerContext*, const v1::CheckDeclarationRequest* request,
      v1::CheckDeclarationResponse* response) override {
    ++calls;
    if (reject_with_details) {
      return testing::InvalidArgumentWithViolation("lines[0].hs_code",
                                                   "not an HS 2022 subheading");
    }
    if (failures.fetch_sub(1) > 0) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "store not writable");
    }
    response->mutable_verdict()->set_declaration_id(
        request->declaration().declaration_id());
    response->mutable_verdict()->set_outcome(v1::OUTCOME_ALLOW);
    return grpc::Status::OK;
  }

  grpc::Status StreamCheckDeclarations(
      grpc::ServerContext*,
      grpc::ServerReaderWriter<v1::CheckResult, v1::CheckDeclarationRequest>*
          stream) override {
    v1::CheckDeclarationRequest request;
    uint64_t index = 0;
    while (stream->Read(&request)) {
      v1::CheckResult result;
      result.set_index(index++);
      result.set_declaration_id(request.declaration().declaration_id());
      result.mutable_response()->mutable_verdict()->set_outcome(
          v1::OUTCOME_ALLOW);
      if (!stream->Write(result)) break;
    }
    return grpc::Status::OK;
  }
};

class FakeAudit final : public v1::AuditService::Service {
 public:
  std::atomic<int> calls{0};
  grpc::Status GetDecision(grpc::ServerContext*, const v1::GetDecisionRequest*,
                           v1::Decision*) override {
    ++calls;
    return grpc::Status(grpc::StatusCode::INTERNAL, "bug");
  }
};

class FakeAgreement final : public v1::AgreementService::Service {
 public:
  grpc::Status GetRuleSet(grpc::ServerContext* context,
                          const v1::GetRuleSetRequest*,
                          v1::RuleSetInfo*) override {
    // Slower than the client's deadline in the test.
    while (!context->IsCancelled()) absl::SleepFor(absl::Milliseconds(10));
    return grpc::Status(grpc::StatusCode::CANCELLED, "");
  }
};

class FakeAdmin final : public v1::AdminService::Service {
 public:
  std::atomic<int> calls{0};
  grpc::Status CreateBackup(grpc::ServerContext*,
                            const v1::CreateBackupRequest*,
                            v1::CreateBackupResponse*) override {
    ++calls;
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "shutting down");
  }
};

class RetryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    builder.RegisterService(&compliance_);
    builder.RegisterService(&audit_);
    builder.RegisterService(&agreement_);
    builder.RegisterService(&admin_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port, 0);
    address_ = absl::StrCat("127.0.0.1:", port);
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown(absl::ToChronoTime(absl::Now()));
  }

  std::unique_ptr<TradecheckClient> Client(int max_attempts = 4) {
    ClientOptions options;
    options.server = address_;
    options.timeout = absl::Seconds(10);
    options.max_attempts = max_attempts;
    auto client = TradecheckClient::Create(options);
    EXPECT_THAT(client, IsOk());
    return client.ok() ? *std::move(client) : nullptr;
  }

  FakeCompliance compliance_;
  FakeAudit audit_;
  FakeAgreement agreement_;
  FakeAdmin admin_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};

TEST_F(RetryTest, CheckIsRetriedOnUnavailable) {
  compliance_.failures = 2;
  auto response = Client()->Check(testing::PalmOilDeclaration());
  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->verdict().declaration_id(), "MY-PALM-2025-0917");
  EXPECT_EQ(compliance_.calls, 3);
}

TEST_F(RetryTest, RetriesStopAtMaxAttempts) {
  compliance_.failures = 100;
  EXPECT_THAT(Client(/*max_attempts=*/3)->Check(testing::PalmOilDeclaration()),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("store not writable")));
  EXPECT_EQ(compliance_.calls, 3);
}

TEST_F(RetryTest, OneAttemptMeansNoRetry) {
  compliance_.failures = 1;
  EXPECT_THAT(Client(/*max_attempts=*/1)->Check(testing::PalmOilDeclaration()),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(compliance_.calls, 1);
}

TEST_F(RetryTest, BackupIsNeverRetried) {
  EXPECT_THAT(
      Client()->CreateBackup("/srv/backups/tc-2026-03-01"),
      StatusIs(absl::StatusCode::kUnavailable, HasSubstr("CreateBackup")));
  EXPECT_EQ(admin_.calls, 1);
}

TEST_F(RetryTest, OtherErrorsAreNotRetried) {
  EXPECT_THAT(Client()->GetDecision("dec-1"),
              StatusIs(absl::StatusCode::kInternal, "bug"));
  EXPECT_EQ(audit_.calls, 1);
}

TEST_F(RetryTest, DeadlineFires) {
  ClientOptions options;
  options.server = address_;
  options.timeout = absl::Milliseconds(300);
  auto client = TradecheckClient::Create(options);
  ASSERT_THAT(client, IsOk());
  const absl::Time start = absl::Now();
  EXPECT_THAT((*client)->GetRuleSet(),
              StatusIs(absl::StatusCode::kDeadlineExceeded,
                       HasSubstr("GetRuleSet on " + address_)));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST_F(RetryTest, FieldViolationsCrossTheWire) {
  compliance_.reject_with_details = true;
  auto response = Client()->Check(testing::PalmOilDeclaration());
  EXPECT_THAT(response, StatusIs(absl::StatusCode::kInvalidArgument));
  auto bad = BadRequestOf(response.status());
  ASSERT_TRUE(bad.has_value());
  EXPECT_EQ(bad->field_violations(0).field(), "lines[0].hs_code");
  EXPECT_EQ(compliance_.calls, 1);
}

TEST_F(RetryTest, StreamOfManyDeclarations) {
  constexpr int kCount = 3000;
  int sent = 0;
  int received = 0;
  uint64_t index_sum = 0;
  auto status = Client()->CheckStream(
      [&]() -> absl::StatusOr<std::optional<v1::CheckDeclarationRequest>> {
        if (sent == kCount) return std::nullopt;
        v1::CheckDeclarationRequest request;
        *request.mutable_declaration() = testing::PalmOilDeclaration();
        request.mutable_declaration()->set_declaration_id(
            absl::StrCat("MY-PALM-", sent++));
        return request;
      },
      [&](const v1::CheckResult& result) {
        ++received;
        index_sum += result.index();
        return absl::OkStatus();
      });
  EXPECT_THAT(status, IsOk());
  EXPECT_EQ(received, kCount);
  EXPECT_EQ(index_sum, uint64_t{kCount} * (kCount - 1) / 2);
}

TEST_F(RetryTest, SinkErrorCancelsTheStream) {
  int sent = 0;
  auto status = Client()->CheckStream(
      [&]() -> absl::StatusOr<std::optional<v1::CheckDeclarationRequest>> {
        if (sent == 100000) return std::nullopt;
        v1::CheckDeclarationRequest request;
        request.mutable_declaration()->set_declaration_id(
            absl::StrCat("D", sent++));
        return request;
      },
      [&](const v1::CheckResult& result) {
        if (result.index() == 10)
          return absl::UnavailableError("stdout closed");
        return absl::OkStatus();
      });
  EXPECT_THAT(status,
              StatusIs(absl::StatusCode::kUnavailable, "stdout closed"));
  EXPECT_LT(sent, 100000);
}

}  // namespace
}  // namespace tradecheck
