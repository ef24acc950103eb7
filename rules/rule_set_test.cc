#include "rules/rule_set.h"

#include <algorithm>
#include <cstdlib>
#include <string>

#include "absl/strings/str_replace.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rules/testing/shipped.h"

namespace tradecheck::rules {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::tradecheck::testing::IsOk;
using ::tradecheck::testing::StatusIs;

using ::tradecheck::rules::testing::Shipped;

TEST(RuleSetTest, ShippedDataLoads) {
  auto r = RuleSet::LoadFromDirectory(TC_AGREEMENTS_DIR);
  ASSERT_THAT(r, IsOk());
  const v1::RuleSetInfo info = (*r)->Info();
  EXPECT_EQ(info.revision().size(), 64u);
  EXPECT_GE(info.instrument_count(), 18);
  EXPECT_FALSE(info.has_data_current_through());
  EXPECT_EQ(info.new_measures_reviewed_through().year(), 2026);
}

TEST(RuleSetTest, RevisionIsContentHashAndRoundTrips) {
  const RuleSet& rules = Shipped();
  auto again = RuleSet::LoadFromSources(rules.sources());
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ((*again)->revision(), rules.revision());
  SourceFiles changed = rules.sources();
  changed["ruleset.textproto"] += "\n# a comment changes the revision\n";
  auto other = RuleSet::LoadFromSources(changed);
  ASSERT_THAT(other, IsOk());
  EXPECT_NE((*other)->revision(), rules.revision());
}

TEST(RuleSetTest, CountriesAndHsCodes) {
  const RuleSet& rules = Shipped();
  EXPECT_TRUE(rules.IsKnownCountry("MY"));
  EXPECT_FALSE(rules.IsKnownCountry("my"));
  EXPECT_FALSE(rules.IsKnownCountry("XX"));
  EXPECT_FALSE(rules.IsKnownCountry("MYS"));
  EXPECT_THAT(rules.CheckHsCode("151110", ""), IsOk());
  EXPECT_THAT(rules.CheckHsCode("1511100000", "HS2022"), IsOk());
  EXPECT_THAT(rules.CheckHsCode("880330", "HS2022"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("8803 became 8807")));
  EXPECT_THAT(rules.CheckHsCode("880330", "HS2017"), IsOk());
  EXPECT_THAT(rules.CheckHsCode("1511", ""),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(rules.CheckHsCode("010100", ""),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(rules.CheckHsCode("151110", "HS2035"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(RuleSetTest, InstrumentsCarryStatusAtDate) {
  const RuleSet& rules = Shipped();
  auto kh =
      rules.GetInstrument("cn-mofcom-2025-61", absl::CivilDay(2026, 1, 5));
  ASSERT_THAT(kh, IsOk());
  EXPECT_EQ(kh->status(), v1::INSTRUMENT_STATUS_SUSPENDED);
  EXPECT_FALSE(kh->measures().empty());
  EXPECT_FALSE(kh->measures(0).citation().source_url().empty());
  auto s122 = rules.GetInstrument("us-s122-proclamation-2026",
                                  absl::CivilDay(2026, 7, 24));
  ASSERT_THAT(s122, IsOk());
  EXPECT_EQ(s122->status(), v1::INSTRUMENT_STATUS_EXPIRED);
  EXPECT_THAT(rules.GetInstrument("nope", absl::CivilDay(2026, 1, 1)),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_GE(rules.ListInstruments(absl::CivilDay(2026, 1, 1), false).size(),
            18u);
}

TEST(RuleSetTest, MissingDirectoryIsFailedPrecondition) {
  EXPECT_THAT(RuleSet::LoadFromDirectory("/nonexistent/agreements"),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

// Loader errors: each mutates one shipped file and expects file, line and
// reason.
class LoaderErrorTest : public ::testing::Test {
 protected:
  absl::Status LoadWith(const std::string& file, const std::string& from,
                        const std::string& to) {
    SourceFiles files = Shipped().sources();
    std::string& text = files[file];
    const size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) text.replace(at, from.size(), to);
    return RuleSet::LoadFromSources(files).status();
  }
  absl::Status LoadWithExtra(const std::string& name, const std::string& text) {
    SourceFiles files = Shipped().sources();
    files[name] = text;
    return RuleSet::LoadFromSources(files).status();
  }
  static int LineOf(const std::string& file, const std::string& needle) {
    const std::string& text = Shipped().sources().at(file);
    const size_t at = text.find(needle);
    return 1 +
           static_cast<int>(std::count(text.begin(), text.begin() + at, '\n'));
  }
};

TEST_F(LoaderErrorTest, SyntaxErrorHasFileAndLine) {
  const int line = LineOf("us-eo-14326.textproto", "rate_basis_points: 2000");
  EXPECT_THAT(
      LoadWith("us-eo-14326.textproto", "rate_basis_points: 2000",
               "rate_basis_points: \"twenty\""),
      StatusIs(
          absl::StatusCode::kInvalidArgument,
          HasSubstr("us-eo-14326.textproto:" + std::to_string(line) + ":")));
}

TEST_F(LoaderErrorTest, UnknownCountry) {
  const int line = LineOf("us-eo-14326.textproto", "countries: \"VN\"");
  EXPECT_THAT(
      LoadWith("us-eo-14326.textproto", "countries: \"VN\"",
               "countries: \"XX\""),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("us-eo-14326.textproto:" + std::to_string(line) +
                         ": unknown country code \"XX\"")));
}

TEST_F(LoaderErrorTest, UnknownHsCode) {
  EXPECT_THAT(
      LoadWith("us-my-art.textproto", "include: \"1511\"", "include: \"1599\""),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("unknown HS code \"1599\"")));
  EXPECT_THAT(
      LoadWith("us-my-art.textproto", "include: \"1511\"", "include: \"151\""),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("must be 2, 4, 6, 8 or 10 digits")));
}

TEST_F(LoaderErrorTest, InvertedWindow) {
  EXPECT_THAT(LoadWith("us-s122-proclamation-2026.textproto",
                       "valid_until { year: 2026 month: 7 day: 24 }",
                       "valid_until { year: 2026 month: 1 day: 24 }"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("us-s122-proclamation-2026.textproto:")));
  EXPECT_THAT(LoadWith("us-s122-proclamation-2026.textproto",
                       "valid_until { year: 2026 month: 7 day: 24 }",
                       "valid_until { year: 2026 month: 1 day: 24 }"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("inverted window")));
}

TEST_F(LoaderErrorTest, OverlappingStatusPeriods) {
  EXPECT_THAT(LoadWith("us-eo-14326.textproto",
                       "status: INSTRUMENT_STATUS_NOT_IN_FORCE\n  from { year: "
                       "2026 month: 2 day: 24 }",
                       "status: INSTRUMENT_STATUS_NOT_IN_FORCE\n  from { year: "
                       "2026 month: 2 day: 1 }"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("overlapping windows")));
}

TEST_F(LoaderErrorTest, OverlappingMeasuresInOneStackingGroup) {
  std::string copy = Shipped().sources().at("us-eo-14326.textproto");
  absl::StrReplaceAll({{"instrument_id: \"us-eo-14326\"",
                        "instrument_id: \"us-eo-14326-copy\""},
                       {"measure_id: \"us-eo14326", "measure_id: \"copy"}},
                      &copy);
  EXPECT_THAT(LoadWithExtra("copy.textproto", copy),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("overlapping windows: measure")));
}

TEST_F(LoaderErrorTest, RateOutOfRange) {
  EXPECT_THAT(
      LoadWith("us-eo-14326.textproto", "rate_basis_points: 2000",
               "rate_basis_points: 250000"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("out of range")));
  EXPECT_THAT(
      LoadWith("us-eo-14326.textproto", "rate_basis_points: 2000",
               "rate_basis_points: -5"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("out of range")));
  EXPECT_THAT(
      LoadWith("cn-mofcom-2025-61.textproto", "threshold_ppm: 1000",
               "threshold_ppm: 1000000"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("out of range")));
}

TEST_F(LoaderErrorTest, ReferenceToMissingMeasure) {
  const int line = LineOf("us-my-art.textproto", "conflicts_with:");
  EXPECT_THAT(LoadWith("us-my-art.textproto",
                       "conflicts_with: \"my-nr-ree-moratorium-ban\"",
                       "conflicts_with: \"no-such-measure\""),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("us-my-art.textproto:" + std::to_string(line) +
                                 ": reference to a measure that does not "
                                 "exist: \"no-such-measure\"")));
  EXPECT_THAT(
      LoadWith("us-eo-14326.textproto", "replaces_group: \"us-reciprocal\"",
               "replaces_group: \"nowhere\""),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("stacking group no measure defines")));
  EXPECT_THAT(
      LoadWith("us-origin-law.textproto",
               "transshipment_measure_id: \"us-eo14326-s3-transshipment\"",
               "transshipment_measure_id: \"gone\""),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("reference to a measure that does not exist")));
  EXPECT_THAT(LoadWith("my-nr-ree-export-moratorium.textproto",
                       "stage_policy: \"my-nr-ree-raw-vs-processed\"",
                       "stage_policy: \"nope\""),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("unknown stage policy")));
}

