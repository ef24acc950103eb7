// End-to-end tests of the audit queries and reports through the real server
// binary and the real `tradecheck` CLI: get by declaration id, the schema 4
// filters (declaration, governing date range, caller and role, duty range),
// order_by, SummarizeDecisions, and `audit report` as a table, CSV and an
// HTML file rendered by headless Chromium.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/e2e_util.h"
#include "tests/testing/server_process.h"

namespace tradecheck::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

struct Shipment {
  std::string id;
  std::string origin;
  v1::Date entry;
};

v1::Date Day(int y, int m, int d) {
  v1::Date date;
  date.set_year(y);
  date.set_month(m);
  date.set_day(d);
  return date;
}

class QueriesE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto server = ServerProcess::Start({});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = server->release();
    auto channel = Connect(server_->address());
    auto compliance = v1::ComplianceService::NewStub(channel);
    // Palm oil from Malaysia and Thailand entered in Sep, Oct and Nov 2025;
    // the last one checked is a late-filed September entry, so the order
    // of governing dates differs from the order of recording.
    shipments_ = new std::vector<Shipment>{
        {"CBP-ENT-Q-SEP-1", "MY", Day(2025, 9, 15)},
        {"CBP-ENT-Q-SEP-2", "TH", Day(2025, 9, 30)},
        {"CBP-ENT-Q-OCT-1", "MY", Day(2025, 10, 1)},
        {"CBP-ENT-Q-OCT-2", "MY", Day(2025, 10, 20)},
        {"CBP-ENT-Q-OCT-3", "TH", Day(2025, 10, 31)},
        {"CBP-ENT-Q-NOV-1", "TH", Day(2025, 11, 3)},
        {"CBP-ENT-Q-SEP-LATE", "MY", Day(2025, 9, 20)},
    };
    decisions_ = new std::map<std::string, v1::Decision>();
    for (const Shipment& s : *shipments_) {
      v1::CheckDeclarationRequest request;
      v1::Declaration d = PalmOilImport(s.id);
      d.set_origin_country(s.origin);
      d.set_export_country(s.origin);
      *d.mutable_entry_date() = s.entry;
      *d.mutable_export_date() = s.entry;
      *request.mutable_declaration() = d;
      v1::CheckDeclarationResponse response;
      grpc::Status st =
          compliance->CheckDeclaration(Ctx().get(), request, &response);
      ASSERT_TRUE(st.ok()) << st.error_message();
    }
    // A dry run of one of them: found only in the validate-only stream.
    v1::CheckDeclarationRequest dry;
    *dry.mutable_declaration() = PalmOilImport("CBP-ENT-Q-OCT-1");
    dry.set_validate_only(true);
    v1::CheckDeclarationResponse ignored;
    ASSERT_TRUE(
        compliance->CheckDeclaration(Ctx().get(), dry, &ignored).ok());
    auto audit = v1::AuditService::NewStub(channel);
    v1::ListDecisionsRequest all;
    v1::ListDecisionsResponse page;
    ASSERT_TRUE(audit->ListDecisions(Ctx().get(), all, &page).ok());
    for (const v1::Decision& d : page.decisions()) {
      (*decisions_)[d.declaration().declaration_id()] = d;
    }
  }
  static void TearDownTestSuite() {
    delete server_;
    delete shipments_;
    delete decisions_;
  }
  void SetUp() override {
    channel_ = Connect(server_->address());
    audit_ = v1::AuditService::NewStub(channel_);
  }

  std::vector<std::string> ListIds(const v1::ListDecisionsRequest& request,
                                   grpc::Status* status = nullptr) {
    v1::ListDecisionsResponse response;
    grpc::Status s = audit_->ListDecisions(Ctx().get(), request, &response);
    if (status != nullptr) *status = s;
    std::vector<std::string> ids;
    for (const v1::Decision& d : response.decisions()) {
      ids.push_back(d.declaration().declaration_id());
    }
    return ids;
  }
  std::string Cli(const std::string& args) {
    return absl::StrCat(TC_CLI_BINARY, " --server=", server_->address(), " ",
                        args);
  }

  static ServerProcess* server_;
  static std::vector<Shipment>* shipments_;
  static std::map<std::string, v1::Decision>* decisions_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::AuditService::Stub> audit_;
};

ServerProcess* QueriesE2eTest::server_ = nullptr;
std::vector<Shipment>* QueriesE2eTest::shipments_ = nullptr;
std::map<std::string, v1::Decision>* QueriesE2eTest::decisions_ = nullptr;

