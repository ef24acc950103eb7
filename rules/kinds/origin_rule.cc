#include "rules/kinds/origin_rule.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "common/money.h"
#include "rules/index.h"

namespace tradecheck::rules {

absl::Status CheckOriginRule(const Checker& c, const Path& at,
                             const v1::Measure& m) {
  return c.CheckCountries(
      Join(at, {{"origin_rule", -1}, {"risk_input_origins", -1}}),
      m.origin_rule().risk_input_origins());
}

absl::Status CheckOriginRuleReferences(const Checker& c, const Path& at,
                                       const v1::Measure& m) {
  const std::string& id = m.origin_rule().transshipment_measure_id();
  if (id.empty()) return absl::OkStatus();
  return c.CheckMeasureId(
      Join(at, {{"origin_rule", -1}, {"transshipment_measure_id", -1}}), id);
}

void EvaluateOriginRules(EvalContext& ctx, const LineInput& in,
                         v1::LineVerdict* lv) {
  auto* out = lv->mutable_findings();
  const v1::LineItem& line = *in.line;
  const absl::string_view code = in.code;
  for (const InScope& c : ctx.InScopeOf(in, v1::Measure::kOriginRule)) {
    const int i = c.index;
    const MeasureEntry& e = *c.entry;
    const v1::Measure& m = *e.measure;
    const ScopeMatch& sm = c.match;
    const GateInfo g = GateFor(e, ctx.day(), nullptr);
    if (!ctx.CommonChecks(e, sm, g, out)) continue;
    ctx.NoteOriginRule(i);
    const auto& o = m.origin_rule();
    const int64_t value = line.customs_value().minor_units();
    const auto bom = line.bill_of_materials_status();
    if (bom == v1::BILL_OF_MATERIALS_STATUS_NOT_APPLICABLE) continue;
    if (bom == v1::BILL_OF_MATERIALS_STATUS_UNSPECIFIED ||
        line.bill_of_materials().empty() || value <= 0) {
      ctx.Add(out, o.risk_rule_id(), &e, v1::SEVERITY_WARNING,
              "bill of materials not declared: origin and transshipment risk "
              "cannot be screened",
              "declare the bill of materials with component origins");
      continue;
    }
    // Non-originating share by country, regional value content, main input.
    // By country, in country order (views into the declaration).
    absl::InlinedVector<std::pair<absl::string_view, int64_t>, 4> non_orig;
    int64_t non_orig_total = 0;
    const v1::Component* main = nullptr;
    bool risk_input = false;
    for (const v1::Component& c : line.bill_of_materials()) {
      if (main == nullptr ||
          c.value().minor_units() > main->value().minor_units()) {
        main = &c;
      }
      if (c.origin_country() != ctx.decl().origin_country()) {
        const absl::string_view country = c.origin_country();
        auto at = std::lower_bound(
            non_orig.begin(), non_orig.end(), country,
            [](const auto& e, absl::string_view k) { return e.first < k; });
        if (at == non_orig.end() || at->first != country) {
          at = non_orig.insert(at, {country, 0});
        }
        int64_t& by_country = at->second;
        by_country = SumOrMax(by_country, c.value().minor_units());
        non_orig_total = SumOrMax(non_orig_total, c.value().minor_units());
      }
      if (!o.risk_input_origins().countries().empty() &&
          MatchCountry(o.risk_input_origins(), c.origin_country())) {
        risk_input = true;
      }
    }
    std::string shares;  // "CN 29.963 %, VN 1.2 %"
    for (const auto& [country, v] : non_orig) {
      if (!shares.empty()) shares.append(", ");
      absl::StrAppend(&shares, country, " ",
                      PctPpm(PartsPerMillion(v, value)));
    }
    const int64_t rvc_ppm = value >= non_orig_total
                                ? PartsPerMillion(value - non_orig_total, value)
                                : 0;
    const std::string main_hs = main->hs_code();
    const bool heading_changed = main_hs.substr(0, 4) != code.substr(0, 4);
    const bool chapter_changed = main_hs.substr(0, 2) != code.substr(0, 2);
    const std::string screen = absl::StrCat(
        "non-originating content by country: ",
        shares.empty() ? absl::string_view("none") : absl::string_view(shares),
        "; regional value content ", PctPpm(rvc_ppm), "; main input ",
        main_hs.substr(0, 4), " (", main->origin_country(), ") -> product ",
        code.substr(0, 4), ": heading ",
        heading_changed ? "changed" : "unchanged");
    const bool minimal = line.minimal_processing() == v1::ANSWER_YES;
    bool flagged = false;
    if (risk_input && (!chapter_changed || minimal)) {
      flagged = true;
      ctx.Add(out, o.risk_rule_id(), &e, v1::SEVERITY_REVIEW,
              absl::StrCat(
                  "transshipment risk: inputs from ",
                  absl::StrJoin(o.risk_input_origins().countries(), "/"),
                  " and ",
                  minimal ? std::string("minimal processing declared")
                          : std::string("HS chapter unchanged between main "
                                        "input and product"),
                  "; ", screen),
              absl::StrCat("keep evidence of substantial transformation in ",
                           ctx.decl().origin_country()))
          ->add_tags("TRANSSHIPMENT_RISK");
      auto it = ctx.rs().measure_by_id.find(o.transshipment_measure_id());
      if (it != ctx.rs().measure_by_id.end() &&
          ctx.decl().facts().cbp_transshipment_determination() !=
              v1::ANSWER_YES) {
        const MeasureEntry& te = ctx.rs().measures[it->second];
        if (te.ValidOn(ctx.day())) {
          ctx.Add(out, o.transshipment_review_rule_id(), &te,
                  v1::SEVERITY_REVIEW,
                  absl::StrCat(
                      "risk indicators only: ", te.measure->title(), " (",
                      PctBp(te.measure->additional_duty().rate_basis_points()),
                      ") applies only on a CBP transshipment determination "
                      "and is never applied automatically"))
              ->add_tags("TRANSSHIPMENT_RISK");
        }
      }
    }
    if (minimal && main->origin_country() != ctx.decl().origin_country()) {
      flagged = true;
      ctx.Add(out, o.minimal_processing_rule_id(), &e, v1::SEVERITY_REVIEW,
              absl::StrCat(
                  "minimal processing declared and the main input comes "
                  "from ",
                  main->origin_country(), ", not ", ctx.decl().origin_country(),
                  ": origin is likely ", main->origin_country(), "; ", screen),
              "review the declared origin (substantial transformation test)");
    }
    if (!flagged) {
      ctx.Add(out, o.risk_rule_id(), &e, v1::SEVERITY_INFO,
              absl::StrCat("origin screen: ", screen));
    }
  }
}

void OriginRuleDeclarationFindings(const EvalContext& ctx, Findings* out) {
  for (int i : ctx.origin_rules_seen()) {
    const MeasureEntry& e = ctx.rs().measures[i];
    const auto& o = e.measure->origin_rule();
    const std::string& pref = ctx.decl().facts().preference_claimed();
    if (!pref.empty() && !o.preference_rule_id().empty() &&
        std::find(o.preferences_without_rules().begin(),
                  o.preferences_without_rules().end(),
                  pref) != o.preferences_without_rules().end()) {
      ctx.Add(
          out, o.preference_rule_id(), &e, v1::SEVERITY_REVIEW,
          absl::StrCat("preference ", pref,
                       " claimed: the agreement publishes "
                       "no origin rules (no RVC, tariff shift or certificate "
                       "form), so the claim cannot be checked"),
          "keep evidence of origin (wholly obtained or substantially "
          "transformed) for the claim");
    }
    if (!o.attestation_rule_id().empty() &&
        ctx.decl().facts().importer_origin_attestation() != v1::ANSWER_YES) {
      ctx.Add(
          out, o.attestation_rule_id(), &e, v1::SEVERITY_WARNING,
          "importer origin attestation missing: the importer of record bears "
          "the reasonable-care duty for declared origin",
          "record the importer's origin attestation");
    }
  }
}

}  // namespace tradecheck::rules
