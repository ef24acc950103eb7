#include "rules/eval_context.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/dates.h"
#include "common/money.h"
#include "rules/index.h"

namespace tradecheck::rules {
namespace {

std::string StatusName(v1::InstrumentStatus s) {
  switch (s) {
    case v1::INSTRUMENT_STATUS_SIGNED:
      return "signed, not in force";
    case v1::INSTRUMENT_STATUS_IN_FORCE:
      return "in force";
    case v1::INSTRUMENT_STATUS_NOT_IN_FORCE:
      return "not in force";
    case v1::INSTRUMENT_STATUS_NON_BINDING:
      return "non-binding";
    case v1::INSTRUMENT_STATUS_SUSPENDED:
      return "suspended";
    case v1::INSTRUMENT_STATUS_EXPIRED:
      return "expired";
    default:
      return "unknown";
  }
}

}  // namespace

std::string PctBp(int64_t bp) {
  // Same text as StrFormat("%d.%02d %%", bp / 100, bp % 100), without the
  // format parser: a finding message may carry several.
  const int64_t frac = bp % 100;
  std::string out = absl::StrCat(bp / 100, ".");
  if (frac >= 0 && frac < 10) out.push_back('0');
  absl::StrAppend(&out, frac, " %");
  return out;
}

std::string PctPpm(int64_t ppm) {
  const int64_t frac = ppm % 10000;
  if (frac < 0) {  // never for a share of value; kept as it always printed
    std::string f = absl::StrFormat("%04d", frac);
    while (f.size() > 2 && f.back() == '0') f.pop_back();
    return absl::StrCat(ppm / 10000, ".", f, " %");
  }
  // "%04d" of the fraction without the format parser, trailing zeros cut
  // down to two digits.
  const char digits[4] = {static_cast<char>('0' + frac / 1000),
                          static_cast<char>('0' + frac / 100 % 10),
                          static_cast<char>('0' + frac / 10 % 10),
                          static_cast<char>('0' + frac % 10)};
  size_t n = 4;
  while (n > 2 && digits[n - 1] == '0') --n;
  std::string out = absl::StrCat(ppm / 10000, ".");
  out.append(digits, n);
  out.append(" %");
  return out;
}

std::string Day(absl::CivilDay d) { return FormatDate(ToDate(d)); }

std::string StageName(v1::ProcessingStage s) {
  std::string n = v1::ProcessingStage_Name(s);
  return n.empty() ? "UNKNOWN"
                   : n.substr(std::string("PROCESSING_STAGE_").size());
}

std::string FactName(v1::FactKind f) {
  std::string n = v1::FactKind_Name(f);
  return n.empty() ? "UNKNOWN" : n.substr(std::string("FACT_KIND_").size());
}

v1::Answer Fact(v1::FactKind f, const v1::Declaration& d,
                const v1::LineItem* line) {
  switch (f) {
    case v1::FACT_KIND_CBP_TRANSSHIPMENT_DETERMINATION:
      return d.facts().cbp_transshipment_determination();
    case v1::FACT_KIND_DE_MINIMIS_CLAIMED:
      return d.facts().de_minimis_claimed();
    case v1::FACT_KIND_MILITARY_END_USE:
      return d.facts().military_end_use();
    case v1::FACT_KIND_END_USER_LISTED:
      return d.facts().end_user_listed();
    case v1::FACT_KIND_IMPORTER_ORIGIN_ATTESTATION:
      return d.facts().importer_origin_attestation();
    case v1::FACT_KIND_SUBJECT_TO_SECTION_232:
      return line ? line->subject_to_section_232() : v1::ANSWER_UNSPECIFIED;
    case v1::FACT_KIND_USMCA_QUALIFYING:
      return line ? line->usmca_qualifying() : v1::ANSWER_UNSPECIFIED;
    case v1::FACT_KIND_MINIMAL_PROCESSING:
      return line ? line->minimal_processing() : v1::ANSWER_UNSPECIFIED;
    case v1::FACT_KIND_MADE_WITH_CHINESE_RE_TECHNOLOGY:
      return line ? line->made_with_chinese_re_technology()
                  : v1::ANSWER_UNSPECIFIED;
    case v1::FACT_KIND_FOR_CIVIL_AIRCRAFT:
      return line ? line->for_civil_aircraft() : v1::ANSWER_UNSPECIFIED;
    default:
      return v1::ANSWER_UNSPECIFIED;
  }
}

GateInfo GateFor(
    const MeasureEntry& e, absl::CivilDay day,
    const google::protobuf::RepeatedPtrField<v1::DateWindow>* suspensions) {
  GateInfo g;
  const StatusAt st = InstrumentStatusAt(e, day);
  if (st.before_first) {
    g.gate = Gate::kNotInForce;
    g.status_text = "not yet issued";
    return g;
  }
  if (st.period == nullptr) {
    g.gate = Gate::kGap;
    g.status_text = "unknown (no status period covers the date)";
    return g;
  }
  g.unconfirmed = st.period->unconfirmed();
  g.status_note = st.period->note();
  g.status_text = StatusName(st.status);
  switch (st.status) {
    case v1::INSTRUMENT_STATUS_IN_FORCE:
      g.gate = Gate::kBinding;
      break;
    case v1::INSTRUMENT_STATUS_SUSPENDED:
      g.gate = Gate::kSuspended;
      if (!IsUnset(st.period->until())) {
        g.resumes = DayOrMax(st.period->until());
        g.resumes_known = true;
      }
      break;
    case v1::INSTRUMENT_STATUS_NON_BINDING:
      g.gate = Gate::kInformOnly;
      break;
    default:
      g.gate = Gate::kNotInForce;
      break;
  }
  if (g.gate == Gate::kBinding && suspensions != nullptr) {
    for (const v1::DateWindow& w : *suspensions) {
      if (InWindow(day, w.from(), w.until()) && w.unconfirmed()) {
        // After a suspension's known end, whether it was extended is
        // unknown: the measure decides as if binding, softened to a review
        // (never a hard outcome on an unconfirmed status).
        g.unconfirmed = true;
        g.status_note = w.note();
        break;
      }
      if (InWindow(day, w.from(), w.until())) {
        g.gate = Gate::kSuspended;
        g.status_text = "suspended";
        g.status_note = w.note();
        g.unconfirmed = g.unconfirmed || w.unconfirmed();
        if (!IsUnset(w.until())) {
          g.resumes = DayOrMax(w.until());
          g.resumes_known = true;
        }
        break;
      }
    }
  }
  if (g.gate == Gate::kSuspended && g.resumes_known) {
    g.status_text =
        absl::StrCat("suspended until ", Day(g.resumes - 1), " (inclusive)");
  }
  return g;
}

InScopeList EvalContext::InScopeOf(const LineInput& in,
                                   v1::Measure::KindCase kind) const {
  InScopeList out;
  for (int i : *in.candidates) {
    const MeasureEntry& e = rs_.measures[i];
    const v1::Measure& m = *e.measure;
    if (m.kind_case() != kind || !e.ValidOn(day_)) continue;
    ScopeMatch sm = Match(m.scope(), in.line, in.code);
    if (sm.match) out.push_back({i, &e, std::move(sm)});
  }
  return out;
}

void EvalContext::Cite(const MeasureEntry& e, v1::Citation* out) const {
  // The citation was built once at load; only its age depends on the day.
  *out = e.citation;
  if (e.instrument->has_confirmation()) {
    // How old the confirmation behind the citation is on the governing day.
    const int64_t age = day_ - e.confirmed_on;
    if (age > 0) out->set_confirmation_age_days(static_cast<int32_t>(age));
  }
}

v1::Figure EvalContext::MoneyFigure(int64_t minor) const {
  v1::Figure f;
  *f.mutable_money() = MakeMoney(currency_, minor);
  return f;
}

v1::Figure RatioFigure(int64_t ppm) {
  v1::Figure f;
  f.set_ratio_ppm(ppm);
  return f;
}

v1::Figure QuantityFigure(int64_t amount_milli, absl::string_view unit) {
  v1::Figure f;
  f.mutable_quantity()->set_amount_milli(amount_milli);
  f.mutable_quantity()->set_unit(std::string(unit));
  return f;
}

v1::Margin ShareMargin(absl::string_view measured, const std::string& currency,
                       int64_t threshold_ppm, int64_t actual_ppm,
                       v1::MarginDirection direction, int64_t distance_minor,
                       int64_t passing_minor) {
  v1::Margin m;
  m.set_measured(std::string(measured));
  *m.mutable_threshold() = RatioFigure(threshold_ppm);
  *m.mutable_actual() = RatioFigure(actual_ppm);
  m.set_direction(direction);
  *m.mutable_distance()->mutable_money() = MakeMoney(currency, distance_minor);
  *m.mutable_passing_value()->mutable_money() =
      MakeMoney(currency, passing_minor);
  return m;
}

v1::RemedyChange* AddChange(v1::Finding* f, v1::RemedyChange::Action action) {
  v1::RemedyChange* c = f->add_remedy_changes();
  c->set_action(action);
  return c;
}

v1::Finding* EvalContext::Add(Findings* out, absl::string_view rule_id,
                              const MeasureEntry* e, v1::Severity sev,
                              std::string message, std::string remedy) const {
  v1::Finding* f = out->Add();
  f->set_rule_id(rule_id.data(), rule_id.size());
  if (e != nullptr) {
    f->set_measure_id(e->measure->measure_id());
    Cite(*e, f->mutable_citation());
    for (const auto& t : e->measure->tags()) f->add_tags(t);
  }
  f->set_severity(sev);
  f->set_message(std::move(message));
  // An empty proto3 string is not on the wire: setting one would only
  // allocate a string for nothing (most findings have no remedy).
  if (!remedy.empty()) f->set_remedy(std::move(remedy));
  return f;
}

std::string EvalContext::Money(int64_t minor) const {
  return FormatMoney(currency_, minor);
}

ScopeMatch EvalContext::Match(const v1::Scope& s, const v1::LineItem* line,
                              absl::string_view code, bool ignore_hs) const {
  ScopeMatch r;
  if (!s.declaration_kinds().empty() &&
      std::find(s.declaration_kinds().begin(), s.declaration_kinds().end(),
                decl_.kind()) == s.declaration_kinds().end()) {
    return r;
  }
  if (!MatchCountry(s.origins(), decl_.origin_country()) ||
      !MatchCountry(s.exporting_countries(), decl_.export_country()) ||
      !MatchCountry(s.destinations(), decl_.destination_country())) {
    return r;
  }
  if (!s.liquidation_statuses().empty() &&
      std::find(s.liquidation_statuses().begin(), s.liquidation_statuses().end(),
                decl_.facts().liquidation_status()) ==
          s.liquidation_statuses().end()) {
    return r;
  }
  if (line != nullptr) {
    const HsMatch hm =
        ignore_hs ? HsMatch::kYes : rs_.MatchHs(s.hs(), code, &r.hs_len);
    if (hm == HsMatch::kNo) return r;
    r.hs_unconfirmed = hm == HsMatch::kUnconfirmed;
    if (!s.elements().empty()) {
      if (line->elements().empty()) {
        r.elements_unknown = true;
      } else {
        bool any = false;
        for (const auto& el : line->elements()) {
          for (const auto& want : s.elements()) any = any || el == want;
        }
        if (!any) return r;
      }
    }
  }
  for (const v1::FactCondition& fc : s.facts()) {
    const v1::Answer a = Fact(fc.fact(), decl_, line);
    if (a == v1::ANSWER_UNSPECIFIED) {
      if (!fc.unknown_is_review()) return r;
      r.facts_unknown.push_back(fc.fact());
    } else if (a != fc.equals()) {
      return r;
    }
  }
  if (!s.end_use_categories().empty()) {
    bool any = false;
    for (const auto& c : decl_.facts().end_use_categories()) {
      for (const auto& want : s.end_use_categories()) any = any || c == want;
    }
    if (!any) return r;
  }
  r.match = true;
  return r;
}

bool EvalContext::CommonChecks(const MeasureEntry& e, const ScopeMatch& sm,
                               const GateInfo& g, Findings* out) const {
  if (g.gate == Gate::kGap) {
    Add(out, ids_.data_gap(), &e, v1::SEVERITY_REVIEW,
        absl::StrCat("the data has a gap: no status of ",
                     e.instrument->instrument_id(), " is known on ", Day(day_),
                     ", so ", RuleId(e), " (", e.measure->title(),
                     ") cannot be decided"))
        ->add_tags("DATA_GAP");
    return false;
  }
  if (g.gate == Gate::kNotInForce) return false;
  for (v1::FactKind f : sm.facts_unknown) {
    Add(out, ids_.fact_missing(), &e, v1::SEVERITY_REVIEW,
        absl::StrCat(RuleId(e), " (", e.measure->title(), ") depends on ",
                     FactName(f), ", which is not declared"),
        absl::StrCat("declare ", FactName(f)));
  }
  if (sm.elements_unknown) {
    Add(out, ids_.fact_missing(), &e, v1::SEVERITY_REVIEW,
        absl::StrCat(RuleId(e), " (", e.measure->title(),
                     ") covers goods containing ",
                     absl::StrJoin(e.measure->scope().elements(), ", "),
                     "; the line declares no elements"),
        "declare the controlled elements the goods contain");
  }
  return sm.facts_unknown.empty() && !sm.elements_unknown;
}

std::vector<std::string> EvalContext::Doubts(const MeasureEntry& e,
                                             const GateInfo& g,
                                             bool hs_unconfirmed) const {
  std::vector<std::string> doubts;
  const v1::Measure& m = *e.measure;
  if (hs_unconfirmed) doubts.push_back(m.scope().hs().unconfirmed_note());
  if (m.unconfirmed()) doubts.push_back(m.unconfirmed_note());
  if (g.unconfirmed) {
    doubts.push_back(absl::StrCat("status of ", e.instrument->instrument_id(),
                                  " unconfirmed: ", g.status_note));
  }
  return doubts;
}

std::string DoubtText(const std::vector<std::string>& doubts) {
  if (doubts.empty()) return std::string();
  return absl::StrCat(" [unconfirmed: ", absl::StrJoin(doubts, " "), "]");
}

std::string EvalContext::ValidLicence(absl::string_view authority) const {
  for (const v1::Licence& l : decl_.facts().licences()) {
    if (l.authority() != authority) continue;
    if (!IsUnset(l.valid_until()) && DayOrMax(l.valid_until()) < day_) continue;
    return absl::StrCat(
        l.authority(), " licence ", l.number(),
        IsUnset(l.valid_until())
            ? std::string(" (no expiry declared)")
            : absl::StrCat(" valid until ", FormatDate(l.valid_until())));
  }
  return std::string();
}

}  // namespace tradecheck::rules
