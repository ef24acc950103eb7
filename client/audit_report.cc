#include "client/audit_report.h"

#include <algorithm>
#include <functional>
#include <tuple>
#include <map>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/money.h"

namespace tradecheck {
namespace {

// The duties of a group as text: "USD 1,250.00" (several currencies joined
// with " + "), "-" when none.
std::string Duties(const v1::SummaryGroup& group) {
  std::vector<std::string> parts;
  for (const v1::Money& m : group.total_duty()) parts.push_back(FormatMoney(m));
  return parts.empty() ? "-" : absl::StrJoin(parts, " + ");
}

std::string Header(const v1::SummarizeDecisionsResponse& r, size_t i) {
  return i < static_cast<size_t>(r.group_by_size())
             ? DimensionName(static_cast<v1::SummaryDimension>(r.group_by(i)))
             : "";
}

std::string HtmlEscape(absl::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::string CsvField(absl::string_view text) {
  if (text.find_first_of(",\"\r\n") == absl::string_view::npos) {
    return std::string(text);
  }
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  return out + "\"";
}

// The currency most of the duty is in (charts draw one currency; the
// tables show every one).
std::string ChartCurrency(const v1::SummarizeDecisionsResponse& r) {
  std::string best;
  int64_t most = -1;
  for (const v1::Money& m : r.total().total_duty()) {
    if (m.minor_units() > most) {
      most = m.minor_units();
      best = m.currency_code();
    }
  }
  return best.empty() ? "USD" : best;
}

int64_t DutyIn(const v1::SummaryGroup& g, const std::string& currency) {
  for (const v1::Money& m : g.total_duty()) {
    if (m.currency_code() == currency) return m.minor_units();
  }
  return 0;
}

constexpr char kAllowColor[] = "#2e7d32";
constexpr char kDenyColor[] = "#c62828";
constexpr char kReviewColor[] = "#ef6c00";

// Stacked columns per month: allow, needs review, deny.
std::string OutcomesOverTime(const v1::SummarizeDecisionsResponse& r) {
  struct Month {
    int64_t allow = 0, deny = 0, review = 0;
  };
  std::map<std::string, Month> months;
  for (const v1::SummaryGroup& g : r.groups()) {
    if (g.key_size() < 1) continue;
    Month& m = months[g.key(0)];
    m.allow += g.allow();
    m.deny += g.deny();
    m.review += g.needs_review();
  }
  int64_t top = 1;
  for (const auto& [name, m] : months) {
    top = std::max(top, m.allow + m.deny + m.review);
  }
  const int bar = 48, gap = 24, height = 200, left = 40, base = 230;
  const int width = left + static_cast<int>(months.size()) * (bar + gap) + gap;
  std::string svg = absl::StrFormat(
      "<svg id=\"outcomes-over-time\" xmlns=\"http://www.w3.org/2000/svg\" "
      "width=\"%d\" height=\"270\" role=\"img\" aria-label=\"Outcomes by "
      "month of the governing date\">\n",
      std::max(width, 240));
  absl::StrAppendFormat(&svg,
                        "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
                        "stroke=\"#555\"/>\n",
                        left - 4, base, std::max(width, 240) - 4, base);
  absl::StrAppendFormat(&svg,
                        "<text x=\"2\" y=\"%d\" font-size=\"11\">%d</text>\n",
                        base - height + 4, top);
  int x = left + gap;
  for (const auto& [name, m] : months) {
    int y = base;
    for (const auto& [count, color, label] :
         {std::make_tuple(m.allow, kAllowColor, "allow"),
          std::make_tuple(m.review, kReviewColor, "needs review"),
          std::make_tuple(m.deny, kDenyColor, "deny")}) {
      if (count == 0) continue;
      const int h = static_cast<int>(count * height / top);
      y -= h;
      absl::StrAppendFormat(
          &svg,
          "<rect class=\"bar\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
          "fill=\"%s\"><title>%s %s: %d</title></rect>\n",
          x, y, bar, std::max(h, 1), color, HtmlEscape(name), label, count);
    }
    absl::StrAppendFormat(&svg,
                          "<text x=\"%d\" y=\"%d\" font-size=\"11\" "
                          "text-anchor=\"middle\">%s</text>\n",
                          x + bar / 2, base + 16, HtmlEscape(name));
    absl::StrAppendFormat(&svg,
                          "<text x=\"%d\" y=\"%d\" font-size=\"11\" "
                          "text-anchor=\"middle\">%d</text>\n",
                          x + bar / 2, y - 4, m.allow + m.deny + m.review);
    x += bar + gap;
  }
  absl::StrAppendFormat(
      &svg,
      "<g font-size=\"11\"><rect x=\"%d\" y=\"252\" width=\"10\" height=\"10\" "
      "fill=\"%s\"/><text x=\"%d\" y=\"261\">allow</text>"
      "<rect x=\"%d\" y=\"252\" width=\"10\" height=\"10\" fill=\"%s\"/>"
      "<text x=\"%d\" y=\"261\">needs review</text>"
      "<rect x=\"%d\" y=\"252\" width=\"10\" height=\"10\" fill=\"%s\"/>"
      "<text x=\"%d\" y=\"261\">deny</text></g>\n",
      left, kAllowColor, left + 14, left + 60, kReviewColor, left + 74,
      left + 160, kDenyColor, left + 174);
  return svg + "</svg>\n";
}

// Horizontal bars, one per group, longest first (at most `limit`).
std::string HorizontalBars(const std::string& id, const std::string& label,
                           std::vector<std::pair<std::string, int64_t>> rows,
                           const std::function<std::string(int64_t)>& text,
                           size_t limit) {
  std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    return a.second > b.second;
  });
  if (rows.size() > limit) rows.resize(limit);
  int64_t top = 1;
  for (const auto& row : rows) top = std::max(top, row.second);
  const int row_height = 22, name_width = 110, bar_width = 320;
  const int height = std::max<int>(1, rows.size()) * row_height + 8;
  std::string svg = absl::StrFormat(
      "<svg id=\"%s\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
      "height=\"%d\" role=\"img\" aria-label=\"%s\">\n",
      id, name_width + bar_width + 160, height, HtmlEscape(label));
  int y = 4;
  for (const auto& [name, value] : rows) {
    const int w = static_cast<int>(value * bar_width / top);
    absl::StrAppendFormat(
        &svg,
        "<text x=\"%d\" y=\"%d\" font-size=\"12\" text-anchor=\"end\">%s"
        "</text>\n<rect class=\"bar\" x=\"%d\" y=\"%d\" width=\"%d\" "
        "height=\"16\" fill=\"#1565c0\"><title>%s: %s</title></rect>\n"
        "<text x=\"%d\" y=\"%d\" font-size=\"12\">%s</text>\n",
        name_width - 6, y + 13, HtmlEscape(name), name_width, y,
        std::max(w, 1), HtmlEscape(name), HtmlEscape(text(value)),
        name_width + std::max(w, 1) + 6, y + 13, HtmlEscape(text(value)));
    y += row_height;
  }
  if (rows.empty()) {
    svg += "<text x=\"4\" y=\"18\" font-size=\"12\">no decisions</text>\n";
  }
  return svg + "</svg>\n";
}

}  // namespace

