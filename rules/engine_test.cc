// Unit tests per measure kind, on small synthetic rule sets built beside the
// shipped reference tables (the golden tests cover the shipped data).
#include "rules/engine.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "rules/eval_context.h"
#include "rules/rule_set.h"

namespace tradecheck::rules {
namespace {

using ::testing::HasSubstr;

constexpr char kRuleSet[] = R"pb(
  data_current_through { year: 2030 month: 1 day: 1 }
  data_current_through_basis: "test"
  engine_rule_ids {
    data_not_current: "DATA-001"
    data_gap: "DATA-002"
    unconfirmed: "DATA-003"
    quota_shortfall: "QTA-001"
    fact_missing: "DATA-004"
  }
  unconfirmed_rate_severity: SEVERITY_REVIEW
  max_rate_basis_points: 20000
)pb";

// A rule set of the shipped reference tables, kRuleSet and one instrument
// whose measures are `measures` (text format).
// The current data model: a new-measures watch instead of one currency
// date, every instrument confirmed, the rounding of 19 CFR 159.3(a) on.
constexpr char kCurrentRuleSet[] = R"pb(
  new_measures_watch {
    reviewed_through { year: 2026 month: 10 day: 9 }
    grace_days: 90
    basis: "test"
  }
  engine_rule_ids {
    data_not_current: "DATA-001"
    data_gap: "DATA-002"
    unconfirmed: "DATA-003"
    quota_shortfall: "QTA-001"
    fact_missing: "DATA-004"
    currency: "CUR-001"
    rounding: "CUR-002"
  }
  unconfirmed_rate_severity: SEVERITY_REVIEW
  max_rate_basis_points: 20000
)pb";
constexpr char kConfirmed[] =
    "confirmation { confirmed_on { year: 2026 month: 10 day: 9 } source_url: "
    "\"https://example.org/c\" confirmed_by: \"test\" review_due { year: 2027 "
    "month: 1 day: 9 } }\n";

std::shared_ptr<const RuleSet> SetWith(
    const std::string& measures, const std::string& status =
                                     "status: INSTRUMENT_STATUS_IN_FORCE "
                                     "from { year: 2025 month: 1 day: 1 }",
    const std::string& config = kRuleSet,
    const std::string& instrument_extra = "",
    const SourceFiles& extra_files = {}) {
  auto shipped = RuleSet::LoadFromDirectory(TC_AGREEMENTS_DIR);
  EXPECT_TRUE(shipped.ok()) << shipped.status();
  SourceFiles files;
  for (const char* ref : {"reference/hs2022.csv", "reference/iso3166.tab"}) {
    files[ref] = (*shipped)->sources().at(ref);
  }
  files["ruleset.textproto"] = config;
  for (const auto& [name, bytes] : extra_files) files[name] = bytes;
  files["test.textproto"] = absl::StrCat(
      "instrument_id: \"test-instrument\" title: \"Test instrument\" "
      "source_url: \"https://example.org/law\" status_history { ",
      status, " }\n", instrument_extra, measures);
  auto set = RuleSet::LoadFromSources(files);
  EXPECT_TRUE(set.ok()) << set.status();
  return set.ok() ? *set : nullptr;
}

v1::Declaration Decl(const std::string& text) {
  v1::Declaration d;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &d)) << text;
  return d;
}

constexpr char kImport[] = R"pb(
  declaration_id: "t"
  kind: DECLARATION_KIND_IMPORT_ENTRY
  origin_country: "MY"
  export_country: "MY"
  destination_country: "US"
  entry_date { year: 2025 month: 9 day: 1 }
  export_date { year: 2025 month: 9 day: 1 }
)pb";

std::string ImportLine(const std::string& hs, int64_t cents,
                       const std::string& extra = "") {
  return absl::StrCat(kImport, "lines { line_number: 1 hs_code: \"", hs,
                      "\" customs_value { currency_code: \"USD\" minor_units: ",
                      cents, " } ", extra, " }");
}

