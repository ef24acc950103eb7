// The loader: turns the agreement files of a RuleSet (RuleSetImpl::sources)
// into the validated, indexed RuleSetImpl. It parses the rule-set file and
// one InstrumentData per instrument, checks every field (the checks each
// measure kind owns live in rules/kinds/, the shared ones in checker.h),
// then cross-references and indexes the measures. Every error reads
// "<file>:<line>: <problem>".
//
//   auto impl = std::make_unique<RuleSetImpl>();
//   impl->sources = files;
//   TC_RETURN_IF_ERROR(LoadRuleSet(impl.get()));
#ifndef TRADECHECK_RULES_LOADER_H_
#define TRADECHECK_RULES_LOADER_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "rules/rule_set_impl.h"

namespace tradecheck::rules {

// Names of the files a rule set needs besides the instruments.
inline constexpr absl::string_view kRuleSetFile = "ruleset.textproto";
inline constexpr absl::string_view kHsFile = "reference/hs2022.csv";
inline constexpr absl::string_view kCountryFile = "reference/iso3166.tab";
// ISO 4217 currencies, generated from Debian's iso-codes by
// reference/gen_iso4217.py. Optional: revisions stored before the table
// existed must still load for re-evaluation (which never validates).
inline constexpr absl::string_view kCurrencyFile = "reference/iso4217.tab";
// Published HTS product lists (NamedHsList.csv_file), one CSV each.
inline constexpr absl::string_view kHtsListDir = "reference/hts-lists/";

// Validates `impl->sources` and fills every other member of *impl.
// INVALID_ARGUMENT "<file>:<line>: <problem>" on the first problem found.
absl::Status LoadRuleSet(RuleSetImpl* impl);

}  // namespace tradecheck::rules

#endif  // TRADECHECK_RULES_LOADER_H_
