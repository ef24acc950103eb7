// AdditionalDuty: an ad valorem duty on top of MFN (reciprocal rates,
// temporary surcharges, the transshipment duty). One winner per stacking group,
// "in lieu of" replacements, regime exclusions, in-transit exceptions,
// zero-rate exemptions (exemption.h), the US-content rule and unconfirmed
// rates. Load-time check and evaluation both live here; the engine calls
// EvaluateAdditionalDuties first in its pipeline.
#ifndef TRADECHECK_RULES_KINDS_ADDITIONAL_DUTY_H_
#define TRADECHECK_RULES_KINDS_ADDITIONAL_DUTY_H_

#include "absl/status/status.h"
#include "rules/checker.h"
#include "rules/eval_context.h"
#include "tradecheck/v1/rule_data.pb.h"
#include "tradecheck/v1/verdict.pb.h"

namespace tradecheck::rules {

// Load time: rate in range, exactly one of stacking/replaces group, sourced
// in-transit exceptions, US-content rule and regime exclusions.
absl::Status CheckAdditionalDuty(const Checker& c, const Path& at,
                                 const v1::Measure& m);
// Load time, once every file is loaded: a replaced group exists.
absl::Status CheckAdditionalDutyReferences(const Checker& c, const Path& at,
                                           const v1::Measure& m);

// Adds the line's duties, filing headings and their findings to `lv`.
void EvaluateAdditionalDuties(EvalContext& ctx, const LineInput& in,
                              v1::LineVerdict* lv);

}  // namespace tradecheck::rules

#endif  // TRADECHECK_RULES_KINDS_ADDITIONAL_DUTY_H_