std::string Duty(const std::string& id, int bp, const std::string& hs,
                 const std::string& extra_scope = "",
                 const std::string& extra_duty = "") {
  return absl::StrCat(
      "measures { measure_id: \"", id, "\" rule_ids: \"T-", id, "\" title: \"",
      id, "\" article: \"Art. 1\" source_url: \"https://example.org/", id,
      "\" valid_from { year: 2025 month: 1 day: 1 } scope { declaration_kinds: "
      "DECLARATION_KIND_IMPORT_ENTRY destinations { countries: \"US\" } ",
      hs, " ", extra_scope, " } additional_duty { rate_basis_points: ", bp, " ",
      extra_duty.empty() ? "stacking_group: \"g\"" : extra_duty, " } }\n");
}

const v1::LineVerdict& Line0(const Evaluation& e) { return e.verdict.lines(0); }

bool HasFinding(const v1::LineVerdict& l, const std::string& rule,
                v1::Severity sev) {
  for (const auto& f : l.findings()) {
    if (f.rule_id() == rule && f.severity() == sev) return true;
  }
  return false;
}

// The percentages findings print: the same text as the printf formats they
// replaced ("%d.%02d %%" of basis points; "%04d" of the ppm fraction with
// trailing zeros cut to two digits).
TEST(PercentTextTest, BasisPointsAndPartsPerMillion) {
  EXPECT_EQ(PctBp(1900), "19.00 %");
  EXPECT_EQ(PctBp(5), "0.05 %");
  EXPECT_EQ(PctBp(12345), "123.45 %");
  EXPECT_EQ(PctBp(0), "0.00 %");
  EXPECT_EQ(PctPpm(299630), "29.963 %");
  EXPECT_EQ(PctPpm(700369), "70.0369 %");
  EXPECT_EQ(PctPpm(1400), "0.14 %");
  EXPECT_EQ(PctPpm(400000), "40.00 %");
  EXPECT_EQ(PctPpm(400001), "40.0001 %");
  EXPECT_EQ(PctPpm(1000000), "100.00 %");
  EXPECT_EQ(PctPpm(10), "0.001 %");
}

TEST(AdditionalDutyTest, MostSpecificHsSelectorWinsWithinAGroup) {
  auto set = SetWith(
      Duty("chapter", 1000, "hs { include: \"94\" }") +
      Duty("heading", 2500, "hs { include: \"9403\" exclude: \"940360\" }"));
  const Evaluation wide = Evaluate(*set, Decl(ImportLine("940320", 10000)));
  ASSERT_EQ(Line0(wide).duties_size(), 1);
  EXPECT_EQ(Line0(wide).duties(0).measure_id(), "heading");
  EXPECT_EQ(Line0(wide).total_duty().minor_units(), 2500);
  // The exclude is more specific than the heading include: the chapter wins.
  const Evaluation excluded = Evaluate(*set, Decl(ImportLine("940360", 10000)));
  ASSERT_EQ(Line0(excluded).duties_size(), 1);
  EXPECT_EQ(Line0(excluded).duties(0).measure_id(), "chapter");
}

TEST(AdditionalDutyTest, GroupsStackAndTotalsAddUpWithHalfUpRounding) {
  auto set = SetWith(Duty("a", 1900, "") +
                     Duty("b", 1000, "", "", "stacking_group: \"other\""));
  const Evaluation e = Evaluate(*set, Decl(ImportLine("940360", 333)));
  ASSERT_EQ(Line0(e).duties_size(), 2);
  EXPECT_EQ(Line0(e).duties(0).amount().minor_units(), 63);  // 63.27 -> 63
  EXPECT_EQ(Line0(e).duties(1).amount().minor_units(), 33);  // 33.3 -> 33
  EXPECT_EQ(Line0(e).total_duty().minor_units(), 96);
  EXPECT_EQ(e.verdict.total_duty().minor_units(), 96);
  EXPECT_EQ(e.verdict.outcome(), v1::OUTCOME_ALLOW);
}

