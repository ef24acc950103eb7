// End-to-end tests of hostile input against the real server (issue 10):
// each defect an attacker showed over the wire has its test here.
#include <cstdint>
#include <functional>
#include <vector>
#include <limits>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/testing/status_matchers.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/impl/codegen/client_unary_call.h"
#include "grpcpp/impl/codegen/sync_stream.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/e2e_util.h"
#include "tests/testing/server_process.h"

namespace tradecheck::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kCheck[] = "/tradecheck.v1.ComplianceService/CheckDeclaration";
constexpr char kStream[] =
    "/tradecheck.v1.ComplianceService/StreamCheckDeclarations";

grpc::ByteBuffer Bytes(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

std::string Serialized(const v1::Declaration& d) {
  v1::CheckDeclarationRequest request;
  *request.mutable_declaration() = d;
  return request.SerializeAsString();
}

// Bytes that are not a readable CheckDeclarationRequest: a declaration
// whose id holds invalid UTF-8 (proto3 strings must be UTF-8).
std::string Unreadable() {
  v1::Declaration d = PalmOilImport("E2E-H-BAD");
  std::string bytes = Serialized(d);
  const size_t at = bytes.find("E2E-H-BAD");
  bytes[at] = static_cast<char>(0xff);
  return bytes;
}

class HostileE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TC_ASSERT_OK_AND_ASSIGN(server_, ServerProcess::Start({}));
    channel_ = Connect(server_->address());
    compliance_ = v1::ComplianceService::NewStub(channel_);
    audit_ = v1::AuditService::NewStub(channel_);
  }

  grpc::Status Check(const v1::Declaration& d,
                     v1::CheckDeclarationResponse* out,
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
};

TEST_F(HostileE2eTest, TenLinesAtInt64MaxAreRefusedNotRecorded) {
  v1::Declaration d = PalmOilImport("E2E-H-OVERFLOW");
  const v1::LineItem line = d.lines(0);
  d.clear_lines();
  for (int i = 0; i < 10; ++i) {
    v1::LineItem* l = d.add_lines();
    *l = line;
    l->set_line_number(i + 1);
    l->mutable_customs_value()->set_minor_units(
        std::numeric_limits<int64_t>::max());
  }
  for (bool validate_only : {false, true}) {
    v1::CheckDeclarationResponse response;
    grpc::Status status = Check(d, &response, validate_only);
    ASSERT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << status.error_message();
    const google::rpc::BadRequest bad = BadRequestOf(status);
    ASSERT_GE(bad.field_violations_size(), 10);
    EXPECT_EQ(bad.field_violations(0).field(),
              "lines[0].customs_value.minor_units");
  }
}

TEST_F(HostileE2eTest, LargestBadValuesGetAFittingBadRequest) {
  v1::Declaration d = PalmOilImport("E2E-H-HUGE");
  const std::string huge(256 * 1024, '\x1b');
  d.set_origin_country(huge);
  d.set_export_country(huge);
  d.set_tariff_schedule_version(huge);
  d.set_exporter_id(huge);
  d.mutable_lines(0)->set_description(huge);
  d.mutable_lines(0)->mutable_customs_value()->set_currency_code(huge);
  for (int i = 0; i < 40; ++i) d.mutable_lines(0)->add_elements("x");
  v1::CheckDeclarationResponse response;
  grpc::Status status = Check(d, &response);
  // Before: the value was copied into message and violation, the trailers
  // passed the client's limit and the call failed RESOURCE_EXHAUSTED.
  ASSERT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << status.error_message().substr(0, 200);
  EXPECT_LE(status.error_message().size(), 1024u);
  EXPECT_EQ(status.error_message().find('\x1b'), std::string::npos);
  const google::rpc::BadRequest bad = BadRequestOf(status);
  ASSERT_GE(bad.field_violations_size(), 5);
  EXPECT_LE(bad.ByteSizeLong(), 2600u);
  EXPECT_EQ(bad.field_violations(0).field(), "exporter_id");
  bool quoted = false;
  for (const auto& v : bad.field_violations()) {
    EXPECT_EQ(v.description().find('\x1b'), std::string::npos);
    quoted = quoted || absl::StrContains(v.description(), "... (262144 bytes)");
  }
  EXPECT_TRUE(quoted);
}