TEST_F(QueriesE2eTest, GetDecisionByDeclarationId) {
  ASSERT_EQ(decisions_->size(), shipments_->size());
  v1::GetDecisionRequest request;
  request.set_decision_id("CBP-ENT-Q-OCT-2");
  v1::Decision by_declaration;
  grpc::Status s = audit_->GetDecision(Ctx().get(), request, &by_declaration);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(by_declaration.decision_id(),
            decisions_->at("CBP-ENT-Q-OCT-2").decision_id());
  EXPECT_EQ(by_declaration.stream(), v1::TRAIL_STREAM_BINDING);

  request.set_decision_id("CBP-ENT-NEVER-SEEN");
  s = audit_->GetDecision(Ctx().get(), request, &by_declaration);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(s.error_message(), HasSubstr("CBP-ENT-NEVER-SEEN"));

  // The CLI: `decision get` with the id customs knows.
  std::string out;
  EXPECT_EQ(RunCommand(Cli("decision get CBP-ENT-Q-SEP-2 --json"), &out), 0) << out;
  EXPECT_THAT(out, HasSubstr(decisions_->at("CBP-ENT-Q-SEP-2").decision_id()));
}

TEST_F(QueriesE2eTest, FiltersByDeclarationGoverningDateCallerAndDuty) {
  v1::ListDecisionsRequest request;
  request.mutable_filter()->set_declaration_id("CBP-ENT-Q-OCT-1");
  EXPECT_THAT(ListIds(request), ::testing::ElementsAre("CBP-ENT-Q-OCT-1"));
  request.mutable_filter()->set_stream(v1::TRAIL_STREAM_VALIDATE_ONLY);
  EXPECT_THAT(ListIds(request), ::testing::ElementsAre("CBP-ENT-Q-OCT-1"));

  // October 2025 by the date that governed each entry, newest first.
  request.Clear();
  *request.mutable_filter()->mutable_governing_from() = Day(2025, 10, 1);
  *request.mutable_filter()->mutable_governing_to() = Day(2025, 10, 31);
  EXPECT_THAT(ListIds(request),
              ::testing::ElementsAre("CBP-ENT-Q-OCT-3", "CBP-ENT-Q-OCT-2",
                                     "CBP-ENT-Q-OCT-1"));
  request.mutable_filter()->set_origin_country("TH");
  EXPECT_THAT(ListIds(request), ::testing::ElementsAre("CBP-ENT-Q-OCT-3"));

  // The loopback caller is recorded as "local" in the LOCAL role.
  request.Clear();
  request.mutable_filter()->set_caller("local");
  request.mutable_filter()->set_caller_role(v1::CALLER_ROLE_LOCAL);
  EXPECT_EQ(ListIds(request).size(), shipments_->size());
  request.mutable_filter()->set_caller("customs/someone-else");
  EXPECT_TRUE(ListIds(request).empty());

  // Duty range: exactly the decisions whose total duty is in it.
  int64_t lowest = -1;
  for (const auto& [id, d] : *decisions_) {
    const int64_t duty = d.verdict().total_duty().minor_units();
    if (lowest < 0 || duty < lowest) lowest = duty;
  }
  request.Clear();
  request.mutable_filter()->mutable_duty_min()->set_currency_code("USD");
  request.mutable_filter()->mutable_duty_min()->set_minor_units(lowest + 1);
  std::vector<std::string> expected;
  for (auto it = shipments_->rbegin(); it != shipments_->rend(); ++it) {
    if (decisions_->at(it->id).verdict().total_duty().minor_units() > lowest) {
      expected.push_back(it->id);
    }
  }
  EXPECT_EQ(ListIds(request), expected);

  // The CLI spells the same filters as flags.
  std::string out;
  EXPECT_EQ(RunCommand(Cli("audit list --governing-from=2025-09-01 "
                    "--governing-to=2025-09-30 --json"),
                &out),
            0)
      << out;
  EXPECT_THAT(out, HasSubstr("CBP-ENT-Q-SEP-1"));
  EXPECT_THAT(out, HasSubstr("CBP-ENT-Q-SEP-2"));
  EXPECT_THAT(out, Not(HasSubstr("CBP-ENT-Q-OCT-1")));
}

