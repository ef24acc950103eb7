#include "core/declaration_validator.h"

#include <set>
#include <string>

#include "common/testing/status_matchers.h"
#include "core/errors.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace tradecheck {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::tradecheck::testing::IsOk;
using ::tradecheck::testing::StatusIs;

class DeclarationValidatorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto rules = rules::RuleSet::LoadFromDirectory(TC_AGREEMENTS_DIR);
    ASSERT_TRUE(rules.ok()) << rules.status();
    rules_ = new std::shared_ptr<const rules::RuleSet>(*rules);
  }

  static v1::Declaration Valid() {
    v1::Declaration d;
    EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(R"pb(
      declaration_id: "VAL-1"
      kind: DECLARATION_KIND_IMPORT_ENTRY
      exporter_id: "VN-EXP-1"
      importer_id: "US-IMP-1"
      origin_country: "VN"
      export_country: "VN"
      destination_country: "US"
      export_date { year: 2025 month: 10 day: 1 }
      entry_date { year: 2025 month: 10 day: 20 }
      lines {
        line_number: 1
        hs_code: "8471300000"
        description: "Laptops"
        customs_value { currency_code: "USD" minor_units: 5000000 }
        quantity { amount_milli: 100000 unit: "NAR" }
        us_content_value { currency_code: "USD" minor_units: 100000 }
        bill_of_materials_status: BILL_OF_MATERIALS_STATUS_COMPLETE
        bill_of_materials {
          hs_code: "854231"
          origin_country: "CN"
          value { currency_code: "USD" minor_units: 1000000 }
          elements: "Ga"
        }
      }
    )pb", &d));
    return d;
  }

  static std::set<std::string> Fields(const absl::Status& status) {
    std::set<std::string> fields;
    const google::rpc::BadRequest bad = GetBadRequest(status);
    for (const auto& v : bad.field_violations()) fields.insert(v.field());
    return fields;
  }

  const rules::RuleSet& rules() { return **rules_; }
  static std::shared_ptr<const rules::RuleSet>* rules_;
};

std::shared_ptr<const rules::RuleSet>* DeclarationValidatorTest::rules_ = nullptr;

TEST_F(DeclarationValidatorTest, AcceptsAWellFormedDeclaration) {
  EXPECT_THAT(ValidateDeclaration(Valid(), rules()), IsOk());
}

TEST_F(DeclarationValidatorTest, ReportsEveryProblemWithItsFieldPath) {
  v1::Declaration d = Valid();
  d.set_declaration_id("has spaces");
  d.set_origin_country("vn");
  d.mutable_lines(0)->set_hs_code("84713");
  d.mutable_lines(0)->mutable_bill_of_materials(0)->set_origin_country("ZZ");
  d.mutable_lines(0)->mutable_bill_of_materials(0)->set_elements(0, "gallium");
  absl::Status status = ValidateDeclaration(d, rules());
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(Fields(status),
            (std::set<std::string>{"declaration_id", "origin_country",
                                   "lines[0].hs_code",
                                   "lines[0].bill_of_materials[0].origin_country",
                                   "lines[0].bill_of_materials[0].elements[0]"}));
}

TEST_F(DeclarationValidatorTest, ComponentHeadingsMustExist) {
  v1::Declaration d = Valid();
  d.mutable_lines(0)->mutable_bill_of_materials(0)->set_hs_code("8505");
  EXPECT_THAT(ValidateDeclaration(d, rules()), IsOk());
  d.mutable_lines(0)->mutable_bill_of_materials(0)->set_hs_code("8803");
  absl::Status status = ValidateDeclaration(d, rules());
  EXPECT_THAT(Fields(status),
              ElementsAre("lines[0].bill_of_materials[0].hs_code"));
  EXPECT_THAT(status.message(), HasSubstr("8803 is not an HS 2022 heading"));
}

TEST_F(DeclarationValidatorTest, StatisticalChapter99IsNotASubheading) {
  v1::Declaration d = Valid();
  d.mutable_lines(0)->set_hs_code("9999990000");
  absl::Status status = ValidateDeclaration(d, rules());
  EXPECT_THAT(Fields(status), ElementsAre("lines[0].hs_code"));
  EXPECT_THAT(status.message(), HasSubstr("999999 is not an HS 2022 subheading"));
}

TEST_F(DeclarationValidatorTest, GoverningDateIsRequiredByKind) {
  v1::Declaration d = Valid();
  d.clear_entry_date();
  EXPECT_THAT(Fields(ValidateDeclaration(d, rules())), ElementsAre("entry_date"));
  d = Valid();
  d.set_kind(v1::DECLARATION_KIND_EXPORT_SHIPMENT);
  d.clear_export_date();
  EXPECT_THAT(Fields(ValidateDeclaration(d, rules())),
              ElementsAre("export_date"));
}

