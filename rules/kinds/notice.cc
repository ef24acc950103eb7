#include "rules/kinds/notice.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"

namespace tradecheck::rules {

absl::Status CheckNotice(const Checker& c, const Path& at,
                         const v1::Measure& m) {
  if (m.notice().severity() == v1::SEVERITY_UNSPECIFIED ||
      m.notice().message().empty()) {
    return c.Error(Join(at, {{"notice", -1}}),
                   "a notice needs a severity and a message");
  }
  return absl::OkStatus();
}

void EvaluateNotices(EvalContext& ctx, const LineInput& in, Findings* out) {
  for (const InScope& c : ctx.InScopeOf(in, &v1::Measure::has_notice)) {
    const MeasureEntry& e = *c.entry;
    const v1::Measure& m = *e.measure;
    const ScopeMatch& sm = c.match;
    GateInfo g = GateFor(e, ctx.day(), nullptr);
    if (m.notice().status_independent() && g.gate != Gate::kGap) {
      g.gate = Gate::kBinding;
    }
    if (!ctx.CommonChecks(e, sm, g, out)) continue;
    v1::Severity sev = m.notice().severity();
    std::string msg = m.notice().message();
    switch (g.gate) {
      case Gate::kBinding:
        break;
      case Gate::kSuspended:
        sev = std::min(sev, v1::SEVERITY_WARNING);
        msg = absl::StrCat("dormant (", g.status_text, "): ", msg);
        break;
      case Gate::kInformOnly:
        // Non-binding instruments only inform.
        sev = std::min(sev, v1::SEVERITY_WARNING);
        msg = absl::StrCat(msg, " (", e.instrument->instrument_id(),
                           " is non-binding)");
        break;
      default:
        continue;
    }
    if (sev == v1::SEVERITY_DENY && (g.unconfirmed || m.unconfirmed())) {
      sev = v1::SEVERITY_REVIEW;
      msg = absl::StrCat(msg, DoubtText(ctx.Doubts(e, g, false)));
    }
    ctx.Add(out, ctx.RuleId(e), &e, sev, msg, m.notice().remedy());
  }
}

}  // namespace tradecheck::rules
