// EvalContext: what every measure kind's evaluation shares for one
// declaration — the governing day and currency, the gate an instrument's
// status puts on a measure, scope matching, and the ONE place where findings
// and citations are built. The kinds in rules/kinds/ take it by reference;
// the engine (engine.cc) creates one per Evaluate call and runs the kinds in
// their legal order. Not thread-safe: one context per evaluation.
//
//   EvalContext ctx(rules.impl(), declaration, day, currency);
//   for (const InScope& c : ctx.InScopeOf(in, v1::Measure::kNotice)) {
//     const GateInfo g = GateFor(*c.entry, ctx.day(), nullptr);
//     if (!ctx.CommonChecks(*c.entry, c.match, g, out)) continue;
//     ctx.Add(out, ctx.RuleId(*c.entry), c.entry, v1::SEVERITY_INFO, "...");
//   }
#ifndef TRADECHECK_RULES_EVAL_CONTEXT_H_
#define TRADECHECK_RULES_EVAL_CONTEXT_H_

#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "rules/engine.h"
#include "rules/index.h"
#include "rules/rule_set_impl.h"
#include "tradecheck/v1/declaration.pb.h"
#include "tradecheck/v1/verdict.pb.h"

namespace tradecheck::rules {

using Findings = google::protobuf::RepeatedPtrField<v1::Finding>;

// "19.00 %" from basis points.
std::string PctBp(int64_t bp);
// "0.14 %" from parts per million, with more digits only when needed so a
// value just over a threshold never prints as equal to it.
std::string PctPpm(int64_t ppm);
// "2026-11-10".
std::string Day(absl::CivilDay d);
// "SUBJECT_TO_SECTION_232" for FACT_KIND_SUBJECT_TO_SECTION_232.
std::string FactName(v1::FactKind f);
// "RAW" for PROCESSING_STAGE_RAW.
std::string StageName(v1::ProcessingStage s);
// The declared answer to a fact; line facts are unanswered without a line.
v1::Answer Fact(v1::FactKind f, const v1::Declaration& d,
                const v1::LineItem* line);

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
  absl::string_view status_note;  // into the rule set's data
  absl::CivilDay resumes;  // end of a suspension (exclusive)
  bool resumes_known = false;
};

// The gate of `e` on `day`; `suspensions` (nullable) are the measure's own
// suspension windows, which turn an in-force instrument's gate to kSuspended.
GateInfo GateFor(
    const MeasureEntry& e, absl::CivilDay day,
    const google::protobuf::RepeatedPtrField<v1::DateWindow>* suspensions);

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
// A line meets a handful of measures of each kind: kept inline, a kind's
// list costs no allocation.
using InScopeList = absl::InlinedVector<InScope, 4>;

// One line as the kinds see it: the line (null for declaration-level
// notices), its HS code after any HS 2017 remap, and the indices of the
// measures the index returned for it.
struct LineInput {
  const v1::LineItem* line = nullptr;
  absl::string_view code;
  const std::vector<int>* candidates = nullptr;
};

class EvalContext {
 public:
  EvalContext(const RuleSetImpl& rs, const v1::Declaration& decl,
              absl::CivilDay day, std::string currency)
      : rs_(rs),
        decl_(decl),
        ids_(rs.config.engine_rule_ids()),
        day_(day),
        currency_(std::move(currency)) {}

  const RuleSetImpl& rs() const { return rs_; }
  const v1::Declaration& decl() const { return decl_; }
  const v1::EngineRuleIds& ids() const { return ids_; }
  absl::CivilDay day() const { return day_; }
  const std::string& currency() const { return currency_; }

  // Scope of a measure against the declaration and (optionally) a line
  // whose HS code (after any HS 2017 remap) is `code`.
  // With `ignore_hs`, the HS selector is not consulted (used for lines
  // declared less specifically than a measure's list).
  ScopeMatch Match(const v1::Scope& s, const v1::LineItem* line,
                   absl::string_view code, bool ignore_hs = false) const;
  HsMatch MatchHs(const v1::HsSelector& s, absl::string_view code,
                  int* matched_len) const {
    return rs_.MatchHs(s, code, matched_len);
  }

