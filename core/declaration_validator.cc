#include "core/declaration_validator.h"

#include <set>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/dates.h"
#include "common/digits.h"
#include "common/exchange_rate.h"
#include "core/errors.h"

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

class Validator {
 public:
  Validator(const v1::Declaration& d, const rules::RuleSet& rules)
      : d_(d), rules_(rules) {}

  absl::Status Run() {
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
    } else if (!IsValidDeclarationId(d_.declaration_id())) {
      Add("declaration_id",
          absl::StrFormat("must be 1 to %d characters of A-Z a-z 0-9 . _ : / -",
                          kMaxIdLength));
    }
    if (d_.kind() == v1::DECLARATION_KIND_UNSPECIFIED) {
      Add("kind", "is required: DECLARATION_KIND_IMPORT_ENTRY or "
                  "DECLARATION_KIND_EXPORT_SHIPMENT");
    } else if (!v1::DeclarationKind_IsValid(d_.kind())) {
      Add("kind", absl::StrCat("unknown value ", d_.kind()));
    }
    CheckPartyId("exporter_id", d_.exporter_id(),
                 d_.kind() == v1::DECLARATION_KIND_EXPORT_SHIPMENT);
    CheckPartyId("importer_id", d_.importer_id(),
                 d_.kind() == v1::DECLARATION_KIND_IMPORT_ENTRY);
    CheckPartyId("manufacturer_id", d_.manufacturer_id(), false);
    const std::string& schedule = d_.tariff_schedule_version();
    if (!schedule.empty() && schedule != "HS2022" && schedule != "HS2017") {
      Add("tariff_schedule_version",
          absl::StrCat("\"", schedule, "\" is not supported; use \"HS2022\" "
                                       "(default) or \"HS2017\""));
    }
  }

  void CheckPartyId(const char* field, const std::string& id, bool required) {
    if (id.empty()) {
      if (required) Add(field, "is required for this kind of declaration");
      return;
    }
    if (id.size() > kMaxIdLength) {
      Add(field, absl::StrFormat("is %d characters; at most %d", id.size(),
                                 kMaxIdLength));
    }
  }

  void CheckCountry(const std::string& field, const std::string& code,
                    bool required) {
    if (code.empty()) {
      if (required) Add(field, "is required (ISO 3166-1 alpha-2, e.g. \"MY\")");
      return;
    }
    if (!rules_.IsKnownCountry(code)) {
      Add(field, absl::StrCat("\"", code,
                              "\" is not an ISO 3166-1 alpha-2 country code "
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
    if (!IsUpperAlpha(money.currency_code(), 3)) {
      Add(field + ".currency_code",
          absl::StrCat("\"", money.currency_code(),
                       "\" is not an ISO 4217 code (three upper-case "
                       "letters, e.g. \"USD\")"));
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
    }
  }

  void CheckHs(const std::string& field, const std::string& code) {
    if (code.empty()) {
      Add(field, "is required (6 to 10 digits, no dots)");
      return;
    }
    absl::Status status = rules_.CheckHsCode(code, d_.tariff_schedule_version());
    if (!status.ok()) Add(field, std::string(status.message()));
  }

  void CheckElements(const std::string& prefix,
                     const google::protobuf::RepeatedPtrField<std::string>& el) {
    for (int i = 0; i < el.size(); ++i) {
      if (!IsElementSymbol(el[i])) {
        Add(absl::StrCat(prefix, "[", i, "]"),
            absl::StrCat("\"", el[i],
                         "\" is not a chemical symbol (e.g. \"Dy\", \"Nd\")"));
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
      if (line.description().size() > kMaxTextLength) {
        Add(p + ".description",
            absl::StrFormat("is %d bytes; at most %d",
                            line.description().size(), kMaxTextLength));
      }
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
      CheckElements(p + ".elements", line.elements());
      CheckComponents(p, line);
    }
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
        Add(q + ".hs_code", "must be 4 to 10 digits (HS heading or finer)");
      } else if (hs.size() >= 6) {
        CheckHs(q + ".hs_code", hs);
      } else if (!rules_.IsKnownHsHeading(hs.substr(0, 4))) {
        Add(q + ".hs_code",
            absl::StrCat(hs.substr(0, 4), " is not an HS 2022 heading"));
      }
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
    if (f.end_use_description().size() > kMaxTextLength) {
      Add("facts.end_use_description",
          absl::StrFormat("is %d bytes; at most %d",
                          f.end_use_description().size(), kMaxTextLength));
    }
    for (int i = 0; i < f.end_use_categories_size(); ++i) {
      if (!IsTagLike(f.end_use_categories(i))) {
        Add(absl::StrCat("facts.end_use_categories[", i, "]"),
            "must be an upper-case tag such as \"ADVANCED_LOGIC\"");
      }
    }
    if (!v1::LiquidationStatus_IsValid(f.liquidation_status())) {
      Add("facts.liquidation_status",
          absl::StrCat("unknown value ", f.liquidation_status()));
    }
    for (int i = 0; i < f.licences_size(); ++i) {
      const v1::Licence& l = f.licences(i);
      const std::string p = absl::StrCat("facts.licences[", i, "]");
      if (l.authority().empty()) Add(p + ".authority", "is required");
      if (l.number().empty()) Add(p + ".number", "is required");
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
          absl::StrCat("is \"", r.currency_code().substr(0, 8),
                       "\" but the declaration is valued in ", currency_));
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
    if (r.source().size() > kMaxTextLength) {
      Add("exchange_rate.source",
          absl::StrFormat("is %d bytes; at most %d", r.source().size(),
                          kMaxTextLength));
    }
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
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' ||
          c == '_' || c == ':' || c == '/' || c == '-')) {
      return false;
    }
  }
  return true;
}

absl::Status ValidateDeclaration(const v1::Declaration& declaration,
                                 const rules::RuleSet& rules) {
  return Validator(declaration, rules).Run();
}

}  // namespace tradecheck
