// OriginRule: the origin screen of a line (non-originating share by
// country, regional value content, main input, heading change), the
// transshipment and minimal-processing risks it flags, and — once per
// declaration — the preference-claim and importer-attestation findings.
#ifndef TRADECHECK_RULES_KINDS_ORIGIN_RULE_H_
#define TRADECHECK_RULES_KINDS_ORIGIN_RULE_H_

#include "absl/status/status.h"
#include "rules/checker.h"
#include "rules/eval_context.h"
#include "tradecheck/v1/rule_data.pb.h"
#include "tradecheck/v1/verdict.pb.h"

namespace tradecheck::rules {

// Load time: the risk input origins are known countries.
absl::Status CheckOriginRule(const Checker& c, const Path& at,
                             const v1::Measure& m);
// Load time, once every file is loaded: the transshipment measure exists.
absl::Status CheckOriginRuleReferences(const Checker& c, const Path& at,
                                       const v1::Measure& m);

// Adds the line's origin screen to `lv` and notes the rules that matched
// in `ctx` for OriginRuleDeclarationFindings.
void EvaluateOriginRules(EvalContext& ctx, const LineInput& in,
                         v1::LineVerdict* lv);

// Declaration-level findings of the origin rules some line matched.
void OriginRuleDeclarationFindings(const EvalContext& ctx, Findings* out);

}  // namespace tradecheck::rules

#endif  // TRADECHECK_RULES_KINDS_ORIGIN_RULE_H_
