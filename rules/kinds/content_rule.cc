#include "rules/kinds/content_rule.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/money.h"
#include "common/status_macros.h"
#include "rules/index.h"

namespace tradecheck::rules {

absl::Status CheckContentRule(const Checker& c, const Path& at,
                              const v1::Measure& m) {
  const auto& r = m.content_rule();
  const Path rat = Join(at, {{"content_rule", -1}});
  if (r.threshold_ppm() <= 0 || r.threshold_ppm() >= 1000000) {
    return c.Error(Join(rat, {{"threshold_ppm", -1}}),
                   "threshold out of range (1..999999 ppm)");
  }
  if (r.licence_authority().empty() || r.unknown_bom_rule_id().empty()) {
    return c.Error(rat,
                   "a content rule needs licence_authority and "
                   "unknown_bom_rule_id");
  }
  TC_RETURN_IF_ERROR(c.CheckCountries(Join(rat, {{"content_origins", -1}}),
                                      r.content_origins()));
  TC_RETURN_IF_ERROR(
      c.CheckHsSelector(Join(rat, {{"content_hs", -1}}), r.content_hs()));
  TC_RETURN_IF_ERROR(c.CheckHsSelector(Join(rat, {{"manufactured_hs", -1}}),
                                       r.manufactured_hs()));
  return c.CheckSuspensions(rat, r.suspensions(), /*refuse_overlaps=*/false);
}

void EvaluateContentRules(EvalContext& ctx, const LineInput& in,
                          v1::LineVerdict* lv) {
  auto* out = lv->mutable_findings();
  const v1::LineItem& line = *in.line;
  for (const InScope& c : ctx.InScopeOf(in, v1::Measure::kContentRule)) {
    const MeasureEntry& e = *c.entry;
    const v1::Measure& m = *e.measure;
    const ScopeMatch& sm = c.match;
    const auto& r = m.content_rule();
    const GateInfo g = GateFor(e, ctx.day(), &r.suspensions());
    if (g.gate == Gate::kNotInForce) continue;
    if (!ctx.CommonChecks(e, sm, g, out) && g.gate == Gate::kGap) continue;
    const std::string& rid = ctx.RuleId(e);
    const bool dormant = g.gate == Gate::kSuspended;
    const std::string dormant_text =
        dormant
            ? absl::StrCat("; the rule is dormant (", g.status_text,
                           g.resumes_known
                               ? absl::StrCat(", re-activates ", Day(g.resumes),
                                              " unless extended")
                               : std::string(),
                           ")")
            : std::string();
    const int64_t value = line.customs_value().minor_units();
    const auto bom = line.bill_of_materials_status();
    // While the rule is suspended it cannot make a shipment need review: an
    // unknown bill of materials is a warning that says so (after the
    // suspension it is a review).
    const v1::Severity unknown_bom_severity =
        dormant ? v1::SEVERITY_WARNING : v1::SEVERITY_REVIEW;
    // A manufactured product (a magnet, a motor) is made from inputs: "not
    // applicable" contradicts it and never clears the content test.
    int len = 0;
    const bool manufactured =
        (!r.manufactured_hs().include().empty() &&
         ctx.MatchHs(r.manufactured_hs(), in.code, &len) != HsMatch::kNo) ||
        line.processing_stage() == v1::PROCESSING_STAGE_MAGNET ||
        line.processing_stage() == v1::PROCESSING_STAGE_FINISHED_GOOD;
    // What a finding that cannot count the content still knows: the test.
    const auto threshold_only = [&](v1::Finding* f) {
      f->mutable_margin()->set_measured("CONTROLLED_ORIGIN_CONTENT");
      *f->mutable_margin()->mutable_threshold() =
          RatioFigure(r.threshold_ppm());
      AddChange(f, v1::RemedyChange::ACTION_DECLARE_BILL_OF_MATERIALS);
      f->add_tags("BOM_UNKNOWN");
    };
    if (bom == v1::BILL_OF_MATERIALS_STATUS_NOT_APPLICABLE && manufactured) {
      threshold_only(ctx.Add(
          out, r.unknown_bom_rule_id(), &e, unknown_bom_severity,
          absl::StrCat("bill of materials declared not applicable, but ",
                       in.code, " is a manufactured product: the ",
                       PctPpm(r.threshold_ppm()), " content test of ",
                       m.title(), " cannot be cleared", dormant_text),
          "declare the complete bill of materials with component origins "
          "and values"));
      continue;
    }
    // A raw or wholly obtained good has no foreign inputs to count; only the
    // technology clause can still catch it.
    if (bom == v1::BILL_OF_MATERIALS_STATUS_NOT_APPLICABLE &&
        line.made_with_chinese_re_technology() != v1::ANSWER_YES) {
      continue;
    }
    if (bom == v1::BILL_OF_MATERIALS_STATUS_UNSPECIFIED || value <= 0) {
      // Never "allow" on an unknown bill of materials: the content may decide
      // the shipment once a dormant rule re-activates.
      threshold_only(ctx.Add(
          out, r.unknown_bom_rule_id(), &e, unknown_bom_severity,
          absl::StrCat("bill of materials unknown: the ",
                       PctPpm(r.threshold_ppm()), " content test of ",
                       m.title(), " cannot be evaluated", dormant_text),
          "declare the complete bill of materials with component origins "
          "and "
          "values"));
      continue;
    }
    int64_t content = 0;
    std::vector<std::string> parts;
    // The controlled components, to name them in the remedy (largest first).
    std::vector<std::pair<int64_t, std::string>> controlled_parts;
    for (const v1::Component& c : line.bill_of_materials()) {
      if (!MatchCountry(r.content_origins(), c.origin_country())) continue;
      bool controlled = false;
      for (const auto& el : c.elements()) {
        for (const auto& want : r.content_elements()) {
          controlled = controlled || el == want;
        }
      }
      int len = 0;
      if (!controlled && !c.hs_code().empty() &&
          (!r.content_hs().include().empty() ||
           !r.content_hs().unconfirmed_include().empty())) {
        controlled = MatchHs(r.content_hs(), c.hs_code(), &len) != HsMatch::kNo;
      }
      if (!controlled) continue;
      content = SumOrMax(content, c.value().minor_units());
      const std::string& name =
          c.description().empty() ? c.hs_code() : c.description();
      parts.push_back(
          absl::StrCat(name, " ", ctx.Money(c.value().minor_units())));
      controlled_parts.emplace_back(c.value().minor_units(), name);
    }
    const int64_t ppm = PartsPerMillion(content, value);
    const bool over = ppm >= r.threshold_ppm();
    const bool tech = line.made_with_chinese_re_technology() == v1::ANSWER_YES;
    const std::string numbers = absl::StrCat(
        "controlled-origin content ", ctx.Money(content), " = ", PctPpm(ppm),
        " of value ", ctx.Money(value), ", threshold ",
        PctPpm(r.threshold_ppm()),
        parts.empty() ? std::string()
                      : absl::StrCat(" (", absl::StrJoin(parts, "; "), ")"));
    // Largest content that stays below the threshold.
    const int64_t max_ok =
        MaxPartBelowPartsPerMillion(value, r.threshold_ppm());
    std::stable_sort(
        controlled_parts.begin(), controlled_parts.end(),
        [](const auto& a, const auto& b) { return a.first > b.first; });
    std::vector<std::string> names;
    for (const auto& [v, n] : controlled_parts) names.push_back(n);
    const std::string margin =
        over ? absl::StrCat("reduce controlled-origin content (",
                            absl::StrJoin(names, ", "), ") by ",
                            ctx.Money(content - max_ok), " (to at most ",
                            ctx.Money(max_ok), ") to fall below the threshold")
             : absl::StrCat("margin to the threshold: ",
                            ctx.Money(max_ok - content));
    const v1::Margin typed_margin = ShareMargin(
        "CONTROLLED_ORIGIN_CONTENT", ctx.currency(), r.threshold_ppm(), ppm,
        over ? v1::MARGIN_DIRECTION_MUST_REDUCE : v1::MARGIN_DIRECTION_HEADROOM,
        over ? content - max_ok : max_ok - content, max_ok);
    // Fills the typed margin and the changes that would clear the rule: a
    // licence (with `licence`), or over the threshold (with `reduce`) less
    // content.
    const auto typed = [&](v1::Finding* f, bool licence, bool reduce) {
      *f->mutable_margin() = typed_margin;
      if (licence) {
        AddChange(f, v1::RemedyChange::ACTION_DECLARE_LICENCE)
            ->set_licence_authority(r.licence_authority());
      }
      if (reduce && over) {
        v1::RemedyChange* ch =
            AddChange(f, v1::RemedyChange::ACTION_REDUCE_CONTENT);
        for (const std::string& n : names) ch->add_components(n);
        *ch->mutable_amount() = ctx.MoneyFigure(content - max_ok);
      }
      return f;
    };
    if (!over && !tech) {
      if (bom == v1::BILL_OF_MATERIALS_STATUS_PARTIAL) {
        v1::Finding* f = ctx.Add(
            out, r.unknown_bom_rule_id(), &e, unknown_bom_severity,
            absl::StrCat("bill of materials partial: ", numbers,
                         " among the listed components, which cannot clear "
                         "the test",
                         dormant_text),
            "declare the complete bill of materials");
        // The listed content is only a lower bound: no headroom to state.
        f->mutable_margin()->set_measured("CONTROLLED_ORIGIN_CONTENT");
        *f->mutable_margin()->mutable_threshold() =
            RatioFigure(r.threshold_ppm());
        *f->mutable_margin()->mutable_actual() = RatioFigure(ppm);
        AddChange(f, v1::RemedyChange::ACTION_DECLARE_BILL_OF_MATERIALS);
        f->add_tags("BOM_UNKNOWN");
      } else {
        typed(ctx.Add(out, rid, &e, v1::SEVERITY_INFO,
                      absl::StrCat(m.title(), ": ", numbers,
                                   ", below the threshold", dormant_text),
                      margin),
              false, false);
      }
      continue;
    }
    const std::string trigger =
        over ? numbers
             : absl::StrCat("made with Chinese-origin rare-earth technology (",
                            r.technology_rule_id(), ")");
    const std::string trig_rule =
        over ? rid
             : (r.technology_rule_id().empty() ? rid : r.technology_rule_id());
    if (dormant || g.gate == Gate::kInformOnly) {
      typed(ctx.Add(out,
                    r.suspended_rule_id().empty() ? trig_rule
                                                  : r.suspended_rule_id(),
                    &e, v1::SEVERITY_WARNING,
                    absl::StrCat("dormant rule: ", m.title(),
                                 " would require a ", r.licence_authority(),
                                 " licence: ", trigger, dormant_text),
                    over ? margin : std::string()),
            false, true)
          ->add_tags("DORMANT_RULE");
      continue;
    }
    const std::string which = ctx.ValidLicence(r.licence_authority());
    if (!which.empty()) {
      typed(ctx.Add(out, trig_rule, &e, v1::SEVERITY_INFO,
                    absl::StrCat(m.title(), ": licence required (", trigger,
                                 ") and declared: ", which)),
            false, false);
      continue;
    }
    const std::vector<std::string> doubts = ctx.Doubts(e, g, sm.hs_unconfirmed);
    typed(
        ctx.Add(
            out, trig_rule, &e,
            doubts.empty() ? v1::SEVERITY_DENY : v1::SEVERITY_REVIEW,
            absl::StrCat(m.title(), ": licence from ", r.licence_authority(),
                         " required: ", trigger, DoubtText(doubts)),
            absl::StrCat("declare a licence from ", r.licence_authority(),
                         over ? absl::StrCat(", or ", margin) : std::string())),
        true, true)
        ->add_tags("LICENCE_REQUIRED");
  }
}

}  // namespace tradecheck::rules
