// Measures lookup: what the rule set says about a product from a country on
// a date, without a declaration (AgreementService.LookupMeasures). It reads
// the same scopes, status periods, suspensions and confirmations as the
// engine, but answers "which measures apply or may apply, on what terms"
// instead of deciding a line: whatever a declaration would have to say (a
// fact, the bill of materials, the stage, a more specific HS line) becomes
// a condition of the answer.
//
//   MeasureQuery q{.hs_code = "640411", .origin = "VN",
//                  .day = absl::CivilDay(2026, 8, 15)};
//   v1::LookupMeasuresResponse r = LookupMeasures(*rules, q);
//
// Pure: no clock, no I/O; safe from any thread (the rule set is immutable).
#ifndef TRADECHECK_RULES_LOOKUP_H_
#define TRADECHECK_RULES_LOOKUP_H_

#include <string>

#include "absl/time/civil_time.h"
#include "rules/rule_set.h"
#include "tradecheck/v1/agreement_service.pb.h"
#include "tradecheck/v1/declaration.pb.h"

namespace tradecheck::rules {

struct MeasureQuery {
  std::string hs_code;         // 6 to 10 digits, HS 2022
  std::string origin;          // ISO 3166-1 alpha-2
  std::string export_country;  // empty: the origin
  std::string destination;     // empty: any destination
  absl::CivilDay day;
  // UNSPECIFIED: imports and exports alike.
  v1::DeclarationKind kind = v1::DECLARATION_KIND_UNSPECIFIED;
};

// Every line-level measure valid on `q.day` whose scope can match the
// product, each with its applicability, conditions, terms, instrument
// status and confirmation on that day. Declaration-level notices (de
// minimis, data currency) are not about a product and are left out.
// REQUIRES: the codes passed the rule set's checks (CheckHsCode,
// IsKnownCountry); core validates the request.
v1::LookupMeasuresResponse LookupMeasures(const RuleSet& rules,
                                          const MeasureQuery& q);

}  // namespace tradecheck::rules

#endif  // TRADECHECK_RULES_LOOKUP_H_
