// The retry policy is data handed to gRPC; these tests read it back as JSON
// and check which methods may be retried. retry_test.cc checks that gRPC
// actually retries with it.
#include "client/service_config.h"

#include <set>
#include <string>

#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace tradecheck {
namespace {

using ::testing::Contains;
using ::testing::Not;

google::protobuf::Struct Parse(const std::string& json) {
  google::protobuf::Struct config;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &config).ok())
      << json;
  return config;
}

// "service/method" (or "service/" for a whole service) of every name with a
// retryPolicy.
std::set<std::string> RetriedNames(const google::protobuf::Struct& config) {
  std::set<std::string> names;
  for (const auto& method_config :
       config.fields().at("methodConfig").list_value().values()) {
    const auto& fields = method_config.struct_value().fields();
    if (fields.count("retryPolicy") == 0) continue;
    for (const auto& name : fields.at("name").list_value().values()) {
      const auto& n = name.struct_value().fields();
      names.insert(n.at("service").string_value() + "/" +
                   (n.count("method") ? n.at("method").string_value() : ""));
    }
  }
  return names;
}

TEST(ServiceConfigTest, RetriesOnlyIdempotentCalls) {
  const std::set<std::string> names =
      RetriedNames(Parse(RetryServiceConfigJson(4)));
  EXPECT_THAT(names,
              Contains("tradecheck.v1.ComplianceService/CheckDeclaration"));
  EXPECT_THAT(names,
              Contains("tradecheck.v1.ComplianceService/CheckDeclarations"));
  EXPECT_THAT(names, Contains("tradecheck.v1.AuditService/"));
  EXPECT_THAT(names, Contains("tradecheck.v1.AgreementService/"));
  EXPECT_THAT(names, Contains("tradecheck.v1.AdminService/ReloadRuleSet"));
  EXPECT_THAT(names, Contains("tradecheck.v1.AdminService/GetStoreStats"));
  EXPECT_THAT(names, Not(Contains("tradecheck.v1.AdminService/")));
  EXPECT_THAT(names, Not(Contains("tradecheck.v1.AdminService/CreateBackup")));
  EXPECT_THAT(names, Not(Contains("tradecheck.v1.ComplianceService/")));
  EXPECT_THAT(
      names,
      Not(Contains("tradecheck.v1.ComplianceService/StreamCheckDeclarations")));
}

TEST(ServiceConfigTest, RetriesUnavailableOnlyWithinGrpcsLimit) {
  const google::protobuf::Struct config = Parse(RetryServiceConfigJson(9));
  const auto& policy = config.fields()
                           .at("methodConfig")
                           .list_value()
                           .values(0)
                           .struct_value()
                           .fields()
                           .at("retryPolicy")
                           .struct_value()
                           .fields();
  EXPECT_EQ(policy.at("maxAttempts").number_value(), 5);
  const auto& codes = policy.at("retryableStatusCodes").list_value();
  ASSERT_EQ(codes.values_size(), 1);
  EXPECT_EQ(codes.values(0).string_value(), "UNAVAILABLE");
}

TEST(ServiceConfigTest, OneAttemptMeansNoRetryPolicy) {
  EXPECT_EQ(RetryServiceConfigJson(1), "{}");
}

}  // namespace
}  // namespace tradecheck
