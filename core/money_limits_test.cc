// Money that cannot overflow (issue 10): each sum the rule engine forms
// (line totals, declaration totals, controlled content, non-originating
// content) never wraps, even on input the validator would refuse, and the
// validator refuses amounts over the documented ceilings with a field
// violation naming the field.
#include <cstdint>
#include <limits>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/money.h"
#include "core/declaration_validator.h"
#include "core/errors.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "rules/engine.h"
#include "rules/rule_set.h"

namespace tradecheck {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

v1::Declaration Decl(const std::string& text) {
  v1::Declaration d;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &d)) << text;
  return d;
}

std::shared_ptr<const rules::RuleSet> Shipped() {
  auto set = rules::RuleSet::LoadFromDirectory(TC_AGREEMENTS_DIR);
  EXPECT_TRUE(set.ok()) << set.status();
  return set.ok() ? *set : nullptr;
}

// The shipped reference tables and policy file with one instrument of two
// stacking 200 % duties on HS 9403.60, so that one line owes two duties.
std::shared_ptr<const rules::RuleSet> TwoDutySet() {
  auto shipped = Shipped();
  rules::SourceFiles files;
  for (const char* ref : {"reference/hs2022.csv", "reference/iso3166.tab",
                          "ruleset.textproto"}) {
    files[ref] = shipped->sources().at(ref);
  }
  std::string measures;
  for (const char* id : {"a", "b"}) {
    absl::StrAppend(
        &measures, "measures { measure_id: \"", id, "\" rule_ids: \"T-", id,
        "\" title: \"", id, "\" article: \"Art. 1\" source_url: "
        "\"https://example.org/", id, "\" no_primary_source_reason: \"test\" "
        "valid_from { year: 2025 month: 1 "
        "day: 1 } scope { declaration_kinds: DECLARATION_KIND_IMPORT_ENTRY "
        "destinations { countries: \"US\" } hs { include: \"940360\" } } "
        "additional_duty { rate_basis_points: 20000 stacking_group: \"", id,
        "\" } }\n");
  }
  files["zz-test.textproto"] = absl::StrCat(
      "instrument_id: \"zz-test\" title: \"Test instrument\" source_url: "
      "\"https://example.org/law\" no_primary_source_reason: \"test\" "
      "confirmation { confirmed_on { year: 2025 month: 1 day: 1 } source_url: "
      "\"https://example.org\" confirmed_by: \"test\" review_due { year: 2030 "
      "month: 1 day: 1 } } status_history { status: "
      "INSTRUMENT_STATUS_IN_FORCE from { year: 2025 month: 1 day: 1 } }\n",
      measures);
  auto set = rules::RuleSet::LoadFromSources(files);
  EXPECT_TRUE(set.ok()) << set.status();
  return set.ok() ? *set : nullptr;
}

std::string ImportLines(int count, int64_t minor_units) {
  std::string text =
      "declaration_id: \"overflow\" kind: DECLARATION_KIND_IMPORT_ENTRY "
      "importer_id: \"IMP\" origin_country: \"MY\" export_country: \"MY\" "
      "destination_country: \"US\" entry_date { year: 2025 month: 9 day: 1 } "
      "export_date { year: 2025 month: 8 day: 1 } ";
  for (int i = 1; i <= count; ++i) {
    absl::StrAppend(&text, "lines { line_number: ", i,
                    " hs_code: \"9403604000\" customs_value { currency_code: "
                    "\"USD\" minor_units: ",
                    minor_units, " } }");
  }
  return text;
}

