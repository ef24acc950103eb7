// RuleSet: the agreement data, loaded once, validated whole, and then
// immutable. Checks share it through std::shared_ptr<const RuleSet>; a reload
// builds a new one and swaps the pointer (cel-cpp style), so a check that
// started on the old set finishes on it.
//
// Thread safety: a RuleSet is immutable after Load*; every const method is
// safe to call from any thread.
//
// The set is read from a directory of protobuf text files (one per legal
// instrument, schema in proto/tradecheck/v1/rule_data.proto) plus the
// reference tables shipped beside them (HS 2022 nomenclature, ISO 3166
// country codes, policy settings). Its revision is a content hash of every
// file loaded, so two servers with the same files report the same revision.
#ifndef TRADECHECK_RULES_RULE_SET_H_
#define TRADECHECK_RULES_RULE_SET_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "tradecheck/v1/agreement_service.pb.h"

namespace tradecheck::rules {

// File name (relative to the agreement directory, '/'-separated) -> bytes.
using SourceFiles = std::map<std::string, std::string>;

class RuleSetImpl;  // defined in rule_set_impl.h, for the engine only

class RuleSet {
 public:
  // Reads every data file under `dir` and validates the whole set. On any
  // problem returns INVALID_ARGUMENT (FAILED_PRECONDITION when `dir` is not a
  // readable directory) with a message of the form
  // "<file>:<line>: <problem>", e.g.
  // "us-eo-14326.textproto:41: unknown country code \"XX\"".
  static absl::StatusOr<std::shared_ptr<const RuleSet>> LoadFromDirectory(
      const std::string& dir);

  // Same validation, from file contents held in memory (as stored in the
  // audit store for re-evaluation under an old revision).
  static absl::StatusOr<std::shared_ptr<const RuleSet>> LoadFromSources(
      const SourceFiles& files);

  ~RuleSet();
  RuleSet(const RuleSet&) = delete;
  RuleSet& operator=(const RuleSet&) = delete;

  // Lower-case hex SHA-256 over the sorted (name, bytes) pairs of sources().
  const std::string& revision() const;
  // Every file loaded, by name. Feeding this to LoadFromSources yields a
  // set with the same revision.
  const SourceFiles& sources() const;
  // Older rule sets: last day the data is known to be current
  // (CivilDay::max() for rule sets that confirm each instrument instead).
  absl::CivilDay data_current_through() const;
  // "us-s301-forced-labor-2026 (confirmed 2026-10-09, review due
  // 2027-01-09)" for every instrument whose review is due on or before
  // `today`: what the operator is told at start and at each reload.
  std::vector<std::string> InstrumentsPastReview(absl::CivilDay today) const;

  // True for an ISO 3166-1 alpha-2 code that exists ("MY"), false for
  // anything else ("my", "XX", "MYS").
  bool IsKnownCountry(absl::string_view alpha2) const;
  // True for an ISO 4217 currency code in reference/iso4217.tab ("USD"),
  // false for anything else ("usd", "XXZ", "XXX").
  bool IsKnownCurrency(absl::string_view alpha3) const;

  // OK when `code` is 6 to 10 digits whose first 6 are a subheading of the
  // schedule ("HS2022" when empty, or "HS2017" for the codes the data maps
  // from HS 2017). Otherwise INVALID_ARGUMENT whose message says what is
  // wrong (e.g. "880310 is not an HS 2022 subheading; HS 2017 8803 became
  // 8807 in HS 2022").
  absl::Status CheckHsCode(absl::string_view code,
                           absl::string_view schedule_version) const;

  // True when `heading` (4 digits) is an HS 2022 heading ("8505"); for
  // bill-of-materials components declared at heading level.
  bool IsKnownHsHeading(absl::string_view heading) const;

  // Instruments with their status at `as_of`; measures included when
  // `with_measures`.
  std::vector<v1::Instrument> ListInstruments(absl::CivilDay as_of,
                                              bool with_measures) const;
  // NOT_FOUND for an unknown id.
  absl::StatusOr<v1::Instrument> GetInstrument(absl::string_view instrument_id,
                                               absl::CivilDay as_of) const;
  // Revision, currency, counts and files (loaded_at is left unset: the rule
  // set never reads a clock).
  v1::RuleSetInfo Info() const;

  // For the engine.
  const RuleSetImpl& impl() const { return *impl_; }

 private:
  explicit RuleSet(std::unique_ptr<RuleSetImpl> impl);
  std::unique_ptr<RuleSetImpl> impl_;
};

}  // namespace tradecheck::rules

#endif  // TRADECHECK_RULES_RULE_SET_H_
