#include "client/audit_report.h"

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tradecheck {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

v1::SummaryGroup Group(std::vector<std::string> key, int64_t allow,
                       int64_t deny, int64_t duty) {
  v1::SummaryGroup g;
  for (const std::string& k : key) g.add_key(k);
  g.set_allow(allow);
  g.set_deny(deny);
  g.set_decisions(allow + deny);
  v1::Money* m = g.add_total_duty();
  m->set_currency_code("USD");
  m->set_minor_units(duty);
  return g;
}

ReportData Data() {
  ReportData data;
  data.from = "2025-09-01";
  data.to = "2025-09-30";
  data.server = "127.0.0.1:50051";
  data.generated = "2026-12-06 08:00:00 UTC";
  data.grouped.add_group_by(v1::SUMMARY_DIMENSION_ORIGIN);
  *data.grouped.add_groups() = Group({"MY"}, 2, 0, 23750000);
  *data.grouped.add_groups() = Group({"T<H>"}, 0, 1, 0);
  *data.grouped.mutable_total() = Group({}, 2, 1, 23750000);
  data.by_origin = data.grouped;
  data.by_month_outcome.add_group_by(v1::SUMMARY_DIMENSION_MONTH);
  data.by_month_outcome.add_group_by(v1::SUMMARY_DIMENSION_OUTCOME);
  *data.by_month_outcome.add_groups() = Group({"2025-09", "ALLOW"}, 2, 0, 0);
  *data.by_month_outcome.add_groups() = Group({"2025-09", "DENY"}, 0, 1, 0);
  data.by_rule.add_group_by(v1::SUMMARY_DIMENSION_RULE);
  *data.by_rule.add_groups() = Group({"TAR-001"}, 2, 0, 0);
  return data;
}

TEST(AuditReportTest, ParsesGroupBy) {
  auto parsed = ParseGroupBy("origin, hs_chapter,month");
  ASSERT_TRUE(parsed.ok());
  EXPECT_THAT(*parsed, ElementsAre(v1::SUMMARY_DIMENSION_ORIGIN,
                                   v1::SUMMARY_DIMENSION_HS_CHAPTER,
                                   v1::SUMMARY_DIMENSION_MONTH));
  EXPECT_THAT(ParseGroupBy("origin,planet").status().message(),
              HasSubstr("--group-by"));
}

TEST(AuditReportTest, TableAndCsv) {
  const std::string table = RenderReportTable(Data());
  EXPECT_THAT(table, HasSubstr("origin"));
  EXPECT_THAT(table, HasSubstr("USD 237,500.00"));
  EXPECT_THAT(table, HasSubstr("total"));
  const std::string csv = RenderReportCsv(Data());
  EXPECT_THAT(csv, HasSubstr("origin,decisions,allow,needs_review,deny,"
                             "currency,duty_minor_units\r\n"));
  EXPECT_THAT(csv, HasSubstr("MY,2,2,0,0,USD,23750000\r\n"));
  EXPECT_THAT(csv, HasSubstr("TOTAL,3,2,0,1,USD,23750000\r\n"));
}

TEST(AuditReportTest, HtmlIsSelfContainedAndEscaped) {
  const std::string html = RenderReportHtml(Data());
  EXPECT_THAT(html, HasSubstr("<svg id=\"outcomes-over-time\""));
  EXPECT_THAT(html, HasSubstr("<svg id=\"duties-by-origin\""));
  EXPECT_THAT(html, HasSubstr("<svg id=\"top-rules\""));
  EXPECT_THAT(html, HasSubstr("T&lt;H&gt;"));
  EXPECT_THAT(html, Not(HasSubstr("T<H>")));
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, Not(HasSubstr("src=")));
}

}  // namespace
}  // namespace tradecheck
