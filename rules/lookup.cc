#include "rules/lookup.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/dates.h"
#include "common/money.h"
#include "rules/eval_context.h"
#include "rules/index.h"
#include "rules/rule_set_impl.h"

namespace tradecheck::rules {
namespace {

// At most this many more specific HS lines are named in a condition.
constexpr int kMaxLinesNamed = 5;

std::string KindName(v1::DeclarationKind k) {
  return k == v1::DECLARATION_KIND_EXPORT_SHIPMENT ? "export shipments"
                                                   : "import entries";
}

std::string AnswerName(v1::Answer a) {
  return a == v1::ANSWER_YES ? "YES" : a == v1::ANSWER_NO ? "NO" : "unknown";
}

// The lines of `s` more specific than `code` ("64041120" under "640411").
std::vector<std::string> FinerLines(const v1::HsSelector& s,
                                    absl::string_view code) {
  std::vector<std::string> out;
  for (const auto* list : {&s.include(), &s.unconfirmed_include()}) {
    for (const std::string& p : *list) {
      if (p.size() > code.size() && absl::StartsWith(p, code)) {
        out.push_back(p);
      }
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// The measure's own terms, in one line.
std::string Terms(const v1::Measure& m) {
  switch (m.kind_case()) {
    case v1::Measure::kAdditionalDuty: {
      const auto& d = m.additional_duty();
      std::string t;
      if (d.has_minimum_price()) {
        t = absl::StrCat("minimum import price ",
                         FormatMoney(d.minimum_price().price_per_unit()),
                         " per ", d.minimum_price().unit(),
                         ": the shortfall of the value is the duty");
      } else {
        t = absl::StrCat(PctBp(d.rate_basis_points()),
                         " ad valorem on top of MFN");
      }
      if (!d.replaces_group().empty()) {
        absl::StrAppend(&t, ", in lieu of stacking group ",
                        d.replaces_group());
      } else if (!d.stacking_group().empty()) {
        absl::StrAppend(&t, " (stacking group ", d.stacking_group(), ")");
      }
      if (d.has_us_content()) {
        absl::StrAppend(&t, "; on the non-US share when US content is ",
                        PctBp(d.us_content().threshold_basis_points()),
                        " of value or more");
      }
      for (const auto& x : d.exclusions()) {
        absl::StrAppend(&t, "; not when ", FactName(x.fact()), " is YES");
      }
      return t;
    }
    case v1::Measure::kExemption:
      return absl::StrCat("zeroes stacking groups ",
                          absl::StrJoin(m.exemption().zeroes_groups(), ", "));
    case v1::Measure::kExportMeasure: {
      const auto& x = m.export_measure();
      switch (x.type()) {
        case v1::EXPORT_MEASURE_TYPE_BAN:
          return "export ban";
        case v1::EXPORT_MEASURE_TYPE_QUOTA:
          return absl::StrCat(
              "export quota of ", FormatMilli(x.quota().amount_milli()), " ",
              x.quota().unit(), " per ",
              x.quota().period() == v1::QUOTA_PERIOD_HALF_YEAR ? "half year"
              : x.quota().period() == v1::QUOTA_PERIOD_QUARTER ? "quarter"
                                                               : "year");
        default:
          return absl::StrCat("export licence from ", x.licence_authority());
      }
    }
    case v1::Measure::kContentRule: {
      const auto& r = m.content_rule();
      return absl::StrCat("licence from ", r.licence_authority(), " when ",
                          r.content_origins().countries().empty()
                              ? std::string("controlled")
                              : absl::StrJoin(r.content_origins().countries(),
                                              "/"),
                          "-origin controlled content is ",
                          PctPpm(r.threshold_ppm()), " of value or more");
    }
    case v1::Measure::kOriginRule:
      return "origin screening of the bill of materials";
    case v1::Measure::kNotice:
      return m.notice().message();
    case v1::Measure::kExportCommitment:
      return m.export_commitment().note();
    default:
      return std::string();
  }
}

}  // namespace

v1::LookupMeasuresResponse LookupMeasures(const RuleSet& rules,
                                          const MeasureQuery& q) {
  const RuleSetImpl& rs = rules.impl();
  const std::string& exporter =
      q.export_country.empty() ? q.origin : q.export_country;
  v1::LookupMeasuresResponse out;
  out.set_rule_set_revision(rs.revision);
  out.set_hs_code(q.hs_code);
  *out.mutable_date() = ToDate(q.day);
  std::vector<v1::MeasureMatch> found;
  for (const MeasureEntry& e : rs.measures) {
    const v1::Measure& m = *e.measure;
    if (m.has_notice() && m.notice().declaration_level()) continue;
    if (!InWindow(q.day, m.valid_from(), m.valid_until())) continue;
    const v1::Scope& s = m.scope();
    std::vector<std::string> conditions;
    if (!s.declaration_kinds().empty()) {
      const bool listed =
          std::find(s.declaration_kinds().begin(), s.declaration_kinds().end(),
                    q.kind) != s.declaration_kinds().end();
      if (q.kind != v1::DECLARATION_KIND_UNSPECIFIED && !listed) continue;
      if (q.kind == v1::DECLARATION_KIND_UNSPECIFIED) {
        std::vector<std::string> kinds;
        for (int k : s.declaration_kinds()) {
          kinds.push_back(KindName(static_cast<v1::DeclarationKind>(k)));
        }
        conditions.push_back(
            absl::StrCat("applies to ", absl::StrJoin(kinds, " and "),
                         " only"));
      }
    }
    if (!MatchCountry(s.origins(), q.origin) ||
        !MatchCountry(s.exporting_countries(), exporter)) {
      continue;
    }
    if (!s.destinations().countries().empty() ||
        !s.destinations().except().empty()) {
      if (!q.destination.empty()) {
        if (!MatchCountry(s.destinations(), q.destination)) continue;
      } else {
        conditions.push_back(absl::StrCat(
            "applies to goods bound for ",
            s.destinations().countries().empty()
                ? absl::StrCat("any country but ",
                               absl::StrJoin(s.destinations().except(), "/"))
                : absl::StrJoin(s.destinations().countries(), "/")));
      }
    }
    int hs_len = 0;
    const HsMatch hm = rs.MatchHs(s.hs(), q.hs_code, &hs_len);
    if (hm == HsMatch::kNo) {
      const std::vector<std::string> finer = FinerLines(s.hs(), q.hs_code);
      if (finer.empty()) continue;
      std::vector<std::string> named(
          finer.begin(),
          finer.begin() + std::min<size_t>(finer.size(), kMaxLinesNamed));
      conditions.push_back(absl::StrCat(
          "applies only to the more specific HS lines ",
          absl::StrJoin(named, ", "),
          finer.size() > named.size()
              ? absl::StrCat(" and ", finer.size() - named.size(), " more")
              : std::string()));
    } else if (hm == HsMatch::kUnconfirmed) {
      conditions.push_back(absl::StrCat("the HS entry is unconfirmed: ",
                                        s.hs().unconfirmed_note()));
    }
    if (!s.elements().empty()) {
      conditions.push_back(absl::StrCat("applies to goods containing ",
                                        absl::StrJoin(s.elements(), ", ")));
    }
    for (const v1::FactCondition& fc : s.facts()) {
      conditions.push_back(absl::StrCat("applies when ", FactName(fc.fact()),
                                        " is ", AnswerName(fc.equals())));
    }
    if (!s.end_use_categories().empty()) {
      conditions.push_back(
          absl::StrCat("applies to end uses ",
                       absl::StrJoin(s.end_use_categories(), ", ")));
    }
    if (!s.liquidation_statuses().empty()) {
      conditions.push_back("applies to entries of some liquidation statuses");
    }
    if (m.unconfirmed()) {
      conditions.push_back(
          absl::StrCat("the measure is unconfirmed: ", m.unconfirmed_note()));
    }
    // What a declaration must show before the measure decides.
    const google::protobuf::RepeatedPtrField<v1::DateWindow>* suspensions =
        nullptr;
    if (m.has_content_rule()) {
      suspensions = &m.content_rule().suspensions();
      conditions.push_back(
          "decided by the bill of materials (controlled-origin content)");
    }
    if (m.has_export_measure()) {
      suspensions = &m.export_measure().suspensions();
      if (!m.export_measure().stage_policy().empty()) {
        const v1::StagePolicy* p =
            rs.FindStagePolicy(m.export_measure().stage_policy());
        std::vector<std::string> stages;
        if (p != nullptr) {
          for (int st : p->restricted()) {
            stages.push_back(StageName(static_cast<v1::ProcessingStage>(st)));
          }
        }
        conditions.push_back(absl::StrCat(
            "applies to the processing stages ", absl::StrJoin(stages, ", "),
            " (policy ", m.export_measure().stage_policy(), ")"));
      }
    }
    if (m.has_exemption() &&
        m.exemption().schedule() == v1::SCHEDULE_STATUS_CATEGORIES_ONLY) {
      conditions.push_back(absl::StrCat(
          "the schedule names categories only: ", m.exemption().schedule_note()));
    }
    if (m.has_origin_rule()) {
      conditions.push_back("decided by the bill of materials (input origins)");
    }

    const GateInfo g = GateFor(e, q.day, suspensions);
    v1::MeasureMatch mm;
    v1::MeasureApplicability a = conditions.empty()
                                     ? v1::MEASURE_APPLICABILITY_APPLIES
                                     : v1::MEASURE_APPLICABILITY_MAY_APPLY;
    switch (g.gate) {
      case Gate::kBinding:
        break;
      case Gate::kGap:
        a = v1::MEASURE_APPLICABILITY_MAY_APPLY;
        conditions.push_back(
            absl::StrCat("the data has no status of ",
                         e.instrument->instrument_id(), " for the date"));
        break;
      case Gate::kSuspended:
        a = v1::MEASURE_APPLICABILITY_DOES_NOT_BIND;
        conditions.push_back(absl::StrCat(
            "dormant: ", g.status_text,
            g.resumes_known ? absl::StrCat(", re-activates ", Day(g.resumes),
                                           " unless extended")
                            : std::string()));
        break;
      case Gate::kInformOnly:
        a = v1::MEASURE_APPLICABILITY_DOES_NOT_BIND;
        conditions.push_back("the instrument is non-binding: informs only");
        break;
      case Gate::kNotInForce:
        a = v1::MEASURE_APPLICABILITY_DOES_NOT_BIND;
        conditions.push_back(absl::StrCat(
            "the instrument is ", g.status_text, " on ", Day(q.day)));
        break;
    }
    if (g.unconfirmed && a == v1::MEASURE_APPLICABILITY_APPLIES) {
      a = v1::MEASURE_APPLICABILITY_MAY_APPLY;
      conditions.push_back(
          absl::StrCat("the status on the date is unconfirmed: ",
                       g.status_note));
    }
    *mm.mutable_measure() = SummarizeMeasure(*e.instrument, m);
    if (e.instrument->has_confirmation()) {
      const v1::Confirmation& c = e.instrument->confirmation();
      *mm.mutable_measure()->mutable_citation()->mutable_status_confirmed_on() =
          c.confirmed_on();
      const int64_t age = q.day - DayOrMin(c.confirmed_on());
      if (age > 0) {
        mm.mutable_measure()->mutable_citation()->set_confirmation_age_days(
            static_cast<int32_t>(age));
        mm.set_confirmation_age_days(static_cast<int32_t>(age));
      }
      *mm.mutable_confirmation() = c;
      mm.set_review_overdue(q.day >= DayOrMax(c.review_due()));
    }
    mm.set_applicability(a);
    for (std::string& c : conditions) mm.add_conditions(std::move(c));
    if (m.has_additional_duty() && !m.additional_duty().has_minimum_price()) {
      mm.set_rate_basis_points(m.additional_duty().rate_basis_points());
    }
    if (m.has_additional_duty()) {
      mm.set_filing_heading(m.additional_duty().filing_heading());
    } else if (m.has_exemption()) {
      mm.set_filing_heading(m.exemption().filing_heading());
    }
    mm.set_terms(Terms(m));
    mm.set_instrument_id(e.instrument->instrument_id());
    mm.set_instrument_status(InstrumentStatusAt(*e.instrument, q.day).status);
    mm.set_status_note(std::string(g.status_note));
    mm.set_status_unconfirmed(g.unconfirmed);
    found.push_back(std::move(mm));
  }
  // rs.measures is sorted by id; keep that order within each group.
  std::stable_sort(found.begin(), found.end(),
                   [](const v1::MeasureMatch& x, const v1::MeasureMatch& y) {
                     return x.applicability() < y.applicability();
                   });
  for (v1::MeasureMatch& mm : found) *out.add_measures() = std::move(mm);
  return out;
}

}  // namespace tradecheck::rules
