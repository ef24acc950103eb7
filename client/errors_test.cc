#include "client/errors.h"

#include <optional>

#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"

namespace tradecheck {
namespace {

using ::testing::HasSubstr;

google::rpc::Status AlreadyExists() {
  google::rpc::ErrorInfo info;
  info.set_reason("DECLARATION_ID_REUSED");
  info.set_domain("tradecheck.v1");
  (*info.mutable_metadata())["decision_id"] = "dec-000017";
  google::rpc::Status status;
  status.set_code(6);  // ALREADY_EXISTS
  status.set_message("declaration_id VN-EL-77 was used for other content");
  status.add_details()->PackFrom(info);
  return status;
}

TEST(ErrorsTest, RpcStatusBecomesStatusWithDetails) {
  const absl::Status status = StatusFromRpcStatus(AlreadyExists());
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(status.message(),
            "declaration_id VN-EL-77 was used for other content");
  std::optional<google::rpc::ErrorInfo> info = ErrorInfoOf(status);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->metadata().at("decision_id"), "dec-000017");
  EXPECT_FALSE(BadRequestOf(status).has_value());
}

TEST(ErrorsTest, DescribeErrorNamesEveryFieldAndTheHoldingDecision) {
  google::rpc::BadRequest bad;
  auto* v1 = bad.add_field_violations();
  v1->set_field("lines[0].hs_code");
  v1->set_description("not an HS 2022 subheading");
  auto* v2 = bad.add_field_violations();
  v2->set_field("origin_country");
  v2->set_description("\"XX\" is not an ISO 3166-1 code");
  google::rpc::Status rpc;
  rpc.set_code(3);
  rpc.set_message("the declaration is malformed");
  rpc.add_details()->PackFrom(bad);

  EXPECT_EQ(DescribeError(StatusFromRpcStatus(rpc)),
            "INVALID_ARGUMENT: the declaration is malformed\n"
            "  lines[0].hs_code: not an HS 2022 subheading\n"
            "  origin_country: \"XX\" is not an ISO 3166-1 code");
  EXPECT_THAT(DescribeError(StatusFromRpcStatus(AlreadyExists())),
              HasSubstr("decision_id: dec-000017"));
}

TEST(ErrorsTest, OkAndOutOfRangeCodes) {
  EXPECT_TRUE(StatusFromRpcStatus(google::rpc::Status()).ok());
  google::rpc::Status odd;
  odd.set_code(99);
  odd.set_message("?");
  EXPECT_EQ(StatusFromRpcStatus(odd).code(), absl::StatusCode::kUnknown);
}

TEST(ErrorsTest, GarbagePayloadIsIgnored) {
  absl::Status status = absl::InvalidArgumentError("bad");
  status.SetPayload(kBadRequestTypeUrl, absl::Cord("\xff\xff not a proto"));
  EXPECT_FALSE(BadRequestOf(status).has_value());
  EXPECT_EQ(DescribeError(status), "INVALID_ARGUMENT: bad");
}

}  // namespace
}  // namespace tradecheck
