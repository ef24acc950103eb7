#include "rules/kinds/notice.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace tradecheck::rules {

absl::Status CheckNotice(const Checker& c, const Path& at,
                         const v1::Measure& m) {
  if (m.notice().severity() == v1::SEVERITY_UNSPECIFIED ||
      m.notice().message().empty()) {
    return c.Error(Join(at, {{"notice", -1}}),
                   "a notice needs a severity and a message");
  }
  if (m.notice().declaration_level() &&
      m.notice().shown_with_duty_from_size() > 0) {
    return c.Error(Join(at, {{"notice", -1}, {"shown_with_duty_from", 0}}),
                   "a declaration-level notice has no line duties to be "
                   "shown with");
  }
  return absl::OkStatus();
}

absl::Status CheckNoticeReferences(const Checker& c, const Path& at,
                                   const v1::Measure& m) {
  for (int i = 0; i < m.notice().shown_with_duty_from_size(); ++i) {
    const Path here =
        Join(at, {{"notice", -1}, {"shown_with_duty_from", i}});
    const std::string& id = m.notice().shown_with_duty_from(i);
    TC_RETURN_IF_ERROR(c.CheckMeasureId(here, id));
    const auto it = c.rules().measure_by_id.find(id);
    if (!c.rules().measures[it->second].measure->has_additional_duty()) {
      return c.Error(here, absl::StrCat("\"", id,
                                        "\" is not an additional duty"));
    }
  }
  return absl::OkStatus();
}

namespace {

// True when the notice is unconditional or one of the measures it names
// charged the line.
bool ShownWith(const v1::Notice& n,
               const google::protobuf::RepeatedPtrField<v1::Duty>* duties) {
  if (n.shown_with_duty_from().empty()) return true;
  if (duties == nullptr) return false;
  for (const v1::Duty& d : *duties) {
    if (std::find(n.shown_with_duty_from().begin(),
                  n.shown_with_duty_from().end(),
                  d.measure_id()) != n.shown_with_duty_from().end()) {
      return true;
    }
  }
  return false;
}

}  // namespace

void EvaluateNotices(EvalContext& ctx, const LineInput& in,
                     const google::protobuf::RepeatedPtrField<v1::Duty>* duties,
                     Findings* out) {
  for (const InScope& c : ctx.InScopeOf(in, v1::Measure::kNotice)) {
    const MeasureEntry& e = *c.entry;
    const v1::Measure& m = *e.measure;
    if (!ShownWith(m.notice(), duties)) continue;
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