// A notice shown only beside a duty must name additional duties, and only a
// line-level notice has line duties to be shown with.
TEST_F(LoaderErrorTest, NoticeShownWithDutyNamesAnAdditionalDuty) {
  const std::string file = "us-s301-forced-labor-2026.textproto";
  const int line = LineOf(file, "shown_with_duty_from: \"us-s301fl-kh\"");
  EXPECT_THAT(LoadWith(file, "shown_with_duty_from: \"us-s301fl-kh\"",
                       "shown_with_duty_from: \"us-s301fl-nowhere\""),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr(file + ":" + std::to_string(line) +
                                 ": reference to a measure that does not "
                                 "exist: \"us-s301fl-nowhere\"")));
  EXPECT_THAT(LoadWith(file, "shown_with_duty_from: \"us-s301fl-kh\"",
                       "shown_with_duty_from: \"us-s301fl-litigation\""),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("\"us-s301fl-litigation\" is not an "
                                 "additional duty")));
  EXPECT_THAT(
      LoadWith(file, "shown_with_duty_from: \"us-s301fl-kh\"",
               "shown_with_duty_from: \"us-s301fl-kh\"\n    "
               "declaration_level: true"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("a declaration-level notice has no line duties")));
}

TEST_F(LoaderErrorTest, MissingSource) {
  // The instrument and its measure cite the same primary text: the measure's
  // line is the indented one, the instrument's comes first in the file.
  const std::string mou =
      "source_url: \"https://www.whitehouse.gov/briefings-statements/2025/10/"
      "memorandum-of-understanding-between-the-government-of-the-united-"
      "states-of-america-and-the-government-of-the-kingdom-of-thailand-"
      "concerning-cooperation-to-diversify-global-critical-minerals-supply-"
      "cha/\"";
  EXPECT_THAT(
      LoadWith("th-us-critical-minerals-mou.textproto", "  " + mou, ""),
      StatusIs(
          absl::StatusCode::kInvalidArgument,
          HasSubstr("missing source: measure \"th-us-mou-no-export-rules\"")));
  EXPECT_THAT(
      LoadWith("th-us-critical-minerals-mou.textproto", mou, ""),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("missing source: instrument")));
}

