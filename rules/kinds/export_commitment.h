// ExportCommitment: a government's pledge (Malaysia to the US: no ban or
// quota on critical minerals) and the export measures it is at odds with.
// It informs on its own and is read again when a ban it conflicts with
// applies; the engine evaluates pledges right before export measures.
#ifndef TRADECHECK_RULES_KINDS_EXPORT_COMMITMENT_H_
#define TRADECHECK_RULES_KINDS_EXPORT_COMMITMENT_H_

#include <vector>

#include "absl/status/status.h"
#include "rules/checker.h"
#include "rules/eval_context.h"
#include "tradecheck/v1/rule_data.pb.h"

namespace tradecheck::rules {

// A pledge that applies to the line, with its gate on the governing day.
struct Pledge {
  int index;  // into RuleSetImpl::measures
  GateInfo gate;
};

// Load time, once every file is loaded: the conflicting measures exist.
absl::Status CheckExportCommitmentReferences(const Checker& c, const Path& at,
                                             const v1::Measure& m);

// Adds the line's pledges' findings to `out` and returns the pledges.
std::vector<Pledge> EvaluateExportCommitments(EvalContext& ctx,
                                              const LineInput& in,
                                              Findings* out);

// For a ban `ban` that applies: the pledges at odds with it, as a review
// while the pledge binds or its status is unconfirmed, else as information.
void ReportPledgeConflicts(const EvalContext& ctx,
                           const std::vector<Pledge>& pledges,
                           const v1::Measure& ban, Findings* out);

}  // namespace tradecheck::rules

#endif  // TRADECHECK_RULES_KINDS_EXPORT_COMMITMENT_H_
