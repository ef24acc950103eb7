// Aggregates decisions into the groups of a SummarizeDecisions answer:
// counts by outcome and duty totals per currency, per combination of the
// requested dimensions. Pure: the core feeds it the summary rows
// (storage::SummaryRow) of the decisions its filter selects through the
// store's postings and the caller may read; a full record sums the same.
//
//   DecisionSummary summary(request.group_by());
//   for (const v1::Decision& d : page) summary.Add(d);
//   v1::SummarizeDecisionsResponse answer = summary.Finish();
#ifndef TRADECHECK_CORE_DECISION_SUMMARY_H_
#define TRADECHECK_CORE_DECISION_SUMMARY_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "google/protobuf/repeated_field.h"
#include "tradecheck/v1/audit_service.pb.h"

namespace tradecheck {

// Most dimensions one summary groups by.
inline constexpr int kMaxSummaryDimensions = 3;

// INVALID_ARGUMENT naming group_by[i] for an unknown or repeated dimension
// or too many of them.
absl::Status ValidateGroupBy(
    const google::protobuf::RepeatedField<int>& group_by);

class DecisionSummary {
 public:
  // REQUIRES: ValidateGroupBy(group_by) is OK.
  explicit DecisionSummary(const google::protobuf::RepeatedField<int>& group_by);

  void Add(const v1::Decision& decision);
  int64_t decisions() const { return total_.decisions(); }
  v1::SummarizeDecisionsResponse Finish() const;

 private:
  // The values of one dimension a decision has, each with the duty that
  // goes with it (the record's total, or its lines' for an HS chapter).
  std::vector<std::pair<std::string, v1::Money>> Values(
      v1::SummaryDimension dimension, const v1::Decision& decision) const;

  std::vector<v1::SummaryDimension> group_by_;
  std::map<std::vector<std::string>, v1::SummaryGroup> groups_;
  v1::SummaryGroup total_;
};

}  // namespace tradecheck

#endif  // TRADECHECK_CORE_DECISION_SUMMARY_H_