  // The candidates of `in` that are measures of one kind (e.g.
  // v1::Measure::kNotice), valid on the governing day, and whose scope
  // matches; each kind's loop starts from these.
  InScopeList InScopeOf(const LineInput& in, v1::Measure::KindCase kind) const;

  // Writes the citation of a measure into `out`: its instrument, article
  // and source, and how old the instrument's confirmation is on the day.
  void Cite(const MeasureEntry& e, v1::Citation* out) const;
  // Appends a finding; with `e`, it carries the measure id, citation and tags.
  v1::Finding* Add(Findings* out, absl::string_view rule_id,
                   const MeasureEntry* e, v1::Severity sev, std::string message,
                   std::string remedy = "") const;

  // "USD 1,250.00" in the declaration's currency.
  std::string Money(int64_t minor) const;
  // The same amount as a typed figure.
  v1::Figure MoneyFigure(int64_t minor) const;
  const std::string& RuleId(const MeasureEntry& e) const {
    return e.measure->rule_ids(0);
  }

  // Findings shared by every kind: data gap, unconfirmed scope parts.
  // Returns false when the measure cannot decide anything (gap, not in
  // force, or a fact it turns on is not declared).
  bool CommonChecks(const MeasureEntry& e, const ScopeMatch& sm,
                    const GateInfo& g, Findings* out) const;

  // What keeps a binding measure from deciding hard (DENY): its HS entry is
  // unconfirmed (when `hs_unconfirmed`), the measure is, or the status of
  // its instrument on the day is. Empty when nothing is in doubt.
  std::vector<std::string> Doubts(const MeasureEntry& e, const GateInfo& g,
                                  bool hs_unconfirmed) const;

  // A licence from `authority` valid on the governing day: its description
  // ("MITI licence L-1 valid until 2027-01-01"), or empty when none is
  // declared.
  std::string ValidLicence(absl::string_view authority) const;

  void AddQuotaDraw(QuotaDraw draw) { draws_.push_back(std::move(draw)); }
  std::vector<QuotaDraw> TakeQuotaDraws() { return std::move(draws_); }

  // Origin-rule measures that matched some line, for declaration-level
  // preference/attestation findings (once per declaration).
  void NoteOriginRule(int index) { origin_rules_seen_.insert(index); }
  const std::set<int>& origin_rules_seen() const { return origin_rules_seen_; }

 private:
  const RuleSetImpl& rs_;
  const v1::Declaration& decl_;
  const v1::EngineRuleIds& ids_;
  const absl::CivilDay day_;
  const std::string currency_;
  std::vector<QuotaDraw> draws_;
  std::set<int> origin_rules_seen_;
};

// Typed numbers for Finding.margin and Finding.remedy_changes.
v1::Figure RatioFigure(int64_t ppm);
v1::Figure QuantityFigure(int64_t amount_milli, absl::string_view unit);
// A margin whose threshold and actual are shares of value (ppm) and whose
// distance and passing value are money: the content and US-content tests.
v1::Margin ShareMargin(absl::string_view measured, const std::string& currency,
                       int64_t threshold_ppm, int64_t actual_ppm,
                       v1::MarginDirection direction, int64_t distance_minor,
                       int64_t passing_minor);
// Adds a RemedyChange to `f` and returns it.
v1::RemedyChange* AddChange(v1::Finding* f, v1::RemedyChange::Action action);

// " [unconfirmed: <doubt> <doubt>]", or "" without doubts: the one way a
// message says why it is a review and not a hard outcome.
std::string DoubtText(const std::vector<std::string>& doubts);

}  // namespace tradecheck::rules

#endif  // TRADECHECK_RULES_EVAL_CONTEXT_H_
