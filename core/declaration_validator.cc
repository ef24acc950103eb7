#include "core/declaration_validator.h"

#include <algorithm>
#include <set>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/dates.h"
#include "common/digits.h"
#include "common/exchange_rate.h"
#include "common/money.h"
#include "core/errors.h"
#include "core/unknown_fields.h"

namespace tradecheck {
namespace {

bool IsUpperAlpha(absl::string_view s, size_t length) {
  if (s.size() != length) return false;
  for (char c : s) {
    if (c < 'A' || c > 'Z') return false;
  }
  return true;
}

// A chemical symbol: one capital letter and at most one lower-case letter.
bool IsElementSymbol(absl::string_view s) {
  if (s.empty() || s.size() > 2) return false;
  if (s[0] < 'A' || s[0] > 'Z') return false;
  return s.size() == 1 || (s[1] >= 'a' && s[1] <= 'z');
}

bool IsTagLike(absl::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) {
      return false;
    }
  }
  return true;
}

bool IsIdChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' ||
         c == '_' || c == ':' || c == '/' || c == '-';
}

// Why `text` is not acceptable free text, or "" when it is: valid UTF-8
// without control characters (C0, DEL, C1) other than tab, which a terminal
// or a log would act on.
std::string FreeTextProblem(absl::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if ((c < 0x20 && c != '\t') || c == 0x7f) {
        return absl::StrFormat(
            "holds control character 0x%02x at byte %d; free text may hold "
            "any printable UTF-8 and tab",
            c, i);
      }
      ++i;
      continue;
    }
    int extra = 0;
    uint32_t code = 0;
    if ((c & 0xe0) == 0xc0) {
      extra = 1;
      code = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      extra = 2;
      code = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      extra = 3;
      code = c & 0x07;
    } else {
      return absl::StrFormat("is not valid UTF-8 at byte %d", i);
    }
    if (i + extra >= text.size()) {
      return absl::StrFormat("is not valid UTF-8 at byte %d", i);
    }
    for (int k = 1; k <= extra; ++k) {
      const unsigned char next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xc0) != 0x80) {
        return absl::StrFormat("is not valid UTF-8 at byte %d", i);
      }
      code = (code << 6) | (next & 0x3f);
    }
    static constexpr uint32_t kMinForLength[] = {0, 0x80, 0x800, 0x10000};
    if (code < kMinForLength[extra] || code > 0x10ffff ||
        (code >= 0xd800 && code <= 0xdfff)) {
      return absl::StrFormat("is not valid UTF-8 at byte %d", i);
    }
    if (code >= 0x80 && code <= 0x9f) {
      return absl::StrFormat(
          "holds control character U+%04X at byte %d; free text may hold "
          "any printable UTF-8 and tab",
          code, i);
    }
    i += extra + 1;
  }
  return "";
}

class Validator {
 public:
  Validator(const v1::Declaration& d, const rules::RuleSet& rules)
      : d_(d), rules_(rules) {}

  absl::Status Run() {
    for (const UnknownField& u : FindUnknownFields(d_)) {
      Add(u.path.empty() ? "declaration" : u.path,
          absl::StrCat("holds unknown field numbers ", u.numbers,
                       "; they are refused, not stored unchecked (is the "
                       "client built from a newer declaration.proto?)"));
    }
    CheckIdentity();
    CheckCountries();
    CheckDates();
    CheckLines();
    CheckFacts();
    CheckExchangeRate();
    return violations_.ToStatus();
  }

 private:
  void Add(std::string field, std::string description) {
    violations_.Add(std::move(field), std::move(description));
  }

  void CheckIdentity() {
    if (d_.declaration_id().empty()) {
      Add("declaration_id", "is required (the caller-chosen idempotency key)");
    } else {
      CheckId("declaration_id", d_.declaration_id(), kMaxIdLength, true);
    }
    if (d_.kind() == v1::DECLARATION_KIND_UNSPECIFIED) {
      Add("kind", "is required: DECLARATION_KIND_IMPORT_ENTRY or "
                  "DECLARATION_KIND_EXPORT_SHIPMENT");
    } else if (!v1::DeclarationKind_IsValid(d_.kind())) {
      Add("kind", absl::StrCat("unknown value ", d_.kind()));
    }
    CheckId("exporter_id", d_.exporter_id(), kMaxIdLength,
            d_.kind() == v1::DECLARATION_KIND_EXPORT_SHIPMENT);
    CheckId("importer_id", d_.importer_id(), kMaxIdLength,
            d_.kind() == v1::DECLARATION_KIND_IMPORT_ENTRY);
    CheckId("manufacturer_id", d_.manufacturer_id(), kMaxIdLength, false);
    const std::string& schedule = d_.tariff_schedule_version();
    if (!schedule.empty() && schedule != "HS2022" && schedule != "HS2017") {
      Add("tariff_schedule_version",
          absl::StrCat(QuoteValue(schedule), " is not supported; use "
                       "\"HS2022\" (default) or \"HS2017\""));
    }
  }

