#include "client/verdict_format.h"

#include <string>

#include "client/client_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tradecheck {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::tradecheck::testing::PalmOilDeclaration;
using ::tradecheck::testing::VerdictWith;

TEST(VerdictFormatTest, ShowsOutcomeDutiesFindingsAndSources) {
  const v1::Declaration declaration = PalmOilDeclaration();
  const std::string text =
      FormatCheckResponse(VerdictWith(v1::OUTCOME_ALLOW), &declaration);
  EXPECT_THAT(text, HasSubstr("Outcome       ALLOW"));
  EXPECT_THAT(text, HasSubstr("Total duty    USD 23,750.00"));
  // The line table carries the HS code from the declaration.
  EXPECT_THAT(text, HasSubstr("1     1511100000  ALLOW"));
  EXPECT_THAT(text, HasSubstr("Crude palm oil"));
  EXPECT_THAT(text, HasSubstr("Reciprocal tariff, Malaysia: 19.00% of "
                              "USD 125,000.00 = USD 23,750.00  (9903.01.25)"));
  EXPECT_THAT(text, HasSubstr("source: Executive Order 14326, Annex I "
                              "<https://www.whitehouse.gov/"));
  EXPECT_THAT(text, HasSubstr("WARNING  EXM-003"));
  EXPECT_THAT(text, HasSubstr("remedy: check the published Malaysia"));
  EXPECT_THAT(text, HasSubstr("tags:   ZERO_RATE_CANDIDATE"));
  EXPECT_THAT(text, Not(HasSubstr("Replayed")));
}

TEST(VerdictFormatTest, ShowsTheTypedMarginOfAFinding) {
  v1::CheckDeclarationResponse response = VerdictWith(v1::OUTCOME_DENY);
  v1::Finding* f = response.mutable_verdict()->add_findings();
  f->set_rule_id("CN-001");
  f->set_severity(v1::SEVERITY_DENY);
  v1::Margin* m = f->mutable_margin();
  m->set_measured("CONTROLLED_ORIGIN_CONTENT");
  m->mutable_threshold()->set_ratio_ppm(1000);
  m->mutable_actual()->set_ratio_ppm(1400);
  m->set_direction(v1::MARGIN_DIRECTION_MUST_REDUCE);
  m->mutable_distance()->mutable_money()->set_currency_code("USD");
  m->mutable_distance()->mutable_money()->set_minor_units(4001);
  m->mutable_passing_value()->mutable_money()->set_currency_code("USD");
  m->mutable_passing_value()->mutable_money()->set_minor_units(9999);
  const std::string text = FormatCheckResponse(response, nullptr);
  EXPECT_THAT(text,
              HasSubstr("margin: CONTROLLED_ORIGIN_CONTENT 0.14 % (threshold "
                        "0.10 %): reduce by USD 40.01 to at most USD 99.99"));
}

TEST(VerdictFormatTest, SaysWhenReplayedOrADryRun) {
  v1::CheckDeclarationResponse response = VerdictWith(v1::OUTCOME_DENY);
  response.set_replayed(true);
  response.mutable_verdict()->set_validate_only(true);
  const std::string text = FormatCheckResponse(response, nullptr);
  EXPECT_THAT(text, HasSubstr("Outcome       DENY"));
  EXPECT_THAT(text, HasSubstr("dry run: nothing bound"));
  EXPECT_THAT(text, HasSubstr("Replayed"));
}

TEST(VerdictFormatTest, BatchRowsShowOutcomeOrError) {
  v1::CheckResult ok;
  ok.set_index(3);
  ok.set_declaration_id("MY-PALM-2025-0917");
  *ok.mutable_response() = VerdictWith(v1::OUTCOME_NEEDS_REVIEW);
  EXPECT_THAT(FormatBatchRow(ok),
              AllOf(HasSubstr("MY-PALM-2025-0917"), HasSubstr("NEEDS_REVIEW"),
                    HasSubstr("USD 23,750.00"), HasSubstr("dec-000042")));

  v1::CheckResult rejected;
  rejected.set_index(4);
  rejected.set_declaration_id("BAD-1");
  rejected.mutable_error()->set_code(3);
  rejected.mutable_error()->set_message("the declaration is malformed");
  EXPECT_THAT(
      FormatBatchRow(rejected),
      AllOf(HasSubstr("ERROR"),
            HasSubstr("INVALID_ARGUMENT: the declaration is malformed")));
}

TEST(VerdictFormatTest, VerifyTrailSaysWhereTheChainBreaks) {
  v1::VerifyTrailResponse broken;
  broken.set_ok(false);
  broken.set_records_checked(41);
  broken.set_first_bad_sequence(42);
  broken.set_first_bad_decision_id("dec-000042");
  broken.set_problem("record_hash does not match the record's content");
  EXPECT_THAT(FormatVerifyTrail(broken),
              AllOf(HasSubstr("BROKEN"), HasSubstr("#42 (decision dec-000042)"),
                    HasSubstr("does not match")));

  v1::VerifyTrailResponse ok;
  ok.set_ok(true);
  ok.set_records_checked(1200);
  ok.set_head_sequence(1200);
  ok.set_head_hash(std::string(64, 'f'));
  EXPECT_THAT(FormatVerifyTrail(ok),
              AllOf(HasSubstr("Trail OK: 1200 records"),
                    HasSubstr("#1200 " + std::string(64, 'f'))));
}

