// RuleSetImpl: the validated, indexed form of the agreement data behind a
// RuleSet. Internal to rules/ (the engine reads it; nothing outside rules/
// should include this header). Immutable once built by the loader.
//
// Measures are indexed by (country dimension, country, HS prefix) so a line
// looks up a fixed number of hash keys instead of scanning every measure:
// the cost of a line does not grow with measures that cannot apply to it.
#ifndef TRADECHECK_RULES_RULE_SET_IMPL_H_
#define TRADECHECK_RULES_RULE_SET_IMPL_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "rules/rule_set.h"
#include "tradecheck/v1/rule_data.pb.h"

namespace tradecheck::rules {

// A calendar day from the data; unset dates map to the far future so that
// [from, until) windows with an open end compare naturally.
absl::CivilDay DayOrMax(const v1::Date& date);
absl::CivilDay DayOrMin(const v1::Date& date);
inline bool InWindow(absl::CivilDay d, const v1::Date& from,
                     const v1::Date& until) {
  return DayOrMin(from) <= d && d < DayOrMax(until);
}

// What an instrument's status history says about one day.
struct StatusAt {
  v1::InstrumentStatus status = v1::INSTRUMENT_STATUS_UNSPECIFIED;
  const v1::StatusPeriod* period = nullptr;  // null: no period covers it
  bool before_first = false;  // before the instrument's first period
};
StatusAt InstrumentStatusAt(const v1::InstrumentData& instrument,
                            absl::CivilDay day);

struct MeasureEntry {
  const v1::Measure* measure = nullptr;
  const v1::InstrumentData* instrument = nullptr;
};

class RuleSetImpl {
 public:
  SourceFiles sources;
  std::string revision;
  v1::RuleSetConfig config;
  absl::CivilDay data_current_through;
  std::vector<std::unique_ptr<v1::InstrumentData>> instruments;  // by id
  std::vector<MeasureEntry> measures;  // sorted by measure_id
  absl::flat_hash_map<std::string, int> measure_by_id;
  absl::flat_hash_map<std::string, int> instrument_by_id;
  // "<dim>|<country>|<hs prefix>" -> measure indices (ascending).
  // dim: O origin, X exporting country, D destination, * any.
  absl::flat_hash_map<std::string, std::vector<int>> line_index;
  std::vector<int> declaration_level;  // declaration-level notices
  absl::flat_hash_set<std::string> countries;
  absl::flat_hash_set<std::string> currencies;  // reference/iso4217.tab
  absl::flat_hash_set<std::string> hs_codes;  // 2-, 4- and 6-digit HS 2022
  absl::flat_hash_set<std::string> stacking_groups;

  const v1::StagePolicy* FindStagePolicy(absl::string_view name) const;

  // Indices (ascending, unique) of the line-level measures whose index keys
  // match the line. The caller still checks each measure's full scope.
  void Candidates(absl::string_view origin, absl::string_view exporter,
                  absl::string_view destination, absl::string_view hs_code,
                  std::vector<int>* out) const;
};

// Index keys of a measure's scope (see line_index).
std::vector<std::string> IndexKeys(const v1::Scope& scope);

// True when `code` matches the selector's includes (or, with
// `unconfirmed_only`, its unconfirmed includes) with the most specific
// entry winning against the excludes. `matched_len` gets the length of the
// longest matching include prefix (0 when the include list is empty).
enum class HsMatch { kNo, kYes, kUnconfirmed };
HsMatch MatchHs(const v1::HsSelector& selector, absl::string_view code,
                int* matched_len);

bool MatchCountry(const v1::CountrySelector& selector,
                  absl::string_view country);

}  // namespace tradecheck::rules

#endif  // TRADECHECK_RULES_RULE_SET_IMPL_H_
