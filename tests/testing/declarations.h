// Declarations and agreement-data edits shared by the end-to-end tests and
// the core's tests: a few realistic declarations written as text protos, and
// a change of one published rate in a copy of agreements/. No gRPC here.
#ifndef TRADECHECK_TESTS_TESTING_DECLARATIONS_H_
#define TRADECHECK_TESTS_TESTING_DECLARATIONS_H_

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "google/protobuf/text_format.h"
#include "tradecheck/v1/declaration.pb.h"

namespace tradecheck::testing {

template <typename T>
T ParseText(const std::string& text) {
  T message;
  if (!google::protobuf::TextFormat::ParseFromString(text, &message)) {
    // A typo in a test's own constant: nothing sensible can follow.
    std::fprintf(stderr, "bad text proto in test source: %s\n", text.c_str());
    std::abort();
  }
  return message;
}

// A Malaysian crude palm oil import entered in the reciprocal-tariff window.
inline v1::Declaration PalmOilImport(const std::string& id) {
  v1::Declaration d = ParseText<v1::Declaration>(R"pb(
    kind: DECLARATION_KIND_IMPORT_ENTRY
    exporter_id: "MY-EXP-0001"
    importer_id: "US-IMP-0042"
    manufacturer_id: "MY-MFR-0007"
    origin_country: "MY"
    export_country: "MY"
    destination_country: "US"
    export_date { year: 2025 month: 9 day: 1 }
    entry_date { year: 2025 month: 9 day: 29 }
    lines {
      line_number: 1
      hs_code: "151110"
      description: "Crude palm oil"
      customs_value { currency_code: "USD" minor_units: 25000000 }
      quantity { amount_milli: 250000000 unit: "KGM" }
      processing_stage: PROCESSING_STAGE_NOT_APPLICABLE
      bill_of_materials_status: BILL_OF_MATERIALS_STATUS_NOT_APPLICABLE
    }
  )pb");
  d.set_declaration_id(id);
  return d;
}

// A Vietnamese T-shirt entry under the Section 301 forced-labor duty
// (12.5 %, from 24 Jul 2026). The value is a multiple of USD 8, so 12.5 %
// and 15 % of it are whole cents.
inline v1::Declaration VnTshirts(const std::string& id, int64_t value_cents,
                          int entry_month) {
  v1::Declaration d = ParseText<v1::Declaration>(R"pb(
    kind: DECLARATION_KIND_IMPORT_ENTRY
    exporter_id: "VN-EXP-HCMC-GARMENT-0311"
    importer_id: "US-IOR-95-4410311"
    origin_country: "VN"
    export_country: "VN"
    destination_country: "US"
    export_date { year: 2026 month: 6 day: 10 }
    lines {
      line_number: 1
      hs_code: "6109100012"
      description: "Men's cotton knitted T-shirts"
      quantity { amount_milli: 24000000 unit: "NAR" }
      processing_stage: PROCESSING_STAGE_NOT_APPLICABLE
      bill_of_materials_status: BILL_OF_MATERIALS_STATUS_NOT_APPLICABLE
    }
    facts { importer_origin_attestation: ANSWER_YES }
  )pb");
  d.set_declaration_id(id);
  d.mutable_entry_date()->set_year(2026);
  d.mutable_entry_date()->set_month(entry_month);
  d.mutable_entry_date()->set_day(20);
  d.mutable_lines(0)->mutable_customs_value()->set_currency_code("USD");
  d.mutable_lines(0)->mutable_customs_value()->set_minor_units(value_cents);
  return d;
}

// Changes the Section 301 forced-labor rate on Vietnamese goods (12.5 %,
// 1250 basis points, from 24 Jul 2026) in a copy of agreements/ at `dir`:
// a rule change that reaches back to every entry since that date. False
// when the file no longer holds the text this looks for.
inline bool SetVnForcedLaborRate(const std::string& dir, int basis_points,
                                 int from_basis_points = 1250) {
  const std::string file = dir + "/us-s301-forced-labor-2026.textproto";
  std::stringstream text;
  text << std::ifstream(file).rdbuf();
  const std::string from = absl::StrCat(
      "rate_basis_points: ", from_basis_points,
      "\n    stacking_group: \"us-s301-fl\"\n    "
      "filing_heading: \"9903.05.84\"");
  if (text.str().find(from) == std::string::npos) return false;
  std::ofstream(file, std::ios::trunc) << absl::StrReplaceAll(
      text.str(),
      {{from, absl::StrReplaceAll(
                  from, {{absl::StrCat("rate_basis_points: ", from_basis_points),
                          absl::StrCat("rate_basis_points: ", basis_points)}})}});
  return true;
}

}  // namespace tradecheck::testing

#endif  // TRADECHECK_TESTS_TESTING_DECLARATIONS_H_
