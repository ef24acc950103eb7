#include "rules/engine.h"

#include <algorithm>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/strings/match.h"
#include "absl/types/optional.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/dates.h"
#include "common/exchange_rate.h"
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

// The current data model: each instrument that decides something on a line
// must have been confirmed for the governing day. For every instrument cited
// by `findings` or `duties` whose review was due on or before the day, one
// DATA-001 REVIEW saying so (settled history has a far review date).
void ConfirmationReviews(
    EvalContext& ctx, const google::protobuf::RepeatedPtrField<v1::Duty>* duties,
    Findings* findings, std::vector<std::string> ids_done = {}) {
  const RuleSetImpl& rs = ctx.rs();
  if (!rs.config.has_new_measures_watch()) return;
  absl::InlinedVector<absl::string_view, 8> ids;  // into the citations
  auto note = [&](const v1::Citation& c) {
    if (!c.instrument_id().empty() &&
        std::find(ids.begin(), ids.end(), c.instrument_id()) == ids.end()) {
      ids.push_back(c.instrument_id());
    }
  };
  if (duties != nullptr) {
    for (const v1::Duty& d : *duties) note(d.citation());
  }
  for (const v1::Finding& f : *findings) note(f.citation());
  for (const absl::string_view id : ids) {
    if (std::find(ids_done.begin(), ids_done.end(), id) != ids_done.end()) {
      continue;
    }
    const auto it = rs.instrument_by_id.find(id);
    if (it == rs.instrument_by_id.end()) continue;
    const v1::InstrumentData& in = *rs.instruments[it->second];
    const v1::Confirmation& k = in.confirmation();
    if (ctx.day() < DayOrMax(k.review_due())) continue;
    v1::Finding* f = ctx.Add(
        findings, ctx.ids().data_not_current(), nullptr, v1::SEVERITY_REVIEW,
        absl::StrCat("the status of ", id, " was last confirmed on ",
                     FormatDate(k.confirmed_on()), " and was due for review on ",
                     FormatDate(k.review_due()), ", before the governing date ",
                     Day(ctx.day()),
                     ": what it decides for this line may have changed"),
        absl::StrCat("have the rule-data owners confirm the status of ", id,
                     " for ", Day(ctx.day())));
    *f->mutable_citation() = CiteMeasure(in, nullptr);
    f->add_tags("DATA_NOT_CURRENT");
  }
}

// The line pipeline. The order is legal meaning and shows in the verdict:
// duties (with their exemptions) first, then the exporting country's
// pledges and export measures (a ban reads the pledges), content rules,
// origin rules, and the notices last. A new kind gets its line here, in
// the place its law puts it.
// `cands` is scratch space the declaration's lines share.
void EvaluateLine(EvalContext& ctx, const v1::LineItem& line,
                  std::vector<int>* cands, v1::LineVerdict* lv) {
  lv->set_line_number(line.line_number());
  const std::string code = Hs2022Code(ctx.rs(), ctx.decl(), line, lv);
  ctx.rs().Candidates(ctx.decl().origin_country(), ctx.decl().export_country(),
                      ctx.decl().destination_country(), code, cands);
  const LineInput in{&line, code, cands};

  EvaluateAdditionalDuties(ctx, in, lv);
  const std::vector<Pledge> pledges =
      EvaluateExportCommitments(ctx, in, lv->mutable_findings());
  EvaluateExportMeasures(ctx, in, pledges, lv);
  EvaluateContentRules(ctx, in, lv);
  EvaluateOriginRules(ctx, in, lv);
  EvaluateNotices(ctx, in, &lv->duties(), lv->mutable_findings());
  ConfirmationReviews(ctx, &lv->duties(), lv->mutable_findings());

  int64_t total = 0;
  for (const v1::Duty& d : lv->duties()) {
    total = SumOrMax(total, d.amount().minor_units());
  }
  *lv->mutable_total_duty() = MakeMoney(ctx.currency(), total);
  // Filing headings in order, without repeats: each one that an earlier
  // one already names is dropped, in place.
  auto* headings = lv->mutable_filing_headings();
  for (int i = headings->size() - 1; i > 0; --i) {
    if (std::find(headings->begin(), headings->begin() + i, headings->Get(i)) !=
        headings->begin() + i) {
      headings->DeleteSubrange(i, 1);
    }
  }
}

