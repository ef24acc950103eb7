// Checker: load-time validation of one parsed agreement file. It turns a
// problem at a field path into the "<file>:<line>: <problem>" error every
// loader message uses, and holds the field checks every measure kind shares
// (dates, windows, rates, country and HS selectors, scopes). The loader
// (loader.cc) makes one per file; each kind's Check in rules/kinds/ uses it.
//
//   Checker c(file, &tree, v1::InstrumentData::descriptor(), impl);
//   TC_RETURN_IF_ERROR(c.CheckDate(Join(at, {{"valid_from", -1}}), d, true));
//   return c.Error(at, "a notice needs a severity and a message");
#ifndef TRADECHECK_RULES_CHECKER_H_
#define TRADECHECK_RULES_CHECKER_H_

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/text_format.h"
#include "rules/rule_set_impl.h"
#include "tradecheck/v1/rule_data.pb.h"

namespace tradecheck::rules {

// A path into a parsed message: field name and index (-1 for singular).
struct PathElem {
  const char* field;
  int index;
};
using Path = std::vector<PathElem>;

// `base` followed by `more`.
Path Join(Path base, std::initializer_list<PathElem> more);

class Checker {
 public:
  // `tree` and `rules` must outlive the checker. `rules` holds the reference
  // tables (countries, HS codes) and the config already loaded.
  Checker(std::string file,
          const google::protobuf::TextFormat::ParseInfoTree* tree,
          const google::protobuf::Descriptor* desc, const RuleSetImpl& rules)
      : file_(std::move(file)), tree_(tree), desc_(desc), rules_(rules) {}

  // INVALID_ARGUMENT "<file>:<line of path>: <problem>".
  absl::Status Error(const Path& path, absl::string_view problem) const;

  const RuleSetImpl& rules() const { return rules_; }

  absl::Status CheckDate(const Path& at, const v1::Date& d,
                         bool required) const;
  absl::Status CheckWindow(const Path& at, const v1::Date& from,
                           const v1::Date& until) const;
  // [0, max_rate_basis_points] of the config.
  absl::Status CheckRate(const Path& at, int32_t bp) const;
  absl::Status CheckCountries(const Path& at,
                              const v1::CountrySelector& s) const;
  absl::Status CheckHsPrefix(const Path& at, absl::string_view prefix) const;
  absl::Status CheckHsSelector(const Path& at, const v1::HsSelector& s) const;
  absl::Status CheckScope(const Path& at, const v1::Scope& s) const;
  // The stacking group `group` is defined by some additional duty.
  // REQUIRES: every file's measures are loaded (rules().stacking_groups).
  absl::Status CheckStackingGroup(const Path& at,
                                  absl::string_view group) const;
  // A measure with id `id` exists. REQUIRES: every file's measures loaded.
  absl::Status CheckMeasureId(const Path& at, absl::string_view id) const;
  // Windows [from, until) that must each be valid and not overlap.
  absl::Status CheckSuspensions(
      const Path& at,
      const google::protobuf::RepeatedPtrField<v1::DateWindow>& windows,
      bool refuse_overlaps) const;

 private:
  std::string file_;
  const google::protobuf::TextFormat::ParseInfoTree* tree_;
  const google::protobuf::Descriptor* desc_;
  const RuleSetImpl& rules_;
};

}  // namespace tradecheck::rules

#endif  // TRADECHECK_RULES_CHECKER_H_
