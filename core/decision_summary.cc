#include "core/decision_summary.h"

#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/errors.h"

namespace tradecheck {
namespace {

std::string OutcomeKey(v1::Outcome outcome) {
  switch (outcome) {
    case v1::OUTCOME_ALLOW:
      return "ALLOW";
    case v1::OUTCOME_DENY:
      return "DENY";
    case v1::OUTCOME_NEEDS_REVIEW:
      return "NEEDS_REVIEW";
    default:
      return "UNSPECIFIED";
  }
}

// Adds `duty` to the group's total in its currency (kept sorted by code).
void AddDuty(const v1::Money& duty, v1::SummaryGroup* group) {
  if (duty.currency_code().empty()) return;
  for (v1::Money& m : *group->mutable_total_duty()) {
    if (m.currency_code() == duty.currency_code()) {
      m.set_minor_units(m.minor_units() + duty.minor_units());
      return;
    }
  }
  auto* list = group->mutable_total_duty();
  int at = 0;
  while (at < list->size() &&
         list->Get(at).currency_code() < duty.currency_code()) {
    ++at;
  }
  *list->Add() = duty;
  for (int i = list->size() - 1; i > at; --i) list->SwapElements(i, i - 1);
}

void Count(const v1::Decision& d, const v1::Money& duty,
           v1::SummaryGroup* group) {
  group->set_decisions(group->decisions() + 1);
  switch (d.verdict().outcome()) {
    case v1::OUTCOME_ALLOW:
      group->set_allow(group->allow() + 1);
      break;
    case v1::OUTCOME_DENY:
      group->set_deny(group->deny() + 1);
      break;
    case v1::OUTCOME_NEEDS_REVIEW:
      group->set_needs_review(group->needs_review() + 1);
      break;
    default:
      break;
  }
  AddDuty(duty, group);
}

}  // namespace

absl::Status ValidateGroupBy(
    const google::protobuf::RepeatedField<int>& group_by) {
  FieldViolations violations;
  if (group_by.size() > kMaxSummaryDimensions) {
    violations.Add("group_by", absl::StrCat("has ", group_by.size(),
                                            " dimensions; at most ",
                                            kMaxSummaryDimensions));
  }
  std::set<int> seen;
  for (int i = 0; i < group_by.size(); ++i) {
    const int d = group_by.Get(i);
    const std::string field = absl::StrCat("group_by[", i, "]");
    if (!v1::SummaryDimension_IsValid(d) ||
        d == v1::SUMMARY_DIMENSION_UNSPECIFIED) {
      violations.Add(field, absl::StrCat("unknown dimension ", d));
    } else if (!seen.insert(d).second) {
      violations.Add(field, "repeats a dimension");
    }
  }
  return violations.ToStatus();
}

DecisionSummary::DecisionSummary(
    const google::protobuf::RepeatedField<int>& group_by) {
  for (int d : group_by) {
    group_by_.push_back(static_cast<v1::SummaryDimension>(d));
  }
}

std::vector<std::pair<std::string, v1::Money>> DecisionSummary::Values(
    v1::SummaryDimension dimension, const v1::Decision& d) const {
  const v1::Declaration& decl = d.declaration();
  const v1::Money& total = d.verdict().total_duty();
  switch (dimension) {
    case v1::SUMMARY_DIMENSION_OUTCOME:
      return {{OutcomeKey(d.verdict().outcome()), total}};
    case v1::SUMMARY_DIMENSION_ORIGIN:
      return {{decl.origin_country(), total}};
    case v1::SUMMARY_DIMENSION_DESTINATION:
      return {{decl.destination_country(), total}};
    case v1::SUMMARY_DIMENSION_EXPORTER:
      return {{decl.exporter_id(), total}};
    case v1::SUMMARY_DIMENSION_MONTH:
      return {{absl::StrFormat("%04d-%02d", d.governing_date().year(),
                               d.governing_date().month()),
               total}};
    case v1::SUMMARY_DIMENSION_RULE: {
      std::set<std::string> rules;
      for (const v1::Finding& f : d.verdict().findings()) {
        rules.insert(f.rule_id());
      }
      for (const v1::LineVerdict& line : d.verdict().lines()) {
        for (const v1::Finding& f : line.findings()) rules.insert(f.rule_id());
      }
      std::vector<std::pair<std::string, v1::Money>> out;
      for (const std::string& r : rules) out.emplace_back(r, total);
      return out;
    }
    case v1::SUMMARY_DIMENSION_HS_CHAPTER: {
      // Each chapter with the duty of its lines (verdict lines follow the
      // declaration's lines in order).
      std::map<std::string, v1::Money> chapters;
      for (int i = 0; i < decl.lines_size(); ++i) {
        const std::string chapter = decl.lines(i).hs_code().substr(0, 2);
        v1::Money& m = chapters[chapter];
        if (i < d.verdict().lines_size()) {
          const v1::Money& line_duty = d.verdict().lines(i).total_duty();
          if (m.currency_code().empty()) {
            m.set_currency_code(line_duty.currency_code());
          }
          if (m.currency_code() == line_duty.currency_code()) {
            m.set_minor_units(m.minor_units() + line_duty.minor_units());
          }
        }
      }
      return {chapters.begin(), chapters.end()};
    }
    default:
      return {};
  }
}

void DecisionSummary::Add(const v1::Decision& d) {
  Count(d, d.verdict().total_duty(), &total_);
  if (group_by_.empty()) return;
  // Every combination of the decision's values of each dimension; the duty
  // of a combination is the one of its most specific value (the lines of a
  // chapter, else the record's total).
  std::vector<std::pair<std::vector<std::string>, v1::Money>> keys = {
      {{}, d.verdict().total_duty()}};
  for (v1::SummaryDimension dimension : group_by_) {
    std::vector<std::pair<std::vector<std::string>, v1::Money>> next;
    for (const auto& [value, duty] : Values(dimension, d)) {
      for (const auto& [key, key_duty] : keys) {
        std::vector<std::string> extended = key;
        extended.push_back(value);
        next.emplace_back(std::move(extended),
                          dimension == v1::SUMMARY_DIMENSION_HS_CHAPTER
                              ? duty
                              : key_duty);
      }
    }
    keys = std::move(next);
  }
  for (const auto& [key, duty] : keys) {
    v1::SummaryGroup& group = groups_[key];
    if (group.key().empty()) {
      for (const std::string& k : key) group.add_key(k);
    }
    Count(d, duty, &group);
  }
}

v1::SummarizeDecisionsResponse DecisionSummary::Finish() const {
  v1::SummarizeDecisionsResponse out;
  for (v1::SummaryDimension d : group_by_) out.add_group_by(d);
  for (const auto& [key, group] : groups_) *out.add_groups() = group;
  *out.mutable_total() = total_;
  return out;
}

}  // namespace tradecheck
