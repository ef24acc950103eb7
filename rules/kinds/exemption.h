// Exemption: a zero-rate carve-out that zeroes named stacking groups of
// additional duties (an agreement's zero-rate schedule, an agricultural
// exemption list). It never makes a finding of its own: it is read while an
// additional duty is evaluated (additional_duty.cc), for the duty's group.
#ifndef TRADECHECK_RULES_KINDS_EXEMPTION_H_
#define TRADECHECK_RULES_KINDS_EXEMPTION_H_

#include "absl/status/status.h"
#include "rules/checker.h"
#include "rules/eval_context.h"
#include "tradecheck/v1/rule_data.pb.h"
#include "tradecheck/v1/verdict.pb.h"

namespace tradecheck::rules {

// Load time: the measure at `at` has an exemption with groups and a schedule.
absl::Status CheckExemption(const Checker& c, const Path& at,
                            const v1::Measure& m);
// Load time, once every file is loaded: the zeroed groups exist.
absl::Status CheckExemptionReferences(const Checker& c, const Path& at,
                                      const v1::Measure& m);

// The exemptions among the line's candidates that aim at the group of
// `duty` (an additional duty): adds their findings (and filing heading) to
// `lv` and returns true when one zeroes the duty for this line.
bool ApplyZeroRateExemptions(EvalContext& ctx, const LineInput& in,
                             const MeasureEntry& duty, v1::LineVerdict* lv);

}  // namespace tradecheck::rules

#endif  // TRADECHECK_RULES_KINDS_EXEMPTION_H_