TEST_F(LoaderErrorTest, DuplicateIds) {
  std::string copy = Shipped().sources().at("us-kh-art.textproto");
  absl::StrReplaceAll(
      {{"instrument_id: \"us-kh-art\"", "instrument_id: \"x\""}}, &copy);
  EXPECT_THAT(LoadWithExtra("x.textproto", copy),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("duplicate measure_id")));
}

TEST_F(LoaderErrorTest, MissingReferenceTablesAndRuleSet) {
  SourceFiles files = Shipped().sources();
  files.erase("reference/hs2022.csv");
  EXPECT_THAT(RuleSet::LoadFromSources(files).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("reference/hs2022.csv")));
  files = Shipped().sources();
  files.erase("ruleset.textproto");
  EXPECT_THAT(RuleSet::LoadFromSources(files).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("ruleset.textproto")));
}

TEST_F(LoaderErrorTest, UnconfirmedWithoutNote) {
  EXPECT_THAT(
      LoadWith("cn-mofcom-2025-61.textproto",
               "unconfirmed_note: \"Annex 1 item list not retrieved (ambiguity "
               "9).\"",
               ""),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("unconfirmed measure needs an unconfirmed_note")));
}

TEST_F(LoaderErrorTest, BadDate) {
  EXPECT_THAT(
      LoadWith("us-de-minimis-suspension.textproto",
               "from { year: 2025 month: 8 day: 29 }",
               "from { year: 2025 month: 2 day: 30 }"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bad date")));
}

// The source policy: a duty never rests on a source of no standing, and a
// secondary source needs a reason.
TEST_F(LoaderErrorTest, SourcesWithoutStandingOrReasonAreRefused) {
  const std::string url =
      "source_url: \"https://www.federalregister.gov/documents/2026/07/28/"
      "2026-15181/notice-of-actions-in-section-301-investigations-of-acts-"
      "policies-and-practices-of-various-economies\"\n  primary_document: "
      "\"FR Doc 2026-15181, 91 FR 47318; Presidential Memorandum of 23 Jul "
      "2026 Sec. 1(b)(i)\"\n  valid_from { year: 2026 month: 7 day: 24 }\n  "
      "scope {\n    declaration_kinds: DECLARATION_KIND_IMPORT_ENTRY\n    "
      "origins { countries: \"MY\" }";
  const int line = LineOf("us-s301-forced-labor-2026.textproto", url);
  EXPECT_THAT(
      LoadWith("us-s301-forced-labor-2026.textproto", url,
               absl::StrReplaceAll(
                   url, {{"https://www.federalregister.gov",
                          "https://www.breitbart.com"}})),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("us-s301-forced-labor-2026.textproto:" +
                               std::to_string(line) + ":"),
                     HasSubstr("no standing"))));
  EXPECT_THAT(
      LoadWith("us-s301-forced-labor-2026.textproto", url,
               absl::StrReplaceAll(url, {{"https://www.federalregister.gov",
                                          "https://www.lawfirm.example"}})),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("not a primary source")));
}

