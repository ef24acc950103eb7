// ContentRule: a licence requirement triggered by controlled-origin content
// above a share of value (a rare-earth content rule on foreign-made goods) or
// by production with controlled technology, read from the line's bill of
// materials; dormant while suspended.
#ifndef TRADECHECK_RULES_KINDS_CONTENT_RULE_H_
#define TRADECHECK_RULES_KINDS_CONTENT_RULE_H_

#include "absl/status/status.h"
#include "rules/checker.h"
#include "rules/eval_context.h"
#include "tradecheck/v1/rule_data.pb.h"
#include "tradecheck/v1/verdict.pb.h"

namespace tradecheck::rules {

// Load time: threshold in range, authority and ids, selectors, suspensions.
absl::Status CheckContentRule(const Checker& c, const Path& at,
                              const v1::Measure& m);

// Adds the line's content-rule findings to `lv`.
void EvaluateContentRules(EvalContext& ctx, const LineInput& in,
                          v1::LineVerdict* lv);

}  // namespace tradecheck::rules

#endif  // TRADECHECK_RULES_KINDS_CONTENT_RULE_H_