// A Malaysian motor whose bill of materials holds Chinese NdFeB magnets.
std::string MotorWithMagnets(const std::string& magnets) {
  return absl::StrCat(
      "declaration_id: \"magnets\" kind: DECLARATION_KIND_EXPORT_SHIPMENT "
      "exporter_id: \"EXP-MY\" origin_country: \"MY\" export_country: \"MY\" "
      "destination_country: \"US\" export_date { year: 2026 month: 11 day: 11 "
      "} lines { line_number: 1 hs_code: \"850134\" customs_value { "
      "currency_code: \"USD\" minor_units: 10000000 } "
      "bill_of_materials_status: BILL_OF_MATERIALS_STATUS_COMPLETE ",
      magnets,
      " bill_of_materials { hs_code: \"850300\" origin_country: \"MY\" value "
      "{ currency_code: \"USD\" minor_units: 3000000 } } }");
}

std::string Magnet(int64_t minor_units) {
  return absl::StrCat(
      "bill_of_materials { hs_code: \"850511\" description: \"NdFeB magnet\" "
      "origin_country: \"CN\" value { currency_code: \"USD\" minor_units: ",
      minor_units, " } elements: \"Nd\" elements: \"Dy\" } ");
}

TEST(CheckedSumTest, AddMinorUnitsReportsOverflow) {
  EXPECT_EQ(*AddMinorUnits(2, 3), 5);
  EXPECT_EQ(AddMinorUnits(kMax, 1).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(SumOrMax(kMax, kMax), kMax);
  EXPECT_EQ(SumOrMax(kMax - 1, 1), kMax);
  EXPECT_EQ(AddMoney(MakeMoney("USD", kMax), MakeMoney("USD", 1))
                .status()
                .code(),
            absl::StatusCode::kOutOfRange);
}

TEST(EngineSumTest, LineTotalOfTwoHugeDutiesNeverGoesNegative) {
  auto set = TwoDutySet();
  ASSERT_NE(set, nullptr);
  const rules::Evaluation e = rules::Evaluate(*set, Decl(ImportLines(1, kMax)));
  ASSERT_EQ(e.verdict.lines(0).duties_size(), 2);
  // Before the checked sum: two clamped duties wrapped to -2.
  EXPECT_EQ(e.verdict.lines(0).total_duty().minor_units(), kMax);
  EXPECT_EQ(e.verdict.total_duty().minor_units(), kMax);
}

TEST(EngineSumTest, DeclarationTotalOfTenHugeLinesNeverGoesNegative) {
  auto set = TwoDutySet();
  ASSERT_NE(set, nullptr);
  // Each line owes 200 % of a value whose duty alone stays in range.
  const rules::Evaluation e =
      rules::Evaluate(*set, Decl(ImportLines(10, kMax / 4)));
  ASSERT_EQ(e.verdict.lines_size(), 10);
  EXPECT_GT(e.verdict.lines(0).total_duty().minor_units(), 0);
  EXPECT_LT(e.verdict.lines(0).total_duty().minor_units(), kMax);
  // Before the checked sum: ten line totals wrapped negative.
  EXPECT_EQ(e.verdict.total_duty().minor_units(), kMax);
}

TEST(EngineSumTest, MoreControlledContentNeverClearsTheContentRule) {
  auto set = Shipped();
  const rules::Evaluation one =
      rules::Evaluate(*set, Decl(MotorWithMagnets(Magnet(14000))));
  const rules::Evaluation two = rules::Evaluate(
      *set, Decl(MotorWithMagnets(Magnet(14000) + Magnet(kMax - 1000))));
  auto content_finding = [](const rules::Evaluation& e) {
    for (const auto& f : e.verdict.lines(0).findings()) {
      if (f.rule_id() == "CN-001") return f;
    }
    return v1::Finding();
  };
  const v1::Finding before = content_finding(one);
  const v1::Finding after = content_finding(two);
  ASSERT_EQ(before.rule_id(), "CN-001");
  ASSERT_EQ(after.rule_id(), "CN-001");
  // Before the checked sum the second magnet wrapped the content negative:
  // "below the threshold", severity INFO.
  EXPECT_GE(after.severity(), before.severity()) << after.message();
  EXPECT_FALSE(absl::StrContains(after.message(), "below the threshold"))
      << after.message();
  EXPECT_FALSE(absl::StrContains(after.message(), "USD -")) << after.message();
}

TEST(EngineSumTest, NonOriginatingShareNeverWrapsNegative) {
  auto set = Shipped();
  const std::string decl = absl::StrCat(
      "declaration_id: \"bikes\" kind: DECLARATION_KIND_IMPORT_ENTRY "
      "importer_id: \"IMP\" origin_country: \"KH\" export_country: \"KH\" "
      "destination_country: \"US\" export_date { year: 2025 month: 11 day: 3 "
      "} entry_date { year: 2025 month: 12 day: 2 } lines { line_number: 1 "
      "hs_code: \"8712002500\" customs_value { currency_code: \"USD\" "
      "minor_units: 21600000 } minimal_processing: ANSWER_YES "
      "bill_of_materials_status: BILL_OF_MATERIALS_STATUS_COMPLETE "
      "bill_of_materials { hs_code: \"871491\" origin_country: \"CN\" value "
      "{ currency_code: \"USD\" minor_units: ",
      kMax,
      " } } bill_of_materials { hs_code: \"871494\" origin_country: \"CN\" "
      "value { currency_code: \"USD\" minor_units: ",
      kMax, " } } } facts { cbp_transshipment_determination: ANSWER_NO }");
  const rules::Evaluation e = rules::Evaluate(*set, Decl(decl));
  bool screened = false;
  for (const auto& f : e.verdict.lines(0).findings()) {
    if (!absl::StrContains(f.message(), "regional value content")) continue;
    screened = true;
    // Before the checked sum: a negative non-originating total gave a
    // regional value content above 100 % and a negative CN share.
    EXPECT_TRUE(absl::StrContains(f.message(), "regional value content 0.00 %"))
        << f.message();
    EXPECT_FALSE(absl::StrContains(f.message(), "CN -")) << f.message();
  }
  EXPECT_TRUE(screened);
}

TEST(MoneyCeilingTest, ValidatorNamesTheAmountOverTheLineCeiling) {
  auto set = Shipped();
  absl::Status status =
      ValidateDeclaration(Decl(ImportLines(1, kMaxLineValueMinor + 1)), *set);
  ASSERT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  const google::rpc::BadRequest bad = GetBadRequest(status);
  ASSERT_EQ(bad.field_violations_size(), 1);
  EXPECT_EQ(bad.field_violations(0).field(),
            "lines[0].customs_value.minor_units");
  EXPECT_TRUE(
      ValidateDeclaration(Decl(ImportLines(1, kMaxLineValueMinor)), *set).ok());
}

TEST(MoneyCeilingTest, ValidatorNamesTheLineThatPassesTheDeclarationCeiling) {
  auto set = Shipped();
  // Ten lines at the line ceiling reach the declaration ceiling exactly;
  // the eleventh passes it.
  EXPECT_TRUE(
      ValidateDeclaration(Decl(ImportLines(10, kMaxLineValueMinor)), *set)
          .ok());
  absl::Status status =
      ValidateDeclaration(Decl(ImportLines(11, kMaxLineValueMinor)), *set);
  const google::rpc::BadRequest bad = GetBadRequest(status);
  ASSERT_EQ(bad.field_violations_size(), 1) << status;
  EXPECT_EQ(bad.field_violations(0).field(),
            "lines[10].customs_value.minor_units");
}

TEST(MoneyCeilingTest, TenLinesAtInt64MaxAreRefusedLineByLine) {
  auto set = Shipped();
  absl::Status status = ValidateDeclaration(Decl(ImportLines(10, kMax)), *set);
  const google::rpc::BadRequest bad = GetBadRequest(status);
  ASSERT_GE(bad.field_violations_size(), 10) << status;
  EXPECT_EQ(bad.field_violations(9).field(),
            "lines[9].customs_value.minor_units");
}

}  // namespace
}  // namespace tradecheck
