// GoogleTest matchers for absl::Status and absl::StatusOr<T>. Debian 12's
// Abseil has no status matchers, so the project keeps these two.
//
//   EXPECT_THAT(store->Append(record), IsOk());
//   EXPECT_THAT(LoadRuleSet(dir), StatusIs(absl::StatusCode::kInvalidArgument,
//                                          HasSubstr("line 12")));
#ifndef TRADECHECK_COMMON_TESTING_STATUS_MATCHERS_H_
#define TRADECHECK_COMMON_TESTING_STATUS_MATCHERS_H_

#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"

namespace tradecheck::testing {

inline const absl::Status& GetStatus(const absl::Status& status) {
  return status;
}
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

MATCHER(IsOk, "is OK") {
  const absl::Status& status = GetStatus(arg);
  if (!status.ok()) *result_listener << "status is " << status;
  return status.ok();
}

MATCHER_P(StatusIs, code,
          "has code " + std::string(absl::StatusCodeToString(code))) {
  const absl::Status& status = GetStatus(arg);
  *result_listener << "status is " << status;
  return status.code() == code;
}

MATCHER_P2(StatusIs, code, message_matcher,
           "has code " + std::string(absl::StatusCodeToString(code)) +
               " and a matching message") {
  const absl::Status& status = GetStatus(arg);
  *result_listener << "status is " << status;
  return status.code() == code &&
         ::testing::Matches(message_matcher)(std::string(status.message()));
}

// Unwraps a StatusOr in a test, failing the test when it is an error.
#define TC_ASSERT_OK_AND_ASSIGN(lhs, rexpr)                               \
  TC_ASSERT_OK_AND_ASSIGN_IMPL_(TC_STATUS_CONCAT_(tc_test_sor_, __LINE__), \
                                lhs, rexpr)
#define TC_STATUS_CONCAT_INNER_(a, b) a##b
#define TC_STATUS_CONCAT_(a, b) TC_STATUS_CONCAT_INNER_(a, b)
#define TC_ASSERT_OK_AND_ASSIGN_IMPL_(sor, lhs, rexpr) \
  auto sor = (rexpr);                                  \
  ASSERT_TRUE(sor.ok()) << sor.status();               \
  lhs = std::move(sor).value()

}  // namespace tradecheck::testing

#endif  // TRADECHECK_COMMON_TESTING_STATUS_MATCHERS_H_