TEST_F(QueriesE2eTest, BadQueriesNameTheField) {
  v1::ListDecisionsRequest request;
  request.set_order_by("governing_date");
  grpc::Status s;
  ListIds(request, &s);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  ASSERT_GT(BadRequestOf(s).field_violations_size(), 0);
  EXPECT_EQ(BadRequestOf(s).field_violations(0).field(), "order_by");
  request.set_order_by("recorded_time desc");
  ListIds(request, &s);
  EXPECT_TRUE(s.ok()) << s.error_message();

  request.Clear();
  *request.mutable_filter()->mutable_governing_from() = Day(2025, 10, 31);
  *request.mutable_filter()->mutable_governing_to() = Day(2025, 10, 1);
  ListIds(request, &s);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  ASSERT_GT(BadRequestOf(s).field_violations_size(), 0);
  EXPECT_EQ(BadRequestOf(s).field_violations(0).field(),
            "filter.governing_to");

  v1::SummarizeDecisionsRequest summarize;
  summarize.add_group_by(v1::SUMMARY_DIMENSION_ORIGIN);
  summarize.add_group_by(v1::SUMMARY_DIMENSION_ORIGIN);
  v1::SummarizeDecisionsResponse summary;
  s = audit_->SummarizeDecisions(Ctx().get(), summarize, &summary);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("group_by[1]"));
}

// AIP-132 governing-date order: by the date that governed each entry, not
// by when it was checked (the late-filed September entry sorts among
// September's), over pages, by RPC and CLI.
TEST_F(QueriesE2eTest, GoverningDateOrderSortsByTheShipmentsDate) {
  const auto list = [&](const std::string& order_by, int page_size) {
    v1::ListDecisionsRequest request;
    *request.mutable_filter()->mutable_governing_from() = Day(2025, 9, 1);
    *request.mutable_filter()->mutable_governing_to() = Day(2025, 11, 30);
    request.set_order_by(order_by);
    request.set_page_size(page_size);
    std::vector<std::string> ids;
    v1::ListDecisionsResponse page;
    do {
      grpc::Status s = audit_->ListDecisions(Ctx().get(), request, &page);
      EXPECT_TRUE(s.ok()) << s.error_message();
      if (!s.ok()) break;
      for (const v1::Decision& d : page.decisions()) {
        ids.push_back(d.declaration().declaration_id());
      }
      request.set_page_token(page.next_page_token());
    } while (!request.page_token().empty());
    return ids;
  };
  const std::vector<std::string> by_date = {
      "CBP-ENT-Q-SEP-1",   "CBP-ENT-Q-SEP-LATE", "CBP-ENT-Q-SEP-2",
      "CBP-ENT-Q-OCT-1",   "CBP-ENT-Q-OCT-2",    "CBP-ENT-Q-OCT-3",
      "CBP-ENT-Q-NOV-1"};
  EXPECT_EQ(list("governing_date asc", 2), by_date);
  EXPECT_EQ(list("governing_date desc", 3),
            std::vector<std::string>(by_date.rbegin(), by_date.rend()));
  // Recorded order puts the late entry last.
  EXPECT_EQ(list("recorded_time asc", 100).back(), "CBP-ENT-Q-SEP-LATE");

  // Without the range it walks, the order is refused naming order_by.
  v1::ListDecisionsRequest unbounded;
  unbounded.set_order_by("governing_date desc");
  grpc::Status s;
  ListIds(unbounded, &s);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  ASSERT_GT(BadRequestOf(s).field_violations_size(), 0);
  EXPECT_EQ(BadRequestOf(s).field_violations(0).field(), "order_by");

  std::string out;
  ASSERT_EQ(RunCommand(Cli("audit list --governing-from=2025-09-01 "
                           "--governing-to=2025-09-30 --order=governing-asc "
                           "--json"),
                       &out),
            0)
      << out;
  EXPECT_LT(out.find("CBP-ENT-Q-SEP-LATE"), out.find("CBP-ENT-Q-SEP-2"));
  EXPECT_LT(out.find("CBP-ENT-Q-SEP-1"), out.find("CBP-ENT-Q-SEP-LATE"));
}