TEST(AdditionalDutyTest, InLieuOnlyWithTheDeclaredFact) {
  auto set = SetWith(
      Duty("recip", 1900, "") +
      Duty("trans", 4000,
           "facts { fact: FACT_KIND_CBP_TRANSSHIPMENT_DETERMINATION equals: "
           "ANSWER_YES }",
           "", "replaces_group: \"g\""));
  const Evaluation no = Evaluate(*set, Decl(ImportLine("940360", 10000)));
  ASSERT_EQ(Line0(no).duties_size(), 1);
  EXPECT_EQ(Line0(no).duties(0).measure_id(), "recip");
  const Evaluation yes = Evaluate(
      *set, Decl(ImportLine("940360", 10000) +
                 " facts { cbp_transshipment_determination: ANSWER_YES }"));
  ASSERT_EQ(Line0(yes).duties_size(), 1);
  EXPECT_EQ(Line0(yes).duties(0).measure_id(), "trans");
  EXPECT_EQ(Line0(yes).total_duty().minor_units(), 4000);
}

TEST(AdditionalDutyTest, UsContentThresholdIsInclusive) {
  auto set =
      SetWith(Duty("recip", 2000, "", "",
                   "stacking_group: \"g\" us_content { rule_id: \"T-US\" "
                   "threshold_basis_points: 2000 article: \"FAQ\" source_url: "
                   "\"https://example.org\" }"));
  const Evaluation at = Evaluate(
      *set,
      Decl(ImportLine(
          "940360", 10000,
          "us_content_value { currency_code: \"USD\" minor_units: 2000 }")));
  EXPECT_EQ(Line0(at).duties(0).base().minor_units(), 8000);
  EXPECT_EQ(Line0(at).total_duty().minor_units(), 1600);
  const Evaluation below = Evaluate(
      *set,
      Decl(ImportLine(
          "940360", 10000,
          "us_content_value { currency_code: \"USD\" minor_units: 1999 }")));
  EXPECT_EQ(Line0(below).duties(0).base().minor_units(), 10000);
  bool remedy = false;
  for (const auto& f : Line0(below).findings()) {
    remedy = remedy || absl::StrContains(f.remedy(), "USD 0.01 more");
  }
  EXPECT_TRUE(remedy);
}

TEST(ExemptionTest, TariffLinesZeroAndCategoriesOnlyReview) {
  const std::string exemption = R"pb(
    measures {
      measure_id: "ex"
      rule_ids: "T-EX"
      title: "ex"
      article: "A"
      source_url: "https://example.org"
      valid_from { year: 2025 month: 1 day: 1 }
      scope { hs { include: "4901" } }
      exemption {
        zeroes_groups: "g"
        filing_heading: "9903.01.31"
        schedule: SCHEDULE_STATUS_TARIFF_LINES
      }
    }
    measures {
      measure_id: "cand"
      rule_ids: "T-CAND"
      title: "cand"
      article: "A"
      source_url: "https://example.org"
      valid_from { year: 2025 month: 1 day: 1 }
      scope { hs { include: "1511" } }
      exemption {
        zeroes_groups: "g"
        filing_heading: "9903.01.32"
        schedule: SCHEDULE_STATUS_CATEGORIES_ONLY
      }
    })pb";
  auto set = SetWith(Duty("recip", 1900, "") + exemption);
  const Evaluation books = Evaluate(*set, Decl(ImportLine("490199", 10000)));
  EXPECT_EQ(Line0(books).duties_size(), 0);
  EXPECT_THAT(Line0(books).filing_headings(),
              ::testing::ElementsAre("9903.01.31"));
  EXPECT_EQ(Line0(books).outcome(), v1::OUTCOME_ALLOW);
  const Evaluation oil = Evaluate(*set, Decl(ImportLine("151110", 10000)));
  EXPECT_EQ(Line0(oil).duties_size(), 1);  // never a silent zero
  EXPECT_EQ(Line0(oil).outcome(), v1::OUTCOME_NEEDS_REVIEW);
  bool tagged = false;
  for (const auto& f : Line0(oil).findings()) {
    for (const auto& t : f.tags())
      tagged = tagged || t == "ZERO_RATE_CANDIDATE";
  }
  EXPECT_TRUE(tagged);
}