// The declaration-level pipeline, after every line: data currency,
// coverage gaps, declaration-level notices, origin-rule claims.
void DeclarationFindings(EvalContext& ctx, v1::Verdict* v) {
  auto* out = v->mutable_findings();
  const RuleSetImpl& rs = ctx.rs();
  if (rs.config.has_new_measures_watch()) {
    // The sources were searched for new measures up to a date: after it, a
    // warning for the grace period, then a review.
    const v1::NewMeasuresWatch& w = rs.config.new_measures_watch();
    const absl::CivilDay through = DayOrMin(w.reviewed_through());
    if (ctx.day() > through) {
      const bool within = ctx.day() - through <= w.grace_days();
      ctx.Add(out, ctx.ids().data_not_current(), nullptr,
              within ? v1::SEVERITY_WARNING : v1::SEVERITY_REVIEW,
              absl::StrCat("governing date ", Day(ctx.day()),
                           " is after the date the sources were last searched "
                           "for new measures (",
                           Day(through), "): ",
                           within ? absl::StrCat("within the ", w.grace_days(),
                                                 "-day grace period, the "
                                                 "measures in the data apply; "
                                                 "a newer measure would not be "
                                                 "shown")
                                  : absl::StrCat("more than ", w.grace_days(),
                                                 " days later, a measure "
                                                 "nobody has searched for may "
                                                 "apply")),
              "have the rule data searched for new measures through the "
              "governing date")
          ->add_tags("DATA_NOT_CURRENT");
    }
  }
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
  EvaluateNotices(ctx, LineInput{nullptr, "", &rs.declaration_level},
                  nullptr, out);
  OriginRuleDeclarationFindings(ctx, out);
  // Instruments a line was already told about are not repeated here.
  std::vector<std::string> done;
  for (const v1::LineVerdict& lv : v->lines()) {
    for (const v1::Finding& f : lv.findings()) {
      if (f.rule_id() == ctx.ids().data_not_current()) {
        done.push_back(f.citation().instrument_id());
      }
    }
  }
  ConfirmationReviews(ctx, nullptr, out, std::move(done));
}

// A US entry valued in another currency, in US dollars at the declared rate
// (19 CFR 159.31-159.38): every value of the declaration converted, half up
// to the cent. Empty when nothing is to convert or the rate does not parse
// (core's validation refuses that before the engine runs).
absl::optional<v1::Declaration> InUsDollars(const v1::Declaration& d,
                                            const std::string& currency,
                                            DecimalRate* rate) {
  if (!d.has_exchange_rate() || currency.empty() || currency == "USD") {
    return absl::nullopt;
  }
  absl::StatusOr<DecimalRate> r = ParseDecimalRate(d.exchange_rate().usd_per_unit());
  if (!r.ok()) return absl::nullopt;
  *rate = *r;
  const int from = MinorDigits(currency);
  v1::Declaration out = d;
  bool ok = true;
  auto convert = [&](v1::Money* m) {
    if (m->currency_code().empty() && m->minor_units() == 0) return;
    absl::StatusOr<int64_t> usd =
        ConvertMinorUnits(m->minor_units(), from, *r, MinorDigits("USD"));
    ok = ok && usd.ok();
    m->set_currency_code("USD");
    m->set_minor_units(usd.ok() ? *usd : 0);
  };
  for (v1::LineItem& l : *out.mutable_lines()) {
    convert(l.mutable_customs_value());
    if (l.has_us_content_value()) convert(l.mutable_us_content_value());
    if (l.has_section_232_content_value()) {
      convert(l.mutable_section_232_content_value());
    }
    for (v1::Component& c : *l.mutable_bill_of_materials()) {
      convert(c.mutable_value());
    }
  }
  if (!ok) return absl::nullopt;
  return out;
}