// AIP-132 ascending: the same records as the default order, oldest first,
// page after page; a token of one order does not continue the other.
TEST_F(QueriesE2eTest, RecordedTimeAscListsTheSameRecordsOldestFirst) {
  v1::ListDecisionsRequest request;
  request.mutable_filter()->set_origin_country("MY");
  request.set_page_size(1000);
  grpc::Status s;
  std::vector<std::string> newest = ListIds(request, &s);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_GT(newest.size(), 2u);
  std::vector<std::string> oldest;
  request.set_order_by("recorded_time asc");
  request.set_page_size(2);
  v1::ListDecisionsResponse page;
  do {
    s = audit_->ListDecisions(Ctx().get(), request, &page);
    ASSERT_TRUE(s.ok()) << s.error_message();
    for (const v1::Decision& d : page.decisions()) {
      oldest.push_back(d.declaration().declaration_id());
    }
    request.set_page_token(page.next_page_token());
    if (!request.page_token().empty()) {
      v1::ListDecisionsRequest other = request;
      other.set_order_by("recorded_time desc");
      v1::ListDecisionsResponse refused;
      EXPECT_EQ(audit_->ListDecisions(Ctx().get(), other, &refused).error_code(),
                grpc::StatusCode::INVALID_ARGUMENT);
    }
  } while (!request.page_token().empty());
  std::reverse(newest.begin(), newest.end());
  EXPECT_EQ(oldest, newest);

  // The CLI: --order=asc prints the oldest first.
  std::string out;
  ASSERT_EQ(RunCommand(Cli("audit list --origin=MY --order=asc --json"), &out),
            0)
      << out;
  EXPECT_LT(out.find(newest.front()), out.find(newest.back()));
  EXPECT_EQ(RunCommand(Cli("audit list --order=sideways"), &out), 1) << out;
}

TEST_F(QueriesE2eTest, SummarizeCountsAndSumsWhatTheListHolds) {
  v1::SummarizeDecisionsRequest request;
  *request.mutable_filter()->mutable_governing_from() = Day(2025, 9, 1);
  *request.mutable_filter()->mutable_governing_to() = Day(2025, 11, 30);
  request.add_group_by(v1::SUMMARY_DIMENSION_MONTH);
  request.add_group_by(v1::SUMMARY_DIMENSION_ORIGIN);
  v1::SummarizeDecisionsResponse response;
  grpc::Status s = audit_->SummarizeDecisions(Ctx().get(), request, &response);
  ASSERT_TRUE(s.ok()) << s.error_message();

  // The same figures computed from the decisions themselves.
  std::map<std::vector<std::string>, std::pair<int64_t, int64_t>> expected;
  int64_t duty = 0;
  for (const Shipment& sh : *shipments_) {
    const v1::Decision& d = decisions_->at(sh.id);
    auto& [count, sum] = expected[{absl::StrFormat("%04d-%02d", sh.entry.year(),
                                                   sh.entry.month()),
                                   sh.origin}];
    ++count;
    sum += d.verdict().total_duty().minor_units();
    duty += d.verdict().total_duty().minor_units();
  }
  ASSERT_EQ(response.groups_size(), static_cast<int>(expected.size()));
  for (const v1::SummaryGroup& g : response.groups()) {
    std::vector<std::string> key(g.key().begin(), g.key().end());
    ASSERT_EQ(expected.count(key), 1u) << g.ShortDebugString();
    EXPECT_EQ(g.decisions(), expected[key].first) << g.ShortDebugString();
    const int64_t got =
        g.total_duty_size() > 0 ? g.total_duty(0).minor_units() : 0;
    EXPECT_EQ(got, expected[key].second) << g.ShortDebugString();
  }
  EXPECT_EQ(response.total().decisions(),
            static_cast<int64_t>(shipments_->size()));
  EXPECT_EQ(response.total().allow() + response.total().deny() +
                response.total().needs_review(),
            response.total().decisions());
  ASSERT_EQ(response.total().total_duty_size(), 1);
  EXPECT_EQ(response.total().total_duty(0).minor_units(), duty);
}

