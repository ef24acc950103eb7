// The engine's index and matchers: which measures a line can possibly meet,
// and whether a country or an HS code falls in a measure's selectors.
//
// Measures are indexed by (country dimension, country, HS prefix) so a line
// looks up a fixed number of hash keys instead of scanning every measure:
// the cost of a line does not grow with measures that cannot apply to it.
// The loader fills a LineIndex from IndexKeys; the engine asks Candidates
// and then checks each candidate's full scope (EvalContext::Match).
#ifndef TRADECHECK_RULES_INDEX_H_
#define TRADECHECK_RULES_INDEX_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "tradecheck/v1/rule_data.pb.h"

namespace tradecheck::rules {

// "<dim>|<country>|<hs prefix>" -> measure indices (ascending).
// dim: O origin, X exporting country, D destination, * any.
using LineIndex = absl::flat_hash_map<std::string, std::vector<int>>;

// Index keys of a measure's scope (see LineIndex).
std::vector<std::string> IndexKeys(const v1::Scope& scope);

// Indices (ascending, unique) of the line-level measures in `index` whose
// keys match the line. The caller still checks each measure's full scope.
void Candidates(const LineIndex& index, absl::string_view origin,
                absl::string_view exporter, absl::string_view destination,
                absl::string_view hs_code, std::vector<int>* out);

// Whether `code` falls in the selector, the most specific entry winning:
// kNo when no include matches or an exclude at least as long as the best
// include does; kUnconfirmed when the best match is an unconfirmed include
// longer than any confirmed one; else kYes (also for empty includes, unless
// excluded). `matched_len` gets the length of the longest matching include
// prefix (0 when the include lists are empty).
enum class HsMatch { kNo, kYes, kUnconfirmed };
HsMatch MatchHs(const v1::HsSelector& selector, absl::string_view code,
                int* matched_len);

// A selector compiled to hash sets, for the long published lists (a
// thousand HTS lines): matching costs one lookup per prefix length of the
// code instead of a scan. Same answers as MatchHs.
struct CompiledHs {
  absl::flat_hash_set<std::string> include, exclude, unconfirmed;
};
CompiledHs CompileHs(const v1::HsSelector& selector);
HsMatch MatchHs(const CompiledHs& compiled, absl::string_view code,
                int* matched_len);

// True when `country` is not excepted and the list is empty or names it.
bool MatchCountry(const v1::CountrySelector& selector,
                  absl::string_view country);

}  // namespace tradecheck::rules

#endif  // TRADECHECK_RULES_INDEX_H_
