#include "rules/kinds/additional_duty.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/dates.h"
#include "common/money.h"
#include "common/status_macros.h"
#include "rules/index.h"
#include "rules/kinds/exemption.h"

namespace tradecheck::rules {
namespace {

struct AppliedDuty {
  int index;
  const MeasureEntry* e;
  GateInfo gate;
  std::string replaced;  // measure id it replaces ("in lieu of")
};

}  // namespace

absl::Status CheckAdditionalDuty(const Checker& c, const Path& at,
                                 const v1::Measure& m) {
  const auto& d = m.additional_duty();
  const Path dat = Join(at, {{"additional_duty", -1}});
  TC_RETURN_IF_ERROR(c.CheckRate(Join(dat, {{"rate_basis_points", -1}}),
                                 d.rate_basis_points()));
  if (d.stacking_group().empty() == d.replaces_group().empty()) {
    return c.Error(dat,
                   "an additional duty needs exactly one of stacking_group "
                   "and replaces_group");
  }
  for (int i = 0; i < d.in_transit_size(); ++i) {
    const auto& t = d.in_transit(i);
    const Path tat = Join(dat, {{"in_transit", i}});
    TC_RETURN_IF_ERROR(c.CheckDate(Join(tat, {{"loaded_before", -1}}),
                                   t.loaded_before(), true));
    TC_RETURN_IF_ERROR(c.CheckDate(Join(tat, {{"entered_before", -1}}),
                                   t.entered_before(), true));
    TC_RETURN_IF_ERROR(
        c.CheckWindow(tat, t.loaded_before(), t.entered_before()));
    if (t.rule_id().empty() || t.source_url().empty() ||
        t.effect() == v1::IN_TRANSIT_EFFECT_UNSPECIFIED) {
      return c.Error(tat,
                     "missing source: in-transit exception needs a "
                     "rule_id, an effect and a source_url");
    }
    if (t.effect() == v1::IN_TRANSIT_EFFECT_PRIOR_RATE) {
      TC_RETURN_IF_ERROR(
          c.CheckRate(Join(tat, {{"prior_rate_basis_points", -1}}),
                      t.prior_rate_basis_points()));
      if (t.prior_rate_basis_points() <= 0 || t.prior_filing_heading().empty()) {
        return c.Error(tat,
                       "a PRIOR_RATE in-transit exception needs "
                       "prior_rate_basis_points and prior_filing_heading");
      }
    }
  }
  if (d.has_minimum_price()) {
    const auto& p = d.minimum_price();
    const Path pat = Join(dat, {{"minimum_price", -1}});
    if (d.rate_basis_points() != 0 || d.has_us_content() ||
        d.unconfirmed_rates_size() > 0) {
      return c.Error(pat,
                     "a minimum-price duty is specific: rate_basis_points, "
                     "us_content and unconfirmed_rates must be unset");
    }
    if (p.price_per_unit().currency_code().size() != 3 ||
        p.price_per_unit().minor_units() <= 0 || p.unit().empty() ||
        p.unit().size() > 3) {
      return c.Error(pat,
                     "a minimum import price needs a positive price_per_unit "
                     "with a currency and a UN/ECE Rec. 20 unit (\"KGM\", "
                     "\"WTT\")");
    }
  }
  if (d.has_us_content()) {
    const auto& u = d.us_content();
    if (u.threshold_basis_points() <= 0 || u.threshold_basis_points() > 10000) {
      return c.Error(Join(dat, {{"us_content", -1}}),
                     "US-content threshold out of range (1..10000 bp)");
    }
    if (u.source_url().empty() || u.rule_id().empty()) {
      return c.Error(Join(dat, {{"us_content", -1}}),
                     "missing source: US-content rule");
    }
  }
  for (int i = 0; i < d.exclusions_size(); ++i) {
    const auto& e = d.exclusions(i);
    const Path eat = Join(dat, {{"exclusions", i}});
    if (e.source_url().empty() || e.rule_id().empty() ||
        e.fact() == v1::FACT_KIND_UNSPECIFIED) {
      return c.Error(eat,
                     "missing source: regime exclusion needs a "
                     "rule_id, a fact and a source_url");
    }
    TC_RETURN_IF_ERROR(
        c.CheckCountries(Join(eat, {{"origins", -1}}), e.origins()));
    TC_RETURN_IF_ERROR(
        c.CheckHsSelector(Join(eat, {{"asked_for", -1}}), e.asked_for()));
    if (!v1::OtherShare_IsValid(e.other_share())) {
      return c.Error(Join(eat, {{"other_share", -1}}), "unknown other_share");
    }
  }
  for (int i = 0; i < d.unconfirmed_rates_size(); ++i) {
    TC_RETURN_IF_ERROR(c.CheckRate(
        Join(dat, {{"unconfirmed_rates", i}, {"rate_basis_points", -1}}),
        d.unconfirmed_rates(i).rate_basis_points()));
    TC_RETURN_IF_ERROR(
        c.CheckDate(Join(dat, {{"unconfirmed_rates", i}, {"announced", -1}}),
                    d.unconfirmed_rates(i).announced(), true));
  }
  return absl::OkStatus();
}

absl::Status CheckAdditionalDutyReferences(const Checker& c, const Path& at,
                                           const v1::Measure& m) {
  if (m.additional_duty().replaces_group().empty()) return absl::OkStatus();
  return c.CheckStackingGroup(
      Join(at, {{"additional_duty", -1}, {"replaces_group", -1}}),
      m.additional_duty().replaces_group());
}

void EvaluateAdditionalDuties(EvalContext& ctx, const LineInput& in,
                              v1::LineVerdict* lv) {
  auto* out = lv->mutable_findings();
  const v1::LineItem& line = *in.line;
  // 1. One winner per stacking group: most specific HS, then country-
  //    specific over all-country, then lowest measure id.
  struct Winner {
    int index;
    int hs_len;
    bool country_specific;
    GateInfo gate;
  };
  // Keyed by stacking group (views into the data); a line meets a few.
  absl::InlinedVector<std::pair<absl::string_view, Winner>, 4> winners;
  absl::InlinedVector<std::pair<int, GateInfo>, 2> replacements;
  for (const InScope& c :
       ctx.InScopeOf(in, v1::Measure::kAdditionalDuty)) {
    const int i = c.index;
    const MeasureEntry& e = *c.entry;
    const v1::Measure& m = *e.measure;
    const ScopeMatch& sm = c.match;
    const GateInfo g = GateFor(e, ctx.day(), nullptr);
    if (!ctx.CommonChecks(e, sm, g, out)) continue;
    if (g.gate != Gate::kBinding) continue;  // duties only bind in force
    const auto& d = m.additional_duty();
    if (!d.replaces_group().empty()) {
      replacements.push_back({i, g});
      continue;
    }
    const bool specific = !m.scope().origins().countries().empty();
    auto it = std::find_if(winners.begin(), winners.end(), [&](const auto& w) {
      return w.first == d.stacking_group();
    });
    if (it == winners.end()) {
      winners.push_back({d.stacking_group(), {i, sm.hs_len, specific, g}});
    } else if (sm.hs_len > it->second.hs_len ||
               (sm.hs_len == it->second.hs_len && specific &&
                !it->second.country_specific)) {
      it->second = {i, sm.hs_len, specific, g};
    }
  }
  absl::InlinedVector<AppliedDuty, 4> applied;
  absl::InlinedVector<std::pair<absl::string_view, size_t>, 4> by_group;
  for (const auto& [group, w] : winners) {
    by_group.push_back({group, applied.size()});
    applied.push_back({w.index, &ctx.rs().measures[w.index], w.gate, ""});
  }
  // 2. "In lieu of": a replacement takes the place of its group's winner.
  for (const auto& [i, g] : replacements) {
    const MeasureEntry& e = ctx.rs().measures[i];
    const std::string& group = e.measure->additional_duty().replaces_group();
    auto it = std::find_if(by_group.begin(), by_group.end(),
                           [&](const auto& b) { return b.first == group; });
    if (it != by_group.end()) {
      AppliedDuty& slot = applied[it->second];
      const std::string replaced = slot.e->measure->measure_id();
      slot = {i, &e, g, replaced};
    } else {
      by_group.push_back({group, applied.size()});
      applied.push_back({i, &e, g, ""});
    }
  }
  std::sort(applied.begin(), applied.end(),
            [](const AppliedDuty& a, const AppliedDuty& b) {
              return a.index < b.index;
            });

  const int64_t customs = line.customs_value().minor_units();
  for (const AppliedDuty& a : applied) {
    const MeasureEntry& e = *a.e;
    const v1::Measure& m = *e.measure;
    const auto& d = m.additional_duty();
    const std::string& rid = ctx.RuleId(e);
    bool drop = false;
    int32_t rate = d.rate_basis_points();
    std::string heading = d.filing_heading();
    // Part of the value under another regime (a Section 232 derivative's
    // 232 content): the duty falls on the rest.
    int64_t other_regime_part = 0;

    // Goods under another regime, asked only where the regime can apply.
    for (const v1::RegimeExclusion& ex : d.exclusions()) {
      if (drop) break;
      if (!MatchCountry(ex.origins(), ctx.decl().origin_country())) continue;
      const v1::Answer ans = Fact(ex.fact(), ctx.decl(), &line);
      auto cite = [&](v1::Finding* f) {
        f->mutable_citation()->set_article(ex.article());
        f->mutable_citation()->set_source_url(ex.source_url());
        return f;
      };
      int len = 0;
      const bool in_scope =
          (ex.asked_for().include().empty() &&
           ex.asked_for().unconfirmed_include().empty()) ||
          ctx.MatchHs(ex.asked_for(), in.code, &len) != HsMatch::kNo;
      if (!in_scope) {
        if (ans == v1::ANSWER_YES) {
          cite(ctx.Add(
              out, ex.rule_id(), &e, v1::SEVERITY_REVIEW,
              absl::StrCat(FactName(ex.fact()), " declared, but ", in.code,
                           " is outside every product scope of that regime "
                           "the data holds; ",
                           rid, " (", m.title(), ") computed as not excluded"),
              absl::StrCat("check whether ", in.code, " is under the regime")));
        }
        continue;
      }
      if (ans == v1::ANSWER_UNSPECIFIED) {
        cite(ctx.Add(out, ex.rule_id(), &e, v1::SEVERITY_REVIEW,
                     absl::StrCat(FactName(ex.fact()),
                                  " is not declared; goods under "
                                  "that regime are excluded from ",
                                  rid, " (", m.title(),
                                  "); duty computed as if not excluded"),
                     absl::StrCat("declare ", FactName(ex.fact()))));
        continue;
      }
      if (ans != v1::ANSWER_YES) continue;
      const bool partial_known =
          ex.fact() == v1::FACT_KIND_SUBJECT_TO_SECTION_232 &&
          line.has_section_232_content_value() &&
          line.section_232_content_value().minor_units() < customs;
      const int64_t inside =
          partial_known ? line.section_232_content_value().minor_units() : 0;
      if (ex.other_share() == v1::OTHER_SHARE_DUTIABLE && partial_known) {
        other_regime_part = inside;
        cite(ctx.Add(
            out, ex.rule_id(), &e, v1::SEVERITY_INFO,
            absl::StrCat(FactName(ex.fact()), " declared with ",
                         ctx.Money(inside), " of content under that regime: ",
                         rid, " (", m.title(), ") applies to the other ",
                         ctx.Money(customs - inside), " only")));
        continue;
      }
      if (ex.other_share() == v1::OTHER_SHARE_UNCONFIRMED && partial_known) {
        cite(ctx.Add(
            out, ex.rule_id(), &e, v1::SEVERITY_REVIEW,
            absl::StrCat(
                FactName(ex.fact()), " declared with ", ctx.Money(inside),
                " of content under that regime: whether ", rid, " (",
                m.title(), ") applies to the other ",
                ctx.Money(customs - inside),
                " is not in the sources; it would be ",
                ctx.Money(ApplyBasisPoints(customs - inside, rate)), " at ",
                PctBp(rate), "; not charged"),
            absl::StrCat("confirm whether the non-", FactName(ex.fact()),
                         " content pays ", rid)));
        drop = true;
        continue;
      }
      cite(ctx.Add(out, ex.rule_id(), &e, v1::SEVERITY_INFO,
                   absl::StrCat(FactName(ex.fact()),
                                " declared: the goods are excluded from ", rid,
                                " (", m.title(), ")",
                                ex.other_share() == v1::OTHER_SHARE_DUTIABLE
                                    ? "; a derivative with content outside "
                                      "the regime declares "
                                      "section_232_content_value and pays on "
                                      "the rest"
                                    : "")));
      drop = true;
    }
    // In-transit exceptions: export_date is the loading date.
    for (const v1::InTransitException& t : d.in_transit()) {
      if (drop) break;
      if (!(ctx.day() < DayOrMax(t.entered_before()))) continue;
      auto cite = [&](v1::Finding* f) {
        f->mutable_citation()->set_article(t.article());
        f->mutable_citation()->set_source_url(t.source_url());
      };
      if (IsUnset(ctx.decl().export_date())) {
        cite(ctx.Add(
            out, t.rule_id(), &e, v1::SEVERITY_REVIEW,
            absl::StrCat("entered before ", FormatDate(t.entered_before()),
                         ": goods loaded before ",
                         FormatDate(t.loaded_before()),
                         " are in transit and treated differently under ", rid,
                         "; the loading date (export_date) is not "
                         "declared"),
            "declare export_date (date of loading at the port of export)"));
        continue;
      }
      if (!(DayOrMin(ctx.decl().export_date()) < DayOrMin(t.loaded_before()))) {
        continue;
      }
      const std::string transit = absl::StrCat(
          "in transit: loaded ", FormatDate(ctx.decl().export_date()),
          " (before ", FormatDate(t.loaded_before()), ") and entered ",
          Day(ctx.day()), " (before ", FormatDate(t.entered_before()), ")");
      if (t.effect() == v1::IN_TRANSIT_EFFECT_EXEMPT) {
        cite(ctx.Add(out, t.rule_id(), &e, v1::SEVERITY_INFO,
                     absl::StrCat(transit, ": exempt from ", rid, " (",
                                  m.title(), ")")));
        drop = true;
      } else if (t.effect() == v1::IN_TRANSIT_EFFECT_PRIOR_RATE) {
        cite(ctx.Add(out, t.rule_id(), &e, v1::SEVERITY_INFO,
                     absl::StrCat(transit, ": the rate in force before, ",
                                  PctBp(t.prior_rate_basis_points()),
                                  " (report ", t.prior_filing_heading(),
                                  "), applies instead of ", rid, " ",
                                  PctBp(d.rate_basis_points()))));
        rate = t.prior_rate_basis_points();
        heading = t.prior_filing_heading();
        break;
      } else {
        cite(ctx.Add(out, t.rule_id(), &e, v1::SEVERITY_REVIEW,
                     absl::StrCat(transit,
                                  ": the earlier rate applies instead of ",
                                  rid, " ", PctBp(d.rate_basis_points()),
                                  "; that rate is not in the data")));
        drop = true;
      }
    }
    // Zero-rate carve-outs aimed at this duty's group.
    if (!drop) drop = ApplyZeroRateExemptions(ctx, in, e, lv);
    if (drop) continue;

    int64_t base = customs - other_regime_part;
    int64_t amount = 0;
    std::string how;
    // The minimum-price test as data, for the finding that states the duty.
    v1::Margin price_margin;
    if (d.has_minimum_price()) {
      // A specific duty: the shortfall below the minimum import price.
      const auto& mp = d.minimum_price();
      const v1::Quantity& q = line.quantity();
      if (q.unit() != mp.unit() || q.amount_milli() <= 0) {
        v1::Finding* f = ctx.Add(
            out, ctx.ids().fact_missing(), &e, v1::SEVERITY_REVIEW,
            absl::StrCat(rid, " (", m.title(),
                         ") sets a minimum import price per ", mp.unit(),
                         "; the line declares no quantity in ", mp.unit()),
            absl::StrCat("declare quantity in ", mp.unit()));
        *AddChange(f, v1::RemedyChange::ACTION_DECLARE_QUANTITY)
             ->mutable_amount() = QuantityFigure(0, mp.unit());
        continue;
      }
      if (mp.price_per_unit().currency_code() != ctx.currency()) {
        ctx.Add(out, ctx.ids().fact_missing(), &e, v1::SEVERITY_REVIEW,
                absl::StrCat(rid, " (", m.title(), ") is priced in ",
                             mp.price_per_unit().currency_code(),
                             "; the declaration is valued in ", ctx.currency()),
                "declare the values in the measure's currency");
        continue;
      }
      const absl::StatusOr<int64_t> floor = MultiplyMilli(
          mp.price_per_unit().minor_units(), q.amount_milli());
      if (!floor.ok()) {
        ctx.Add(out, ctx.ids().fact_missing(), &e, v1::SEVERITY_REVIEW,
                absl::StrCat(rid, ": the minimum value of the declared "
                                  "quantity does not fit in the money range"));
        continue;
      }
      amount = *floor > base ? *floor - base : 0;
      price_margin.set_measured("DECLARED_VALUE");
      *price_margin.mutable_threshold() = ctx.MoneyFigure(*floor);
      *price_margin.mutable_actual() = ctx.MoneyFigure(base);
      price_margin.set_direction(amount > 0 ? v1::MARGIN_DIRECTION_MUST_INCREASE
                                            : v1::MARGIN_DIRECTION_HEADROOM);
      *price_margin.mutable_distance() =
          ctx.MoneyFigure(amount > 0 ? amount : base - *floor);
      *price_margin.mutable_passing_value() = ctx.MoneyFigure(*floor);
      how = absl::StrCat(
          "minimum import price ", ctx.Money(mp.price_per_unit().minor_units()),
          "/", mp.unit(), " x ", FormatMilli(q.amount_milli()), " ", mp.unit(),
          " = ", ctx.Money(*floor), "; declared value ", ctx.Money(base),
          amount > 0 ? absl::StrCat("; shortfall ", ctx.Money(amount),
                                    " collected as a specific duty")
                     : std::string("; at or above the minimum: no duty"));
      if (amount == 0) {
        *ctx.Add(out, rid, &e, v1::SEVERITY_INFO,
                 absl::StrCat(m.title(), ": ", how))
             ->mutable_margin() = price_margin;
        continue;
      }
    }

    // Base: the non-US share under the US-content rule.
    if (!d.has_minimum_price() && d.has_us_content()) {
      const auto& u = d.us_content();
      const int64_t us = line.us_content_value().minor_units();
      if (us > 0 && customs > 0) {
        const int64_t share_bp = BasisPointsOf(us, customs);
        // The least US content that reaches the threshold.
        const int64_t need =
            MinPartForBasisPoints(customs, u.threshold_basis_points());
        const bool reaches =
            ShareAtLeastBasisPoints(us, customs, u.threshold_basis_points());
        const v1::Margin us_margin =
            ShareMargin("US_CONTENT", ctx.currency(),
                        int64_t{u.threshold_basis_points()} * 100,
                        PartsPerMillion(us, customs),
                        reaches ? v1::MARGIN_DIRECTION_HEADROOM
                                : v1::MARGIN_DIRECTION_MUST_INCREASE,
                        reaches ? us - need : need - us, need);
        v1::Finding* f;
        if (ShareAtLeastBasisPoints(us, customs, u.threshold_basis_points()) &&
            !u.unconfirmed_note().empty()) {
          const int64_t non_us = base > us ? base - us : 0;
          f = ctx.Add(
              out, u.rule_id(), &e, v1::SEVERITY_REVIEW,
              absl::StrCat("US content ", ctx.Money(us), " is ",
                           PctBp(share_bp), " of value, threshold ",
                           PctBp(u.threshold_basis_points()),
                           ", but whether the US-content rule reaches ", rid,
                           " is not settled (", u.unconfirmed_note(),
                           "): duty computed on the full value ",
                           ctx.Money(base), "; on the non-US share ",
                           ctx.Money(non_us), " it would be ",
                           ctx.Money(ApplyBasisPoints(non_us, rate))),
              absl::StrCat("ask CBP whether ", rid,
                           " applies to the non-US share before filing the "
                           "entry as one line"));
        } else if (ShareAtLeastBasisPoints(us, customs,
                                           u.threshold_basis_points())) {
          base = base > us ? base - us : 0;
          f = ctx.Add(
              out, u.rule_id(), &e, v1::SEVERITY_INFO,
              absl::StrCat("US content ", ctx.Money(us), " is ",
                           PctBp(share_bp), " of value, threshold ",
                           PctBp(u.threshold_basis_points()), ": ", rid,
                           " applies to the non-US share ", ctx.Money(base),
                           " only; file the entry as two lines"));
        } else {
          f = ctx.Add(
              out, u.rule_id(), &e, v1::SEVERITY_INFO,
              absl::StrCat("US content ", PctBp(share_bp),
                           " of value is below the threshold ",
                           PctBp(u.threshold_basis_points()), ": ", rid,
                           " applies to the full value"),
              absl::StrCat("US content of at least ", ctx.Money(need), " (",
                           ctx.Money(need - us), " more) would limit ", rid,
                           " to the non-US share"));
          *AddChange(f, v1::RemedyChange::ACTION_INCREASE_US_CONTENT)
               ->mutable_amount() = ctx.MoneyFigure(need - us);
        }
        *f->mutable_margin() = us_margin;
        f->mutable_citation()->set_article(u.article());
        f->mutable_citation()->set_source_url(u.source_url());
      }
    }
    if (!d.has_minimum_price()) {
      amount = ApplyBasisPoints(base, rate);
      how = absl::StrCat(PctBp(rate), " of ", ctx.Money(base), " = ",
                         ctx.Money(amount), " on top of MFN");
    }
    v1::Duty* duty = lv->add_duties();
    duty->set_measure_id(m.measure_id());
    duty->set_rate_basis_points(rate);
    *duty->mutable_base() = MakeMoney(ctx.currency(), base);
    *duty->mutable_amount() = MakeMoney(ctx.currency(), amount);
    duty->set_filing_heading(heading);
    ctx.Cite(e, duty->mutable_citation());
    duty->set_description(d.description());
    if (!heading.empty()) lv->add_filing_headings(heading);
    v1::Finding* duty_finding = ctx.Add(
        out, rid, &e, v1::SEVERITY_INFO,
        absl::StrCat(m.title(), ": ", how,
                     a.replaced.empty()
                         ? std::string()
                         : absl::StrCat(", in lieu of ", a.replaced),
                     heading.empty()
                         ? std::string("; Chapter 99 heading not in the data")
                         : absl::StrCat("; report ", heading)));
    if (price_margin.has_threshold()) {
      *duty_finding->mutable_margin() = price_margin;
    }
    for (const v1::UnconfirmedRate& r : d.unconfirmed_rates()) {
      if (DayOrMin(r.announced()) > ctx.day()) continue;
      v1::Finding* f = ctx.Add(
          out, ctx.ids().unconfirmed(), &e,
          ctx.rs().config.unconfirmed_rate_severity(),
          absl::StrCat(rid, " rate unconfirmed: ", PctBp(r.rate_basis_points()),
                       " was announced ", FormatDate(r.announced()),
                       " but is not confirmed as proclaimed (", r.note(),
                       "); duty computed at the confirmed ", PctBp(rate),
                       ", it would be ",
                       ctx.Money(ApplyBasisPoints(base, r.rate_basis_points())),
                       " at ", PctBp(r.rate_basis_points())));
      f->add_tags("UNCONFIRMED");
      if (!r.source_url().empty())
        f->mutable_citation()->set_source_url(r.source_url());
    }
    if (m.unconfirmed()) {
      ctx.Add(out, ctx.ids().unconfirmed(), &e, v1::SEVERITY_REVIEW,
              absl::StrCat(rid, " unconfirmed: ", m.unconfirmed_note()))
          ->add_tags("UNCONFIRMED");
    }
    if (a.gate.unconfirmed) {
      ctx.Add(out, ctx.ids().data_gap(), &e, v1::SEVERITY_REVIEW,
              absl::StrCat("status of ", e.instrument->instrument_id(), " on ",
                           Day(ctx.day()),
                           " is unconfirmed: ", a.gate.status_note,
                           "; duty computed as if in force"))
          ->add_tags("UNCONFIRMED");
    }
  }
}

}  // namespace tradecheck::rules