constexpr char kExport[] = R"pb(
  declaration_id: "x"
  kind: DECLARATION_KIND_EXPORT_SHIPMENT
  origin_country: "CN"
  export_country: "CN"
  destination_country: "US"
  export_date { year: 2025 month: 8 day: 15 }
)pb";

std::string ExportLine(const std::string& hs, const std::string& extra = "") {
  return absl::StrCat(
      kExport, "lines { line_number: 1 hs_code: \"", hs,
      "\" customs_value { currency_code: \"USD\" minor_units: 100000 } ", extra,
      " }");
}

std::string ExportMeasure(const std::string& body) {
  return absl::StrCat(
      "measures { measure_id: \"em\" rule_ids: \"T-EM\" title: \"em\" article: "
      "\"A\" "
      "source_url: \"https://example.org\" valid_from { year: 2025 month: 1 "
      "day: 1 } "
      "scope { declaration_kinds: DECLARATION_KIND_EXPORT_SHIPMENT "
      "exporting_countries { countries: \"CN\" } hs { include: \"2605\" } } "
      "export_measure { ",
      body, " } }");
}

TEST(ExportMeasureTest, QuotaDrawAndShortfall) {
  auto set = SetWith(ExportMeasure(
      "type: EXPORT_MEASURE_TYPE_QUOTA quota { amount_milli: 1000000 unit: "
      "\"TNE\" period: QUOTA_PERIOD_HALF_YEAR }"));
  const Evaluation e = Evaluate(
      *set, Decl(ExportLine(
                "260500", "quantity { amount_milli: 250000 unit: \"TNE\" }")));
  ASSERT_EQ(e.quota_draws.size(), 1u);
  EXPECT_EQ(e.quota_draws[0].quota_key, "em|2025-H2|US");
  EXPECT_EQ(e.quota_draws[0].amount_milli, 250000);
  EXPECT_EQ(e.verdict.outcome(), v1::OUTCOME_ALLOW);
  v1::Verdict v = e.verdict;
  ApplyQuotaShortfall(*set, e.quota_draws[0], 100000, &v);
  EXPECT_EQ(v.outcome(), v1::OUTCOME_DENY);
  EXPECT_TRUE(HasFinding(v.lines(0), "QTA-001", v1::SEVERITY_DENY));
  EXPECT_THAT(v.lines(0).findings().rbegin()->remedy(),
              HasSubstr("100.000 TNE"));
  // A quantity in another unit cannot be drawn: review, no draw.
  const Evaluation kg = Evaluate(
      *set,
      Decl(ExportLine("260500", "quantity { amount_milli: 5 unit: \"KGM\" }")));
  EXPECT_TRUE(kg.quota_draws.empty());
  EXPECT_EQ(kg.verdict.outcome(), v1::OUTCOME_NEEDS_REVIEW);
}

TEST(ExportMeasureTest, LicenceDeclaredAllowsOtherwiseDenyWithRemedy) {
  auto set = SetWith(ExportMeasure(
      "type: EXPORT_MEASURE_TYPE_LICENCE licence_authority: \"CN-MOFCOM\""));
  const Evaluation none = Evaluate(*set, Decl(ExportLine("260500")));
  EXPECT_EQ(none.verdict.outcome(), v1::OUTCOME_DENY);
  EXPECT_EQ(Line0(none).findings(0).remedy(),
            "declare a licence from CN-MOFCOM");
  const Evaluation other = Evaluate(
      *set,
      Decl(ExportLine("260500") +
           " facts { licences { authority: \"MY-NRES\" number: \"1\" } }"));
  EXPECT_EQ(other.verdict.outcome(), v1::OUTCOME_DENY);
  const Evaluation ok = Evaluate(
      *set, Decl(ExportLine("260500") +
                 " facts { licences { authority: \"CN-MOFCOM\" number: \"L-1\" "
                 "valid_until { year: 2025 month: 8 day: 15 } } }"));
  EXPECT_EQ(ok.verdict.outcome(), v1::OUTCOME_ALLOW);
  EXPECT_TRUE(HasFinding(Line0(ok), "T-EM", v1::SEVERITY_INFO));
}