TEST_F(DeclarationValidatorTest, EntryBeforeLoadingIsRefused) {
  v1::Declaration d = Valid();
  d.mutable_entry_date()->set_month(9);
  absl::Status status = ValidateDeclaration(d, rules());
  EXPECT_THAT(Fields(status), ElementsAre("entry_date"));
  EXPECT_THAT(status.message(), HasSubstr("before export_date"));
}

TEST_F(DeclarationValidatorTest, OneCurrencyPerDeclaration) {
  v1::Declaration d = Valid();
  d.mutable_lines(0)->mutable_bill_of_materials(0)->mutable_value()
      ->set_currency_code("CNY");
  absl::Status status = ValidateDeclaration(d, rules());
  EXPECT_THAT(Fields(status),
              ElementsAre("lines[0].bill_of_materials[0].value.currency_code"));
  EXPECT_THAT(status.message(), HasSubstr("one currency"));
}

TEST_F(DeclarationValidatorTest, UsContentCannotExceedValue) {
  v1::Declaration d = Valid();
  d.mutable_lines(0)->mutable_us_content_value()->set_minor_units(6000000);
  EXPECT_THAT(Fields(ValidateDeclaration(d, rules())),
              ElementsAre("lines[0].us_content_value"));
}

TEST_F(DeclarationValidatorTest, LinesMustBeNumberedUniquely) {
  v1::Declaration d = Valid();
  *d.add_lines() = d.lines(0);
  EXPECT_THAT(Fields(ValidateDeclaration(d, rules())),
              ElementsAre("lines[1].line_number"));
  d.clear_lines();
  EXPECT_THAT(Fields(ValidateDeclaration(d, rules())), ElementsAre("lines"));
}

TEST_F(DeclarationValidatorTest, UnknownEnumValuesAreNamed) {
  v1::Declaration d = Valid();
  d.mutable_lines(0)->set_processing_stage(static_cast<v1::ProcessingStage>(77));
  d.mutable_facts()->set_military_end_use(static_cast<v1::Answer>(9));
  EXPECT_EQ(Fields(ValidateDeclaration(d, rules())),
            (std::set<std::string>{"lines[0].processing_stage",
                                   "facts.military_end_use"}));
}

TEST_F(DeclarationValidatorTest, DeclarationIdRule) {
  EXPECT_TRUE(IsValidDeclarationId("ENTRY-2026/000123:a.b_c"));
  EXPECT_FALSE(IsValidDeclarationId(""));
  EXPECT_FALSE(IsValidDeclarationId("tab\there"));
  EXPECT_FALSE(IsValidDeclarationId(std::string(129, 'a')));
}

// A US entry valued in another currency needs the rate for the date of
// exportation; duties are never stated in a foreign currency.
TEST_F(DeclarationValidatorTest, ForeignCurrencyUsEntryNeedsTheExportDateRate) {
  v1::Declaration d = Valid();
  for (auto* m : {d.mutable_lines(0)->mutable_customs_value(),
                  d.mutable_lines(0)->mutable_us_content_value(),
                  d.mutable_lines(0)->mutable_bill_of_materials(0)->mutable_value()}) {
    m->set_currency_code("MYR");
  }
  EXPECT_THAT(Fields(ValidateDeclaration(d, rules())),
              ElementsAre("exchange_rate"));

  v1::ExchangeRate* r = d.mutable_exchange_rate();
  r->set_currency_code("MYR");
  r->set_usd_per_unit("0.2125");
  *r->mutable_rate_date() = d.export_date();
  EXPECT_THAT(ValidateDeclaration(d, rules()), IsOk());

  r->set_usd_per_unit("-0.21");
  r->mutable_rate_date()->set_day(2);
  r->set_currency_code("EUR");
  EXPECT_THAT(Fields(ValidateDeclaration(d, rules())),
              ElementsAre("exchange_rate.currency_code",
                          "exchange_rate.rate_date",
                          "exchange_rate.usd_per_unit"));
}

TEST_F(DeclarationValidatorTest, ExchangeRateOnAUsdDeclarationIsRefused) {
  v1::Declaration d = Valid();
  d.mutable_exchange_rate()->set_currency_code("USD");
  d.mutable_exchange_rate()->set_usd_per_unit("1");
  EXPECT_THAT(Fields(ValidateDeclaration(d, rules())),
              ElementsAre("exchange_rate"));
}

TEST_F(DeclarationValidatorTest, Section232ContentCannotExceedTheValue) {
  v1::Declaration d = Valid();
  d.mutable_lines(0)->mutable_section_232_content_value()->set_currency_code(
      "USD");
  d.mutable_lines(0)->mutable_section_232_content_value()->set_minor_units(
      5000001);
  EXPECT_THAT(Fields(ValidateDeclaration(d, rules())),
              ElementsAre("lines[0].section_232_content_value"));
}

}  // namespace
}  // namespace tradecheck