TEST(VerdictFormatTest, ReevaluationShowsMismatchAndChanges) {
  v1::ReevaluateDecisionResponse response;
  response.mutable_decision()->set_decision_id("dec-7");
  response.mutable_original_revision_verdict()->set_outcome(v1::OUTCOME_ALLOW);
  response.mutable_current_revision_verdict()->set_outcome(
      v1::OUTCOME_NEEDS_REVIEW);
  response.set_matches_stored(false);
  response.add_changes("line 1: outcome ALLOW -> NEEDS_REVIEW");
  EXPECT_THAT(FormatReevaluation(response),
              AllOf(HasSubstr("DOES NOT MATCH"),
                    HasSubstr("line 1: outcome ALLOW -> NEEDS_REVIEW")));
}

// An earlier activation accounted for without a record because its impact
// cannot be computed must not read as "no past verdict differed".
TEST(VerdictFormatTest, ReloadSaysWhyTheEarlierActivationHasNoRecord) {
  v1::ReloadRuleSetResponse response;
  response.set_earlier_activation_accounted(true);
  response.set_earlier_retroactive_impact_error(
      "its retroactive impact cannot be computed: sources gone");
  EXPECT_THAT(FormatReload(response),
              AllOf(HasSubstr("cannot be computed: sources gone"),
                    Not(HasSubstr("no past verdict differed"))));
  response.clear_earlier_retroactive_impact_error();
  EXPECT_THAT(FormatReload(response),
              HasSubstr("no past verdict differed under it"));
  response.set_earlier_retroactive_impact_id("ri-000000000003");
  EXPECT_THAT(FormatReload(response),
              HasSubstr("retroactive impact ri-000000000003"));
}

TEST(VerdictFormatTest, DecisionListRow) {
  v1::Decision decision;
  decision.set_decision_id("dec-000042");
  decision.set_stream(v1::TRAIL_STREAM_VALIDATE_ONLY);
  decision.set_sequence(42);
  decision.mutable_recorded_at()->set_seconds(1772323200);  // 2026-03-01
  *decision.mutable_declaration() = PalmOilDeclaration();
  *decision.mutable_verdict() = VerdictWith(v1::OUTCOME_ALLOW).verdict();
  EXPECT_THAT(FormatDecisionRow(decision),
              AllOf(HasSubstr("2026-03-01 00:00:00 UTC"),
                    HasSubstr("validate-only #42"), HasSubstr("dec-000042"),
                    HasSubstr("MY-PALM-2025-0917"), HasSubstr(" MY "),
                    HasSubstr("USD 23,750.00")));
}

TEST(VerdictFormatTest, InstrumentShowsStatusHistoryAndMeasures) {
  v1::Instrument instrument;
  instrument.set_instrument_id("cn-mofcom-2025-61");
  instrument.set_title("MOFCOM Announcement No. 61 (2025)");
  instrument.set_issuer("MOFCOM");
  instrument.set_status(v1::INSTRUMENT_STATUS_SUSPENDED);
  auto* period = instrument.add_status_history();
  period->set_status(v1::INSTRUMENT_STATUS_SUSPENDED);
  period->mutable_from()->set_year(2025);
  period->mutable_from()->set_month(11);
  period->mutable_from()->set_day(7);
  period->mutable_until()->set_year(2026);
  period->mutable_until()->set_month(11);
  period->mutable_until()->set_day(10);
  period->set_note("suspended by MOFCOM/GAC No. 70");
  auto* measure = instrument.add_measures();
  measure->set_measure_id("cn-61-extraterritorial-re");
  measure->set_kind("EXPORT_LICENCE");
  measure->add_rule_ids("CN-001");
  measure->add_rule_ids("CN-001s");
  EXPECT_THAT(FormatInstrument(instrument),
              AllOf(HasSubstr("Status   SUSPENDED"),
                    HasSubstr("2025-11-07 to 2026-11-10 SUSPENDED"),
                    HasSubstr("cn-61-extraterritorial-re  [EXPORT_LICENCE]"),
                    HasSubstr("rules CN-001, CN-001s")));
}

// A description with ESC and newline must not reach the terminal raw: it
// could clear the screen and forge an "Outcome ALLOW" line.
TEST(VerdictFormatTest, RecordTextIsEscapedForTheTerminal) {
  v1::Decision decision;
  decision.set_decision_id("b-000000000001");
  *decision.mutable_declaration() = PalmOilDeclaration();
  decision.mutable_declaration()->mutable_lines(0)->set_description(
      "oil\x1b[2J\x1b[H\nOutcome       ALLOW\x9b\xc2\x9b" "31m \xc3\xa9");
  decision.mutable_declaration()->set_importer_id("IMP\rX");
  *decision.mutable_verdict() = VerdictWith(v1::OUTCOME_DENY).verdict();
  const std::string text = FormatDecision(decision);
  EXPECT_THAT(text, Not(HasSubstr("\x1b")));
  EXPECT_THAT(text, Not(HasSubstr("\r")));
  EXPECT_THAT(text, Not(HasSubstr("\x9b")));
  EXPECT_THAT(text, Not(HasSubstr("\nOutcome       ALLOW")));
  EXPECT_THAT(text, HasSubstr("oil\\x1b[2J\\x1b[H\\x0aOutcome       ALLOW"
                              "\\x9b\\xc2\\x9b31m \xc3\xa9"));
  const std::string row = FormatDecisionRow(decision);
  EXPECT_THAT(row, Not(HasSubstr("\r")));
}

}  // namespace
}  // namespace tradecheck