TEST(ExportMeasureTest, SuspensionWindowWarnsAndEndsOnItsUntilDay) {
  auto set = SetWith(ExportMeasure(
      "type: EXPORT_MEASURE_TYPE_BAN suspended_rule_id: \"T-EMs\" suspensions "
      "{ from { year: 2025 month: 8 day: 1 } until { year: 2025 month: 8 day: "
      "16 } }"));
  const Evaluation in = Evaluate(*set, Decl(ExportLine("260500")));
  EXPECT_EQ(in.verdict.outcome(), v1::OUTCOME_ALLOW);
  EXPECT_TRUE(HasFinding(Line0(in), "T-EMs", v1::SEVERITY_WARNING));
  std::string after = ExportLine("260500");
  after.replace(after.find("day: 15"), 7, "day: 16");
  EXPECT_EQ(Evaluate(*set, Decl(after)).verdict.outcome(), v1::OUTCOME_DENY);
}

TEST(InstrumentStatusTest, GapIsReviewAndNonBindingOnlyInforms) {
  const std::string notice = R"pb(
    measures {
      measure_id: "n"
      rule_ids: "T-N"
      title: "n"
      article: "A"
      source_url: "https://example.org"
      valid_from { year: 2025 month: 1 day: 1 }
      scope { declaration_kinds: DECLARATION_KIND_EXPORT_SHIPMENT }
      notice { severity: SEVERITY_DENY message: "stop" }
    })pb";
  auto gap = SetWith(
      notice,
      "status: INSTRUMENT_STATUS_IN_FORCE from { year: 2025 month: 1 "
      "day: 1 } until { year: 2025 month: 2 day: 1 } } status_history { "
      "status: INSTRUMENT_STATUS_IN_FORCE from { year: 2025 month: 12 day: 1 "
      "}");
  const Evaluation g = Evaluate(*gap, Decl(ExportLine("260500")));
  EXPECT_EQ(g.verdict.outcome(), v1::OUTCOME_NEEDS_REVIEW);
  EXPECT_TRUE(HasFinding(Line0(g), "DATA-002", v1::SEVERITY_REVIEW));
  auto nb = SetWith(notice,
                    "status: INSTRUMENT_STATUS_NON_BINDING from { year: 2025 "
                    "month: 1 day: 1 }");
  const Evaluation n = Evaluate(*nb, Decl(ExportLine("260500")));
  EXPECT_EQ(n.verdict.outcome(), v1::OUTCOME_ALLOW);
  EXPECT_TRUE(HasFinding(Line0(n), "T-N", v1::SEVERITY_WARNING));
}

TEST(ContentRuleTest, ThresholdIsInclusiveAndRemedyGivesTheMargin) {
  const std::string rule = R"pb(
    measures {
      measure_id: "c"
      rule_ids: "T-C"
      title: "c"
      article: "A"
      source_url: "https://example.org"
      valid_from { year: 2025 month: 1 day: 1 }
      scope {
        declaration_kinds: DECLARATION_KIND_EXPORT_SHIPMENT
        exporting_countries { except: "CN" }
      }
      content_rule {
        threshold_ppm: 1000
        content_origins { countries: "CN" }
        content_elements: "Dy"
        licence_authority: "CN-MOFCOM"
        unknown_bom_rule_id: "T-BOM"
      }
    })pb";
  auto set = SetWith(rule);
  auto decl = [](int64_t magnet) {
    return absl::StrCat(
        "declaration_id: \"c\" kind: DECLARATION_KIND_EXPORT_SHIPMENT "
        "origin_country: \"MY\" export_country: \"MY\" destination_country: "
        "\"US\" "
        "export_date { year: 2025 month: 9 day: 1 } lines { line_number: 1 "
        "hs_code: \"850134\" customs_value { currency_code: \"USD\" "
        "minor_units: "
        "100000 } bill_of_materials_status: BILL_OF_MATERIALS_STATUS_COMPLETE "
        "bill_of_materials { hs_code: \"850511\" origin_country: \"CN\" "
        "elements: \"Dy\" value { currency_code: \"USD\" minor_units: ",
        magnet, " } } }");
  };
  const Evaluation at = Evaluate(*set, Decl(decl(100)));  // exactly 0.10 %
  EXPECT_EQ(at.verdict.outcome(), v1::OUTCOME_DENY);
  EXPECT_THAT(Line0(at).findings(0).message(), HasSubstr("0.10 % of value"));
  EXPECT_THAT(Line0(at).findings(0).remedy(), HasSubstr("by USD 0.01"));
  const Evaluation below = Evaluate(*set, Decl(decl(99)));
  EXPECT_EQ(below.verdict.outcome(), v1::OUTCOME_ALLOW);
  std::string unknown = decl(0);
  unknown.replace(unknown.find("BILL_OF_MATERIALS_STATUS_COMPLETE"), 33,
                  "BILL_OF_MATERIALS_STATUS_UNSPECIFIED");
  const Evaluation u = Evaluate(*set, Decl(unknown));
  EXPECT_EQ(u.verdict.outcome(), v1::OUTCOME_NEEDS_REVIEW);
  EXPECT_TRUE(HasFinding(Line0(u), "T-BOM", v1::SEVERITY_REVIEW));
}

