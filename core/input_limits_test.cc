// Bounded, safe input (issue 10): a limit for every string and repeated
// field of the declaration, unknown fields refused, identifiers and free
// text restricted to documented characters, and errors that always fit.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/declaration_validator.h"
#include "core/errors.h"
#include "core/unknown_fields.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "rules/rule_set.h"

namespace tradecheck {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

class InputLimitsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto rules = rules::RuleSet::LoadFromDirectory(TC_AGREEMENTS_DIR);
    ASSERT_TRUE(rules.ok()) << rules.status();
    rules_ = new std::shared_ptr<const rules::RuleSet>(*rules);
  }

  static v1::Declaration Valid() {
    v1::Declaration d;
    EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(R"pb(
      declaration_id: "LIM-1"
      kind: DECLARATION_KIND_EXPORT_SHIPMENT
      exporter_id: "MY-EXP-1"
      importer_id: "US-IMP-1"
      origin_country: "MY"
      export_country: "MY"
      destination_country: "US"
      export_date { year: 2026 month: 1 day: 15 }
      lines {
        line_number: 1
        hs_code: "850134"
        description: "EV traction motor"
        customs_value { currency_code: "USD" minor_units: 10000000 }
        bill_of_materials_status: BILL_OF_MATERIALS_STATUS_COMPLETE
        bill_of_materials {
          hs_code: "850511"
          description: "NdFeB magnet"
          origin_country: "CN"
          value { currency_code: "USD" minor_units: 9000 }
          elements: "Nd"
        }
      }
      facts {
        end_use_description: "Retail\tsale"
        preference_claimed: "US-MY-ART"
        licences { authority: "CN-MOFCOM" number: "RE-2025-0412" }
      }
    )pb", &d));
    return d;
  }

  static absl::Status Validate(const v1::Declaration& d) {
    return ValidateDeclaration(d, **rules_);
  }

  // field -> description of each violation.
  static std::map<std::string, std::string> Violations(
      const absl::Status& status) {
    std::map<std::string, std::string> out;
    const google::rpc::BadRequest bad = GetBadRequest(status);
    for (const auto& v : bad.field_violations()) {
      out[v.field()] = v.description();
    }
    return out;
  }

  static std::shared_ptr<const rules::RuleSet>* rules_;
};

std::shared_ptr<const rules::RuleSet>* InputLimitsTest::rules_ = nullptr;

TEST_F(InputLimitsTest, TheFixtureIsValid) {
  EXPECT_TRUE(Validate(Valid()).ok()) << Validate(Valid());
}

// Each string field, one byte over its documented limit.
TEST_F(InputLimitsTest, EveryStringFieldHasALimit) {
  struct Case {
    std::string field;
    std::function<void(v1::Declaration*, std::string)> set;
    size_t limit;
  };
  const std::vector<Case> cases = {
      {"declaration_id",
       [](v1::Declaration* d, std::string v) { d->set_declaration_id(v); },
       kMaxIdLength},
      {"exporter_id",
       [](v1::Declaration* d, std::string v) { d->set_exporter_id(v); },
       kMaxIdLength},
      {"importer_id",
       [](v1::Declaration* d, std::string v) { d->set_importer_id(v); },
       kMaxIdLength},
      {"manufacturer_id",
       [](v1::Declaration* d, std::string v) { d->set_manufacturer_id(v); },
       kMaxIdLength},
      {"lines[0].description",
       [](v1::Declaration* d, std::string v) {
         d->mutable_lines(0)->set_description(v);
       },
       kMaxLineDescriptionLength},
      {"lines[0].bill_of_materials[0].description",
       [](v1::Declaration* d, std::string v) {
         d->mutable_lines(0)->mutable_bill_of_materials(0)->set_description(v);
       },
       kMaxComponentDescriptionLength},
      {"facts.end_use_description",
       [](v1::Declaration* d, std::string v) {
         d->mutable_facts()->set_end_use_description(v);
       },
       kMaxTextLength},
      {"facts.preference_claimed",
       [](v1::Declaration* d, std::string v) {
         d->mutable_facts()->set_preference_claimed(v);
       },
       kMaxShortIdLength},
      {"facts.licences[0].authority",
       [](v1::Declaration* d, std::string v) {
         d->mutable_facts()->mutable_licences(0)->set_authority(v);
       },
       kMaxShortIdLength},
      {"facts.licences[0].number",
       [](v1::Declaration* d, std::string v) {
         d->mutable_facts()->mutable_licences(0)->set_number(v);
       },
       kMaxShortIdLength},
  };
  for (const Case& c : cases) {
    v1::Declaration at_limit = Valid();
    c.set(&at_limit, std::string(c.limit, 'A'));
    EXPECT_TRUE(Validate(at_limit).ok()) << c.field << ": " << Validate(at_limit);
    v1::Declaration over = Valid();
    c.set(&over, std::string(c.limit + 1, 'A'));
    EXPECT_THAT(Violations(Validate(over)),
                Contains(std::pair<const std::string, std::string>(
                    c.field, absl::StrCat("is ", c.limit + 1, " bytes; at most ",
                                          c.limit))))
        << c.field;
  }
}

