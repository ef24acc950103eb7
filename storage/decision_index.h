// The indexed fields of a decision: ONE table read by the write path (which
// postings a record gets) and the query path (which postings a filter
// walks). A new filter is one row here plus its proto field, its
// validation (core) and its CLI flag; keys.h says what the field means for
// records written before it existed, and the store backfills the postings
// of rows newer than a store's schema when it opens it (audit_store.cc).
//
//   for (const IndexedField& f : IndexedFields()) {
//     std::vector<std::string> any_of = f.filter_values(filter);  // OR
//   }
#ifndef TRADECHECK_STORAGE_DECISION_INDEX_H_
#define TRADECHECK_STORAGE_DECISION_INDEX_H_

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "storage/keys.h"
#include "tradecheck/v1/audit_service.pb.h"

namespace tradecheck::storage {

struct IndexedField {
  keys::Field field;
  // The DecisionFilter field it answers ("filter.origin_country").
  const char* filter_field;
  // The schema version whose writes started giving records this posting;
  // a store of an older schema gets it backfilled at open.
  int since_schema;
  // The posting values of a record (duplicates and empty values are
  // dropped by PostingValues).
  void (*record_values)(const v1::Decision& decision,
                        std::vector<std::string>* values);
  // The values a filter accepts (any of them: OR); empty when the filter
  // does not use this field. REQUIRES: ValidateIndexedFilter(filter) is OK.
  std::vector<std::string> (*filter_values)(const v1::DecisionFilter& filter);
};

// Every indexed field, in a fixed order.
const std::vector<IndexedField>& IndexedFields();

// The postings a record gets: every (field, value) of the fields with
// since_schema > after_schema (0: all of them).
std::set<std::pair<keys::Field, std::string>> PostingValues(
    const v1::Decision& decision, int after_schema = 0);

// Widest governing date range a filter may span (it is walked day by day).
inline constexpr int kMaxGoverningDays = 3660;

// INVALID_ARGUMENT naming the field for what the indexes cannot answer: an
// impossible governing date, a range with its end before its start or wider
// than kMaxGoverningDays.
absl::Status ValidateIndexedFilter(const v1::DecisionFilter& filter);

// The summary row of a decision (schema 6): a copy holding only what
// SummarizeDecisions reads, so a summary is answered from the postings and
// these rows without reading a record. It keeps the fields the summary
// groups by (outcome, origin, destination, exporter, governing date, every
// line's HS code, every rule a finding names), the duties it sums (the
// verdict's and each line's total), and what the read checks use (caller,
// caller role, exporter, the duty for MatchesUnindexed). Each rule id
// appears once, as a verdict-level finding holding only its rule_id.
// The store writes it beside the record, in the same batch, and
// `tradecheck_store_admin check` compares every row with its record.
v1::Decision SummaryRow(const v1::Decision& decision);

// The filters no index answers (the duty range), checked on a record.
bool MatchesUnindexed(const v1::DecisionFilter& filter,
                      const v1::Decision& decision);
// True when the filter has any such filter.
bool HasUnindexed(const v1::DecisionFilter& filter);

}  // namespace tradecheck::storage

#endif  // TRADECHECK_STORAGE_DECISION_INDEX_H_