  // An identifier: 1..max characters of A-Z a-z 0-9 . _ : / -.
  void CheckId(const std::string& field, const std::string& id, size_t max,
               bool required) {
    if (id.empty()) {
      if (required) Add(field, "is required for this kind of declaration");
      return;
    }
    if (id.size() > max) {
      Add(field, absl::StrFormat("is %d bytes; at most %d", id.size(), max));
      return;
    }
    for (char c : id) {
      if (!IsIdChar(c)) {
        Add(field, absl::StrCat(QuoteValue(id),
                                " may hold only A-Z a-z 0-9 . _ : / -"));
        return;
      }
    }
  }

  // Free text of at most `max` bytes.
  void CheckText(const std::string& field, const std::string& text,
                 size_t max) {
    if (text.size() > max) {
      Add(field, absl::StrFormat("is %d bytes; at most %d", text.size(), max));
      return;
    }
    std::string problem = FreeTextProblem(text);
    if (!problem.empty()) Add(field, std::move(problem));
  }

  // A repeated field's count; false (and reported) when over `max`.
  bool CheckCount(const std::string& field, int count, int max) {
    if (count <= max) return true;
    Add(field, absl::StrFormat("has %d items; at most %d", count, max));
    return false;
  }

  void CheckCountry(const std::string& field, const std::string& code,
                    bool required) {
    if (code.empty()) {
      if (required) Add(field, "is required (ISO 3166-1 alpha-2, e.g. \"MY\")");
      return;
    }
    if (!IsUpperAlpha(code, 2) || !rules_.IsKnownCountry(code)) {
      Add(field, absl::StrCat(QuoteValue(code),
                              " is not an ISO 3166-1 alpha-2 country code "
                              "(two upper-case letters, e.g. \"MY\")"));
    }
  }

  void CheckCountries() {
    CheckCountry("origin_country", d_.origin_country(), true);
    CheckCountry("export_country", d_.export_country(), true);
    CheckCountry("destination_country", d_.destination_country(), true);
  }

  // Returns true when the date is set and valid.
  bool CheckDate(const char* field, const v1::Date& date, bool required) {
    if (IsUnset(date)) {
      if (required) Add(field, "is required: it is the date the rules are "
                               "evaluated at for this kind of declaration");
      return false;
    }
    auto day = ToCivilDay(date);
    if (!day.ok()) {
      Add(field, std::string(day.status().message()));
      return false;
    }
    return true;
  }

  void CheckDates() {
    const bool is_import = d_.kind() == v1::DECLARATION_KIND_IMPORT_ENTRY;
    const bool is_export = d_.kind() == v1::DECLARATION_KIND_EXPORT_SHIPMENT;
    bool export_ok = CheckDate("export_date", d_.export_date(), is_export);
    bool entry_ok = CheckDate("entry_date", d_.entry_date(), is_import);
    if (export_ok && entry_ok &&
        *ToCivilDay(d_.entry_date()) < *ToCivilDay(d_.export_date())) {
      Add("entry_date", absl::StrCat("is ", FormatDate(d_.entry_date()),
                                     ", before export_date ",
                                     FormatDate(d_.export_date())));
    }
  }

  void CheckMoney(const std::string& field, const v1::Money& money,
                  bool required) {
    if (money.currency_code().empty() && money.minor_units() == 0) {
      if (required) Add(field, "is required (currency_code and minor_units)");
      return;
    }
    if (!IsUpperAlpha(money.currency_code(), 3) ||
        !rules_.IsKnownCurrency(money.currency_code())) {
      Add(field + ".currency_code",
          absl::StrCat(QuoteValue(money.currency_code()),
                       " is not an ISO 4217 currency code (three upper-case "
                       "letters, e.g. \"USD\"; reference/iso4217.tab)"));
    } else if (currency_.empty()) {
      currency_ = money.currency_code();
      currency_field_ = field;
    } else if (money.currency_code() != currency_) {
      Add(field + ".currency_code",
          absl::StrCat("is ", money.currency_code(), " but ", currency_field_,
                       " is ", currency_,
                       "; one declaration uses one currency"));
    }
    if (money.minor_units() < 0) {
      Add(field + ".minor_units",
          absl::StrCat("is ", money.minor_units(), "; must be >= 0"));
    } else if (money.minor_units() > kMaxLineValueMinor) {
      Add(field + ".minor_units",
          absl::StrCat("is ", money.minor_units(), "; at most ",
                       kMaxLineValueMinor, " minor units per amount"));
    }
  }

