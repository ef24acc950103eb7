#include "rules/kinds/export_commitment.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace tradecheck::rules {

absl::Status CheckExportCommitmentReferences(const Checker& c, const Path& at,
                                             const v1::Measure& m) {
  for (int i = 0; i < m.export_commitment().conflicts_with_size(); ++i) {
    TC_RETURN_IF_ERROR(c.CheckMeasureId(
        Join(at, {{"export_commitment", -1}, {"conflicts_with", i}}),
        m.export_commitment().conflicts_with(i)));
  }
  return absl::OkStatus();
}

std::vector<Pledge> EvaluateExportCommitments(EvalContext& ctx,
                                              const LineInput& in,
                                              Findings* out) {
  std::vector<Pledge> pledges;
  for (const InScope& c :
       ctx.InScopeOf(in, v1::Measure::kExportCommitment)) {
    const int i = c.index;
    const MeasureEntry& e = *c.entry;
    const v1::Measure& m = *e.measure;
    const ScopeMatch& sm = c.match;
    const GateInfo g = GateFor(e, ctx.day(), nullptr);
    if (g.gate == Gate::kGap) {
      ctx.CommonChecks(e, sm, g, out);
      continue;
    }
    pledges.push_back({i, g});
    ctx.Add(
        out, ctx.RuleId(e), &e,
        g.gate == Gate::kBinding ? v1::SEVERITY_INFO : v1::SEVERITY_WARNING,
        absl::StrCat(
            m.title(), ": ", m.export_commitment().note(), " (",
            e.instrument->instrument_id(), " is ", g.status_text, " on ",
            Day(ctx.day()),
            g.gate == Gate::kBinding ? "" : ": the pledge only informs", ")"));
  }
  return pledges;
}

void ReportPledgeConflicts(const EvalContext& ctx,
                           const std::vector<Pledge>& pledges,
                           const v1::Measure& ban, Findings* out) {
  for (const Pledge& p : pledges) {
    const MeasureEntry& pe = ctx.rs().measures[p.index];
    const auto& cw = pe.measure->export_commitment().conflicts_with();
    if (std::find(cw.begin(), cw.end(), ban.measure_id()) == cw.end()) continue;
    if (p.gate.gate == Gate::kBinding || p.gate.unconfirmed) {
      ctx.Add(
          out, ctx.RuleId(pe), &pe, v1::SEVERITY_REVIEW,
          absl::StrCat(pe.measure->title(), " conflicts with ", ban.title(),
                       " for this shipment (", pe.instrument->instrument_id(),
                       " is ", p.gate.status_text,
                       p.gate.unconfirmed ? ", status unconfirmed" : "",
                       "): the sources do not say whether the pledge "
                       "covers raw material"));
    } else {
      ctx.Add(
          out, ctx.RuleId(pe), &pe, v1::SEVERITY_INFO,
          absl::StrCat(pe.measure->title(), " is at odds with ", ban.title(),
                       ", but ", pe.instrument->instrument_id(), " is ",
                       p.gate.status_text, " on ", Day(ctx.day()),
                       ": the ban binds"));
    }
  }
}

}  // namespace tradecheck::rules
