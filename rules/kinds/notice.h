// Notice: a finding the data states as it is (de minimis rejection, a
// framework or MOU that only informs, "IEEPA duties no longer collected"),
// softened while its instrument is dormant or non-binding. Line-level
// notices run last in the engine's line pipeline; declaration-level ones
// once per declaration.
#ifndef TRADECHECK_RULES_KINDS_NOTICE_H_
#define TRADECHECK_RULES_KINDS_NOTICE_H_

#include "absl/status/status.h"
#include "rules/checker.h"
#include "rules/eval_context.h"
#include "tradecheck/v1/rule_data.pb.h"

namespace tradecheck::rules {

// Load time: a severity and a message.
absl::Status CheckNotice(const Checker& c, const Path& at,
                         const v1::Measure& m);

// Adds the notices among `in`'s candidates to `out`. For declaration-level
// notices `in.line` is null and `in.code` empty.
void EvaluateNotices(EvalContext& ctx, const LineInput& in, Findings* out);

}  // namespace tradecheck::rules

#endif  // TRADECHECK_RULES_KINDS_NOTICE_H_
