#include "rules/engine.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/dates.h"
#include "common/money.h"
#include "rules/rule_set_impl.h"

namespace tradecheck::rules {
namespace {

// ---------------------------------------------------------------- helpers

// "19.00 %" from basis points.
std::string PctBp(int64_t bp) {
  return absl::StrFormat("%d.%02d %%", bp / 100, bp % 100);
}

// "0.14 %" from parts per million, with more digits only when needed so a
// value just over a threshold never prints as equal to it.
std::string PctPpm(int64_t ppm) {
  std::string frac = absl::StrFormat("%04d", ppm % 10000);
  while (frac.size() > 2 && frac.back() == '0') frac.pop_back();
  return absl::StrCat(ppm / 10000, ".", frac, " %");
}

std::string Day(absl::CivilDay d) { return FormatDate(ToDate(d)); }

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
    default:
      return v1::ANSWER_UNSPECIFIED;
  }
}

// How a measure's instrument stands on the governing day.
enum class Gate {
  kBinding,     // in force: the measure decides
  kSuspended,   // dormant: warn, never decide
  kInformOnly,  // non-binding instrument: inform only
  kNotInForce,  // signed / not in force / expired / not yet issued
  kGap,         // no status known for the day: review
};

struct GateInfo {
  Gate gate = Gate::kNotInForce;
  bool unconfirmed = false;  // the status period itself is unconfirmed
  std::string status_text;   // "in force", "suspended until 2026-11-10", ...
  std::string status_note;
  absl::CivilDay resumes;  // end of a suspension (exclusive)
  bool resumes_known = false;
};

