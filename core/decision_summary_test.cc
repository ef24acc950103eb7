#include "core/decision_summary.h"

#include "common/proto_bytes.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/decision_index.h"

namespace tradecheck {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::tradecheck::testing::StatusIs;

v1::Decision Make(v1::Outcome outcome, const std::string& origin,
                  std::vector<std::pair<std::string, int64_t>> lines,
                  std::vector<std::string> rules, int month) {
  v1::Decision d;
  d.mutable_declaration()->set_origin_country(origin);
  d.mutable_declaration()->set_destination_country("US");
  d.mutable_declaration()->set_exporter_id("EXP-" + origin);
  d.mutable_verdict()->set_outcome(outcome);
  int64_t total = 0;
  for (const auto& [hs, duty] : lines) {
    d.mutable_declaration()->add_lines()->set_hs_code(hs);
    v1::LineVerdict* lv = d.mutable_verdict()->add_lines();
    lv->mutable_total_duty()->set_currency_code("USD");
    lv->mutable_total_duty()->set_minor_units(duty);
    total += duty;
  }
  d.mutable_verdict()->mutable_total_duty()->set_currency_code("USD");
  d.mutable_verdict()->mutable_total_duty()->set_minor_units(total);
  for (const std::string& r : rules) {
    d.mutable_verdict()->add_findings()->set_rule_id(r);
  }
  d.mutable_governing_date()->set_year(2025);
  d.mutable_governing_date()->set_month(month);
  d.mutable_governing_date()->set_day(15);
  return d;
}

google::protobuf::RepeatedField<int> By(std::vector<v1::SummaryDimension> ds) {
  google::protobuf::RepeatedField<int> out;
  for (auto d : ds) out.Add(d);
  return out;
}

TEST(DecisionSummaryTest, GroupsByOriginAndOutcomeWithDuties) {
  DecisionSummary s(By({v1::SUMMARY_DIMENSION_ORIGIN,
                        v1::SUMMARY_DIMENSION_OUTCOME}));
  s.Add(Make(v1::OUTCOME_ALLOW, "MY", {{"151110", 1000}}, {"TAR-001"}, 9));
  s.Add(Make(v1::OUTCOME_ALLOW, "MY", {{"151110", 500}}, {"TAR-001"}, 9));
  s.Add(Make(v1::OUTCOME_DENY, "CN", {{"280530", 0}}, {"CM-002"}, 10));
  v1::SummarizeDecisionsResponse r = s.Finish();
  ASSERT_EQ(r.groups_size(), 2);
  EXPECT_THAT(r.groups(0).key(), ElementsAre("CN", "DENY"));
  EXPECT_EQ(r.groups(0).deny(), 1);
  EXPECT_THAT(r.groups(1).key(), ElementsAre("MY", "ALLOW"));
  EXPECT_EQ(r.groups(1).decisions(), 2);
  EXPECT_EQ(r.groups(1).total_duty(0).minor_units(), 1500);
  EXPECT_EQ(r.total().decisions(), 3);
  EXPECT_EQ(r.total().allow(), 2);
  EXPECT_EQ(r.total().total_duty(0).minor_units(), 1500);
}

TEST(DecisionSummaryTest, ChapterGroupsCarryTheirLinesDuty) {
  DecisionSummary s(By({v1::SUMMARY_DIMENSION_HS_CHAPTER}));
  s.Add(Make(v1::OUTCOME_ALLOW, "VN", {{"610910", 300}, {"640411", 200}},
             {}, 11));
  v1::SummarizeDecisionsResponse r = s.Finish();
  ASSERT_EQ(r.groups_size(), 2);
  EXPECT_THAT(r.groups(0).key(), ElementsAre("61"));
  EXPECT_EQ(r.groups(0).total_duty(0).minor_units(), 300);
  EXPECT_THAT(r.groups(1).key(), ElementsAre("64"));
  EXPECT_EQ(r.groups(1).total_duty(0).minor_units(), 200);
  EXPECT_EQ(r.total().total_duty(0).minor_units(), 500);
}

TEST(DecisionSummaryTest, RulesAndMonths) {
  DecisionSummary s(By({v1::SUMMARY_DIMENSION_MONTH,
                        v1::SUMMARY_DIMENSION_RULE}));
  s.Add(Make(v1::OUTCOME_NEEDS_REVIEW, "MY", {{"151110", 10}},
             {"ROO-004", "TAR-001"}, 9));
  v1::SummarizeDecisionsResponse r = s.Finish();
  ASSERT_EQ(r.groups_size(), 2);
  EXPECT_THAT(r.groups(0).key(), ElementsAre("2025-09", "ROO-004"));
  EXPECT_THAT(r.groups(1).key(), ElementsAre("2025-09", "TAR-001"));
  EXPECT_EQ(r.total().needs_review(), 1);
}

// The store answers summaries from summary rows (storage::SummaryRow), not
// records: for every dimension, alone and in pairs, the rows must sum to
// exactly what the records do. A dimension added here without its fields
// in the row fails this test.
TEST(DecisionSummaryTest, SummaryRowsSumLikeTheirRecords) {
  std::vector<v1::Decision> records = {
      Make(v1::OUTCOME_ALLOW, "MY", {{"151110", 1000}, {"400110", 250}},
           {"TAR-001"}, 9),
      Make(v1::OUTCOME_DENY, "CN", {{"280530", 0}}, {"CM-002", "CM-001"}, 10),
      Make(v1::OUTCOME_NEEDS_REVIEW, "VN", {{"640411", 7000}}, {}, 10),
  };
  // Rules named on lines as well as on the verdict, some more than once.
  v1::Verdict& v = *records[0].mutable_verdict();
  v.mutable_lines(0)->add_findings()->set_rule_id("ZT-003");
  v.mutable_lines(1)->add_findings()->set_rule_id("TAR-001");
  records[2].mutable_declaration()->set_destination_country("CA");
  std::vector<google::protobuf::RepeatedField<int>> groupings = {{}};
  for (int a = v1::SummaryDimension_MIN; a <= v1::SummaryDimension_MAX; ++a) {
    if (a == v1::SUMMARY_DIMENSION_UNSPECIFIED ||
        !v1::SummaryDimension_IsValid(a)) {
      continue;
    }
    groupings.push_back(By({static_cast<v1::SummaryDimension>(a)}));
    for (int b = a + 1; b <= v1::SummaryDimension_MAX; ++b) {
      if (!v1::SummaryDimension_IsValid(b)) continue;
      groupings.push_back(By({static_cast<v1::SummaryDimension>(a),
                              static_cast<v1::SummaryDimension>(b)}));
    }
  }
  ASSERT_GT(groupings.size(), 20u);
  for (const auto& group_by : groupings) {
    DecisionSummary from_records(group_by), from_rows(group_by);
    for (const v1::Decision& d : records) {
      from_records.Add(d);
      from_rows.Add(storage::SummaryRow(d));
    }
    EXPECT_EQ(SerializeDeterministic(from_rows.Finish()),
              SerializeDeterministic(from_records.Finish()))
        << from_records.Finish().ShortDebugString();
  }
}

TEST(DecisionSummaryTest, BadGroupByNamesTheEntry) {
  EXPECT_THAT(ValidateGroupBy(By({v1::SUMMARY_DIMENSION_ORIGIN,
                                  v1::SUMMARY_DIMENSION_ORIGIN})),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("group_by[1]")));
  google::protobuf::RepeatedField<int> unknown;
  unknown.Add(99);
  EXPECT_THAT(ValidateGroupBy(unknown),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("group_by[0]")));
}

}  // namespace
}  // namespace tradecheck
