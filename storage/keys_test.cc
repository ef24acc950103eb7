#include "storage/keys.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tradecheck::storage::keys {
namespace {

using ::tradecheck::testing::IsOk;
using ::tradecheck::testing::StatusIs;

TEST(KeysTest, TreeNodeKeysSortByStreamLevelIndex) {
  EXPECT_EQ(TreeNodeKey(v1::TRAIL_STREAM_BINDING, 1, 2),
            std::string("b\x01\0\0\0\0\0\0\0\x02", 10));
  EXPECT_LT(TreeNodeKey(v1::TRAIL_STREAM_BINDING, 1, 255),
            TreeNodeKey(v1::TRAIL_STREAM_BINDING, 1, 256));
  EXPECT_LT(TreeNodeKey(v1::TRAIL_STREAM_BINDING, 1, 1000),
            TreeNodeKey(v1::TRAIL_STREAM_BINDING, 2, 0));
  EXPECT_EQ(TreeHeadKey(v1::TRAIL_STREAM_VALIDATE_ONLY, 7),
            RecordKey(v1::TRAIL_STREAM_VALIDATE_ONLY, 7));
}

TEST(KeysTest, RecordKeyRoundTripsAndSortsNumerically) {
  for (uint64_t seq : {uint64_t{1}, uint64_t{255}, uint64_t{256},
                       uint64_t{1} << 40, ~uint64_t{0}}) {
    for (auto stream :
         {v1::TRAIL_STREAM_BINDING, v1::TRAIL_STREAM_VALIDATE_ONLY}) {
      TC_ASSERT_OK_AND_ASSIGN(StreamSeq back,
                              ParseRecordKey(RecordKey(stream, seq)));
      EXPECT_EQ(back.stream, stream);
      EXPECT_EQ(back.sequence, seq);
    }
  }
  EXPECT_LT(RecordKey(v1::TRAIL_STREAM_BINDING, 255),
            RecordKey(v1::TRAIL_STREAM_BINDING, 256));
  EXPECT_THAT(ParseRecordKey("short"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(KeysTest, DecisionIdRoundTripsAndRejectsNonCanonical) {
  EXPECT_EQ(DecisionId(v1::TRAIL_STREAM_BINDING, 42), "b-000000000042");
  EXPECT_EQ(DecisionId(v1::TRAIL_STREAM_VALIDATE_ONLY, 7), "v-000000000007");
  TC_ASSERT_OK_AND_ASSIGN(StreamSeq back, ParseDecisionId("v-000000000007"));
  EXPECT_EQ(back.stream, v1::TRAIL_STREAM_VALIDATE_ONLY);
  EXPECT_EQ(back.sequence, 7u);
  // After an accepted loss the epoch is part of the id.
  EXPECT_EQ(DecisionId(v1::TRAIL_STREAM_BINDING, 42, 1), "b-000000000042");
  EXPECT_EQ(DecisionId(v1::TRAIL_STREAM_BINDING, 42, 3), "b-000000000042-e3");
  TC_ASSERT_OK_AND_ASSIGN(back, ParseDecisionId("b-000000000042-e3"));
  EXPECT_EQ(back.stream, v1::TRAIL_STREAM_BINDING);
  EXPECT_EQ(back.sequence, 42u);
  EXPECT_EQ(back.epoch, 3u);
  for (const char* bad : {"", "b-", "b-1", "x-000000000001", "b-00000000000a",
                          "b-000000000000", "b000000000001",
                          "b-000000000001-e1", "b-000000000001-e",
                          "b-000000000001-e02", "b-000000000001-ex"}) {
    EXPECT_THAT(ParseDecisionId(bad), StatusIs(absl::StatusCode::kNotFound))
        << bad;
  }
}

TEST(KeysTest, PostingKeysRoundTripNewestFirstAndNeverCollide) {
  const std::string p =
      PostingPrefix(Field::kExporter, v1::TRAIL_STREAM_BINDING, "EXP-1");
  TC_ASSERT_OK_AND_ASSIGN(uint64_t seq,
                          ParsePostingSequence(p, PostingKey(p, 99)));
  EXPECT_EQ(seq, 99u);
  // Newer sequences sort first within a prefix.
  EXPECT_LT(PostingKey(p, 100), PostingKey(p, 99));
  // A value that extends another is a different prefix (length-prefixed).
  const std::string longer =
      PostingPrefix(Field::kExporter, v1::TRAIL_STREAM_BINDING, "EXP-10");
  EXPECT_THAT(ParsePostingSequence(p, PostingKey(longer, 5)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_NE(PostingPrefix(Field::kImporter, v1::TRAIL_STREAM_BINDING, "EXP-1"),
            p);
  EXPECT_NE(
      PostingPrefix(Field::kExporter, v1::TRAIL_STREAM_VALIDATE_ONLY, "EXP-1"),
      p);
  EXPECT_NE(OutcomeValue(v1::OUTCOME_ALLOW), OutcomeValue(v1::OUTCOME_DENY));
}

TEST(KeysTest, PostingBlocksRoundTripNewestFirst) {
  for (const std::vector<uint64_t>& ascending :
       std::vector<std::vector<uint64_t>>{
           {7}, {7, 8, 9}, {1, 2, 300, 70000}, {1, (uint64_t{1} << 62) + 5}}) {
    TC_ASSERT_OK_AND_ASSIGN(
        std::vector<uint64_t> back,
        DecodePostingBlock(ascending.front(), EncodePostingBlock(ascending)));
    EXPECT_EQ(back, std::vector<uint64_t>(ascending.rbegin(), ascending.rend()));
  }
  // A contiguous group commit costs a byte per sequence.
  EXPECT_EQ(EncodePostingBlock({100, 101, 102, 103}).size(), 4u);
  // An empty value is one posting: the key's own sequence (version 1).
  TC_ASSERT_OK_AND_ASSIGN(std::vector<uint64_t> single,
                          DecodePostingBlock(42, ""));
  EXPECT_EQ(single, std::vector<uint64_t>{42});
}

TEST(KeysTest, MalformedPostingBlocksAreDataLoss) {
  // Not ending at the key's sequence (the last delta is not 0).
  EXPECT_THAT(DecodePostingBlock(5, std::string("\x02\x01", 2)),
              StatusIs(absl::StatusCode::kDataLoss));
  // A truncated varint.
  EXPECT_THAT(DecodePostingBlock(5, std::string(1, '\x80')),
              StatusIs(absl::StatusCode::kDataLoss));
  // Not newest first.
  EXPECT_THAT(DecodePostingBlock(5, std::string("\x00\x02", 2)),
              StatusIs(absl::StatusCode::kDataLoss));
}

TEST(KeysTest, TimeKeyRoundTripsAndOrdersByTimeAcrossEpoch) {
  const absl::Time before = absl::FromUnixSeconds(-5);
  const absl::Time after = absl::FromUnixNanos(1'780'000'000'123'456'789);
  TC_ASSERT_OK_AND_ASSIGN(
      TimeSeq back, ParseTimeKey(v1::TRAIL_STREAM_BINDING,
                                 TimeKey(v1::TRAIL_STREAM_BINDING, after, 12)));
  EXPECT_EQ(back.recorded_at, after);
  EXPECT_EQ(back.sequence, 12u);
  EXPECT_LT(TimeKey(v1::TRAIL_STREAM_BINDING, before, 9),
            TimeKey(v1::TRAIL_STREAM_BINDING, after, 1));
  EXPECT_THAT(ParseTimeKey(v1::TRAIL_STREAM_VALIDATE_ONLY,
                           TimeKey(v1::TRAIL_STREAM_BINDING, after, 12)),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(KeysTest, ValuesRoundTrip) {
  const std::string digest(32, '\x7f');
  TC_ASSERT_OK_AND_ASSIGN(
      DeclarationEntry entry,
      DecodeDeclarationEntry(EncodeDeclarationEntry({77, digest})));
  EXPECT_EQ(entry.sequence, 77u);
  EXPECT_EQ(entry.digest, digest);
  EXPECT_THAT(DecodeDeclarationEntry("x"),
              StatusIs(absl::StatusCode::kDataLoss));
  for (int64_t v : {int64_t{0}, int64_t{-3}, int64_t{1} << 50}) {
    TC_ASSERT_OK_AND_ASSIGN(int64_t back,
                            DecodeQuotaConsumed(EncodeQuotaConsumed(v)));
    EXPECT_EQ(back, v);
  }
  EXPECT_THAT(DecodeQuotaConsumed("1234567"),
              StatusIs(absl::StatusCode::kDataLoss));
}

TEST(KeysTest, RuleSetKeysStayUnderTheirRevision) {
  const std::string prefix = RuleSetPrefix("rev1");
  EXPECT_EQ(RuleSetFileKey("rev1", "a.txtpb").substr(0, prefix.size()), prefix);
  // "rev1" files never appear under the prefix of "rev10" and vice versa.
  EXPECT_NE(RuleSetFileKey("rev10", "").substr(0, prefix.size()), prefix);
  EXPECT_THAT(ParseRecordKey(RecordKey(v1::TRAIL_STREAM_BINDING, 1)), IsOk());
}


TEST(KeysTest, RetroactiveImpactIdsRoundTripAndOnlyTheCanonicalSpellingParses) {
  EXPECT_EQ(RetroactiveImpactId(1), "ri-000000000001");
  EXPECT_EQ(*ParseRetroactiveImpactId("ri-000000000042"), 42u);
  for (const char* bad : {"ri-1", "ri-000000000000", "ri-00000000001x",
                          "RI-000000000001", "ri-+00000000001", ""}) {
    EXPECT_EQ(ParseRetroactiveImpactId(bad).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
  // Keys order as the numbers do.
  EXPECT_LT(RetroactiveImpactKey(2), RetroactiveImpactKey(256));
}

}  // namespace
}  // namespace tradecheck::storage::keys