  // The declaration's total value, through the one checked sum; names the
  // line at which the total passes the ceiling.
  void CheckDeclarationValue() {
    int64_t total = 0;
    for (int i = 0; i < d_.lines_size(); ++i) {
      const int64_t value = d_.lines(i).customs_value().minor_units();
      // Negative and over-ceiling amounts are reported on their line.
      if (value < 0 || value > kMaxLineValueMinor) continue;
      absl::StatusOr<int64_t> sum = AddMinorUnits(total, value);
      if (!sum.ok() || *sum > kMaxDeclarationValueMinor) {
        Add(absl::StrCat("lines[", i, "].customs_value.minor_units"),
            absl::StrCat("brings the declaration's total customs value over ",
                         kMaxDeclarationValueMinor,
                         " minor units, the ceiling per declaration"));
        return;
      }
      total = *sum;
    }
  }

  // A declared tariff code: 6, 8 or 10 digits (the HS subheading, then the
  // national tariff's digits), the first 6 an HS subheading of the schedule.
  // Digits 7 to 10 are national (e.g. the US HTS) and not checked against
  // any national tariff: the project has HS 2022 at 6 digits only.
  void CheckHs(const std::string& field, const std::string& code) {
    if (code.empty()) {
      Add(field, "is required (6, 8 or 10 digits, no dots)");
      return;
    }
    if (!AllDigits(code) ||
        (code.size() != 6 && code.size() != 8 && code.size() != 10)) {
      Add(field, absl::StrCat(QuoteValue(code),
                              " is not 6, 8 or 10 digits (no dots)"));
      return;
    }
    const std::string& schedule = d_.tariff_schedule_version();
    if (!schedule.empty() && schedule != "HS2022" && schedule != "HS2017") {
      return;  // reported on tariff_schedule_version
    }
    absl::Status status = rules_.CheckHsCode(code, schedule);
    if (!status.ok()) Add(field, std::string(status.message()));
  }

  void CheckElements(const std::string& prefix,
                     const google::protobuf::RepeatedPtrField<std::string>& el) {
    if (!CheckCount(prefix, el.size(), kMaxElements)) return;
    for (int i = 0; i < el.size(); ++i) {
      if (!IsElementSymbol(el[i])) {
        Add(absl::StrCat(prefix, "[", i, "]"),
            absl::StrCat(QuoteValue(el[i]),
                         " is not a chemical symbol (e.g. \"Dy\", \"Nd\")"));
      }
    }
  }

  void CheckAnswer(const std::string& field, int value) {
    if (!v1::Answer_IsValid(value)) {
      Add(field, absl::StrCat("unknown value ", value));
    }
  }