TEST_F(InputLimitsTest, EveryRepeatedFieldHasALimit) {
  {
    v1::Declaration d = Valid();
    for (int i = 0; i < kMaxElements; ++i) d.mutable_lines(0)->add_elements("Dy");
    EXPECT_TRUE(Validate(d).ok());
    d.mutable_lines(0)->add_elements("Dy");
    EXPECT_THAT(Violations(Validate(d)),
                Contains(::testing::Key("lines[0].elements")));
    auto* c = d.mutable_lines(0)->mutable_bill_of_materials(0);
    for (int i = 0; i < kMaxElements; ++i) c->add_elements("Dy");
    EXPECT_THAT(Violations(Validate(d)),
                Contains(::testing::Key("lines[0].bill_of_materials[0].elements")));
  }
  {
    v1::Declaration d = Valid();
    for (int i = 0; i <= kMaxEndUseCategories; ++i) {
      d.mutable_facts()->add_end_use_categories("ADVANCED_LOGIC");
    }
    EXPECT_THAT(Violations(Validate(d)),
                Contains(::testing::Key("facts.end_use_categories")));
  }
  {
    v1::Declaration d = Valid();
    for (int i = 0; i < kMaxLicences; ++i) {
      *d.mutable_facts()->add_licences() = d.facts().licences(0);
    }
    EXPECT_THAT(Violations(Validate(d)),
                Contains(::testing::Key("facts.licences")));
  }
  {
    // Components: 500 per line, 1000 per declaration.
    v1::Declaration d = Valid();
    const v1::Component c = d.lines(0).bill_of_materials(0);
    for (int i = 1; i <= kMaxComponentsPerLine; ++i) {
      *d.mutable_lines(0)->add_bill_of_materials() = c;
    }
    EXPECT_THAT(Violations(Validate(d)),
                Contains(::testing::Key("lines[0].bill_of_materials")));
    d.mutable_lines(0)->mutable_bill_of_materials()->RemoveLast();
    v1::LineItem second = d.lines(0);
    second.set_line_number(2);
    *d.add_lines() = second;
    *d.add_lines() = second;
    d.mutable_lines(2)->set_line_number(3);
    EXPECT_THAT(Violations(Validate(d)),
                Contains(std::pair<const std::string, std::string>(
                    "lines", "hold 1500 bill-of-materials components in all; "
                             "at most 1000 per declaration")));
  }
}

