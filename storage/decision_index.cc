#include "storage/decision_index.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "common/dates.h"

namespace tradecheck::storage {
namespace {

using Values = std::vector<std::string>;

Values One(const std::string& value) {
  if (value.empty()) return {};
  return {value};
}

void HsPrefixes(const v1::Decision& d, Values* out) {
  for (const v1::LineItem& line : d.declaration().lines()) {
    const std::string& code = line.hs_code();
    for (size_t n = 2; n <= std::min<size_t>(code.size(), 10); ++n) {
      out->push_back(code.substr(0, n));
    }
  }
}

void RuleIds(const v1::Decision& d, Values* out) {
  for (const v1::Finding& f : d.verdict().findings()) {
    out->push_back(f.rule_id());
  }
  for (const v1::LineVerdict& line : d.verdict().lines()) {
    for (const v1::Finding& f : line.findings()) out->push_back(f.rule_id());
  }
}

Values GoverningDays(const v1::DecisionFilter& f) {
  if (!f.has_governing_from() && !f.has_governing_to()) return {};
  // Validated: both real dates, ordered, at most kMaxGoverningDays apart.
  absl::CivilDay from = ToCivilDay(f.governing_from()).value();
  absl::CivilDay to = ToCivilDay(f.governing_to()).value();
  Values out;
  for (absl::CivilDay day = from; day <= to; ++day) {
    out.push_back(keys::GoverningDayValue(ToDate(day)));
  }
  return out;
}

const std::vector<IndexedField>* BuildTable() {
  using F = keys::Field;
  return new std::vector<IndexedField>{
      {F::kExporter, "filter.exporter_id", 1,
       [](const v1::Decision& d, Values* out) {
         out->push_back(d.declaration().exporter_id());
       },
       [](const v1::DecisionFilter& f) { return One(f.exporter_id()); }},
      {F::kImporter, "filter.importer_id", 1,
       [](const v1::Decision& d, Values* out) {
         out->push_back(d.declaration().importer_id());
       },
       [](const v1::DecisionFilter& f) { return One(f.importer_id()); }},
      {F::kOriginCountry, "filter.origin_country", 1,
       [](const v1::Decision& d, Values* out) {
         out->push_back(d.declaration().origin_country());
       },
       [](const v1::DecisionFilter& f) { return One(f.origin_country()); }},
      {F::kHsPrefix, "filter.hs_code_prefix", 1, HsPrefixes,
       [](const v1::DecisionFilter& f) { return One(f.hs_code_prefix()); }},
      {F::kOutcome, "filter.outcome", 1,
       [](const v1::Decision& d, Values* out) {
         if (d.verdict().outcome() != v1::OUTCOME_UNSPECIFIED) {
           out->push_back(keys::OutcomeValue(d.verdict().outcome()));
         }
       },
       [](const v1::DecisionFilter& f) {
         if (f.outcome() == v1::OUTCOME_UNSPECIFIED) return Values();
         return Values{keys::OutcomeValue(f.outcome())};
       }},
      {F::kRuleId, "filter.rule_id", 1, RuleIds,
       [](const v1::DecisionFilter& f) { return One(f.rule_id()); }},
      {F::kRuleSetRevision, "filter.rule_set_revision", 1,
       [](const v1::Decision& d, Values* out) {
         out->push_back(d.rule_set_revision());
       },
       [](const v1::DecisionFilter& f) { return One(f.rule_set_revision()); }},
      // Schema 5 (backfilled for older records when a store is upgraded).
      {F::kDeclarationId, "filter.declaration_id", 5,
       [](const v1::Decision& d, Values* out) {
         out->push_back(d.declaration().declaration_id());
       },
       [](const v1::DecisionFilter& f) { return One(f.declaration_id()); }},
      {F::kGoverningDay, "filter.governing_from", 5,
       [](const v1::Decision& d, Values* out) {
         if (!IsUnset(d.governing_date())) {
           out->push_back(keys::GoverningDayValue(d.governing_date()));
         }
       },
       GoverningDays},
      {F::kCaller, "filter.caller", 5,
       [](const v1::Decision& d, Values* out) { out->push_back(d.caller()); },
       [](const v1::DecisionFilter& f) { return One(f.caller()); }},
      {F::kCallerRole, "filter.caller_role", 5,
       [](const v1::Decision& d, Values* out) {
         if (d.caller_role() != v1::CALLER_ROLE_UNSPECIFIED) {
           out->push_back(keys::CallerRoleValue(d.caller_role()));
         }
       },
       [](const v1::DecisionFilter& f) {
         if (f.caller_role() == v1::CALLER_ROLE_UNSPECIFIED) return Values();
         return Values{keys::CallerRoleValue(f.caller_role())};
       }},
      {F::kDestination, "filter.destination_country", 5,
       [](const v1::Decision& d, Values* out) {
         out->push_back(d.declaration().destination_country());
       },
       [](const v1::DecisionFilter& f) {
         return One(f.destination_country());
       }},
  };
}

}  // namespace

const std::vector<IndexedField>& IndexedFields() {
  static const std::vector<IndexedField>* table = BuildTable();
  return *table;
}

std::set<std::pair<keys::Field, std::string>> PostingValues(
    const v1::Decision& decision, int after_schema) {
  std::set<std::pair<keys::Field, std::string>> out;
  Values values;
  for (const IndexedField& f : IndexedFields()) {
    if (f.since_schema <= after_schema) continue;
    values.clear();
    f.record_values(decision, &values);
    for (std::string& v : values) {
      if (!v.empty()) out.emplace(f.field, std::move(v));
    }
  }
  return out;
}

absl::Status ValidateIndexedFilter(const v1::DecisionFilter& filter) {
  if (!filter.has_governing_from() && !filter.has_governing_to()) {
    return absl::OkStatus();
  }
  if (!filter.has_governing_from() || !filter.has_governing_to()) {
    return absl::InvalidArgumentError(
        absl::StrCat(filter.has_governing_from() ? "filter.governing_to"
                                                 : "filter.governing_from",
                     ": is required when the other end of the governing "
                     "date range is given"));
  }
  absl::StatusOr<absl::CivilDay> from = ToCivilDay(filter.governing_from());
  if (!from.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("filter.governing_from: ", from.status().message()));
  }
  absl::StatusOr<absl::CivilDay> to = ToCivilDay(filter.governing_to());
  if (!to.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("filter.governing_to: ", to.status().message()));
  }
  if (*to < *from) {
    return absl::InvalidArgumentError(
        "filter.governing_to: must not be before governing_from");
  }
  if (*to - *from >= kMaxGoverningDays) {
    return absl::InvalidArgumentError(
        absl::StrCat("filter.governing_to: the range spans ",
                     *to - *from + 1, " days; at most ", kMaxGoverningDays));
  }
  return absl::OkStatus();
}