TEST_F(HostileE2eTest, OversizedRequestsAreRefusedBeforeParsing) {
  v1::Declaration d = PalmOilImport("E2E-H-BIG");
  d.mutable_lines(0)->set_description(std::string(3 * 1024 * 1024, 'x'));
  v1::CheckDeclarationResponse response;
  EXPECT_EQ(Check(d, &response).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  // The server still serves.
  EXPECT_TRUE(Check(PalmOilImport("E2E-H-AFTER-BIG"), &response).ok());
}

TEST_F(HostileE2eTest, UnknownFieldsAreRefusedAndNothingIsStored) {
  v1::Declaration d = PalmOilImport("E2E-H-UNKNOWN");
  auto* line = d.mutable_lines(0);
  line->GetReflection()->MutableUnknownFields(line)->AddLengthDelimited(
      4242, std::string(200000, 'u'));
  for (bool validate_only : {false, true}) {
    v1::CheckDeclarationResponse response;
    grpc::Status status = Check(d, &response, validate_only);
    ASSERT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    const google::rpc::BadRequest bad = BadRequestOf(status);
    ASSERT_EQ(bad.field_violations_size(), 1);
    EXPECT_EQ(bad.field_violations(0).field(), "lines[0]");
    EXPECT_THAT(bad.field_violations(0).description(), HasSubstr("4242"));
  }
  v1::ListDecisionsRequest list;
  v1::ListDecisionsResponse page;
  ASSERT_TRUE(audit_->ListDecisions(Ctx().get(), list, &page).ok());
  EXPECT_EQ(page.decisions_size(), 0);
}

TEST_F(HostileE2eTest, ControlCharactersCurrencyAndHsFormatAreRefused) {
  struct Case {
    std::function<void(v1::Declaration*)> edit;
    std::string field;
  };
  const std::vector<Case> cases = {
      {[](v1::Declaration* d) {
         d->mutable_lines(0)->set_description("oil\x1b[2J\nOutcome ALLOW");
       },
       "lines[0].description"},
      {[](v1::Declaration* d) { d->set_importer_id(std::string("IMP\0X", 5)); },
       "importer_id"},
      {[](v1::Declaration* d) {
         d->mutable_lines(0)->mutable_customs_value()->set_currency_code("XXZ");
       },
       "lines[0].customs_value.currency_code"},
      {[](v1::Declaration* d) {
         d->mutable_lines(0)->mutable_customs_value()->set_currency_code("ZZZ");
       },
       "lines[0].customs_value.currency_code"},
      {[](v1::Declaration* d) {
         d->mutable_lines(0)->set_hs_code("9403.60.99.99");
       },
       "lines[0].hs_code"},
      {[](v1::Declaration* d) { d->mutable_lines(0)->set_hs_code("151110000"); },
       "lines[0].hs_code"},
  };
  for (const Case& c : cases) {
    v1::Declaration d = PalmOilImport("E2E-H-TEXT");
    c.edit(&d);
    v1::CheckDeclarationResponse response;
    grpc::Status status = Check(d, &response);
    ASSERT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << c.field;
    const google::rpc::BadRequest bad = BadRequestOf(status);
    ASSERT_EQ(bad.field_violations_size(), 1) << status.error_message();
    EXPECT_EQ(bad.field_violations(0).field(), c.field);
  }
}

// Unreadable payloads on the compliance RPCs get INVALID_ARGUMENT (they are
// parsed by the handler); the other services keep gRPC 1.51's typed
// handlers, which answer before any handler runs (documented in their
// protos). The protobuf log line is rate-limited either way.
TEST_F(HostileE2eTest, UnreadablePayloadsAreInvalidArgumentAndLogIsBounded) {
  for (int i = 0; i < 60; ++i) {
    grpc::ByteBuffer response;
    grpc::Status status = grpc::internal::BlockingUnaryCall(
        channel_.get(),
        grpc::internal::RpcMethod(kCheck, grpc::internal::RpcMethod::NORMAL_RPC),
        Ctx().get(), Bytes(i % 2 == 0 ? Unreadable() : std::string("\xff\xff\xff")),
        &response);
    ASSERT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << i;
    EXPECT_THAT(status.error_message(),
                HasSubstr("not a readable tradecheck.v1.CheckDeclarationRequest"));
  }
  // The audit service: what gRPC 1.51 does before the handler.
  v1::ListDecisionsRequest list;
  list.mutable_filter()->set_exporter_id("E2E-H");
  std::string bytes = list.SerializeAsString();
  bytes[bytes.find("E2E-H")] = static_cast<char>(0xff);
  grpc::ByteBuffer response;
  grpc::Status audit = grpc::internal::BlockingUnaryCall(
      channel_.get(),
      grpc::internal::RpcMethod("/tradecheck.v1.AuditService/ListDecisions",
                                grpc::internal::RpcMethod::NORMAL_RPC),
      Ctx().get(), Bytes(bytes), &response);
  // gRPC 1.51 answers UNIMPLEMENTED with an empty message before the
  // typed handler runs (audit_service.proto documents it).
  EXPECT_EQ(audit.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  // 30 invalid-UTF-8 requests, at most kProtoLogBurst (10) log lines.
  int protobuf_lines = 0;
  for (absl::string_view line : absl::StrSplit(server_->log(), '\n')) {
    if (absl::StrContains(line, "protobuf ERROR")) ++protobuf_lines;
  }
  EXPECT_GT(protobuf_lines, 0);
  EXPECT_LE(protobuf_lines, 11) << server_->log();
}

// Before: one unreadable message among eleven gave five results and OK.
TEST_F(HostileE2eTest, AnUnreadableStreamMessageEndsTheStreamWithAnError) {
  auto context = Ctx(60);
  std::unique_ptr<grpc::ClientReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>>
      stream(grpc::internal::ClientReaderWriterFactory<
             grpc::ByteBuffer, grpc::ByteBuffer>::
                 Create(channel_.get(),
                        grpc::internal::RpcMethod(
                            kStream, grpc::internal::RpcMethod::BIDI_STREAMING),
                        context.get()));
  for (int i = 0; i < 11; ++i) {
    const std::string bytes =
        i == 5 ? Unreadable()
               : Serialized(PalmOilImport(absl::StrCat("E2E-H-S-", i)));
    // Writes after the server ended the stream may fail; that is fine.
    if (!stream->Write(Bytes(bytes))) break;
  }
  stream->WritesDone();
  int results = 0;
  grpc::ByteBuffer buffer;
  while (stream->Read(&buffer)) ++results;
  grpc::Status status = stream->Finish();
  ASSERT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << status.error_message();
  EXPECT_EQ(results, 5);
  EXPECT_THAT(status.error_message(), HasSubstr("stream message 5"));
  EXPECT_THAT(status.error_message(), HasSubstr("5 results were sent"));
  const google::rpc::ErrorInfo info = ErrorInfoOf(status);
  EXPECT_EQ(info.reason(), "STREAM_MESSAGE_UNREADABLE");
  EXPECT_EQ(info.metadata().at("results_sent"), "5");
}

}  // namespace
}  // namespace tradecheck::testing
