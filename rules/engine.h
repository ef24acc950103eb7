// The rule engine: a pure function of (rule set, declaration). It reads no
// clock, does no I/O and keeps no state, so re-evaluating a stored
// declaration under the revision it was decided with gives the same verdict
// byte for byte.
//
//   std::shared_ptr<const RuleSet> rules = ...;
//   Evaluation e = Evaluate(*rules, declaration);
//   // e.verdict: outcome, per-line duties and findings with citations.
//   // e.quota_draws: quota the declaration would consume if bound.
#ifndef TRADECHECK_RULES_ENGINE_H_
#define TRADECHECK_RULES_ENGINE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "rules/rule_set.h"
#include "tradecheck/v1/declaration.pb.h"
#include "tradecheck/v1/verdict.pb.h"

namespace tradecheck::rules {

// Quota a line would consume if the declaration is bound. The store applies
// the draw atomically with the audit record; a draw that does not fit
// is turned into a denial by ApplyQuotaShortfall.
struct QuotaDraw {
  // Identifies the balance: measure id + period, e.g.
  // "xx-quota-2605|2026-H2|US".
  std::string quota_key;
  std::string measure_id;
  int32_t line_number = 0;
  int64_t amount_milli = 0;  // thousandths of `unit`
  int64_t limit_milli = 0;   // the quota's volume for the period
  std::string unit;
};

struct Evaluation {
  // decision_id, audit_sequence, record_hash, recorded_at and validate_only
  // are left unset: they belong to the audit record.
  v1::Verdict verdict;
  std::vector<QuotaDraw> quota_draws;
};

// Evaluates `declaration` at its governing date (entry_date for imports,
// export_date for exports).
// REQUIRES: `declaration` passed core's declaration validation against the
// same rule set (known countries and HS codes, one currency, dates present).
Evaluation Evaluate(const RuleSet& rules, const v1::Declaration& declaration);

// Rewrites `verdict` for a draw that does not fit the balance: the draw's
// line becomes DENY with a finding that states the quota, the amount asked
// and `remaining_milli`, and the overall outcome is recomputed.
void ApplyQuotaShortfall(const RuleSet& rules, const QuotaDraw& draw,
                         int64_t remaining_milli, v1::Verdict* verdict);

}  // namespace tradecheck::rules

#endif  // TRADECHECK_RULES_ENGINE_H_
