#include "storage/page_token.h"

#include <string>

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tradecheck::storage {
namespace {

using ::testing::HasSubstr;
using ::tradecheck::testing::StatusIs;

TEST(PageTokenTest, RoundTrips) {
  v1::DecisionFilter filter;
  filter.set_exporter_id("EXP-1");
  const std::string digest = FilterDigest(filter);
  const std::string token = EncodePageToken("key", {digest, 41});
  TC_ASSERT_OK_AND_ASSIGN(PageToken back,
                          DecodePageToken("key", token, digest));
  EXPECT_EQ(back.resume_at, 41u);
}

TEST(PageTokenTest, RejectsAlteredForeignOrMismatchedTokens) {
  v1::DecisionFilter filter;
  const std::string digest = FilterDigest(filter);
  std::string token = EncodePageToken("key", {digest, 41});
  std::string altered = token;
  altered[5] = altered[5] == 'A' ? 'B' : 'A';
  EXPECT_THAT(
      DecodePageToken("key", altered, digest),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_token")));
  EXPECT_THAT(
      DecodePageToken("other key", token, digest),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_token")));
  EXPECT_THAT(
      DecodePageToken("key", "garbage!", digest),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_token")));
  filter.set_outcome(v1::OUTCOME_DENY);
  EXPECT_THAT(DecodePageToken("key", token, FilterDigest(filter)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("different filter")));
}

}  // namespace
}  // namespace tradecheck::storage