absl::StatusOr<std::vector<v1::SummaryDimension>> ParseGroupBy(
    absl::string_view text) {
  std::vector<v1::SummaryDimension> out;
  for (absl::string_view part :
       absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    std::string name = absl::AsciiStrToLower(absl::StripAsciiWhitespace(part));
    std::replace(name.begin(), name.end(), '_', '-');
    v1::SummaryDimension d = v1::SUMMARY_DIMENSION_UNSPECIFIED;
    if (name == "outcome") d = v1::SUMMARY_DIMENSION_OUTCOME;
    if (name == "rule") d = v1::SUMMARY_DIMENSION_RULE;
    if (name == "origin") d = v1::SUMMARY_DIMENSION_ORIGIN;
    if (name == "destination") d = v1::SUMMARY_DIMENSION_DESTINATION;
    if (name == "hs-chapter" || name == "chapter") {
      d = v1::SUMMARY_DIMENSION_HS_CHAPTER;
    }
    if (name == "exporter") d = v1::SUMMARY_DIMENSION_EXPORTER;
    if (name == "month") d = v1::SUMMARY_DIMENSION_MONTH;
    if (d == v1::SUMMARY_DIMENSION_UNSPECIFIED) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--group-by: unknown dimension \"", part,
          "\"; expected outcome, rule, origin, destination, hs-chapter, "
          "exporter or month"));
    }
    out.push_back(d);
  }
  return out;
}

