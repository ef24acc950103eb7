// `tradecheck audit report`: renders SummarizeDecisions answers as a text
// table, CSV, or one self-contained HTML file (inline SVG charts: outcomes
// over time, duties by origin, top rules; no script, font or image fetched
// from anywhere) that an auditor can attach to a finding. Pure formatting:
// the command (cli.cc) makes the calls.
//
//   ReportData data;  // filled from SummarizeDecisions calls
//   std::string html = RenderReportHtml(data);
#ifndef TRADECHECK_CLIENT_AUDIT_REPORT_H_
#define TRADECHECK_CLIENT_AUDIT_REPORT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tradecheck/v1/audit_service.pb.h"

namespace tradecheck {

// "outcome,origin" -> the dimensions, in order. INVALID_ARGUMENT naming
// --group-by for an unknown name. Names: outcome, rule, origin, destination,
// hs-chapter (or chapter), exporter, month.
absl::StatusOr<std::vector<v1::SummaryDimension>> ParseGroupBy(
    absl::string_view text);
// "outcome", "hs-chapter", ...
std::string DimensionName(v1::SummaryDimension dimension);

struct ReportData {
  std::string from;  // governing dates, YYYY-MM-DD, inclusive
  std::string to;
  std::string generated;  // when the report was made (UTC, RFC 3339)
  std::string server;
  // Grouped as the user asked (--group-by).
  v1::SummarizeDecisionsResponse grouped;
  // For the HTML charts.
  v1::SummarizeDecisionsResponse by_month_outcome;
  v1::SummarizeDecisionsResponse by_origin;
  v1::SummarizeDecisionsResponse by_rule;
};

// Aligned text columns with a total line.
std::string RenderReportTable(const ReportData& data);
// RFC 4180 CSV: one header row, one row per group, then the total row.
std::string RenderReportCsv(const ReportData& data);
// One HTML5 document, everything inline.
std::string RenderReportHtml(const ReportData& data);

}  // namespace tradecheck

#endif  // TRADECHECK_CLIENT_AUDIT_REPORT_H_
