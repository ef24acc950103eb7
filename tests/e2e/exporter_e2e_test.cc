// End-to-end tests of what exporters and data owners ask for (issue 13):
// typed margins in a verdict, the measures lookup and the preview of a rule
// change, each over the real server on a loopback port, through the RPCs
// and through the `tradecheck` CLI.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/e2e_util.h"
#include "tests/testing/server_process.h"

namespace tradecheck::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::UnorderedElementsAreArray;

// A Malaysian motor whose Chinese magnet is 0.14 % of its value, shipped
// after MOFCOM No. 61's suspension ended: the content rule decides.
v1::Declaration MotorWithChineseMagnet(const std::string& id) {
  v1::Declaration d = ParseText<v1::Declaration>(R"pb(
    kind: DECLARATION_KIND_EXPORT_SHIPMENT
    exporter_id: "EXP-MY"
    importer_id: "IMP-US-01"
    origin_country: "MY"
    export_country: "MY"
    destination_country: "US"
    export_date { year: 2026 month: 11 day: 11 }
    lines {
      line_number: 1
      hs_code: "850134"
      description: "EV traction motor"
      customs_value { currency_code: "USD" minor_units: 10000000 }
      bill_of_materials_status: BILL_OF_MATERIALS_STATUS_COMPLETE
      bill_of_materials {
        hs_code: "850511"
        description: "NdFeB magnet (Dy)"
        origin_country: "CN"
        value { currency_code: "USD" minor_units: 14000 }
        elements: "Nd"
        elements: "Dy"
      }
      bill_of_materials {
        hs_code: "850300"
        description: "stator and housing"
        origin_country: "MY"
        value { currency_code: "USD" minor_units: 3000000 }
      }
    }
  )pb");
  d.set_declaration_id(id);
  return d;
}

class ExporterE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    candidates_ = TempDir("tc-candidates");
    ASSERT_FALSE(candidates_.empty());
    ServerProcessOptions options;
    options.extra_flags = {"--candidates_root=" + candidates_};
    auto server = ServerProcess::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    channel_ = Connect(server_->address());
    compliance_ = v1::ComplianceService::NewStub(channel_);
    agreements_ = v1::AgreementService::NewStub(channel_);
    admin_ = v1::AdminService::NewStub(channel_);
  }

  void TearDown() override {
    if (server_ != nullptr) {
      auto code = server_->Stop();
      EXPECT_TRUE(code.ok() && *code == 0) << server_->log();
    }
    std::error_code ec;
    for (const std::string& dir : temp_dirs_) std::filesystem::remove_all(dir, ec);
    if (server_ != nullptr) std::filesystem::remove_all(server_->data_dir(), ec);
  }

  std::string TempDir(const std::string& prefix) {
    auto dir = MakeTempDir(prefix);
    if (!dir.ok()) return "";
    temp_dirs_.push_back(*dir);
    return *dir;
  }

  // A copy of the server's agreement data as candidate `name` under its
  // --candidates_root, where a data owner puts new law to preview; returns
  // the copy's path.
  std::string Candidate(const std::string& name) {
    const std::string dir = absl::StrCat(candidates_, "/", name);
    std::filesystem::copy(server_->agreements_dir(), dir,
                          std::filesystem::copy_options::recursive);
    return dir;
  }

  // Runs a preview to its end; returns its status.
  grpc::Status Preview(const std::string& name) {
    v1::PreviewRuleSetRequest request;
    request.set_agreements_dir(name);
    auto context = Ctx(60);
    auto reader = admin_->PreviewRuleSet(context.get(), request);
    v1::PreviewRuleSetResponse item;
    while (reader->Read(&item)) {
    }
    return reader->Finish();
  }

  std::string candidates_;

  std::unique_ptr<ServerProcess> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::ComplianceService::Stub> compliance_;
  std::unique_ptr<v1::AgreementService::Stub> agreements_;
  std::unique_ptr<v1::AdminService::Stub> admin_;
  std::vector<std::string> temp_dirs_;
};