v1::Decision SummaryRow(const v1::Decision& d) {
  v1::Decision row;
  row.set_decision_id(d.decision_id());
  row.set_stream(d.stream());
  row.set_sequence(d.sequence());
  row.set_caller(d.caller());
  row.set_caller_role(d.caller_role());
  *row.mutable_governing_date() = d.governing_date();
  const v1::Declaration& decl = d.declaration();
  v1::Declaration& row_decl = *row.mutable_declaration();
  row_decl.set_origin_country(decl.origin_country());
  row_decl.set_destination_country(decl.destination_country());
  row_decl.set_exporter_id(decl.exporter_id());
  for (const v1::LineItem& line : decl.lines()) {
    row_decl.add_lines()->set_hs_code(line.hs_code());
  }
  const v1::Verdict& verdict = d.verdict();
  v1::Verdict& row_verdict = *row.mutable_verdict();
  row_verdict.set_outcome(verdict.outcome());
  *row_verdict.mutable_total_duty() = verdict.total_duty();
  for (const v1::LineVerdict& line : verdict.lines()) {
    *row_verdict.add_lines()->mutable_total_duty() = line.total_duty();
  }
  Values rules;
  RuleIds(d, &rules);
  std::sort(rules.begin(), rules.end());
  rules.erase(std::unique(rules.begin(), rules.end()), rules.end());
  for (std::string& rule : rules) {
    row_verdict.add_findings()->set_rule_id(std::move(rule));
  }
  return row;
}

bool HasUnindexed(const v1::DecisionFilter& filter) {
  return filter.has_duty_min() || filter.has_duty_max();
}

bool MatchesUnindexed(const v1::DecisionFilter& filter,
                      const v1::Decision& decision) {
  const v1::Money& duty = decision.verdict().total_duty();
  for (const v1::Money* bound : {filter.has_duty_min() ? &filter.duty_min()
                                                       : nullptr,
                                 filter.has_duty_max() ? &filter.duty_max()
                                                       : nullptr}) {
    if (bound == nullptr) continue;
    if (bound->currency_code() != duty.currency_code()) return false;
  }
  if (filter.has_duty_min() &&
      duty.minor_units() < filter.duty_min().minor_units()) {
    return false;
  }
  if (filter.has_duty_max() &&
      duty.minor_units() > filter.duty_max().minor_units()) {
    return false;
  }
  return true;
}

}  // namespace tradecheck::storage