TEST(DataCurrencyTest, AfterDataCurrentThroughIsReview) {
  auto set = SetWith(Duty("recip", 1900, ""));
  std::string text = ImportLine("940360", 10000);
  text.replace(text.find("entry_date { year: 2025"), 23,
               "entry_date { year: 2030");
  text.replace(text.find("month: 9 day: 1 }\n  export"), 15, "month: 1 day: 2");
  const Evaluation e = Evaluate(*set, Decl(text));
  EXPECT_EQ(e.verdict.outcome(), v1::OUTCOME_NEEDS_REVIEW);
  ASSERT_EQ(e.verdict.findings_size(), 1);
  EXPECT_EQ(e.verdict.findings(0).rule_id(), "DATA-001");
  // The last known data still says what it would do.
  EXPECT_EQ(Line0(e).duties_size(), 1);
}

// Sets whose config is the current model.
std::shared_ptr<const RuleSet> CurrentSetWith(const std::string& measures,
                                              const SourceFiles& files = {}) {
  return SetWith(measures,
                 "status: INSTRUMENT_STATUS_IN_FORCE from { year: 2025 month: "
                 "1 day: 1 }",
                 kCurrentRuleSet, kConfirmed, files);
}

std::string ImportOn(const std::string& hs, int64_t cents,
                     const std::string& day, const std::string& extra = "") {
  std::string text = ImportLine(hs, cents, extra);
  text.replace(text.find("entry_date { year: 2025 month: 9 day: 1 }"), 41,
               absl::StrCat("entry_date { ", day, " }"));
  return text;
}

bool HasDeclFinding(const Evaluation& e, const std::string& rule,
                    v1::Severity sev) {
  for (const auto& f : e.verdict.findings()) {
    if (f.rule_id() == rule && f.severity() == sev) return true;
  }
  return false;
}

// 19 CFR 159.3(a): one rate over the declaration's lines is taken as a unit
// and its value rounded to whole dollars; the difference lands on the line
// with the largest base.
TEST(RoundingTest, ValuesPerRateAreRoundedToWholeDollarsAsOneUnit) {
  auto set = CurrentSetWith(Duty("a", 1900, ""));
  std::string text = absl::StrCat(
      ImportOn("940360", 100030, "year: 2026 month: 9 day: 1"));
  text.insert(text.rfind('}'),
              " } lines { line_number: 2 hs_code: \"940320\" customs_value { "
              "currency_code: \"USD\" minor_units: 200030 }");
  const Evaluation e = Evaluate(*set, Decl(text));
  ASSERT_EQ(e.verdict.lines_size(), 2);
  // USD 3,000.60 rounds to 3,001.00: 19 % = 570.19, not 190.06 + 380.06.
  EXPECT_EQ(e.verdict.total_duty().minor_units(), 57019);
  EXPECT_EQ(e.verdict.lines(0).total_duty().minor_units(), 19006);
  EXPECT_EQ(e.verdict.lines(1).total_duty().minor_units(), 38013);
  EXPECT_TRUE(HasDeclFinding(e, "CUR-002", v1::SEVERITY_INFO));
  // A rule set that does not name the rounding rule keeps per-duty cents.
  auto old = SetWith(Duty("a", 1900, ""));
  EXPECT_EQ(Evaluate(*old, Decl(text)).verdict.total_duty().minor_units(),
            57012);
}

