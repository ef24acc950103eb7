// ExportMeasure: an exporting country's ban, quota or licence requirement
// (export-control announcements, a raw-material moratorium), with its own
// suspension windows and an optional processing-stage policy. A quota that
// applies yields a QuotaDraw the store binds with the audit record.
#ifndef TRADECHECK_RULES_KINDS_EXPORT_MEASURE_H_
#define TRADECHECK_RULES_KINDS_EXPORT_MEASURE_H_

#include <vector>

#include "absl/status/status.h"
#include "rules/checker.h"
#include "rules/eval_context.h"
#include "rules/kinds/export_commitment.h"
#include "tradecheck/v1/rule_data.pb.h"
#include "tradecheck/v1/verdict.pb.h"

namespace tradecheck::rules {

// Load time: a type, its licence authority or quota, valid suspensions.
absl::Status CheckExportMeasure(const Checker& c, const Path& at,
                                const v1::Measure& m);
// Load time, once every file is loaded: the stage policy exists.
absl::Status CheckExportMeasureReferences(const Checker& c, const Path& at,
                                          const v1::Measure& m);

// Adds the line's export-measure findings to `lv` (and quota draws to
// `ctx`); `pledges` are the line's export commitments.
void EvaluateExportMeasures(EvalContext& ctx, const LineInput& in,
                            const std::vector<Pledge>& pledges,
                            v1::LineVerdict* lv);

}  // namespace tradecheck::rules

#endif  // TRADECHECK_RULES_KINDS_EXPORT_MEASURE_H_