  void CheckLines() {
    if (d_.lines().empty()) {
      Add("lines", "at least one line item is required");
      return;
    }
    if (d_.lines_size() > kMaxLines) {
      Add("lines", absl::StrFormat("has %d items; at most %d per declaration",
                                   d_.lines_size(), kMaxLines));
      return;
    }
    int components = 0;
    for (const v1::LineItem& line : d_.lines()) {
      components += std::min(line.bill_of_materials_size(),
                             kMaxComponentsPerDeclaration + 1);
    }
    if (components > kMaxComponentsPerDeclaration) {
      Add("lines", absl::StrFormat(
                       "hold %d bill-of-materials components in all; at most "
                       "%d per declaration",
                       components, kMaxComponentsPerDeclaration));
      return;
    }
    std::set<int> numbers;
    for (int i = 0; i < d_.lines_size(); ++i) {
      const v1::LineItem& line = d_.lines(i);
      const std::string p = absl::StrCat("lines[", i, "]");
      if (line.line_number() < 1) {
        Add(p + ".line_number", "must be >= 1");
      } else if (!numbers.insert(line.line_number()).second) {
        Add(p + ".line_number",
            absl::StrCat(line.line_number(), " is used by an earlier line"));
      }
      CheckHs(p + ".hs_code", line.hs_code());
      CheckText(p + ".description", line.description(),
                kMaxLineDescriptionLength);
      CheckMoney(p + ".customs_value", line.customs_value(), true);
      if (line.has_us_content_value()) {
        CheckMoney(p + ".us_content_value", line.us_content_value(), false);
        if (line.us_content_value().minor_units() >
            line.customs_value().minor_units()) {
          Add(p + ".us_content_value",
              "exceeds customs_value; US content is a share of the value");
        }
      }
      if (line.has_section_232_content_value()) {
        CheckMoney(p + ".section_232_content_value",
                   line.section_232_content_value(), false);
        if (line.section_232_content_value().minor_units() >
            line.customs_value().minor_units()) {
          Add(p + ".section_232_content_value",
              "exceeds customs_value; the Section 232 content is a share of "
              "the value");
        }
      }
      if (line.quantity().amount_milli() < 0) {
        Add(p + ".quantity.amount_milli", "must be >= 0");
      } else if (line.quantity().amount_milli() > kMaxQuantityMilli) {
        Add(p + ".quantity.amount_milli",
            absl::StrCat("is ", line.quantity().amount_milli(), "; at most ",
                         kMaxQuantityMilli));
      }
      if (line.quantity().amount_milli() > 0 &&
          (line.quantity().unit().empty() || line.quantity().unit().size() > 3 ||
           !IsTagLike(line.quantity().unit()))) {
        Add(p + ".quantity.unit",
            "is required with an amount: a UN/ECE Rec. 20 code such as "
            "\"KGM\", \"TNE\" or \"NAR\"");
      }
      if (!v1::ProcessingStage_IsValid(line.processing_stage())) {
        Add(p + ".processing_stage",
            absl::StrCat("unknown value ", line.processing_stage()));
      }
      if (!v1::BillOfMaterialsStatus_IsValid(line.bill_of_materials_status())) {
        Add(p + ".bill_of_materials_status",
            absl::StrCat("unknown value ", line.bill_of_materials_status()));
      }
      CheckAnswer(p + ".subject_to_section_232", line.subject_to_section_232());
      CheckAnswer(p + ".usmca_qualifying", line.usmca_qualifying());
      CheckAnswer(p + ".minimal_processing", line.minimal_processing());
      CheckAnswer(p + ".made_with_chinese_re_technology",
                  line.made_with_chinese_re_technology());
      CheckAnswer(p + ".for_civil_aircraft", line.for_civil_aircraft());
      CheckElements(p + ".elements", line.elements());
      CheckComponents(p, line);
    }
    CheckDeclarationValue();
  }

  void CheckComponents(const std::string& p, const v1::LineItem& line) {
    if (line.bill_of_materials_size() > kMaxComponentsPerLine) {
      Add(p + ".bill_of_materials",
          absl::StrFormat("has %d components; at most %d",
                          line.bill_of_materials_size(),
                          kMaxComponentsPerLine));
      return;
    }
    for (int j = 0; j < line.bill_of_materials_size(); ++j) {
      const v1::Component& c = line.bill_of_materials(j);
      const std::string q = absl::StrCat(p, ".bill_of_materials[", j, "]");
      const std::string& hs = c.hs_code();
      if (hs.size() < 4 || hs.size() > 10 || !AllDigits(hs)) {
        Add(q + ".hs_code", absl::StrCat(QuoteValue(hs),
                                         " is not 4, 6, 8 or 10 digits (HS "
                                         "heading or finer, no dots)"));
      } else if (hs.size() >= 6) {
        CheckHs(q + ".hs_code", hs);
      } else if (!rules_.IsKnownHsHeading(hs.substr(0, 4))) {
        Add(q + ".hs_code",
            absl::StrCat(hs.substr(0, 4), " is not an HS 2022 heading"));
      }
      CheckText(q + ".description", c.description(),
                kMaxComponentDescriptionLength);
      CheckCountry(q + ".origin_country", c.origin_country(), true);
      CheckMoney(q + ".value", c.value(), true);
      CheckElements(q + ".elements", c.elements());
    }
  }