TEST(MinimumPriceTest, ShortfallBelowPriceTimesQuantityIsTheDuty) {
  auto set = CurrentSetWith(Duty(
      "mip", 0, "hs { include: \"854143\" }", "",
      "stacking_group: \"m\" minimum_price { price_per_unit { currency_code: "
      "\"USD\" minor_units: 38 } unit: \"WTT\" }"));
  // 400,000 W at USD 0.38 = USD 152,000; declared USD 100,000.
  const Evaluation e = Evaluate(
      *set, Decl(ImportOn("854143", 10000000, "year: 2026 month: 9 day: 1",
                          "quantity { amount_milli: 400000000 unit: \"WTT\" }")));
  ASSERT_EQ(Line0(e).duties_size(), 1);
  EXPECT_EQ(Line0(e).duties(0).amount().minor_units(), 5200000);
  // Without the quantity in watts nothing is guessed: a review.
  const Evaluation none = Evaluate(
      *set, Decl(ImportOn("854143", 10000000, "year: 2026 month: 9 day: 1")));
  EXPECT_EQ(Line0(none).duties_size(), 0);
  EXPECT_TRUE(HasFinding(Line0(none), "DATA-004", v1::SEVERITY_REVIEW));
}

TEST(RegimeExclusionTest, AskedOnlyWithinTheRegimeScope) {
  auto set = CurrentSetWith(Duty(
      "d", 1000, "", "",
      "stacking_group: \"g\" exclusions { rule_id: \"T-232\" fact: "
      "FACT_KIND_SUBJECT_TO_SECTION_232 article: \"A\" source_url: "
      "\"https://example.org\" asked_for { include: \"73\" } other_share: "
      "OTHER_SHARE_DUTIABLE }"));
  const std::string day = "year: 2026 month: 9 day: 1";
  // Apparel is not asked: no review, duty charged.
  const Evaluation shirt = Evaluate(*set, Decl(ImportOn("610910", 10000, day)));
  EXPECT_EQ(shirt.verdict.outcome(), v1::OUTCOME_ALLOW);
  EXPECT_EQ(Line0(shirt).total_duty().minor_units(), 1000);
  // Steel is asked.
  const Evaluation pipe = Evaluate(*set, Decl(ImportOn("730630", 10000, day)));
  EXPECT_TRUE(HasFinding(Line0(pipe), "T-232", v1::SEVERITY_REVIEW));
  // A derivative with declared 232 content pays on the rest only.
  const Evaluation part = Evaluate(
      *set, Decl(ImportOn("730630", 10000, day,
                          "subject_to_section_232: ANSWER_YES "
                          "section_232_content_value { currency_code: \"USD\" "
                          "minor_units: 6000 }")));
  EXPECT_EQ(Line0(part).total_duty().minor_units(), 400);
  // YES outside the scope contradicts it: a review, the duty kept.
  const Evaluation odd = Evaluate(
      *set, Decl(ImportOn("610910", 10000, day,
                          "subject_to_section_232: ANSWER_YES")));
  EXPECT_TRUE(HasFinding(Line0(odd), "T-232", v1::SEVERITY_REVIEW));
  EXPECT_EQ(Line0(odd).total_duty().minor_units(), 1000);
}