TEST_F(InputLimitsTest, TheLargestValidDeclarationFitsTheServersLimit) {
  v1::Declaration d = Valid();
  d.set_declaration_id(std::string(kMaxIdLength, 'D'));
  d.set_exporter_id(std::string(kMaxIdLength, 'E'));
  d.set_importer_id(std::string(kMaxIdLength, 'I'));
  d.set_manufacturer_id(std::string(kMaxIdLength, 'M'));
  v1::LineItem line = d.lines(0);
  line.set_description(std::string(kMaxLineDescriptionLength, 'x'));
  line.mutable_customs_value()->set_minor_units(kMaxDeclarationValueMinor /
                                                kMaxLines);
  line.mutable_quantity()->set_amount_milli(kMaxQuantityMilli);
  line.mutable_quantity()->set_unit("KGM");
  line.set_hs_code("8501340000");
  for (int i = 0; i < kMaxElements; ++i) line.add_elements("Dy");
  v1::Component c = line.bill_of_materials(0);
  c.clear_elements();
  c.set_description(std::string(kMaxComponentDescriptionLength, 'c'));
  c.set_hs_code("8505110000");
  c.mutable_value()->set_minor_units(kMaxLineValueMinor);
  for (int i = 0; i < kMaxElements; ++i) c.add_elements("Dy");
  line.clear_bill_of_materials();
  d.clear_lines();
  for (int i = 1; i <= kMaxLines; ++i) {
    line.set_line_number(i * 1000000);
    *d.add_lines() = line;
  }
  int components = 0;
  for (int i = 0; components < kMaxComponentsPerDeclaration; ++i) {
    *d.mutable_lines(i % kMaxLines)->add_bill_of_materials() = c;
    ++components;
  }
  v1::DeclaredFacts* f = d.mutable_facts();
  f->set_end_use_description(std::string(kMaxTextLength, 'u'));
  f->set_preference_claimed(std::string(kMaxShortIdLength, 'P'));
  for (int i = 0; i < kMaxEndUseCategories; ++i) {
    f->add_end_use_categories(std::string(64, 'C'));
  }
  f->clear_licences();
  for (int i = 0; i < kMaxLicences; ++i) {
    v1::Licence* l = f->add_licences();
    l->set_authority(std::string(kMaxShortIdLength, 'A'));
    l->set_number(std::string(kMaxShortIdLength, 'N'));
    l->mutable_valid_until()->set_year(2030);
    l->mutable_valid_until()->set_month(12);
    l->mutable_valid_until()->set_day(31);
  }
  ASSERT_TRUE(Validate(d).ok()) << Validate(d);
  // The request around it adds a few bytes; the server reads up to 2 MiB
  // (server/services.h kMaxReceiveMessageBytes).
  EXPECT_LT(d.ByteSizeLong(), 2u * 1024 * 1024 - 1024) << d.ByteSizeLong();
  std::printf("largest valid declaration: %zu bytes\n", d.ByteSizeLong());
}

TEST_F(InputLimitsTest, UnknownFieldsAreRefusedNamingWhereTheyAre) {
  v1::Declaration d = Valid();
  d.mutable_lines(0)->mutable_bill_of_materials(0)
      ->GetReflection()
      ->MutableUnknownFields(d.mutable_lines(0)->mutable_bill_of_materials(0))
      ->AddLengthDelimited(99, std::string(200000, 'x'));
  d.GetReflection()->MutableUnknownFields(&d)->AddVarint(1000, 1);
  const auto found = FindUnknownFields(d);
  ASSERT_EQ(found.size(), 2u);
  const auto v = Violations(Validate(d));
  ASSERT_TRUE(v.count("declaration")) << Validate(d);
  EXPECT_THAT(v.at("declaration"), HasSubstr("unknown field numbers 1000"));
  ASSERT_TRUE(v.count("lines[0].bill_of_materials[0]"));
  EXPECT_THAT(v.at("lines[0].bill_of_materials[0]"),
              HasSubstr("unknown field numbers 99"));
  // The error stays small although the unknown field is 200 kB.
  EXPECT_LT(Validate(d).message().size(), 1024u);
}

TEST_F(InputLimitsTest, IdentifiersAcceptOnlyTheDocumentedCharacters) {
  for (const char* bad : {"IMP 1", "IMP\x1b[2J", "IMP\n1", "IMP\xc3\xa9"}) {
    v1::Declaration d = Valid();
    d.set_importer_id(bad);
    d.set_declaration_id(bad);
    const auto v = Violations(Validate(d));
    EXPECT_TRUE(v.count("importer_id")) << bad;
    EXPECT_TRUE(v.count("declaration_id")) << bad;
    // Raw control bytes never reach the error.
    EXPECT_THAT(Validate(d).message(), Not(HasSubstr("\x1b"))) << bad;
    EXPECT_THAT(Validate(d).message(), Not(HasSubstr("\n"))) << bad;
  }
  v1::Declaration d = Valid();
  d.set_manufacturer_id("MY-MFR_1.a:b/c");
  EXPECT_TRUE(Validate(d).ok());
}

TEST_F(InputLimitsTest, FreeTextRefusesControlCharactersButTab) {
  const std::string bad_texts[] = {
      std::string("Outcome\x1b[2J ALLOW"), std::string("a\nb"),
      std::string("nul\0x", 5), std::string("del\x7f"),
      std::string("c1 \xc2\x9b" "31m"),  // U+009B, CSI
      std::string("bad utf8 \xff"), std::string("cut \xe2\x82"),
      std::string("overlong \xc0\xaf"), std::string("surrogate \xed\xa0\x80")};
  for (const std::string& text : bad_texts) {
    v1::Declaration d = Valid();
    d.mutable_lines(0)->set_description(text);
    d.mutable_lines(0)->mutable_bill_of_materials(0)->set_description(text);
    d.mutable_facts()->set_end_use_description(text);
    const auto v = Violations(Validate(d));
    EXPECT_TRUE(v.count("lines[0].description")) << text;
    EXPECT_TRUE(v.count("lines[0].bill_of_materials[0].description")) << text;
    EXPECT_TRUE(v.count("facts.end_use_description")) << text;
  }
  v1::Declaration d = Valid();
  d.mutable_lines(0)->set_description("Moteur \xc3\xa9lectrique\t\xe2\x82\xac 5 \xf0\x9f\x9a\x97");
  EXPECT_TRUE(Validate(d).ok()) << Validate(d);
}