TEST_F(ExporterE2eTest, AVerdictCarriesTheTypedMarginAndTheRemedyChanges) {
  v1::CheckDeclarationRequest request;
  *request.mutable_declaration() = MotorWithChineseMagnet("EXP-MARGIN-1");
  request.set_validate_only(true);
  v1::CheckDeclarationResponse response;
  ASSERT_TRUE(
      compliance_->CheckDeclaration(Ctx().get(), request, &response).ok());
  const v1::Finding* content = nullptr;
  for (const v1::Finding& f : response.verdict().lines(0).findings()) {
    if (f.margin().measured() == "CONTROLLED_ORIGIN_CONTENT") content = &f;
  }
  ASSERT_NE(content, nullptr) << response.verdict().DebugString();
  const v1::Margin& m = content->margin();
  EXPECT_EQ(m.threshold().ratio_ppm(), 1000);  // 0.1 % of value
  EXPECT_EQ(m.actual().ratio_ppm(), 1400);     // USD 140 of USD 100,000
  EXPECT_EQ(m.direction(), v1::MARGIN_DIRECTION_MUST_REDUCE);
  // The most content below 0.1 % of USD 100,000 is USD 99.99: cut 40.01.
  EXPECT_EQ(m.distance().money().minor_units(), 4001);
  EXPECT_EQ(m.passing_value().money().minor_units(), 9999);
  EXPECT_EQ(m.distance().money().currency_code(), "USD");
  bool reduce = false;
  for (const v1::RemedyChange& c : content->remedy_changes()) {
    if (c.action() != v1::RemedyChange::ACTION_REDUCE_CONTENT) continue;
    reduce = true;
    ASSERT_EQ(c.components_size(), 1);
    EXPECT_EQ(c.components(0), "NdFeB magnet (Dy)");
    EXPECT_EQ(c.amount().money().minor_units(), 4001);
  }
  EXPECT_TRUE(reduce) << content->DebugString();
  EXPECT_THAT(content->remedy(), HasSubstr("(NdFeB magnet (Dy)) by USD 40.01"));
}

TEST_F(ExporterE2eTest, LookupListsTheMeasuresOfAProductWithStatusAndSource) {
  v1::LookupMeasuresRequest request;
  request.set_hs_code("640411");
  request.set_origin("VN");
  request.mutable_date()->set_year(2026);
  request.mutable_date()->set_month(8);
  request.mutable_date()->set_day(15);
  v1::LookupMeasuresResponse response;
  const grpc::Status status =
      agreements_->LookupMeasures(Ctx().get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.hs_code(), "640411");
  EXPECT_FALSE(response.rule_set_revision().empty());
  const v1::MeasureMatch* s301 = nullptr;
  for (const v1::MeasureMatch& m : response.measures()) {
    if (m.measure().measure_id() == "us-s301fl-vn") s301 = &m;
  }
  ASSERT_NE(s301, nullptr) << response.DebugString();
  EXPECT_EQ(s301->rate_basis_points(), 1250);
  EXPECT_EQ(s301->filing_heading(), "9903.05.84");
  EXPECT_EQ(s301->instrument_status(), v1::INSTRUMENT_STATUS_IN_FORCE);
  EXPECT_TRUE(s301->has_confirmation());
  EXPECT_THAT(s301->measure().citation().source_url(),
              HasSubstr("federalregister.gov"));
  // Without a destination, the US-only duty says where it applies.
  EXPECT_EQ(s301->applicability(), v1::MEASURE_APPLICABILITY_MAY_APPLY);
  EXPECT_THAT(s301->conditions(),
              ::testing::Contains(HasSubstr("bound for US")));

  // With the destination and the kind, nothing is left to know.
  request.set_destination("US");
  request.set_kind(v1::DECLARATION_KIND_IMPORT_ENTRY);
  ASSERT_TRUE(
      agreements_->LookupMeasures(Ctx().get(), request, &response).ok());
  bool applies = false;
  for (const v1::MeasureMatch& m : response.measures()) {
    if (m.measure().measure_id() == "us-s301fl-vn") {
      applies = m.applicability() == v1::MEASURE_APPLICABILITY_APPLIES;
    }
    // A measure before its validity never shows.
    EXPECT_NE(m.measure().measure_id(), "us-s301fl-in");
  }
  EXPECT_TRUE(applies) << response.DebugString();

  // The day before the duty started, it is not listed.
  request.mutable_date()->set_month(7);
  request.mutable_date()->set_day(23);
  ASSERT_TRUE(
      agreements_->LookupMeasures(Ctx().get(), request, &response).ok());
  for (const v1::MeasureMatch& m : response.measures()) {
    EXPECT_NE(m.measure().measure_id(), "us-s301fl-vn");
  }
}