// 19 CFR 159.3(a): ad valorem rates apply to values in whole dollars (under
// 50 cents dropped, 50 cents or more taken as a dollar), the merchandise of
// one invoice at one rate treated as a unit. The declaration is taken as
// one invoice: per ad valorem duty measure and rate, the lines' bases are
// summed and rounded to the dollar, the duty computed on that, and the
// difference from the per-line amounts carried by the line with the largest
// base, with a finding that shows the arithmetic. US dollars only.
void RoundPerInvoice(EvalContext& ctx, v1::Verdict* v) {
  // Rule sets opt in by naming the finding's rule id (older revisions kept
  // in the store re-evaluate as they were decided).
  if (ctx.ids().rounding().empty() || ctx.currency() != "USD" ||
      ctx.decl().kind() != v1::DECLARATION_KIND_IMPORT_ENTRY) {
    return;
  }
  struct Group {
    __int128 base = 0;  // wide: hostile values must not wrap (and are
    __int128 amount = 0;  // refused by validation long before this)
    v1::Duty* largest = nullptr;
    v1::LineVerdict* line = nullptr;
  };
  std::map<std::pair<std::string, int32_t>, Group> groups;
  for (v1::LineVerdict& lv : *v->mutable_lines()) {
    for (v1::Duty& d : *lv.mutable_duties()) {
      if (d.rate_basis_points() <= 0) continue;  // specific duties
      Group& g = groups[{d.measure_id(), d.rate_basis_points()}];
      g.base += d.base().minor_units();
      g.amount += d.amount().minor_units();
      if (g.largest == nullptr ||
          d.base().minor_units() > g.largest->base().minor_units()) {
        g.largest = &d;
        g.line = &lv;
      }
    }
  }
  constexpr __int128 kMax = std::numeric_limits<int64_t>::max();
  for (auto& [key, g] : groups) {
    if (g.base + 50 > kMax || g.amount > kMax) continue;  // out of range
    const int64_t dollars = static_cast<int64_t>((g.base + 50) / 100 * 100);
    const int64_t duty = ApplyBasisPoints(dollars, key.second);
    const int64_t diff = static_cast<int64_t>(duty - g.amount);
    if (diff == 0) continue;
    g.largest->mutable_amount()->set_minor_units(
        SumOrMax(g.largest->amount().minor_units(), diff));
    g.line->mutable_total_duty()->set_minor_units(
        SumOrMax(g.line->total_duty().minor_units(), diff));
    v1::Finding* f = ctx.Add(
        v->mutable_findings(), ctx.ids().rounding(), nullptr,
        v1::SEVERITY_INFO,
        absl::StrCat("19 CFR 159.3(a): ", key.first, " at ",
                     PctBp(key.second), " applies to ", ctx.Money(static_cast<int64_t>(g.base)),
                     " taken as one unit and rounded to ", ctx.Money(dollars),
                     ": duty ", ctx.Money(duty), "; line ",
                     g.line->line_number(), " carries the ",
                     diff > 0 ? "+" : "-", ctx.Money(diff > 0 ? diff : -diff),
                     " difference from the per-line amounts"));
    f->mutable_citation()->set_article(
        "19 CFR 159.3(a) (rounding of fractions: values in whole dollars)");
  }
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
  DecimalRate rate;
  const absl::optional<v1::Declaration> usd =
      InUsDollars(declaration, currency, &rate);
  const v1::Declaration& decl = usd.has_value() ? *usd : declaration;
  const std::string from_currency = currency;
  if (usd.has_value()) currency = "USD";
  v.set_total_duty_covers(rs.config.total_duty_covers());
  EvalContext ctx(rs, decl, *day, currency);
  std::vector<int> cands;
  v.mutable_lines()->Reserve(decl.lines_size());
  for (const v1::LineItem& line : decl.lines()) {
    EvaluateLine(ctx, line, &cands, v.add_lines());
  }
  if (usd.has_value()) {
    ctx.Add(v.mutable_findings(), ctx.ids().currency(), nullptr,
            v1::SEVERITY_INFO,
            absl::StrCat("values declared in ", from_currency,
                         " converted to US dollars at USD ",
                         FormatDecimalRate(rate), " per ", from_currency,
                         ", the rate for ",
                         FormatDate(declaration.exchange_rate().rate_date()),
                         " (", declaration.exchange_rate().source(),
                         "); duties are computed and stated in USD"))
        ->mutable_citation()
        ->set_article("19 CFR 159.31-159.38 (conversion of foreign currency)");
  }
  DeclarationFindings(ctx, &v);
  RoundPerInvoice(ctx, &v);
  int64_t total = 0;
  for (const v1::LineVerdict& lv : v.lines()) {
    total = SumOrMax(total, lv.total_duty().minor_units());
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
    const int64_t remaining = std::max<int64_t>(remaining_milli, 0);
    v1::Margin* m = f->mutable_margin();
    m->set_measured("QUOTA_QUANTITY");
    *m->mutable_threshold() = QuantityFigure(remaining, draw.unit);
    *m->mutable_actual() = QuantityFigure(draw.amount_milli, draw.unit);
    m->set_direction(v1::MARGIN_DIRECTION_MUST_REDUCE);
    *m->mutable_distance() =
        QuantityFigure(draw.amount_milli - remaining, draw.unit);
    *m->mutable_passing_value() = QuantityFigure(remaining, draw.unit);
    *AddChange(f, v1::RemedyChange::ACTION_REDUCE_QUANTITY)->mutable_amount() =
        QuantityFigure(remaining, draw.unit);
    auto it = rs.measure_by_id.find(draw.measure_id);
    if (it != rs.measure_by_id.end()) {
      const MeasureEntry& e = rs.measures[it->second];
      *f->mutable_citation() = CiteMeasure(*e.instrument, e.measure);
    }
  }
  Recompute(verdict);
}

}  // namespace tradecheck::rules
