#include "rules/kinds/exemption.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace tradecheck::rules {

absl::Status CheckExemption(const Checker& c, const Path& at,
                            const v1::Measure& m) {
  if (m.exemption().zeroes_groups_size() == 0 ||
      m.exemption().schedule() == v1::SCHEDULE_STATUS_UNSPECIFIED) {
    return c.Error(Join(at, {{"exemption", -1}}),
                   "an exemption needs zeroes_groups and a schedule");
  }
  return absl::OkStatus();
}

absl::Status CheckExemptionReferences(const Checker& c, const Path& at,
                                      const v1::Measure& m) {
  for (int i = 0; i < m.exemption().zeroes_groups_size(); ++i) {
    TC_RETURN_IF_ERROR(c.CheckStackingGroup(
        Join(at, {{"exemption", -1}, {"zeroes_groups", i}}),
        m.exemption().zeroes_groups(i)));
  }
  return absl::OkStatus();
}

bool ApplyZeroRateExemptions(EvalContext& ctx, const LineInput& in,
                             const MeasureEntry& duty, v1::LineVerdict* lv) {
  auto* out = lv->mutable_findings();
  const v1::LineItem& line = *in.line;
  const absl::string_view code = in.code;
  const auto& d = duty.measure->additional_duty();
  const std::string& rid = ctx.RuleId(duty);
  bool drop = false;
  const std::string& group =
      d.stacking_group().empty() ? d.replaces_group() : d.stacking_group();
  for (int i : *in.candidates) {
    if (drop) break;
    const MeasureEntry& xe = ctx.rs().measures[i];
    const v1::Measure& xm = *xe.measure;
    if (!xm.has_exemption() || !xe.ValidOn(ctx.day())) {
      continue;
    }
    const auto& zg = xm.exemption().zeroes_groups();
    if (std::find(zg.begin(), zg.end(), group) == zg.end()) continue;
    const ScopeMatch sm = ctx.Match(xm.scope(), &line, code);
    if (!sm.match) continue;
    const GateInfo g = GateFor(xe, ctx.day(), nullptr);
    if (g.gate == Gate::kGap) {
      ctx.CommonChecks(xe, sm, g, out);
      continue;
    }
    const std::string& xid = ctx.RuleId(xe);
    if (g.gate != Gate::kBinding) {
      v1::Finding* f = ctx.Add(
          out, xid, &xe,
          g.unconfirmed ? v1::SEVERITY_REVIEW : v1::SEVERITY_INFO,
          absl::StrCat(xm.title(), " would zero ", rid, " for this line, but ",
                       xe.instrument->instrument_id(), " is ", g.status_text,
                       " on ", Day(ctx.day()), ": it does not bind",
                       DoubtText(ctx.Doubts(xe, g, sm.hs_unconfirmed)),
                       "; duty computed at the full rate"));
      if (g.unconfirmed) {
        f->set_remedy(absl::StrCat(
            "confirm whether ", xe.instrument->instrument_id(),
            " is in force and whether ", code, " is on its schedule"));
        f->add_tags("ZERO_RATE_CANDIDATE");
      }
      continue;
    }
    const bool exact =
        xm.exemption().schedule() == v1::SCHEDULE_STATUS_TARIFF_LINES &&
        !sm.hs_unconfirmed && !xm.unconfirmed() && !g.unconfirmed;
    if (exact) {
      ctx.Add(
          out, xid, &xe, v1::SEVERITY_INFO,
          absl::StrCat(xm.title(), ": ", code, " is on the list; ", rid, " ",
                       PctBp(d.rate_basis_points()), " does not apply; report ",
                       xm.exemption().filing_heading()));
      lv->add_filing_headings(xm.exemption().filing_heading());
      drop = true;
    } else {
      v1::Finding* f =
          ctx.Add(out, xid, &xe, v1::SEVERITY_REVIEW,
                  absl::StrCat("zero-rate candidate: ", code,
                               " falls in a category of ", xm.title(),
                               ", which would zero ", rid, " ",
                               PctBp(d.rate_basis_points()),
                               "; the tariff-line schedule is not confirmed. ",
                               xm.exemption().schedule_note(),
                               DoubtText(ctx.Doubts(xe, g, sm.hs_unconfirmed)),
                               " Duty computed at the full rate."),
                  absl::StrCat("check ", code,
                               " against the schedule; if listed, "
                               "report ",
                               xm.exemption().filing_heading(), " and no ", rid,
                               " duty"));
      f->add_tags("ZERO_RATE_CANDIDATE");
    }
  }
  // A line declared less specifically than a list (6 digits where the list
  // names 8-digit HTS lines) may be on it; only its full code can tell.
  if (drop || code.size() >= 10) return drop;
  const auto coarser = ctx.rs().coarser_exemptions.find(code);
  if (coarser == ctx.rs().coarser_exemptions.end()) return drop;
  for (const RuleSetImpl::CoarserExemption& c : coarser->second) {
    const MeasureEntry& xe = ctx.rs().measures[c.measure];
    const v1::Measure& xm = *xe.measure;
    if (!xe.ValidOn(ctx.day())) continue;
    const auto& zg = xm.exemption().zeroes_groups();
    if (std::find(zg.begin(), zg.end(), group) == zg.end()) continue;
    int len = 0;
    if (ctx.MatchHs(xm.scope().hs(), code, &len) != HsMatch::kNo) continue;
    const ScopeMatch sm = ctx.Match(xm.scope(), &line, code, true);
    if (!sm.match) continue;
    const GateInfo g = GateFor(xe, ctx.day(), nullptr);
    if (g.gate != Gate::kBinding) continue;
    ctx.Add(out, ctx.RuleId(xe), &xe, v1::SEVERITY_REVIEW,
            absl::StrCat("zero-rate candidate: ", xm.title(),
                         " lists HTS lines under ", code, " (e.g. ", c.example,
                         "); whether this line is one of them depends on its "
                         "full HTS code. ",
                         rid, " ", PctBp(d.rate_basis_points()),
                         " computed at the full rate."),
            absl::StrCat("declare the 10-digit HTS code; if it is listed, "
                         "report ",
                         xm.exemption().filing_heading(), " and no ", rid,
                         " duty"))
        ->add_tags("ZERO_RATE_CANDIDATE");
  }
  return drop;
}

}  // namespace tradecheck::rules