TEST_F(ExporterE2eTest, LookupErrorsNameTheField) {
  struct Case {
    std::string hs, origin, destination;
    int month;
    std::string field;
  };
  const std::vector<Case> cases = {
      {"", "VN", "", 8, "hs_code"},
      {"999999", "VN", "", 8, "hs_code"},
      {"640411", "", "", 8, "origin"},
      {"640411", "XX", "", 8, "origin"},
      {"640411", "VN", "usa", 8, "destination"},
      {"640411", "VN", "", 13, "date"},
  };
  for (const Case& c : cases) {
    v1::LookupMeasuresRequest request;
    request.set_hs_code(c.hs);
    request.set_origin(c.origin);
    request.set_destination(c.destination);
    request.mutable_date()->set_year(2026);
    request.mutable_date()->set_month(c.month);
    request.mutable_date()->set_day(1);
    v1::LookupMeasuresResponse response;
    const grpc::Status status =
        agreements_->LookupMeasures(Ctx().get(), request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << c.field;
    const google::rpc::BadRequest bad = BadRequestOf(status);
    ASSERT_EQ(bad.field_violations_size(), 1) << status.error_message();
    EXPECT_EQ(bad.field_violations(0).field(), c.field);
  }
}

TEST_F(ExporterE2eTest, MeasuresCommandPrintsTheLookup) {
  std::string out;
  EXPECT_EQ(RunCli(absl::StrCat("--server=", server_->address(),
                                " measures 640411 --origin VN --date "
                                "2026-08-15"),
                   &out),
            0)
      << out;
  EXPECT_THAT(out, HasSubstr("us-s301fl-vn"));
  EXPECT_THAT(out, HasSubstr("rate:   12.50%  (9903.05.84)"));
  EXPECT_THAT(out, HasSubstr("status: us-s301-forced-labor-2026 IN_FORCE"));
  EXPECT_EQ(RunCli(absl::StrCat("--server=", server_->address(),
                                " measures 640411 --origin ZZ"),
                   &out),
            2)
      << out;
  EXPECT_THAT(out, HasSubstr("origin"));
}

// A data owner raises one rate in a copy of the data: the preview lists
// exactly the stored decisions that rate reaches, with the duty difference,
// and activates nothing.
TEST_F(ExporterE2eTest, PreviewListsExactlyTheDecisionsAChangedRateAffects) {
  const RateChangeFixture stored = CheckRateChangeFixture(*compliance_, "PRV");
  ASSERT_TRUE(stored.error.empty()) << stored.error;
  const std::set<std::string>& affected = stored.affected;
  const int64_t expected_difference = stored.affected_value_cents * 250 / 10000;
  ASSERT_EQ(affected.size(), 2000u);

  // The candidate: a copy of agreements/ with Vietnam's rate at 15 %.
  const std::string candidate = Candidate("vn-15");
  ASSERT_TRUE(SetVnForcedLaborRate(candidate, 1500));

  v1::GetRuleSetRequest info_request;
  v1::RuleSetInfo before;
  ASSERT_TRUE(
      agreements_->GetRuleSet(Ctx().get(), info_request, &before).ok());

  v1::PreviewRuleSetRequest request;
  request.set_agreements_dir("vn-15");
  auto context = Ctx(120);
  auto reader = admin_->PreviewRuleSet(context.get(), request);
  std::set<std::string> listed;
  int64_t difference = 0;
  v1::PreviewTotals totals;
  v1::PreviewRuleSetResponse item;
  bool checked_during = false;
  while (reader->Read(&item)) {
    if (item.has_totals()) {
      totals = item.totals();
      continue;
    }
    const v1::PreviewChange& c = item.change();
    listed.insert(c.decision_id());
    difference += c.duty_difference_minor_units();
    EXPECT_EQ(c.outcome_before(), c.outcome_after()) << c.DebugString();
    EXPECT_GT(c.duty_difference_minor_units(), 0);
    EXPECT_TRUE(c.rules_gained().empty() && c.rules_lost().empty());
    if (!checked_during) {
      // Checks are answered while a preview streams.
      checked_during = true;
      v1::CheckDeclarationRequest check;
      *check.mutable_declaration() = PalmOilImport("PRV-DURING");
      v1::CheckDeclarationResponse answer;
      EXPECT_TRUE(
          compliance_->CheckDeclaration(Ctx().get(), check, &answer).ok());
    }
  }
  const grpc::Status status = reader->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(listed, affected);
  EXPECT_EQ(difference, expected_difference);
  EXPECT_GE(totals.decisions_evaluated(), 3000u);
  EXPECT_EQ(totals.verdicts_changed(), 2000u);
  EXPECT_EQ(totals.outcomes_changed(), 0u);
  EXPECT_FALSE(totals.truncated());
  ASSERT_EQ(totals.duty_differences_size(), 1);
  EXPECT_EQ(totals.duty_differences(0).currency_code(), "USD");
  EXPECT_EQ(totals.duty_differences(0).minor_units(), expected_difference);
  EXPECT_EQ(totals.current_revision(), before.revision());
  EXPECT_NE(totals.candidate_revision(), before.revision());

  // Nothing was activated.
  v1::RuleSetInfo after;
  ASSERT_TRUE(agreements_->GetRuleSet(Ctx().get(), info_request, &after).ok());
  EXPECT_EQ(after.revision(), before.revision());

  // A limit cuts the walk short and says so.
  request.set_limit(100);
  auto limited_context = Ctx(60);
  auto limited = admin_->PreviewRuleSet(limited_context.get(), request);
  v1::PreviewTotals cut;
  while (limited->Read(&item)) {
    if (item.has_totals()) cut = item.totals();
  }
  ASSERT_TRUE(limited->Finish().ok());
  EXPECT_EQ(cut.decisions_evaluated(), 100u);
  EXPECT_TRUE(cut.truncated());

  // The CLI prints the same preview and its totals.
  std::string out;
  EXPECT_EQ(RunCli(absl::StrCat("--server=", server_->address(),
                                " rules preview vn-15 --since=2020-01-01"),
                   &out),
            0)
      << out.substr(0, 2000);
  EXPECT_THAT(out, HasSubstr("Changed       2000 verdicts, 0 outcomes"));
  EXPECT_THAT(out, HasSubstr("PRV-VN-1999"));
}

TEST_F(ExporterE2eTest, PreviewRefusesInvalidDataNamingFileAndLine) {
  const std::string candidate = Candidate("broken");
  std::ofstream(absl::StrCat(candidate, "/zz-broken.textproto"))
      << "instrument_id: \"zz\"\nno_such_field: 1\n";
  const grpc::Status status = Preview("broken");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("zz-broken.textproto:2"));
  const google::rpc::BadRequest bad = BadRequestOf(status);
  ASSERT_EQ(bad.field_violations_size(), 1);
  EXPECT_EQ(bad.field_violations(0).field(), "agreements_dir");

  const grpc::Status missing = Preview("");
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(BadRequestOf(missing).field_violations(0).field(),
            "agreements_dir");
}