GateInfo GateFor(
    const MeasureEntry& e, absl::CivilDay day,
    const google::protobuf::RepeatedPtrField<v1::DateWindow>* suspensions) {
  GateInfo g;
  const StatusAt st = InstrumentStatusAt(*e.instrument, day);
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

// Result of matching a measure's scope against a line.
struct ScopeMatch {
  bool match = false;
  int hs_len = 0;
  bool hs_unconfirmed = false;
  bool elements_unknown = false;
  std::vector<v1::FactKind> facts_unknown;
};

// A candidate measure whose kind, validity window and scope all fit.
struct InScope {
  int index;  // into RuleSetImpl::measures
  const MeasureEntry* entry;
  ScopeMatch match;
};

class Evaluator {
 public:
  Evaluator(const RuleSetImpl& rs, const v1::Declaration& decl)
      : rs_(rs), decl_(decl), ids_(rs.config.engine_rule_ids()) {}

  Evaluation Run();

 private:
  // Scope of a measure against the declaration and (optionally) a line
  // whose HS code (after any HS 2017 remap) is `code`.
  ScopeMatch Match(const v1::Scope& s, const v1::LineItem* line,
                   absl::string_view code) const;

  // The candidates that are measures of one kind (`has_kind`, e.g.
  // &v1::Measure::has_notice), valid on the governing day, and whose scope
  // matches; each kind's loop starts from these.
  std::vector<InScope> InScopeOf(const std::vector<int>& cands,
                                 bool (v1::Measure::*has_kind)() const,
                                 const v1::LineItem* line,
                                 absl::string_view code) const {
    std::vector<InScope> out;
    for (int i : cands) {
      const MeasureEntry& e = rs_.measures[i];
      const v1::Measure& m = *e.measure;
      if (!(m.*has_kind)() ||
          !InWindow(day_, m.valid_from(), m.valid_until())) {
        continue;
      }
      ScopeMatch sm = Match(m.scope(), line, code);
      if (sm.match) out.push_back({i, &e, std::move(sm)});
    }
    return out;
  }

  v1::Citation Cite(const MeasureEntry& e, absl::string_view article = "",
                    absl::string_view url = "") const;
  v1::Finding* Add(google::protobuf::RepeatedPtrField<v1::Finding>* out,
                   absl::string_view rule_id, const MeasureEntry* e,
                   v1::Severity sev, std::string message,
                   std::string remedy = "") const;
  std::string Money(int64_t minor) const {
    return FormatMoney(MakeMoney(currency_, minor));
  }
  const std::string& RuleId(const MeasureEntry& e) const {
    return e.measure->rule_ids(0);
  }
  // Findings shared by every kind: data gap, unconfirmed scope parts.
  // Returns false when the measure cannot decide anything (gap).
  bool CommonChecks(const MeasureEntry& e, const ScopeMatch& sm,
                    const GateInfo& g,
                    google::protobuf::RepeatedPtrField<v1::Finding>* out);
  bool HasLicence(absl::string_view authority, std::string* which) const;

  void EvaluateLine(const v1::LineItem& line, v1::LineVerdict* lv);
  void Duties(const v1::LineItem& line, absl::string_view code,
              const std::vector<int>& cands, v1::LineVerdict* lv);
  void Notices(const v1::LineItem* line, absl::string_view code,
               const std::vector<int>& cands,
               google::protobuf::RepeatedPtrField<v1::Finding>* out);
  void ExportMeasures(const v1::LineItem& line, absl::string_view code,
                      const std::vector<int>& cands, v1::LineVerdict* lv);
  void ContentRules(const v1::LineItem& line, absl::string_view code,
                    const std::vector<int>& cands, v1::LineVerdict* lv);
  void OriginRules(const v1::LineItem& line, absl::string_view code,
                   const std::vector<int>& cands, v1::LineVerdict* lv);
  void DeclarationFindings(v1::Verdict* v);

  const RuleSetImpl& rs_;
  const v1::Declaration& decl_;
  const v1::EngineRuleIds& ids_;
  absl::CivilDay day_;
  bool import_ = false;
  std::string currency_;
  std::vector<QuotaDraw> draws_;
  // Origin-rule measures that matched some line, for declaration-level
  // preference/attestation findings (once per declaration).
  std::set<int> origin_rules_seen_;
};

v1::Citation Evaluator::Cite(const MeasureEntry& e, absl::string_view article,
                             absl::string_view url) const {
  v1::Citation c;
  c.set_instrument_id(e.instrument->instrument_id());
  c.set_instrument_title(e.instrument->title());
  c.set_article(article.empty() ? e.measure->article() : std::string(article));
  c.set_source_url(url.empty() ? e.measure->source_url() : std::string(url));
  return c;
}

v1::Finding* Evaluator::Add(
    google::protobuf::RepeatedPtrField<v1::Finding>* out,
    absl::string_view rule_id, const MeasureEntry* e, v1::Severity sev,
    std::string message, std::string remedy) const {
  v1::Finding* f = out->Add();
  f->set_rule_id(std::string(rule_id));
  if (e != nullptr) {
    f->set_measure_id(e->measure->measure_id());
    *f->mutable_citation() = Cite(*e);
    for (const auto& t : e->measure->tags()) f->add_tags(t);
  }
  f->set_severity(sev);
  f->set_message(std::move(message));
  f->set_remedy(std::move(remedy));
  return f;
}

ScopeMatch Evaluator::Match(const v1::Scope& s, const v1::LineItem* line,
                            absl::string_view code) const {
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
  if (line != nullptr) {
    const HsMatch hm = MatchHs(s.hs(), code, &r.hs_len);
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

bool Evaluator::CommonChecks(
    const MeasureEntry& e, const ScopeMatch& sm, const GateInfo& g,
    google::protobuf::RepeatedPtrField<v1::Finding>* out) {
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

bool Evaluator::HasLicence(absl::string_view authority,
                           std::string* which) const {
  for (const v1::Licence& l : decl_.facts().licences()) {
    if (l.authority() != authority) continue;
    if (!IsUnset(l.valid_until()) && DayOrMax(l.valid_until()) < day_) continue;
    *which = absl::StrCat(
        l.authority(), " licence ", l.number(),
        IsUnset(l.valid_until())
            ? std::string(" (no expiry declared)")
            : absl::StrCat(" valid until ", FormatDate(l.valid_until())));
    return true;
  }
  return false;
}

// --------------------------------------------------------- additional duty

struct AppliedDuty {
  int index;
  const MeasureEntry* e;
  GateInfo gate;
  std::string replaced;  // measure id it replaces ("in lieu of")
};

void Evaluator::Duties(const v1::LineItem& line, absl::string_view code,
                       const std::vector<int>& cands, v1::LineVerdict* lv) {
  auto* out = lv->mutable_findings();
  // 1. One winner per stacking group: most specific HS, then country-
  //    specific over all-country, then lowest measure id.
  struct Winner {
    int index;
    int hs_len;
    bool country_specific;
    GateInfo gate;
  };
  std::map<std::string, Winner> winners;
  std::vector<std::pair<int, GateInfo>> replacements;
  for (const InScope& c :
       InScopeOf(cands, &v1::Measure::has_additional_duty, &line, code)) {
    const int i = c.index;
    const MeasureEntry& e = *c.entry;
    const v1::Measure& m = *e.measure;
    const ScopeMatch& sm = c.match;
    const GateInfo g = GateFor(e, day_, nullptr);
    if (!CommonChecks(e, sm, g, out)) continue;
    if (g.gate != Gate::kBinding) continue;  // duties only bind in force
    const auto& d = m.additional_duty();
    if (!d.replaces_group().empty()) {
      replacements.push_back({i, g});
      continue;
    }
    const bool specific = !m.scope().origins().countries().empty();
    auto it = winners.find(d.stacking_group());
    if (it == winners.end() || sm.hs_len > it->second.hs_len ||
        (sm.hs_len == it->second.hs_len && specific &&
         !it->second.country_specific)) {
      winners[d.stacking_group()] = {i, sm.hs_len, specific, g};
    }
  }
  std::vector<AppliedDuty> applied;
  std::map<std::string, size_t> by_group;
  for (const auto& [group, w] : winners) {
    by_group[group] = applied.size();
    applied.push_back({w.index, &rs_.measures[w.index], w.gate, ""});
  }
  // 2. "In lieu of": a replacement takes the place of its group's winner.
  for (const auto& [i, g] : replacements) {
    const MeasureEntry& e = rs_.measures[i];
    const std::string& group = e.measure->additional_duty().replaces_group();
    auto it = by_group.find(group);
    if (it != by_group.end()) {
      AppliedDuty& slot = applied[it->second];
      const std::string replaced = slot.e->measure->measure_id();
      slot = {i, &e, g, replaced};
    } else {
      by_group[group] = applied.size();
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
    const std::string& rid = RuleId(e);
    bool drop = false;
    bool review = false;

    // Goods under another regime.
    for (const v1::RegimeExclusion& ex : d.exclusions()) {
      if (!MatchCountry(ex.origins(), decl_.origin_country())) continue;
      const v1::Answer ans = Fact(ex.fact(), decl_, &line);
      if (ans == v1::ANSWER_YES) {
        Add(out, ex.rule_id(), &e, v1::SEVERITY_INFO,
            absl::StrCat(FactName(ex.fact()),
                         " declared: the goods are "
                         "excluded from ",
                         rid, " (", m.title(), ")"))
            ->mutable_citation()
            ->set_source_url(ex.source_url());
        drop = true;
      } else if (ans == v1::ANSWER_UNSPECIFIED) {
        v1::Finding* f =
            Add(out, ex.rule_id(), &e, v1::SEVERITY_REVIEW,
                absl::StrCat(FactName(ex.fact()),
                             " is not declared; goods under "
                             "that regime are excluded from ",
                             rid, " (", m.title(),
                             "); duty computed as if not excluded"),
                absl::StrCat("declare ", FactName(ex.fact())));
        f->mutable_citation()->set_article(ex.article());
        f->mutable_citation()->set_source_url(ex.source_url());
      }
    }
    // In-transit exceptions: export_date is the loading date.
    for (const v1::InTransitException& t : d.in_transit()) {
      if (drop) break;
      if (!(day_ < DayOrMax(t.entered_before()))) continue;
      auto cite = [&](v1::Finding* f) {
        f->mutable_citation()->set_article(t.article());
        f->mutable_citation()->set_source_url(t.source_url());
      };
      if (IsUnset(decl_.export_date())) {
        cite(Add(
            out, t.rule_id(), &e, v1::SEVERITY_REVIEW,
            absl::StrCat("entered before ", FormatDate(t.entered_before()),
                         ": goods loaded before ",
                         FormatDate(t.loaded_before()),
                         " are in transit and treated differently under ", rid,
                         "; the loading date (export_date) is not "
                         "declared"),
            "declare export_date (date of loading at the port of export)"));
        review = true;
        continue;
      }
      if (DayOrMin(decl_.export_date()) < DayOrMin(t.loaded_before())) {
        if (t.effect() == v1::IN_TRANSIT_EFFECT_EXEMPT) {
          cite(Add(out, t.rule_id(), &e, v1::SEVERITY_INFO,
                   absl::StrCat("in transit: loaded ",
                                FormatDate(decl_.export_date()), " (before ",
                                FormatDate(t.loaded_before()), ") and entered ",
                                Day(day_), " (before ",
                                FormatDate(t.entered_before()),
                                "): exempt from ", rid, " (", m.title(), ")")));
        } else {
          cite(Add(out, t.rule_id(), &e, v1::SEVERITY_REVIEW,
                   absl::StrCat("in transit: loaded ",
                                FormatDate(decl_.export_date()), " (before ",
                                FormatDate(t.loaded_before()), ") and entered ",
                                Day(day_), " (before ",
                                FormatDate(t.entered_before()),
                                "): the earlier rate applies instead of ", rid,
                                " ", PctBp(d.rate_basis_points()),
                                "; that rate is not in the data")));
        }
        drop = true;
      }
    }
    // Zero-rate carve-outs aimed at this duty's group.
    const std::string& group =
        d.stacking_group().empty() ? d.replaces_group() : d.stacking_group();
    for (int i : cands) {
      if (drop) break;
      const MeasureEntry& xe = rs_.measures[i];
      const v1::Measure& xm = *xe.measure;
      if (!xm.has_exemption() ||
          !InWindow(day_, xm.valid_from(), xm.valid_until())) {
        continue;
      }
      const auto& zg = xm.exemption().zeroes_groups();
      if (std::find(zg.begin(), zg.end(), group) == zg.end()) continue;
      const ScopeMatch sm = Match(xm.scope(), &line, code);
      if (!sm.match) continue;
      const GateInfo g = GateFor(xe, day_, nullptr);
      if (g.gate == Gate::kGap) {
        CommonChecks(xe, sm, g, out);
        review = true;
        continue;
      }
      const std::string& xid = RuleId(xe);
      if (g.gate != Gate::kBinding) {
        v1::Finding* f = Add(
            out, xid, &xe,
            g.unconfirmed ? v1::SEVERITY_REVIEW : v1::SEVERITY_INFO,
            absl::StrCat(
                xm.title(), " would zero ", rid, " for this line, but ",
                xe.instrument->instrument_id(), " is ", g.status_text, " on ",
                Day(day_), ": it does not bind",
                g.unconfirmed
                    ? absl::StrCat(" (status unconfirmed: ", g.status_note, ")")
                    : std::string(),
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
        Add(out, xid, &xe, v1::SEVERITY_INFO,
            absl::StrCat(xm.title(), ": ", code, " is on the list; ", rid, " ",
                         PctBp(d.rate_basis_points()),
                         " does not apply; report ",
                         xm.exemption().filing_heading()));
        lv->add_filing_headings(xm.exemption().filing_heading());
        drop = true;
      } else {
        std::string why = xm.exemption().schedule_note();
        if (sm.hs_unconfirmed) why = xm.scope().hs().unconfirmed_note();
        if (xm.unconfirmed())
          why = absl::StrCat(why, " ", xm.unconfirmed_note());
        if (g.unconfirmed) {
          why = absl::StrCat(why,
                             " Instrument status unconfirmed: ", g.status_note);
        }
        v1::Finding* f =
            Add(out, xid, &xe, v1::SEVERITY_REVIEW,
                absl::StrCat("zero-rate candidate: ", code,
                             " falls in a category of ", xm.title(),
                             ", which would zero ", rid, " ",
                             PctBp(d.rate_basis_points()),
                             "; the tariff-line schedule is not confirmed. ",
                             why, " Duty computed at the full rate."),
                absl::StrCat("check ", code,
                             " against the schedule; if listed, "
                             "report ",
                             xm.exemption().filing_heading(), " and no ", rid,
                             " duty"));
        f->add_tags("ZERO_RATE_CANDIDATE");
        review = true;
      }
    }
    if (drop) continue;
    (void)review;

    // Base: the non-US share under the US-content rule.
    int64_t base = customs;
    if (d.has_us_content()) {
      const auto& u = d.us_content();
      const int64_t us = line.us_content_value().minor_units();
      if (us > 0 && customs > 0) {
        const int64_t share_bp =
            static_cast<int64_t>(static_cast<__int128>(us) * 10000 / customs);
        v1::Finding* f;
        if (static_cast<__int128>(us) * 10000 >=
            static_cast<__int128>(u.threshold_basis_points()) * customs) {
          base = customs - us;
          f = Add(out, u.rule_id(), &e, v1::SEVERITY_INFO,
                  absl::StrCat("US content ", Money(us), " is ",
                               PctBp(share_bp), " of value, threshold ",
                               PctBp(u.threshold_basis_points()), ": ", rid,
                               " applies to the non-US share ", Money(base),
                               " only; file the entry as two lines"));
        } else {
          const int64_t need = static_cast<int64_t>(
              (static_cast<__int128>(u.threshold_basis_points()) * customs +
               9999) /
              10000);
          f = Add(out, u.rule_id(), &e, v1::SEVERITY_INFO,
                  absl::StrCat("US content ", PctBp(share_bp),
                               " of value is below the threshold ",
                               PctBp(u.threshold_basis_points()), ": ", rid,
                               " applies to the full value"),
                  absl::StrCat("US content of at least ", Money(need), " (",
                               Money(need - us), " more) would limit ", rid,
                               " to the non-US share"));
        }
        f->mutable_citation()->set_article(u.article());
        f->mutable_citation()->set_source_url(u.source_url());
      }
    }
    const int64_t amount = ApplyBasisPoints(base, d.rate_basis_points());
    v1::Duty* duty = lv->add_duties();
    duty->set_measure_id(m.measure_id());
    duty->set_rate_basis_points(d.rate_basis_points());
    *duty->mutable_base() = MakeMoney(currency_, base);
    *duty->mutable_amount() = MakeMoney(currency_, amount);
    duty->set_filing_heading(d.filing_heading());
    *duty->mutable_citation() = Cite(e);
    duty->set_description(d.description());
    if (!d.filing_heading().empty())
      lv->add_filing_headings(d.filing_heading());
    Add(out, rid, &e, v1::SEVERITY_INFO,
        absl::StrCat(m.title(), ": ", PctBp(d.rate_basis_points()), " of ",
                     Money(base), " = ", Money(amount), " on top of MFN",
                     a.replaced.empty()
                         ? std::string()
                         : absl::StrCat(", in lieu of ", a.replaced),
                     d.filing_heading().empty()
                         ? std::string()
                         : absl::StrCat("; report ", d.filing_heading())));
    for (const v1::UnconfirmedRate& r : d.unconfirmed_rates()) {
      if (DayOrMin(r.announced()) > day_) continue;
      v1::Finding* f = Add(
          out, rs_.config.engine_rule_ids().unconfirmed(), &e,
          rs_.config.unconfirmed_rate_severity(),
          absl::StrCat(rid, " rate unconfirmed: ", PctBp(r.rate_basis_points()),
                       " was announced ", FormatDate(r.announced()),
                       " but is not confirmed as proclaimed (", r.note(),
                       "); duty computed at the confirmed ",
                       PctBp(d.rate_basis_points()), ", it would be ",
                       Money(ApplyBasisPoints(base, r.rate_basis_points())),
                       " at ", PctBp(r.rate_basis_points())));
      f->add_tags("UNCONFIRMED");
      if (!r.source_url().empty())
        f->mutable_citation()->set_source_url(r.source_url());
    }
    if (m.unconfirmed()) {
      Add(out, ids_.unconfirmed(), &e, v1::SEVERITY_REVIEW,
          absl::StrCat(rid, " unconfirmed: ", m.unconfirmed_note()))
          ->add_tags("UNCONFIRMED");
    }
    if (a.gate.unconfirmed) {
      Add(out, ids_.data_gap(), &e, v1::SEVERITY_REVIEW,
          absl::StrCat("status of ", e.instrument->instrument_id(), " on ",
                       Day(day_), " is unconfirmed: ", a.gate.status_note))
          ->add_tags("UNCONFIRMED");
    }
  }
}

// ------------------------------------------------------------------ notices

void Evaluator::Notices(const v1::LineItem* line, absl::string_view code,
                        const std::vector<int>& cands,
                        google::protobuf::RepeatedPtrField<v1::Finding>* out) {
  for (const InScope& c :
       InScopeOf(cands, &v1::Measure::has_notice, line, code)) {
    const MeasureEntry& e = *c.entry;
    const v1::Measure& m = *e.measure;
    const ScopeMatch& sm = c.match;
    GateInfo g = GateFor(e, day_, nullptr);
    if (m.notice().status_independent() && g.gate != Gate::kGap) {
      g.gate = Gate::kBinding;
    }
    if (!CommonChecks(e, sm, g, out)) continue;
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
      msg = absl::StrCat(msg, " [unconfirmed: ",
                         m.unconfirmed() ? m.unconfirmed_note() : g.status_note,
                         "]");
    }
    Add(out, RuleId(e), &e, sev, msg, m.notice().remedy());
  }
}

// ---------------------------------------------------------- export measures

void Evaluator::ExportMeasures(const v1::LineItem& line, absl::string_view code,
                               const std::vector<int>& cands,
                               v1::LineVerdict* lv) {
  auto* out = lv->mutable_findings();
  // Pledges first, so a ban can say whether one is at odds with it.
  struct Pledge {
    int index;
    GateInfo gate;
  };
  std::vector<Pledge> pledges;
  for (const InScope& c :
       InScopeOf(cands, &v1::Measure::has_export_commitment, &line, code)) {
    const int i = c.index;
    const MeasureEntry& e = *c.entry;
    const v1::Measure& m = *e.measure;
    const ScopeMatch& sm = c.match;
    const GateInfo g = GateFor(e, day_, nullptr);
    if (g.gate == Gate::kGap) {
      CommonChecks(e, sm, g, out);
      continue;
    }
    pledges.push_back({i, g});
    Add(out, RuleId(e), &e,
        g.gate == Gate::kBinding ? v1::SEVERITY_INFO : v1::SEVERITY_WARNING,
        absl::StrCat(
            m.title(), ": ", m.export_commitment().note(), " (",
            e.instrument->instrument_id(), " is ", g.status_text, " on ",
            Day(day_),
            g.gate == Gate::kBinding ? "" : ": the pledge only informs", ")"));
  }

  for (const InScope& c :
       InScopeOf(cands, &v1::Measure::has_export_measure, &line, code)) {
    const MeasureEntry& e = *c.entry;
    const v1::Measure& m = *e.measure;
    const ScopeMatch& sm = c.match;
    const auto& x = m.export_measure();
    const GateInfo g = GateFor(e, day_, &x.suspensions());
    const std::string& rid = RuleId(e);
    if (g.gate == Gate::kNotInForce) continue;
    const bool facts_known = CommonChecks(e, sm, g, out);
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
      const v1::StagePolicy* p = rs_.FindStagePolicy(x.stage_policy());
      const v1::ProcessingStage st = line.processing_stage();
      auto in = [st](const auto& list) {
        return std::find(list.begin(), list.end(), st) != list.end();
      };
      if (st != v1::PROCESSING_STAGE_UNSPECIFIED && in(p->permitted())) {
        Add(out, rid, &e, v1::SEVERITY_INFO,
            absl::StrCat("processing stage ", StageName(st),
                         " is processed "
                         "under policy ",
                         p->name(), ": the ", what, " of ", m.title(),
                         " does not apply"));
        continue;
      }
      if (st == v1::PROCESSING_STAGE_UNSPECIFIED || !in(p->restricted())) {
        stage_ambiguous = true;
        Add(out,
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
            "description)")
            ->add_tags("STAGE_AMBIGUOUS");
      }
    }

    if (g.gate == Gate::kSuspended) {
      Add(out, x.suspended_rule_id().empty() ? rid : x.suspended_rule_id(), &e,
          v1::SEVERITY_WARNING,
          absl::StrCat(
              "dormant rule: ", m.title(), " (", what, ") is ", g.status_text,
              g.resumes_known ? absl::StrCat("; re-activates ", Day(g.resumes),
                                             " unless extended")
                              : std::string(),
              g.status_note.empty() ? std::string()
                                    : absl::StrCat(" (", g.status_note, ")")))
          ->add_tags("DORMANT_RULE");
      continue;
    }
    if (g.gate == Gate::kInformOnly) {
      Add(out, rid, &e, v1::SEVERITY_INFO,
          absl::StrCat(m.title(), " (", what,
                       ") is non-binding: informs only"));
      continue;
    }
    // Binding. Anything unconfirmed turns a hard outcome into a review.
    std::vector<std::string> doubts;
    if (sm.hs_unconfirmed) doubts.push_back(m.scope().hs().unconfirmed_note());
    if (m.unconfirmed()) doubts.push_back(m.unconfirmed_note());
    if (g.unconfirmed) {
      doubts.push_back(absl::StrCat("status of ", e.instrument->instrument_id(),
                                    " unconfirmed: ", g.status_note));
    }
    const bool hard = doubts.empty() && !stage_ambiguous && facts_known;
    const std::string doubt_text =
        doubts.empty()
            ? std::string()
            : absl::StrCat(" [unconfirmed: ", absl::StrJoin(doubts, " "), "]");

    if (x.type() == v1::EXPORT_MEASURE_TYPE_BAN) {
      if (stage_ambiguous) continue;  // the stage finding says it all
      v1::Finding* f = Add(
          out, rid, &e, hard ? v1::SEVERITY_DENY : v1::SEVERITY_REVIEW,
          absl::StrCat(
              m.title(), ": export of ", code,
              line.processing_stage() != v1::PROCESSING_STAGE_UNSPECIFIED
                  ? absl::StrCat(" (", StageName(line.processing_stage()), ")")
                  : std::string(),
              " from ", decl_.export_country(), " to ",
              decl_.destination_country(), " is banned", doubt_text),
          x.stage_policy().empty()
              ? std::string("do not ship as declared")
              : std::string("only processed products may be exported; do not "
                            "ship raw material"));
      f->add_tags("EXPORT_BAN");
      for (const Pledge& p : pledges) {
        const MeasureEntry& pe = rs_.measures[p.index];
        const auto& cw = pe.measure->export_commitment().conflicts_with();
        if (std::find(cw.begin(), cw.end(), m.measure_id()) == cw.end())
          continue;
        if (p.gate.gate == Gate::kBinding || p.gate.unconfirmed) {
          Add(out, RuleId(pe), &pe, v1::SEVERITY_REVIEW,
              absl::StrCat(pe.measure->title(), " conflicts with ", m.title(),
                           " for this shipment (",
                           pe.instrument->instrument_id(), " is ",
                           p.gate.status_text,
                           p.gate.unconfirmed ? ", status unconfirmed" : "",
                           "): the sources do not say whether the pledge "
                           "covers raw material"));
        } else {
          Add(out, RuleId(pe), &pe, v1::SEVERITY_INFO,
              absl::StrCat(pe.measure->title(), " is at odds with ", m.title(),
                           ", but ", pe.instrument->instrument_id(), " is ",
                           p.gate.status_text, " on ", Day(day_),
                           ": the ban binds"));
        }
      }
    } else if (x.type() == v1::EXPORT_MEASURE_TYPE_LICENCE) {
      std::string which;
      if (HasLicence(x.licence_authority(), &which)) {
        Add(out, rid, &e, v1::SEVERITY_INFO,
            absl::StrCat(m.title(),
                         ": licence required and declared: ", which));
      } else if (!stage_ambiguous) {
        Add(out, rid, &e, hard ? v1::SEVERITY_DENY : v1::SEVERITY_REVIEW,
            absl::StrCat(m.title(), ": export of ", code, " from ",
                         decl_.export_country(), " to ",
                         decl_.destination_country(),
                         " requires a licence from ", x.licence_authority(),
                         "; none declared valid on ", Day(day_), doubt_text),
            absl::StrCat("declare a licence from ", x.licence_authority()))
            ->add_tags("LICENCE_REQUIRED");
      }
    } else if (x.type() == v1::EXPORT_MEASURE_TYPE_QUOTA) {
      if (stage_ambiguous) continue;
      const auto& q = x.quota();
      if (!line.has_quantity() || line.quantity().unit() != q.unit()) {
        Add(out, ids_.fact_missing(), &e, v1::SEVERITY_REVIEW,
            absl::StrCat(m.title(), " is counted in ", q.unit(),
                         "; the line declares ",
                         line.has_quantity() ? line.quantity().unit()
                                             : std::string("no quantity")),
            absl::StrCat("declare the quantity in ", q.unit()));
        continue;
      }
      std::string period;
      switch (q.period()) {
        case v1::QUOTA_PERIOD_HALF_YEAR:
          period = absl::StrCat(day_.year(), "-H", day_.month() <= 6 ? 1 : 2);
          break;
        case v1::QUOTA_PERIOD_QUARTER:
          period = absl::StrCat(day_.year(), "-Q", (day_.month() - 1) / 3 + 1);
          break;
        default:
          period = absl::StrCat(day_.year());
          break;
      }
      QuotaDraw draw;
      draw.quota_key = absl::StrCat(m.measure_id(), "|", period, "|",
                                    decl_.destination_country());
      draw.measure_id = m.measure_id();
      draw.line_number = line.line_number();
      draw.amount_milli = line.quantity().amount_milli();
      draw.limit_milli = q.amount_milli();
      draw.unit = q.unit();
      if (draw.amount_milli > draw.limit_milli) {
        Add(out, rid, &e, hard ? v1::SEVERITY_DENY : v1::SEVERITY_REVIEW,
            absl::StrCat(m.title(), ": ", draw.amount_milli / 1000.0, " ",
                         q.unit(), " exceeds the whole period quota of ",
                         draw.limit_milli / 1000.0, " ", q.unit(), doubt_text),
            "split the shipment across quota periods");
        continue;
      }
      Add(out, rid, &e, hard ? v1::SEVERITY_INFO : v1::SEVERITY_REVIEW,
          absl::StrCat(m.title(), ": draws ",
                       absl::StrFormat("%.3f", draw.amount_milli / 1000.0), " ",
                       q.unit(), " from quota ", draw.quota_key, " of ",
                       absl::StrFormat("%.3f", draw.limit_milli / 1000.0), " ",
                       q.unit(), doubt_text));
      draws_.push_back(std::move(draw));
    }
  }
}

// ------------------------------------------------------------ content rules

void Evaluator::ContentRules(const v1::LineItem& line, absl::string_view code,
                             const std::vector<int>& cands,
                             v1::LineVerdict* lv) {
  auto* out = lv->mutable_findings();
  for (const InScope& c :
       InScopeOf(cands, &v1::Measure::has_content_rule, &line, code)) {
    const MeasureEntry& e = *c.entry;
    const v1::Measure& m = *e.measure;
    const ScopeMatch& sm = c.match;
    const auto& r = m.content_rule();
    const GateInfo g = GateFor(e, day_, &r.suspensions());
    if (g.gate == Gate::kNotInForce) continue;
    if (!CommonChecks(e, sm, g, out) && g.gate == Gate::kGap) continue;
    const std::string& rid = RuleId(e);
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
    // A raw or wholly obtained good has no foreign inputs to count; only the
    // technology clause can still catch it.
    if (bom == v1::BILL_OF_MATERIALS_STATUS_NOT_APPLICABLE &&
        line.made_with_chinese_re_technology() != v1::ANSWER_YES) {
      continue;
    }
    if (bom == v1::BILL_OF_MATERIALS_STATUS_UNSPECIFIED || value <= 0) {
      // Never "allow" on an unknown bill of materials, dormant rule or not:
      // the content may also decide the shipment once the rule re-activates.
      Add(out, r.unknown_bom_rule_id(), &e, v1::SEVERITY_REVIEW,
          absl::StrCat("bill of materials unknown: the ",
                       PctPpm(r.threshold_ppm()), " content test of ",
                       m.title(), " cannot be evaluated", dormant_text),
          "declare the complete bill of materials with component origins and "
          "values")
          ->add_tags("BOM_UNKNOWN");
      continue;
    }
    int64_t content = 0;
    std::vector<std::string> parts;
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
      parts.push_back(
          absl::StrCat(c.description().empty() ? c.hs_code() : c.description(),
                       " ", Money(c.value().minor_units())));
    }
    const int64_t ppm = PartsPerMillion(content, value);
    const bool over = ppm >= r.threshold_ppm();
    const bool tech = line.made_with_chinese_re_technology() == v1::ANSWER_YES;
    const std::string numbers = absl::StrCat(
        "controlled-origin content ", Money(content), " = ", PctPpm(ppm),
        " of value ", Money(value), ", threshold ", PctPpm(r.threshold_ppm()),
        parts.empty() ? std::string()
                      : absl::StrCat(" (", absl::StrJoin(parts, "; "), ")"));
    // Largest content that stays below the threshold.
    const __int128 limit = static_cast<__int128>(r.threshold_ppm()) * value;
    const int64_t max_ok = static_cast<int64_t>((limit + 999999) / 1000000) - 1;
    const std::string margin =
        over ? absl::StrCat("reduce controlled-origin content by ",
                            Money(content - max_ok), " (to at most ",
                            Money(max_ok), ") to fall below the threshold")
             : absl::StrCat("margin to the threshold: ",
                            Money(max_ok - content));
    if (!over && !tech) {
      if (bom == v1::BILL_OF_MATERIALS_STATUS_PARTIAL) {
        Add(out, r.unknown_bom_rule_id(), &e, v1::SEVERITY_REVIEW,
            absl::StrCat("bill of materials partial: ", numbers,
                         " among the listed components, which cannot clear "
                         "the test",
                         dormant_text),
            "declare the complete bill of materials")
            ->add_tags("BOM_UNKNOWN");
      } else {
        Add(out, rid, &e, v1::SEVERITY_INFO,
            absl::StrCat(m.title(), ": ", numbers, ", below the threshold",
                         dormant_text),
            margin);
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
      Add(out,
          r.suspended_rule_id().empty() ? trig_rule : r.suspended_rule_id(), &e,
          v1::SEVERITY_WARNING,
          absl::StrCat("dormant rule: ", m.title(), " would require a ",
                       r.licence_authority(), " licence: ", trigger,
                       dormant_text),
          over ? margin : std::string())
          ->add_tags("DORMANT_RULE");
      continue;
    }
    std::string which;
    if (HasLicence(r.licence_authority(), &which)) {
      Add(out, trig_rule, &e, v1::SEVERITY_INFO,
          absl::StrCat(m.title(), ": licence required (", trigger,
                       ") and declared: ", which));
      continue;
    }
    std::vector<std::string> doubts;
    if (sm.hs_unconfirmed) doubts.push_back(m.scope().hs().unconfirmed_note());
    if (m.unconfirmed()) doubts.push_back(m.unconfirmed_note());
    if (g.unconfirmed) doubts.push_back(g.status_note);
    Add(out, trig_rule, &e,
        doubts.empty() ? v1::SEVERITY_DENY : v1::SEVERITY_REVIEW,
        absl::StrCat(m.title(), ": licence from ", r.licence_authority(),
                     " required: ", trigger,
                     doubts.empty()
                         ? std::string()
                         : absl::StrCat(" [unconfirmed: ",
                                        absl::StrJoin(doubts, " "), "]")),
        absl::StrCat("declare a licence from ", r.licence_authority(),
                     over ? absl::StrCat(", or ", margin) : std::string()))
        ->add_tags("LICENCE_REQUIRED");
  }
}

// ------------------------------------------------------------- origin rules

void Evaluator::OriginRules(const v1::LineItem& line, absl::string_view code,
                            const std::vector<int>& cands,
                            v1::LineVerdict* lv) {
  auto* out = lv->mutable_findings();
  for (const InScope& c :
       InScopeOf(cands, &v1::Measure::has_origin_rule, &line, code)) {
    const int i = c.index;
    const MeasureEntry& e = *c.entry;
    const v1::Measure& m = *e.measure;
    const ScopeMatch& sm = c.match;
    const GateInfo g = GateFor(e, day_, nullptr);
    if (!CommonChecks(e, sm, g, out)) continue;
    origin_rules_seen_.insert(i);
    const auto& o = m.origin_rule();
    const int64_t value = line.customs_value().minor_units();
    const auto bom = line.bill_of_materials_status();
    if (bom == v1::BILL_OF_MATERIALS_STATUS_NOT_APPLICABLE) continue;
    if (bom == v1::BILL_OF_MATERIALS_STATUS_UNSPECIFIED ||
        line.bill_of_materials().empty() || value <= 0) {
      Add(out, o.risk_rule_id(), &e, v1::SEVERITY_WARNING,
          "bill of materials not declared: origin and transshipment risk "
          "cannot be screened",
          "declare the bill of materials with component origins");
      continue;
    }
    // Non-originating share by country, regional value content, main input.
    std::map<std::string, int64_t> non_orig;
    int64_t non_orig_total = 0;
    const v1::Component* main = nullptr;
    bool risk_input = false;
    for (const v1::Component& c : line.bill_of_materials()) {
      if (main == nullptr ||
          c.value().minor_units() > main->value().minor_units()) {
        main = &c;
      }
      if (c.origin_country() != decl_.origin_country()) {
        int64_t& by_country = non_orig[c.origin_country()];
        by_country = SumOrMax(by_country, c.value().minor_units());
        non_orig_total = SumOrMax(non_orig_total, c.value().minor_units());
      }
      if (!o.risk_input_origins().countries().empty() &&
          MatchCountry(o.risk_input_origins(), c.origin_country())) {
        risk_input = true;
      }
    }
    std::vector<std::string> shares;
    for (const auto& [country, v] : non_orig) {
      shares.push_back(
          absl::StrCat(country, " ", PctPpm(PartsPerMillion(v, value))));
    }
    const int64_t rvc_ppm = value >= non_orig_total
                                ? PartsPerMillion(value - non_orig_total, value)
                                : 0;
    const std::string main_hs = main->hs_code();
    const bool heading_changed = main_hs.substr(0, 4) != code.substr(0, 4);
    const bool chapter_changed = main_hs.substr(0, 2) != code.substr(0, 2);
    const std::string screen = absl::StrCat(
        "non-originating content by country: ",
        shares.empty() ? std::string("none") : absl::StrJoin(shares, ", "),
        "; regional value content ", PctPpm(rvc_ppm), "; main input ",
        main_hs.substr(0, 4), " (", main->origin_country(), ") -> product ",
        code.substr(0, 4), ": heading ",
        heading_changed ? "changed" : "unchanged");
    const bool minimal = line.minimal_processing() == v1::ANSWER_YES;
    bool flagged = false;
    if (risk_input && (!chapter_changed || minimal)) {
      flagged = true;
      Add(out, o.risk_rule_id(), &e, v1::SEVERITY_REVIEW,
          absl::StrCat(
              "transshipment risk: inputs from ",
              absl::StrJoin(o.risk_input_origins().countries(), "/"), " and ",
              minimal ? std::string("minimal processing declared")
                      : std::string("HS chapter unchanged between main "
                                    "input and product"),
              "; ", screen),
          absl::StrCat("keep evidence of substantial transformation in ",
                       decl_.origin_country()))
          ->add_tags("TRANSSHIPMENT_RISK");
      auto it = rs_.measure_by_id.find(o.transshipment_measure_id());
      if (it != rs_.measure_by_id.end() &&
          decl_.facts().cbp_transshipment_determination() != v1::ANSWER_YES) {
        const MeasureEntry& te = rs_.measures[it->second];
        if (InWindow(day_, te.measure->valid_from(),
                     te.measure->valid_until())) {
          Add(out, o.transshipment_review_rule_id(), &te, v1::SEVERITY_REVIEW,
              absl::StrCat(
                  "risk indicators only: ", te.measure->title(), " (",
                  PctBp(te.measure->additional_duty().rate_basis_points()),
                  ") applies only on a CBP transshipment determination "
                  "and is never applied automatically"))
              ->add_tags("TRANSSHIPMENT_RISK");
        }
      }
    }
    if (minimal && main->origin_country() != decl_.origin_country()) {
      flagged = true;
      Add(out, o.minimal_processing_rule_id(), &e, v1::SEVERITY_REVIEW,
          absl::StrCat("minimal processing declared and the main input comes "
                       "from ",
                       main->origin_country(), ", not ", decl_.origin_country(),
                       ": origin is likely ", main->origin_country(), "; ",
                       screen),
          "review the declared origin (substantial transformation test)");
    }
    if (!flagged) {
      Add(out, o.risk_rule_id(), &e, v1::SEVERITY_INFO,
          absl::StrCat("origin screen: ", screen));
    }
  }
}

// -------------------------------------------------------------------- lines

void Evaluator::EvaluateLine(const v1::LineItem& line, v1::LineVerdict* lv) {
  lv->set_line_number(line.line_number());
  std::string code = line.hs_code();
  if (decl_.tariff_schedule_version() == "HS2017") {
    for (const v1::Hs2017Mapping& mp : rs_.config.hs2017_mappings()) {
      if (!absl::StartsWith(code, mp.from_prefix())) continue;
      code = absl::StrCat(mp.to_prefix(), code.substr(mp.from_prefix().size()));
      v1::Finding* f = lv->add_findings();
      f->set_rule_id(mp.rule_id());
      f->set_severity(mp.unconfirmed() ? v1::SEVERITY_REVIEW
                                       : v1::SEVERITY_INFO);
      f->set_message(absl::StrCat("HS 2017 ", line.hs_code(),
                                  " read as HS 2022 ", code, ": ", mp.note()));
      f->set_remedy("declare the HS 2022 code");
      f->add_tags("HS_REMAPPED");
      break;
    }
  }
  std::vector<int> cands;
  rs_.Candidates(decl_.origin_country(), decl_.export_country(),
                 decl_.destination_country(), code, &cands);
  Duties(line, code, cands, lv);
  ExportMeasures(line, code, cands, lv);
  ContentRules(line, code, cands, lv);
  OriginRules(line, code, cands, lv);
  Notices(&line, code, cands, lv->mutable_findings());

  v1::Money total = MakeMoney(currency_, 0);
  for (const v1::Duty& d : lv->duties()) {
    total.set_minor_units(
        SumOrMax(total.minor_units(), d.amount().minor_units()));
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

// ------------------------------------------------------ declaration level

void Evaluator::DeclarationFindings(v1::Verdict* v) {
  auto* out = v->mutable_findings();
  if (day_ > rs_.data_current_through) {
    Add(out, ids_.data_not_current(), nullptr, v1::SEVERITY_REVIEW,
        absl::StrCat("governing date ", Day(day_),
                     " is after the date the rule data is known to be current "
                     "(",
                     Day(rs_.data_current_through),
                     "): measures may have changed since; the other findings "
                     "show what the last known data says"),
        "have the rule data updated and reviewed through the governing date")
        ->add_tags("DATA_NOT_CURRENT");
  }
  for (const v1::CoverageGap& gap : rs_.config.coverage_gaps()) {
    if (!InWindow(day_, gap.window().from(), gap.window().until())) continue;
    if (!Match(gap.scope(), nullptr, "").match) continue;
    Add(out, ids_.data_gap(), nullptr, v1::SEVERITY_REVIEW,
        absl::StrCat("the data has a gap on ", Day(day_), ": ", gap.note()))
        ->add_tags("DATA_GAP");
  }
  Notices(nullptr, "", rs_.declaration_level, out);
  for (int i : origin_rules_seen_) {
    const MeasureEntry& e = rs_.measures[i];
    const auto& o = e.measure->origin_rule();
    const std::string& pref = decl_.facts().preference_claimed();
    if (!pref.empty() && !o.preference_rule_id().empty() &&
        std::find(o.preferences_without_rules().begin(),
                  o.preferences_without_rules().end(),
                  pref) != o.preferences_without_rules().end()) {
      Add(out, o.preference_rule_id(), &e, v1::SEVERITY_REVIEW,
          absl::StrCat("preference ", pref,
                       " claimed: the agreement publishes "
                       "no origin rules (no RVC, tariff shift or certificate "
                       "form), so the claim cannot be checked"),
          "keep evidence of origin (wholly obtained or substantially "
          "transformed) for the claim");
    }
    if (!o.attestation_rule_id().empty() &&
        decl_.facts().importer_origin_attestation() != v1::ANSWER_YES) {
      Add(out, o.attestation_rule_id(), &e, v1::SEVERITY_WARNING,
          "importer origin attestation missing: the importer of record bears "
          "the reasonable-care duty for declared origin",
          "record the importer's origin attestation");
    }
  }
}

Evaluation Evaluator::Run() {
  Evaluation ev;
  v1::Verdict& v = ev.verdict;
  v.set_declaration_id(decl_.declaration_id());
  v.set_rule_set_revision(rs_.revision);
  import_ = decl_.kind() == v1::DECLARATION_KIND_IMPORT_ENTRY;
  const v1::Date& gov = import_ ? decl_.entry_date() : decl_.export_date();
  v.set_governing_date_basis(import_ ? v1::GOVERNING_DATE_BASIS_ENTRY_DATE
                                     : v1::GOVERNING_DATE_BASIS_EXPORT_DATE);
  *v.mutable_governing_date() = gov;
  for (const v1::LineItem& l : decl_.lines()) {
    if (!l.customs_value().currency_code().empty()) {
      currency_ = l.customs_value().currency_code();
      break;
    }
  }
  auto day = ToCivilDay(gov);
  if (IsUnset(gov) || !day.ok()) {
    // Core validates this; the engine still never guesses a date.
    Add(v.mutable_findings(), ids_.fact_missing(), nullptr, v1::SEVERITY_REVIEW,
        "the governing date is missing or invalid: no rule can be evaluated",
        import_ ? "declare entry_date" : "declare export_date");
    Recompute(&v);
    return ev;
  }
  day_ = *day;
  for (const v1::LineItem& line : decl_.lines()) {
    EvaluateLine(line, v.add_lines());
  }
  DeclarationFindings(&v);
  int64_t total = 0;
  for (const v1::LineVerdict& lv : v.lines())
    total = SumOrMax(total, lv.total_duty().minor_units());
  *v.mutable_total_duty() = MakeMoney(currency_, total);
  Recompute(&v);
  ev.quota_draws = std::move(draws_);
  return ev;
}

}  // namespace

Evaluation Evaluate(const RuleSet& rules, const v1::Declaration& declaration) {
  Evaluator e(rules.impl(), declaration);
  return e.Run();
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
      v1::Citation* c = f->mutable_citation();
      c->set_instrument_id(e.instrument->instrument_id());
      c->set_instrument_title(e.instrument->title());
      c->set_article(e.measure->article());
      c->set_source_url(e.measure->source_url());
    }
  }
  Recompute(verdict);
}

}  // namespace tradecheck::rules