TEST(ExemptionTest, LineLessSpecificThanAListIsACandidate) {
  SourceFiles files;
  files["reference/hts-lists/t.csv"] =
      "hts,heading,description,note\n15111000,9903.01.32,crude palm oil,t\n";
  auto set = CurrentSetWith(
      absl::StrCat(
          "hs_lists { name: \"l\" source_url: \"https://example.org\" "
          "csv_file: \"reference/hts-lists/t.csv\" }\n",
          Duty("recip", 1900, ""),
          "measures { measure_id: \"ex\" rule_ids: \"T-EX\" title: \"ex\" "
          "article: \"A\" source_url: \"https://example.org\" valid_from { "
          "year: 2025 month: 1 day: 1 } scope { hs { lists: \"l\" } } "
          "exemption { zeroes_groups: \"g\" filing_heading: \"9903.01.32\" "
          "schedule: SCHEDULE_STATUS_TARIFF_LINES } }\n"),
      files);
  ASSERT_NE(set, nullptr);
  const std::string day = "year: 2026 month: 9 day: 1";
  EXPECT_EQ(Line0(Evaluate(*set, Decl(ImportOn("1511100000", 10000, day))))
                .duties_size(),
            0);
  const Evaluation coarse = Evaluate(*set, Decl(ImportOn("151110", 10000, day)));
  EXPECT_EQ(Line0(coarse).duties_size(), 1);
  EXPECT_TRUE(HasFinding(Line0(coarse), "T-EX", v1::SEVERITY_REVIEW));
}

TEST(ExportMeasureTest, AfterAKnownSuspensionEndTheBanIsAReview) {
  auto set = SetWith(ExportMeasure(
      "type: EXPORT_MEASURE_TYPE_BAN suspended_rule_id: \"T-EMs\" suspensions "
      "{ from { year: 2025 month: 8 day: 1 } until { year: 2025 month: 8 day: "
      "16 } } suspensions { from { year: 2025 month: 8 day: 16 } unconfirmed: "
      "true note: \"extension reported\" }"));
  std::string after = ExportLine("260500");
  after.replace(after.find("day: 15"), 7, "day: 16");
  EXPECT_EQ(Evaluate(*set, Decl(after)).verdict.outcome(),
            v1::OUTCOME_NEEDS_REVIEW);
}

TEST(DataCurrencyTest, ConfirmationAndNewMeasuresWatch) {
  auto set = CurrentSetWith(Duty("recip", 1900, ""));
  // Within the watch's grace: the duty applies, a warning says why.
  const Evaluation soon = Evaluate(
      *set, Decl(ImportOn("940360", 10000, "year: 2026 month: 11 day: 20")));
  EXPECT_EQ(soon.verdict.outcome(), v1::OUTCOME_ALLOW);
  EXPECT_TRUE(HasDeclFinding(soon, "DATA-001", v1::SEVERITY_WARNING));
  EXPECT_EQ(Line0(soon).duties(0).citation().confirmation_age_days(), 42);
  // Past the instrument's review date and the grace: reviews, duty shown.
  const Evaluation late = Evaluate(
      *set, Decl(ImportOn("940360", 10000, "year: 2027 month: 1 day: 9")));
  EXPECT_TRUE(HasFinding(Line0(late), "DATA-001", v1::SEVERITY_REVIEW));
  EXPECT_EQ(late.verdict.outcome(), v1::OUTCOME_NEEDS_REVIEW);
  EXPECT_EQ(Line0(late).duties_size(), 1);
}

TEST(IndexTest, MeasuresForOtherCountriesAndCodesAreNotCandidates) {
  std::string many;
  for (int i = 0; i < 50; ++i) {
    many += Duty(absl::StrCat("vn", i), 1000 + i,
                 "hs { include: \"9403\" } origins { countries: \"VN\" }", "",
                 absl::StrCat("stacking_group: \"vn", i, "\""));
  }
  auto set = SetWith(
      many + Duty("my", 1900,
                  "hs { include: \"9403\" } origins { countries: \"MY\" }"));
  const Evaluation e = Evaluate(*set, Decl(ImportLine("940360", 10000)));
  ASSERT_EQ(Line0(e).duties_size(), 1);
  EXPECT_EQ(Line0(e).duties(0).measure_id(), "my");
}

}  // namespace
}  // namespace tradecheck::rules
