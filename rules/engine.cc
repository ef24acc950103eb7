#include "rules/engine.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/dates.h"
#include "common/money.h"
#include "rules/eval_context.h"
#include "rules/kinds/additional_duty.h"
#include "rules/kinds/content_rule.h"
#include "rules/kinds/export_commitment.h"
#include "rules/kinds/export_measure.h"
#include "rules/kinds/notice.h"
#include "rules/kinds/origin_rule.h"
#include "rules/rule_set_impl.h"

namespace tradecheck::rules {
namespace {

// A line declared under HS 2017: its code read as HS 2022 through the
// data's mappings, with a finding that says so. Other lines keep theirs.
std::string Hs2022Code(const RuleSetImpl& rs, const v1::Declaration& decl,
                       const v1::LineItem& line, v1::LineVerdict* lv) {
  std::string code = line.hs_code();
  if (decl.tariff_schedule_version() != "HS2017") return code;
  for (const v1::Hs2017Mapping& mp : rs.config.hs2017_mappings()) {
    if (!absl::StartsWith(code, mp.from_prefix())) continue;
    code = absl::StrCat(mp.to_prefix(), code.substr(mp.from_prefix().size()));
    v1::Finding* f = lv->add_findings();
    f->set_rule_id(mp.rule_id());
    f->set_severity(mp.unconfirmed() ? v1::SEVERITY_REVIEW : v1::SEVERITY_INFO);
    f->set_message(absl::StrCat("HS 2017 ", line.hs_code(), " read as HS 2022 ",
                                code, ": ", mp.note()));
    f->set_remedy("declare the HS 2022 code");
    f->add_tags("HS_REMAPPED");
    break;
  }
  return code;
}

// The line pipeline. The order is legal meaning and shows in the verdict:
// duties (with their exemptions) first, then the exporting country's
// pledges and export measures (a ban reads the pledges), content rules,
// origin rules, and the notices last. A new kind gets its line here, in
// the place its law puts it.
void EvaluateLine(EvalContext& ctx, const v1::LineItem& line,
                  v1::LineVerdict* lv) {
  lv->set_line_number(line.line_number());
  const std::string code = Hs2022Code(ctx.rs(), ctx.decl(), line, lv);
  std::vector<int> cands;
  ctx.rs().Candidates(ctx.decl().origin_country(), ctx.decl().export_country(),
                      ctx.decl().destination_country(), code, &cands);
  const LineInput in{&line, code, &cands};

  EvaluateAdditionalDuties(ctx, in, lv);
  const std::vector<Pledge> pledges =
      EvaluateExportCommitments(ctx, in, lv->mutable_findings());
  EvaluateExportMeasures(ctx, in, pledges, lv);
  EvaluateContentRules(ctx, in, lv);
  EvaluateOriginRules(ctx, in, lv);
  EvaluateNotices(ctx, in, lv->mutable_findings());

  v1::Money total = MakeMoney(ctx.currency(), 0);
  for (const v1::Duty& d : lv->duties()) {
    total.set_minor_units(total.minor_units() + d.amount().minor_units());
  }
  *lv->mutable_total_duty() = total;
  // Filing headings in order, without repeats.
  std::vector<std::string> headings;
  for (const auto& h : lv->filing_headings()) {
    if (std::find(headings.begin(), headings.end(), h) == headings.end()) {
      headings.push_back(h);
    }
  }
  lv->clear_filing_headings();
  for (auto& h : headings) lv->add_filing_headings(std::move(h));
}

// The declaration-level pipeline, after every line: data currency,
// coverage gaps, declaration-level notices, origin-rule claims.
void DeclarationFindings(EvalContext& ctx, v1::Verdict* v) {
  auto* out = v->mutable_findings();
  const RuleSetImpl& rs = ctx.rs();
  if (ctx.day() > rs.data_current_through) {
    ctx.Add(out, ctx.ids().data_not_current(), nullptr, v1::SEVERITY_REVIEW,
            absl::StrCat("governing date ", Day(ctx.day()),
                         " is after the date the rule data is known to be "
                         "current (",
                         Day(rs.data_current_through),
                         "): measures may have changed since; the other "
                         "findings show what the last known data says"),
            "have the rule data updated and reviewed through the governing "
            "date")
        ->add_tags("DATA_NOT_CURRENT");
  }
  for (const v1::CoverageGap& gap : rs.config.coverage_gaps()) {
    if (!InWindow(ctx.day(), gap.window().from(), gap.window().until())) {
      continue;
    }
    if (!ctx.Match(gap.scope(), nullptr, "").match) continue;
    ctx.Add(out, ctx.ids().data_gap(), nullptr, v1::SEVERITY_REVIEW,
            absl::StrCat("the data has a gap on ", Day(ctx.day()), ": ",
                         gap.note()))
        ->add_tags("DATA_GAP");
  }
  EvaluateNotices(ctx, LineInput{nullptr, "", &rs.declaration_level}, out);
  OriginRuleDeclarationFindings(ctx, out);
}

v1::Outcome OutcomeOf(const google::protobuf::RepeatedPtrField<v1::Finding>& fs,
                      v1::Outcome start) {
  v1::Outcome o = start;
  for (const v1::Finding& f : fs) {
    if (f.severity() == v1::SEVERITY_DENY) return v1::OUTCOME_DENY;
    if (f.severity() == v1::SEVERITY_REVIEW) o = v1::OUTCOME_NEEDS_REVIEW;
  }
  return o;
}

void Recompute(v1::Verdict* v) {
  v1::Outcome overall = OutcomeOf(v->findings(), v1::OUTCOME_ALLOW);
  for (v1::LineVerdict& lv : *v->mutable_lines()) {
    lv.set_outcome(OutcomeOf(lv.findings(), v1::OUTCOME_ALLOW));
    if (lv.outcome() == v1::OUTCOME_DENY) {
      overall = v1::OUTCOME_DENY;
    } else if (lv.outcome() == v1::OUTCOME_NEEDS_REVIEW &&
               overall != v1::OUTCOME_DENY) {
      overall = v1::OUTCOME_NEEDS_REVIEW;
    }
  }
  v->set_outcome(overall);
}

}  // namespace

Evaluation Evaluate(const RuleSet& rules, const v1::Declaration& declaration) {
  const RuleSetImpl& rs = rules.impl();
  Evaluation ev;
  v1::Verdict& v = ev.verdict;
  v.set_declaration_id(declaration.declaration_id());
  v.set_rule_set_revision(rs.revision);
  const bool import = declaration.kind() == v1::DECLARATION_KIND_IMPORT_ENTRY;
  const v1::Date& gov =
      import ? declaration.entry_date() : declaration.export_date();
  v.set_governing_date_basis(import ? v1::GOVERNING_DATE_BASIS_ENTRY_DATE
                                    : v1::GOVERNING_DATE_BASIS_EXPORT_DATE);
  *v.mutable_governing_date() = gov;
  std::string currency;
  for (const v1::LineItem& l : declaration.lines()) {
    if (!l.customs_value().currency_code().empty()) {
      currency = l.customs_value().currency_code();
      break;
    }
  }
  auto day = ToCivilDay(gov);
  if (IsUnset(gov) || !day.ok()) {
    // Core validates this; the engine still never guesses a date.
    EvalContext ctx(rs, declaration, absl::CivilDay(), currency);
    ctx.Add(v.mutable_findings(), ctx.ids().fact_missing(), nullptr,
            v1::SEVERITY_REVIEW,
            "the governing date is missing or invalid: no rule can be "
            "evaluated",
            import ? "declare entry_date" : "declare export_date");
    Recompute(&v);
    return ev;
  }
  EvalContext ctx(rs, declaration, *day, currency);
  for (const v1::LineItem& line : declaration.lines()) {
    EvaluateLine(ctx, line, v.add_lines());
  }
  DeclarationFindings(ctx, &v);
  int64_t total = 0;
  for (const v1::LineVerdict& lv : v.lines()) {
    total += lv.total_duty().minor_units();
  }
  *v.mutable_total_duty() = MakeMoney(currency, total);
  Recompute(&v);
  ev.quota_draws = ctx.TakeQuotaDraws();
  return ev;
}

void ApplyQuotaShortfall(const RuleSet& rules, const QuotaDraw& draw,
                         int64_t remaining_milli, v1::Verdict* verdict) {
  const RuleSetImpl& rs = rules.impl();
  for (v1::LineVerdict& lv : *verdict->mutable_lines()) {
    if (lv.line_number() != draw.line_number) continue;
    v1::Finding* f = lv.add_findings();
    f->set_rule_id(rs.config.engine_rule_ids().quota_shortfall());
    f->set_measure_id(draw.measure_id);
    f->set_severity(v1::SEVERITY_DENY);
    f->set_message(absl::StrFormat(
        "quota %s exhausted: %.3f %s asked, %.3f %s remaining of %.3f %s",
        draw.quota_key, draw.amount_milli / 1000.0, draw.unit,
        remaining_milli / 1000.0, draw.unit, draw.limit_milli / 1000.0,
        draw.unit));
    f->set_remedy(absl::StrFormat(
        "reduce the quantity to at most %.3f %s or ship in the next period",
        std::max<int64_t>(remaining_milli, 0) / 1000.0, draw.unit));
    f->add_tags("QUOTA_EXHAUSTED");
    auto it = rs.measure_by_id.find(draw.measure_id);
    if (it != rs.measure_by_id.end()) {
      const MeasureEntry& e = rs.measures[it->second];
      *f->mutable_citation() = CiteMeasure(*e.instrument, e.measure);
    }
  }
  Recompute(verdict);
}

}  // namespace tradecheck::rules
