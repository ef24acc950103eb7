// End-to-end tests of hostile input against the real server (issue 10):
// each defect an attacker showed over the wire has its test here.
#include <cstdint>
#include <limits>
#include <string>

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/e2e_util.h"
#include "tests/testing/server_process.h"

namespace tradecheck::testing {
namespace {

using ::testing::HasSubstr;

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

}  // namespace
}  // namespace tradecheck::testing