// A caller names a candidate, never a path: nothing outside the operator's
// --candidates_root is read, and the server says which field is wrong.
TEST_F(ExporterE2eTest, PreviewReadsOnlyUnderTheCandidatesRoot) {
  for (const std::string& bad :
       {server_->agreements_dir(), std::string("/etc"), std::string(".."),
        std::string("../tc-candidates"), std::string("a/b"),
        std::string("no-such-candidate")}) {
    const grpc::Status status = Preview(bad);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad;
    const google::rpc::BadRequest request_errors = BadRequestOf(status);
    ASSERT_EQ(request_errors.field_violations_size(), 1) << bad;
    EXPECT_EQ(request_errors.field_violations(0).field(), "agreements_dir");
  }
  EXPECT_THAT(Preview("no-such-candidate").error_message(),
              HasSubstr("no directory \"no-such-candidate\" under the "
                        "server's --candidates_root"));
  // The server keeps answering, and a good name still previews.
  Candidate("same");
  EXPECT_TRUE(Preview("same").ok());

  // A server started without --candidates_root takes no previews at all.
  auto plain = ServerProcess::Start({});
  ASSERT_TRUE(plain.ok()) << plain.status();
  auto other = v1::AdminService::NewStub(Connect((*plain)->address()));
  v1::PreviewRuleSetRequest request;
  request.set_agreements_dir("same");
  auto context = Ctx(60);
  auto reader = other->PreviewRuleSet(context.get(), request);
  v1::PreviewRuleSetResponse item;
  while (reader->Read(&item)) {
  }
  const grpc::Status off = reader->Finish();
  EXPECT_EQ(off.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(off.error_message(), HasSubstr("--candidates_root"));
  auto code = (*plain)->Stop();
  EXPECT_TRUE(code.ok() && *code == 0) << (*plain)->log();
}

}  // namespace
}  // namespace tradecheck::testing