  void CheckFacts() {
    const v1::DeclaredFacts& f = d_.facts();
    CheckAnswer("facts.cbp_transshipment_determination",
                f.cbp_transshipment_determination());
    CheckAnswer("facts.de_minimis_claimed", f.de_minimis_claimed());
    CheckAnswer("facts.military_end_use", f.military_end_use());
    CheckAnswer("facts.end_user_listed", f.end_user_listed());
    CheckAnswer("facts.importer_origin_attestation",
                f.importer_origin_attestation());
    CheckText("facts.end_use_description", f.end_use_description(),
              kMaxTextLength);
    CheckId("facts.preference_claimed", f.preference_claimed(),
            kMaxShortIdLength, false);
    if (CheckCount("facts.end_use_categories", f.end_use_categories_size(),
                   kMaxEndUseCategories)) {
      for (int i = 0; i < f.end_use_categories_size(); ++i) {
        if (!IsTagLike(f.end_use_categories(i))) {
          Add(absl::StrCat("facts.end_use_categories[", i, "]"),
              absl::StrCat(QuoteValue(f.end_use_categories(i)),
                           " is not an upper-case tag such as "
                           "\"ADVANCED_LOGIC\""));
        }
      }
    }
    if (!v1::LiquidationStatus_IsValid(f.liquidation_status())) {
      Add("facts.liquidation_status",
          absl::StrCat("unknown value ", f.liquidation_status()));
    }
    if (!CheckCount("facts.licences", f.licences_size(), kMaxLicences)) return;
    for (int i = 0; i < f.licences_size(); ++i) {
      const v1::Licence& l = f.licences(i);
      const std::string p = absl::StrCat("facts.licences[", i, "]");
      if (l.authority().empty()) Add(p + ".authority", "is required");
      if (l.number().empty()) Add(p + ".number", "is required");
      CheckId(p + ".authority", l.authority(), kMaxShortIdLength, false);
      CheckId(p + ".number", l.number(), kMaxShortIdLength, false);
      if (!IsUnset(l.valid_until())) {
        CheckDate((p + ".valid_until").c_str(), l.valid_until(), false);
      }
    }
  }

  // Duties on a US entry are always in US dollars: a declaration valued in
  // another currency carries the rate it converts at (19 CFR 159.31-159.38),
  // for the date of exportation (159.32).
  void CheckExchangeRate() {
    const bool us_entry = d_.kind() == v1::DECLARATION_KIND_IMPORT_ENTRY &&
                          d_.destination_country() == "US";
    const bool foreign = !currency_.empty() && currency_ != "USD";
    if (!d_.has_exchange_rate()) {
      if (us_entry && foreign) {
        Add("exchange_rate",
            absl::StrCat("is required: the declaration is valued in ",
                         currency_,
                         " and duties on a US entry are computed in USD; "
                         "declare the rate for the date of exportation "
                         "(19 CFR 159.32)"));
      }
      return;
    }
    const v1::ExchangeRate& r = d_.exchange_rate();
    if (!us_entry || !foreign) {
      Add("exchange_rate",
          "is only for a US import entry valued in a currency other than USD");
      return;
    }
    if (r.currency_code() != currency_) {
      Add("exchange_rate.currency_code",
          absl::StrCat("is ", QuoteValue(r.currency_code()),
                       " but the declaration is valued in ", currency_));
    }
    if (absl::Status s = ParseDecimalRate(r.usd_per_unit()).status(); !s.ok()) {
      Add("exchange_rate.usd_per_unit", std::string(s.message()));
    }
    if (IsUnset(r.rate_date())) {
      Add("exchange_rate.rate_date",
          "is required: the date the rate is certified for");
    } else if (CheckDate("exchange_rate.rate_date", r.rate_date(), true)) {
      if (IsUnset(d_.export_date())) {
        Add("export_date",
            "is required to convert the currency: the rate is the one for "
            "the date of exportation (19 CFR 159.32)");
      } else if (FormatDate(r.rate_date()) != FormatDate(d_.export_date())) {
        Add("exchange_rate.rate_date",
            absl::StrCat("is ", FormatDate(r.rate_date()),
                         " but the date of exportation is ",
                         FormatDate(d_.export_date()),
                         "; 19 CFR 159.32 converts at the rate for that date"));
      }
    }
    CheckText("exchange_rate.source", r.source(), kMaxTextLength);
  }

  const v1::Declaration& d_;
  const rules::RuleSet& rules_;
  FieldViolations violations_;
  std::string currency_;
  std::string currency_field_;
};

}  // namespace

bool IsValidDeclarationId(absl::string_view id) {
  if (id.empty() || id.size() > kMaxIdLength) return false;
  for (char c : id) {
    if (!IsIdChar(c)) return false;
  }
  return true;
}

absl::Status ValidateDeclaration(const v1::Declaration& declaration,
                                 const rules::RuleSet& rules) {
  return Validator(declaration, rules).Run();
}

}  // namespace tradecheck
