// RuleSetImpl: the validated, indexed form of the agreement data behind a
// RuleSet. Internal to rules/ (the engine reads it; nothing outside rules/
// should include this header). Immutable once built by the loader
// (loader.h); its line index is described in index.h.
#ifndef TRADECHECK_RULES_RULE_SET_IMPL_H_
#define TRADECHECK_RULES_RULE_SET_IMPL_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "rules/index.h"
#include "rules/rule_set.h"
#include "tradecheck/v1/agreement_service.pb.h"
#include "tradecheck/v1/common.pb.h"
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

// One period of an instrument's status history with its window as days,
// compiled at load (RuleSetImpl::instrument_status).
struct StatusDays {
  absl::CivilDay from;
  absl::CivilDay until;  // exclusive; the far future when open
  const v1::StatusPeriod* period;
};

struct MeasureEntry {
  const v1::Measure* measure = nullptr;
  const v1::InstrumentData* instrument = nullptr;
  // Compiled once at load (loader.cc) so that evaluating a line converts no
  // date and formats no citation per measure: the validity window as days,
  // and the citation (CiteMeasure, with the instrument's confirmation day)
  // that every finding and duty of the measure copies.
  absl::CivilDay valid_from = absl::CivilDay(1, 1, 1);
  absl::CivilDay valid_until = absl::CivilDay(9999, 12, 31);
  v1::Citation citation;
  absl::CivilDay confirmed_on = absl::CivilDay(1, 1, 1);
  // The instrument's status history as days, in RuleSetImpl.
  const std::vector<StatusDays>* status_days = nullptr;

  // The measure's [valid_from, valid_until) window holds `day`.
  bool ValidOn(absl::CivilDay day) const {
    return valid_from <= day && day < valid_until;
  }
};

// InstrumentStatusAt for a measure's instrument, through its compiled
// status history (no date converted per call).
StatusAt InstrumentStatusAt(const MeasureEntry& e, absl::CivilDay day);

class RuleSetImpl {
 public:
  SourceFiles sources;
  std::string revision;
  v1::RuleSetConfig config;
  absl::CivilDay data_current_through;
  std::vector<std::unique_ptr<v1::InstrumentData>> instruments;  // by id
  std::vector<std::vector<StatusDays>> instrument_status;  // as instruments
  std::vector<MeasureEntry> measures;  // sorted by measure_id
  absl::flat_hash_map<std::string, int> measure_by_id;
  absl::flat_hash_map<std::string, int> instrument_by_id;
  LineIndex line_index;                // line-level measures, see index.h
  std::vector<int> declaration_level;  // declaration-level notices
  absl::flat_hash_set<std::string> countries;
  absl::flat_hash_set<std::string> currencies;  // reference/iso4217.tab
  absl::flat_hash_set<std::string> hs_codes;  // 2-, 4- and 6-digit HS 2022
  absl::flat_hash_set<std::string> stacking_groups;
  // Selectors with many entries (the published lists), compiled; keyed by
  // the selector inside its measure (the protos never move once loaded).
  absl::flat_hash_map<const v1::HsSelector*, CompiledHs> compiled_hs;
  // HS code -> exemption measures listing lines MORE specific than it
  // ("151110" -> the list holding "15111000"): a line declared at that code
  // may be on the list, which only the full HTS code can tell. Each with
  // the first listed line under the code, which the finding quotes (found
  // at load: a list holds thousands of lines).
  struct CoarserExemption {
    int measure;
    std::string example;
  };
  absl::flat_hash_map<std::string, std::vector<CoarserExemption>>
      coarser_exemptions;

  // MatchHs through the compiled table when the selector has one.
  HsMatch MatchHs(const v1::HsSelector& selector, absl::string_view code,
                  int* matched_len) const {
    const auto it = compiled_hs.find(&selector);
    return it == compiled_hs.end()
               ? rules::MatchHs(selector, code, matched_len)
               : rules::MatchHs(it->second, code, matched_len);
  }

  const v1::StagePolicy* FindStagePolicy(absl::string_view name) const;

  // Indices (ascending, unique) of the line-level measures whose index keys
  // match the line. The caller still checks each measure's full scope.
  void Candidates(absl::string_view origin, absl::string_view exporter,
                  absl::string_view destination, absl::string_view hs_code,
                  std::vector<int>* out) const {
    rules::Candidates(line_index, origin, exporter, destination, hs_code, out);
  }
};

// A measure as AgreementService lists it (id, kind, title, validity,
// citation, rule ids, summary).
v1::MeasureSummary SummarizeMeasure(const v1::InstrumentData& instrument,
                                    const v1::Measure& measure);

// The one citation builder: `instrument` with `measure`'s article and
// source, or (measure null) the instrument's own source.
v1::Citation CiteMeasure(const v1::InstrumentData& instrument,
                         const v1::Measure* measure);

}  // namespace tradecheck::rules

#endif  // TRADECHECK_RULES_RULE_SET_IMPL_H_