TEST_F(LoaderErrorTest, EveryInstrumentNeedsAConfirmation) {
  EXPECT_THAT(LoadWith("us-s201-quartz-2026.textproto", "confirmation {",
                       "notes: \"\"\nxconfirmation {"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(
      LoadWith("us-s201-quartz-2026.textproto",
               "  review_due { year: 2027 month: 1 day: 9 }",
               "  review_due { year: 2026 month: 1 day: 9 }"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("review_due must be after confirmed_on")));
  SourceFiles files = Shipped().sources();
  std::string& text = files["us-s201-quartz-2026.textproto"];
  const size_t from = text.find("confirmation {");
  text.erase(from, text.find("}\n}\n", from) + 4 - from);
  EXPECT_THAT(RuleSet::LoadFromSources(files).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("needs a confirmation")));
}

TEST_F(LoaderErrorTest, NamedListsAndTheirCsvRowsAreChecked) {
  EXPECT_THAT(LoadWith("us-s201-quartz-2026.textproto",
                       "hs { lists: \"us-s201-quartz\" }",
                       "hs { lists: \"no-such-list\" }"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("unknown HS list \"no-such-list\"")));
  EXPECT_THAT(LoadWith("reference/hts-lists/us-s201-quartz-note41.csv",
                       "6810990040", "9999990040"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("reference/hts-lists/us-s201-quartz-note41."
                                 "csv:3: unknown HS code")));
}

}  // namespace
}  // namespace tradecheck::rules