std::string DimensionName(v1::SummaryDimension dimension) {
  switch (dimension) {
    case v1::SUMMARY_DIMENSION_OUTCOME: return "outcome";
    case v1::SUMMARY_DIMENSION_RULE: return "rule";
    case v1::SUMMARY_DIMENSION_ORIGIN: return "origin";
    case v1::SUMMARY_DIMENSION_DESTINATION: return "destination";
    case v1::SUMMARY_DIMENSION_HS_CHAPTER: return "hs-chapter";
    case v1::SUMMARY_DIMENSION_EXPORTER: return "exporter";
    case v1::SUMMARY_DIMENSION_MONTH: return "month";
    default: return "?";
  }
}

std::string RenderReportTable(const ReportData& data) {
  const v1::SummarizeDecisionsResponse& r = data.grouped;
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> header;
  for (int i = 0; i < r.group_by_size(); ++i) header.push_back(Header(r, i));
  for (const char* h : {"decisions", "allow", "needs review", "deny", "duty"}) {
    header.push_back(h);
  }
  rows.push_back(header);
  auto add = [&](std::vector<std::string> key, const v1::SummaryGroup& g) {
    std::vector<std::string> row = std::move(key);
    for (int64_t n : {g.decisions(), g.allow(), g.needs_review(), g.deny()}) {
      row.push_back(absl::StrCat(n));
    }
    row.push_back(Duties(g));
    rows.push_back(std::move(row));
  };
  for (const v1::SummaryGroup& g : r.groups()) {
    add({g.key().begin(), g.key().end()}, g);
  }
  std::vector<std::string> total_key(r.group_by_size(), "");
  if (!total_key.empty()) total_key[0] = "total";
  add(total_key, r.total());

  std::vector<size_t> widths(header.size(), 0);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  std::string out = absl::StrCat("Decisions governed ", data.from, " to ",
                                 data.to, "\n\n");
  const size_t keys = r.group_by_size();
  for (size_t n = 0; n < rows.size(); ++n) {
    if (n + 1 == rows.size() && rows.size() > 1) out += "\n";
    std::string line;
    for (size_t i = 0; i < rows[n].size(); ++i) {
      const std::string& cell = rows[n][i];
      const std::string pad(widths[i] - cell.size(), ' ');
      // Keys left-aligned, numbers right-aligned.
      absl::StrAppend(&line, i == 0 ? "" : "  ",
                      i < keys ? cell + pad : pad + cell);
    }
    out += std::string(absl::StripTrailingAsciiWhitespace(line)) + "\n";
  }
  if (r.group_by_size() > 0 &&
      std::any_of(r.group_by().begin(), r.group_by().end(), [](int d) {
        return d == v1::SUMMARY_DIMENSION_RULE ||
               d == v1::SUMMARY_DIMENSION_HS_CHAPTER;
      })) {
    out +=
        "\n(a decision counts in each rule / chapter group it has, so the "
        "groups add up to more than the total)\n";
  }
  return out;
}

std::string RenderReportCsv(const ReportData& data) {
  const v1::SummarizeDecisionsResponse& r = data.grouped;
  std::vector<std::string> header;
  for (int i = 0; i < r.group_by_size(); ++i) header.push_back(Header(r, i));
  for (const char* h : {"decisions", "allow", "needs_review", "deny",
                        "currency", "duty_minor_units"}) {
    header.push_back(h);
  }
  std::string out = absl::StrJoin(header, ",") + "\r\n";
  auto add = [&](std::vector<std::string> key, const v1::SummaryGroup& g) {
    // One row per currency (one row with no currency when there is no
    // duty), so a spreadsheet can sum the column.
    std::vector<std::pair<std::string, std::string>> duties;
    for (const v1::Money& m : g.total_duty()) {
      duties.emplace_back(m.currency_code(), absl::StrCat(m.minor_units()));
    }
    if (duties.empty()) duties.emplace_back("", "0");
    for (const auto& [currency, minor] : duties) {
      std::vector<std::string> row;
      for (const std::string& k : key) row.push_back(CsvField(k));
      for (int64_t n : {g.decisions(), g.allow(), g.needs_review(), g.deny()}) {
        row.push_back(absl::StrCat(n));
      }
      row.push_back(currency);
      row.push_back(minor);
      out += absl::StrJoin(row, ",") + "\r\n";
    }
  };
  for (const v1::SummaryGroup& g : r.groups()) {
    add({g.key().begin(), g.key().end()}, g);
  }
  std::vector<std::string> total_key(r.group_by_size(), "");
  if (!total_key.empty()) total_key[0] = "TOTAL";
  add(total_key, r.total());
  return out;
}

