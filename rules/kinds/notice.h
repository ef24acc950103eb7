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

// Load time: a severity and a message; shown_with_duty_from only on a
// line-level notice.
absl::Status CheckNotice(const Checker& c, const Path& at,
                         const v1::Measure& m);
// Second pass: shown_with_duty_from names additional-duty measures.
absl::Status CheckNoticeReferences(const Checker& c, const Path& at,
                                   const v1::Measure& m);

// Adds the notices among `in`'s candidates to `out`. For declaration-level
// notices `in.line` is null, `in.code` empty and `duties` null; otherwise
// `duties` are the line's duties so far (for shown_with_duty_from).
void EvaluateNotices(EvalContext& ctx, const LineInput& in,
                     const google::protobuf::RepeatedPtrField<v1::Duty>* duties,
                     Findings* out);

}  // namespace tradecheck::rules

#endif  // TRADECHECK_RULES_KINDS_NOTICE_H_