TEST_F(QueriesE2eTest, ReportAsTableAndCsv) {
  std::string out;
  ASSERT_EQ(RunCommand(Cli("audit report --from=2025-10-01 --to=2025-10-31 "
                    "--group-by=origin"),
                &out),
            0)
      << out;
  EXPECT_THAT(out, HasSubstr("Decisions governed 2025-10-01 to 2025-10-31"));
  EXPECT_THAT(out, HasSubstr("origin"));
  EXPECT_THAT(out, HasSubstr("MY"));
  EXPECT_THAT(out, HasSubstr("total"));

  ASSERT_EQ(RunCommand(Cli("audit report --from=2025-09-01 --to=2025-11-30 "
                    "--group-by=month,outcome --format=csv"),
                &out, /*with_stderr=*/false),
            0)
      << out;
  std::vector<std::string> lines =
      absl::StrSplit(out, "\r\n", absl::SkipEmpty());
  ASSERT_GE(lines.size(), 3u) << out;
  EXPECT_EQ(lines[0],
            "month,outcome,decisions,allow,needs_review,deny,currency,"
            "duty_minor_units");
  EXPECT_THAT(lines.back(), ::testing::StartsWith(absl::StrCat(
                                "TOTAL,,", shipments_->size(), ",")));

  EXPECT_EQ(RunCommand(Cli("audit report --from=2025-10-01"), &out), 1) << out;
  EXPECT_THAT(out, HasSubstr("--to"));
  EXPECT_EQ(RunCommand(Cli("audit report --from=2025-10-01 --to=2025-10-31 "
                    "--group-by=planet"),
                &out),
            1)
      << out;
  EXPECT_THAT(out, HasSubstr("--group-by"));
}

// The HTML report is one self-contained file; Chromium renders it and the
// laid-out page shows the three charts with their bars and the totals.
TEST_F(QueriesE2eTest, HtmlReportRendersInChromium) {
  std::string dir = ::testing::TempDir() + "/queries_e2e.XXXXXX";
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  const std::string report = dir + "/report.html";
  std::string out;
  ASSERT_EQ(RunCommand(Cli(absl::StrCat("audit report --from=2025-09-01 "
                                 "--to=2025-11-30 --group-by=origin,outcome "
                                 "--format=html --output=",
                                 report)),
                &out),
            0)
      << out;
  const std::string html = ReadFileOrEmpty(report);
  // Nothing is fetched: no script, no link, no external source.
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, Not(HasSubstr("<link")));
  EXPECT_THAT(html, Not(HasSubstr("src=")));
  EXPECT_THAT(html, Not(HasSubstr("url(")));

  std::string chromium;
  for (const char* candidate : {"/usr/bin/chromium", "/usr/bin/chromium-browser"}) {
    if (access(candidate, X_OK) == 0) chromium = candidate;
  }
  if (chromium.empty()) {
    std::filesystem::remove_all(dir);
    GTEST_SKIP() << "chromium is not installed (deploy/install-deps.sh "
                    "installs it); the report was written but not rendered";
  }
  // A copy with a probe appended (the report itself has no script): after
  // layout it writes what the page shows into the DOM Chromium dumps.
  const std::string probe_page = dir + "/probe.html";
  {
    std::ofstream probe(probe_page);
    probe << html << R"(<script>
      const out = [];
      for (const id of ["outcomes-over-time", "duties-by-origin", "top-rules"]) {
        const svg = document.getElementById(id);
        const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
        let bars = 0;
        if (svg) for (const r of svg.querySelectorAll("rect.bar")) {
          const b = r.getBoundingClientRect();
          if (b.width > 0 && b.height > 0) ++bars;
        }
        out.push(id + " " + Math.round(box.width) + "x" +
                 Math.round(box.height) + " bars=" + bars);
      }
      const total = document.getElementById("total-decisions");
      out.push("total=" + (total ? total.innerText : "none"));
      const pre = document.createElement("pre");
      pre.id = "probe";
      pre.textContent = out.join("\n");
      document.body.appendChild(pre);
    </script>)";
  }
  const int code = RunCommand(absl::StrCat(chromium,
                                    " --headless --no-sandbox --disable-gpu "
                                    "--user-data-dir=",
                                    dir, "/profile --dump-dom file://",
                                    probe_page),
                       &out, /*with_stderr=*/false);
  ASSERT_EQ(code, 0) << out;
  const size_t at = out.find("<pre id=\"probe\">");
  ASSERT_NE(at, std::string::npos) << out.substr(0, 2000);
  const std::string probe = out.substr(at, out.find("</pre>", at) - at);
  // Months Sep..Nov: at least one bar each; two origins; some rules.
  EXPECT_THAT(probe, ::testing::ContainsRegex(
                         "outcomes-over-time [1-9][0-9]*x[1-9][0-9]* bars=[3-9]"));
  EXPECT_THAT(probe, ::testing::ContainsRegex(
                         "duties-by-origin [1-9][0-9]*x[1-9][0-9]* bars=2"));
  EXPECT_THAT(probe, ::testing::ContainsRegex(
                         "top-rules [1-9][0-9]*x[1-9][0-9]* bars=[1-9]"));
  EXPECT_THAT(probe, HasSubstr(absl::StrCat("total=", shipments_->size())));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tradecheck::testing