std::string RenderReportHtml(const ReportData& data) {
  const v1::SummaryGroup& total = data.grouped.total();
  std::string html = absl::StrCat(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<title>tradecheck audit report ",
      HtmlEscape(data.from), " to ", HtmlEscape(data.to),
      "</title>\n<style>\n"
      "body{font-family:sans-serif;margin:2em;color:#222}\n"
      "table{border-collapse:collapse;margin:1em 0}\n"
      "td,th{border:1px solid #bbb;padding:3px 8px}\n"
      "td.n{text-align:right}\nh2{margin-top:1.5em}\n"
      "</style>\n</head>\n<body>\n<h1>Audit report: decisions governed ",
      HtmlEscape(data.from), " to ", HtmlEscape(data.to), "</h1>\n");
  absl::StrAppend(&html, "<p>Binding decisions whose governing date (entry "
                         "or export date) falls in the range, as recorded in "
                         "the audit trail of ",
                  HtmlEscape(data.server), "; made ",
                  HtmlEscape(data.generated), ".</p>\n");
  absl::StrAppend(
      &html, "<table id=\"totals\">\n<tr><th>decisions</th><th>allow</th>"
             "<th>needs review</th><th>deny</th><th>duty</th></tr>\n<tr>"
             "<td class=\"n\" id=\"total-decisions\">",
      total.decisions(), "</td><td class=\"n\" id=\"total-allow\">",
      total.allow(), "</td><td class=\"n\" id=\"total-review\">",
      total.needs_review(), "</td><td class=\"n\" id=\"total-deny\">",
      total.deny(), "</td><td class=\"n\" id=\"total-duty\">",
      HtmlEscape(Duties(total)), "</td></tr>\n</table>\n");

  absl::StrAppend(&html, "<h2>Outcomes over time</h2>\n",
                  OutcomesOverTime(data.by_month_outcome));

  const std::string currency = ChartCurrency(data.by_origin);
  std::vector<std::pair<std::string, int64_t>> origins;
  for (const v1::SummaryGroup& g : data.by_origin.groups()) {
    if (g.key_size() > 0) origins.emplace_back(g.key(0), DutyIn(g, currency));
  }
  absl::StrAppend(
      &html, "<h2>Duties by origin (", HtmlEscape(currency), ")</h2>\n",
      HorizontalBars("duties-by-origin", "Duties by origin", origins,
                     [&](int64_t minor) {
                       v1::Money m;
                       m.set_currency_code(currency);
                       m.set_minor_units(minor);
                       return FormatMoney(m);
                     },
                     20));

  std::vector<std::pair<std::string, int64_t>> rules;
  for (const v1::SummaryGroup& g : data.by_rule.groups()) {
    if (g.key_size() > 0) rules.emplace_back(g.key(0), g.decisions());
  }
  absl::StrAppend(
      &html, "<h2>Top rules (decisions with a finding of the rule)</h2>\n",
      HorizontalBars("top-rules", "Top rules", rules,
                     [](int64_t n) { return absl::StrCat(n); }, 10));

  // The grouped table.
  const v1::SummarizeDecisionsResponse& r = data.grouped;
  if (r.group_by_size() > 0) {
    absl::StrAppend(&html, "<h2>By ");
    std::vector<std::string> names;
    for (int i = 0; i < r.group_by_size(); ++i) names.push_back(Header(r, i));
    absl::StrAppend(&html, HtmlEscape(absl::StrJoin(names, ", ")),
                    "</h2>\n<table id=\"groups\">\n<tr>");
    for (const std::string& n : names) {
      absl::StrAppend(&html, "<th>", HtmlEscape(n), "</th>");
    }
    absl::StrAppend(&html, "<th>decisions</th><th>allow</th><th>needs "
                           "review</th><th>deny</th><th>duty</th></tr>\n");
    for (const v1::SummaryGroup& g : r.groups()) {
      absl::StrAppend(&html, "<tr>");
      for (const std::string& k : g.key()) {
        absl::StrAppend(&html, "<td>", HtmlEscape(k), "</td>");
      }
      absl::StrAppend(&html, "<td class=\"n\">", g.decisions(),
                      "</td><td class=\"n\">", g.allow(),
                      "</td><td class=\"n\">", g.needs_review(),
                      "</td><td class=\"n\">", g.deny(),
                      "</td><td class=\"n\">", HtmlEscape(Duties(g)),
                      "</td></tr>\n");
    }
    absl::StrAppend(&html, "</table>\n");
  }
  absl::StrAppend(&html, "</body>\n</html>\n");
  return html;
}

}  // namespace tradecheck