TEST_F(InputLimitsTest, HsCodesAreSixEightOrTenDigits) {
  for (const char* bad : {"9403.60.99.99", "9403609", "940360999", "94036099999"}) {
    v1::Declaration d = Valid();
    d.mutable_lines(0)->set_hs_code(bad);
    EXPECT_TRUE(Violations(Validate(d)).count("lines[0].hs_code")) << bad;
  }
  for (const char* good : {"850134", "85013400", "8501340000"}) {
    v1::Declaration d = Valid();
    d.mutable_lines(0)->set_hs_code(good);
    EXPECT_TRUE(Validate(d).ok()) << good << ": " << Validate(d);
  }
}

TEST_F(InputLimitsTest, BadValuesAreQuotedOnlyAsAShortEscapedPrefix) {
  v1::Declaration d = Valid();
  const std::string huge(1 << 20, '\x1b');
  d.set_origin_country(huge);
  d.set_tariff_schedule_version(huge);
  d.mutable_lines(0)->mutable_customs_value()->set_currency_code(huge);
  d.mutable_lines(0)->add_elements(huge);
  d.mutable_facts()->add_end_use_categories(huge);
  for (int i = 0; i < 60; ++i) {
    d.mutable_lines(0)->mutable_bill_of_materials(0)->add_elements(huge);
  }
  const absl::Status status = Validate(d);
  EXPECT_LE(status.message().size(), FieldViolations::kMaxMessageBytes);
  EXPECT_LE(GetBadRequest(status).ByteSizeLong(),
            FieldViolations::kMaxDetailBytes + 64);
  EXPECT_THAT(std::string(status.message()), Not(HasSubstr("\x1b")));
  const auto v = Violations(status);
  ASSERT_TRUE(v.count("origin_country"));
  EXPECT_THAT(v.at("origin_country"),
              HasSubstr("\"\\x1b\\x1b\\x1b\\x1b\\x1b\\x1b\\x1b\\x1b\\x1b"));
  EXPECT_THAT(v.at("origin_country"), HasSubstr("... (1048576 bytes)"));
}

TEST_F(InputLimitsTest, CurrencyCodesComeFromTheIso4217Table) {
  for (const char* bad : {"XXZ", "ZZZ", "XXX", "XTS", "usd", "US"}) {
    v1::Declaration d = Valid();
    d.mutable_lines(0)->mutable_customs_value()->set_currency_code(bad);
    EXPECT_TRUE(Violations(Validate(d)).count("lines[0].customs_value.currency_code"))
        << bad;
  }
  v1::Declaration d = Valid();
  d.mutable_lines(0)->mutable_customs_value()->set_currency_code("MYR");
  d.mutable_lines(0)->mutable_bill_of_materials(0)->mutable_value()
      ->set_currency_code("MYR");
  EXPECT_TRUE(Validate(d).ok()) << Validate(d);
}

TEST(QuoteValueTest, EscapesAndCuts) {
  EXPECT_EQ(QuoteValue("MY"), "\"MY\"");
  EXPECT_EQ(QuoteValue("a\"b\n"), "\"a\\\"b\\n\"");
  EXPECT_EQ(QuoteValue(std::string(40, 'x')),
            absl::StrCat("\"", std::string(32, 'x'), "\"... (40 bytes)"));
}

TEST(FieldViolationsTest, TheWholeErrorStaysUnderAFixedSize) {
  FieldViolations violations;
  for (int i = 0; i < 1000; ++i) {
    violations.Add(std::string(10000, 'f'), std::string(10000, 'd'));
  }
  const absl::Status status = violations.ToStatus();
  EXPECT_LE(status.message().size(), FieldViolations::kMaxMessageBytes);
  EXPECT_LE(GetBadRequest(status).ByteSizeLong(),
            FieldViolations::kMaxDetailBytes + 64);
  EXPECT_THAT(std::string(status.message()), HasSubstr("more problems"));
  EXPECT_EQ(violations.size(), 1000);
}

}  // namespace
}  // namespace tradecheck
