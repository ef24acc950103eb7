#include "rules/kinds/export_measure.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"

namespace tradecheck::rules {

absl::Status CheckExportMeasure(const Checker& c, const Path& at,
                                const v1::Measure& m) {
  const auto& e = m.export_measure();
  const Path eat = Join(at, {{"export_measure", -1}});
  switch (e.type()) {
    case v1::EXPORT_MEASURE_TYPE_BAN:
      break;
    case v1::EXPORT_MEASURE_TYPE_LICENCE:
      if (e.licence_authority().empty()) {
        return c.Error(eat, "a licence requirement needs licence_authority");
      }
      break;
    case v1::EXPORT_MEASURE_TYPE_QUOTA:
      if (e.quota().amount_milli() <= 0 || e.quota().unit().empty() ||
          e.quota().period() == v1::QUOTA_PERIOD_UNSPECIFIED) {
        return c.Error(Join(eat, {{"quota", -1}}),
                       "quota out of range: needs amount_milli > 0, a "
                       "unit and a period");
      }
      break;
    default:
      return c.Error(eat, "export measure without a type");
  }
  return c.CheckSuspensions(eat, e.suspensions(), /*refuse_overlaps=*/true);
}

absl::Status CheckExportMeasureReferences(const Checker& c, const Path& at,
                                          const v1::Measure& m) {
  const std::string& policy = m.export_measure().stage_policy();
  if (policy.empty() || c.rules().FindStagePolicy(policy) != nullptr) {
    return absl::OkStatus();
  }
  return c.Error(Join(at, {{"export_measure", -1}, {"stage_policy", -1}}),
                 absl::StrCat("unknown stage policy \"", policy, "\""));
}

void EvaluateExportMeasures(EvalContext& ctx, const LineInput& in,
                            const std::vector<Pledge>& pledges,
                            v1::LineVerdict* lv) {
  auto* out = lv->mutable_findings();
  const v1::LineItem& line = *in.line;
  const absl::string_view code = in.code;
  for (const InScope& c : ctx.InScopeOf(in, v1::Measure::kExportMeasure)) {
    const MeasureEntry& e = *c.entry;
    const v1::Measure& m = *e.measure;
    const ScopeMatch& sm = c.match;
    const auto& x = m.export_measure();
    const GateInfo g = GateFor(e, ctx.day(), &x.suspensions());
    const std::string& rid = ctx.RuleId(e);
    if (g.gate == Gate::kNotInForce) continue;
    const bool facts_known = ctx.CommonChecks(e, sm, g, out);
    // An undeclared fact the measure turns on is reported by CommonChecks;
    // stating the ban or licence as if it applied would be a guess.
    if (g.gate == Gate::kGap || !facts_known) continue;

    std::string what;
    switch (x.type()) {
      case v1::EXPORT_MEASURE_TYPE_BAN:
        what = "export ban";
        break;
      case v1::EXPORT_MEASURE_TYPE_QUOTA:
        what = "export quota";
        break;
      default:
        what = absl::StrCat("export licence requirement (",
                            x.licence_authority(), ")");
        break;
    }
    // Processing stage, read through the documented policy.
    bool stage_ambiguous = false;
    if (!x.stage_policy().empty()) {
      const v1::StagePolicy* p = ctx.rs().FindStagePolicy(x.stage_policy());
      const v1::ProcessingStage st = line.processing_stage();
      auto in = [st](const auto& list) {
        return std::find(list.begin(), list.end(), st) != list.end();
      };
      if (st != v1::PROCESSING_STAGE_UNSPECIFIED && in(p->permitted())) {
        ctx.Add(out, rid, &e, v1::SEVERITY_INFO,
                absl::StrCat("processing stage ", StageName(st),
                             " is processed "
                             "under policy ",
                             p->name(), ": the ", what, " of ", m.title(),
                             " does not apply"));
        continue;
      }
      if (st == v1::PROCESSING_STAGE_UNSPECIFIED || !in(p->restricted())) {
        stage_ambiguous = true;
        v1::Finding* f = ctx.Add(
            out,
            x.stage_review_rule_id().empty() ? rid : x.stage_review_rule_id(),
            &e, v1::SEVERITY_REVIEW,
            absl::StrCat("processing stage ",
                         st == v1::PROCESSING_STAGE_UNSPECIFIED
                             ? std::string("not declared")
                             : StageName(st),
                         ": raw versus processed is unresolved in the sources "
                         "(policy ",
                         p->name(), ": ", p->rationale(), "); the ", what,
                         " of ", m.title(), " applies only to raw material"),
            "declare the processing stage with evidence (assay, process "
            "description)");
        f->add_tags("STAGE_AMBIGUOUS");
        AddChange(f, v1::RemedyChange::ACTION_DECLARE_PROCESSING_STAGE);
      }
    }

    if (g.gate == Gate::kSuspended) {
      ctx.Add(out, x.suspended_rule_id().empty() ? rid : x.suspended_rule_id(),
              &e, v1::SEVERITY_WARNING,
              absl::StrCat("dormant rule: ", m.title(), " (", what, ") is ",
                           g.status_text,
                           g.resumes_known
                               ? absl::StrCat("; re-activates ", Day(g.resumes),
                                              " unless extended")
                               : std::string(),
                           g.status_note.empty()
                               ? std::string()
                               : absl::StrCat(" (", g.status_note, ")")))
          ->add_tags("DORMANT_RULE");
      continue;
    }
    if (g.gate == Gate::kInformOnly) {
      ctx.Add(out, rid, &e, v1::SEVERITY_INFO,
              absl::StrCat(m.title(), " (", what,
                           ") is non-binding: informs only"));
      continue;
    }
    // Binding. Anything unconfirmed turns a hard outcome into a review.
    const std::vector<std::string> doubts = ctx.Doubts(e, g, sm.hs_unconfirmed);
    const bool hard = doubts.empty() && !stage_ambiguous && facts_known;
    const std::string doubt_text = DoubtText(doubts);

    if (x.type() == v1::EXPORT_MEASURE_TYPE_BAN) {
      if (stage_ambiguous) continue;  // the stage finding says it all
      v1::Finding* f = ctx.Add(
          out, rid, &e, hard ? v1::SEVERITY_DENY : v1::SEVERITY_REVIEW,
          absl::StrCat(
              m.title(), ": export of ", code,
              line.processing_stage() != v1::PROCESSING_STAGE_UNSPECIFIED
                  ? absl::StrCat(" (", StageName(line.processing_stage()), ")")
                  : std::string(),
              " from ", ctx.decl().export_country(), " to ",
              ctx.decl().destination_country(), " is banned", doubt_text),
          x.stage_policy().empty()
              ? std::string("do not ship as declared")
              : std::string("only processed products may be exported; do not "
                            "ship raw material"));
      f->add_tags("EXPORT_BAN");
      ReportPledgeConflicts(ctx, pledges, m, out);
    } else if (x.type() == v1::EXPORT_MEASURE_TYPE_LICENCE) {
      const std::string which = ctx.ValidLicence(x.licence_authority());
      if (!which.empty()) {
        ctx.Add(out, rid, &e, v1::SEVERITY_INFO,
                absl::StrCat(m.title(),
                             ": licence required and declared: ", which));
      } else if (!stage_ambiguous) {
        v1::Finding* f = ctx.Add(
            out, rid, &e, hard ? v1::SEVERITY_DENY : v1::SEVERITY_REVIEW,
            absl::StrCat(m.title(), ": export of ", code, " from ",
                         ctx.decl().export_country(), " to ",
                         ctx.decl().destination_country(),
                         " requires a licence from ", x.licence_authority(),
                         "; none declared valid on ", Day(ctx.day()),
                         doubt_text),
            absl::StrCat("declare a licence from ", x.licence_authority()));
        f->add_tags("LICENCE_REQUIRED");
        AddChange(f, v1::RemedyChange::ACTION_DECLARE_LICENCE)
            ->set_licence_authority(x.licence_authority());
      }
    } else if (x.type() == v1::EXPORT_MEASURE_TYPE_QUOTA) {
      if (stage_ambiguous) continue;
      const auto& q = x.quota();
      if (!line.has_quantity() || line.quantity().unit() != q.unit()) {
        v1::Finding* f = ctx.Add(
            out, ctx.ids().fact_missing(), &e, v1::SEVERITY_REVIEW,
            absl::StrCat(m.title(), " is counted in ", q.unit(),
                         "; the line declares ",
                         line.has_quantity() ? line.quantity().unit()
                                             : std::string("no quantity")),
            absl::StrCat("declare the quantity in ", q.unit()));
        *AddChange(f, v1::RemedyChange::ACTION_DECLARE_QUANTITY)
             ->mutable_amount() = QuantityFigure(0, q.unit());
        continue;
      }
      std::string period;
      switch (q.period()) {
        case v1::QUOTA_PERIOD_HALF_YEAR:
          period = absl::StrCat(ctx.day().year(), "-H",
                                ctx.day().month() <= 6 ? 1 : 2);
          break;
        case v1::QUOTA_PERIOD_QUARTER:
          period = absl::StrCat(ctx.day().year(), "-Q",
                                (ctx.day().month() - 1) / 3 + 1);
          break;
        default:
          period = absl::StrCat(ctx.day().year());
          break;
      }
      QuotaDraw draw;
      draw.quota_key = absl::StrCat(m.measure_id(), "|", period, "|",
                                    ctx.decl().destination_country());
      draw.measure_id = m.measure_id();
      draw.line_number = line.line_number();
      draw.amount_milli = line.quantity().amount_milli();
      draw.limit_milli = q.amount_milli();
      draw.unit = q.unit();
      // The line's quantity against the period's whole volume (what is
      // left of it is known only when the draw is bound).
      const bool too_much = draw.amount_milli > draw.limit_milli;
      v1::Margin qm;
      qm.set_measured("QUOTA_QUANTITY");
      *qm.mutable_threshold() = QuantityFigure(draw.limit_milli, q.unit());
      *qm.mutable_actual() = QuantityFigure(draw.amount_milli, q.unit());
      qm.set_direction(too_much ? v1::MARGIN_DIRECTION_MUST_REDUCE
                                : v1::MARGIN_DIRECTION_HEADROOM);
      *qm.mutable_distance() =
          QuantityFigure(too_much ? draw.amount_milli - draw.limit_milli
                                  : draw.limit_milli - draw.amount_milli,
                         q.unit());
      *qm.mutable_passing_value() = QuantityFigure(draw.limit_milli, q.unit());
      if (too_much) {
        v1::Finding* f = ctx.Add(
            out, rid, &e, hard ? v1::SEVERITY_DENY : v1::SEVERITY_REVIEW,
            absl::StrCat(m.title(), ": ", draw.amount_milli / 1000.0, " ",
                         q.unit(), " exceeds the whole period quota of ",
                         draw.limit_milli / 1000.0, " ", q.unit(), doubt_text),
            "split the shipment across quota periods");
        *f->mutable_margin() = qm;
        *AddChange(f, v1::RemedyChange::ACTION_REDUCE_QUANTITY)
             ->mutable_amount() = QuantityFigure(draw.limit_milli, q.unit());
        continue;
      }
      *ctx.Add(out, rid, &e, hard ? v1::SEVERITY_INFO : v1::SEVERITY_REVIEW,
               absl::StrCat(m.title(), ": draws ",
                            absl::StrFormat("%.3f", draw.amount_milli / 1000.0),
                            " ", q.unit(), " from quota ", draw.quota_key,
                            " of ",
                            absl::StrFormat("%.3f", draw.limit_milli / 1000.0),
                            " ", q.unit(), doubt_text))
           ->mutable_margin() = qm;
      ctx.AddQuotaDraw(std::move(draw));
    }
  }
}

}  // namespace tradecheck::rules
