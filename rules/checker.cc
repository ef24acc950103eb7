#include "rules/checker.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/dates.h"
#include "common/digits.h"
#include "common/status_macros.h"

namespace tradecheck::rules {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::TextFormat;

// Finds the 1-based line of the deepest element of `path` the parser
// recorded; 0 when nothing was recorded.
int LineOf(const TextFormat::ParseInfoTree* tree, const Descriptor* desc,
           const Path& path) {
  int line = -1;
  for (size_t i = 0; i < path.size() && tree != nullptr && desc != nullptr;
       ++i) {
    const FieldDescriptor* field = desc->FindFieldByName(path[i].field);
    if (field == nullptr) break;
    const int index = field->is_repeated() ? path[i].index : -1;
    if (field->is_repeated() && index < 0) break;
    const auto loc = tree->GetLocation(field, index);
    if (loc.line >= 0) line = loc.line;
    if (field->type() != FieldDescriptor::TYPE_MESSAGE) break;
    tree = tree->GetTreeForNested(field, index);
    desc = field->message_type();
  }
  return line + 1;
}

}  // namespace

Path Join(Path base, std::initializer_list<PathElem> more) {
  base.insert(base.end(), more.begin(), more.end());
  return base;
}

absl::Status Checker::Error(const Path& path, absl::string_view problem) const {
  return absl::InvalidArgumentError(
      absl::StrCat(file_, ":", LineOf(tree_, desc_, path), ": ", problem));
}

absl::Status Checker::CheckDate(const Path& at, const v1::Date& d,
                                bool required) const {
  if (IsUnset(d)) {
    if (required) return Error(at, "missing date");
    return absl::OkStatus();
  }
  auto day = ToCivilDay(d);
  if (!day.ok())
    return Error(at, absl::StrCat("bad date: ", day.status().message()));
  return absl::OkStatus();
}

absl::Status Checker::CheckWindow(const Path& at, const v1::Date& from,
                                  const v1::Date& until) const {
  if (!IsUnset(from) && !IsUnset(until) && DayOrMin(from) >= DayOrMax(until)) {
    return Error(at, absl::StrCat("inverted window: from ", FormatDate(from),
                                  " is not before until ", FormatDate(until)));
  }
  return absl::OkStatus();
}

absl::Status Checker::CheckRate(const Path& at, int32_t bp) const {
  const int32_t max = rules_.config.max_rate_basis_points();
  if (bp < 0 || bp > max) {
    return Error(at, absl::StrCat("rate ", bp,
                                  " basis points out of range [0, ", max, "]"));
  }
  return absl::OkStatus();
}

absl::Status Checker::CheckCountries(const Path& at,
                                     const v1::CountrySelector& s) const {
  for (int i = 0; i < s.countries_size(); ++i) {
    if (!rules_.countries.contains(s.countries(i))) {
      return Error(
          Join(at, {{"countries", i}}),
          absl::StrCat("unknown country code \"", s.countries(i), "\""));
    }
  }
  for (int i = 0; i < s.except_size(); ++i) {
    if (!rules_.countries.contains(s.except(i))) {
      return Error(Join(at, {{"except", i}}),
                   absl::StrCat("unknown country code \"", s.except(i), "\""));
    }
  }
  return absl::OkStatus();
}

absl::Status Checker::CheckHsPrefix(const Path& at,
                                    absl::string_view prefix) const {
  if (!AllDigits(prefix) || prefix.size() % 2 != 0 || prefix.size() > 10) {
    return Error(at, absl::StrCat("HS prefix \"", prefix,
                                  "\" must be 2, 4, 6, 8 or 10 digits"));
  }
  const absl::string_view head =
      prefix.substr(0, std::min<size_t>(6, prefix.size()));
  if (!rules_.hs_codes.contains(head)) {
    return Error(at, absl::StrCat("unknown HS code \"", prefix, "\" (", head,
                                  " is not in reference/hs2022.csv)"));
  }
  return absl::OkStatus();
}

absl::Status Checker::CheckHsSelector(const Path& at,
                                      const v1::HsSelector& s) const {
  for (int i = 0; i < s.include_size(); ++i) {
    TC_RETURN_IF_ERROR(CheckHsPrefix(Join(at, {{"include", i}}), s.include(i)));
  }
  for (int i = 0; i < s.exclude_size(); ++i) {
    TC_RETURN_IF_ERROR(CheckHsPrefix(Join(at, {{"exclude", i}}), s.exclude(i)));
  }
  for (int i = 0; i < s.unconfirmed_include_size(); ++i) {
    TC_RETURN_IF_ERROR(CheckHsPrefix(Join(at, {{"unconfirmed_include", i}}),
                                     s.unconfirmed_include(i)));
  }
  if (s.unconfirmed_include_size() > 0 && s.unconfirmed_note().empty()) {
    return Error(at, "unconfirmed_include needs an unconfirmed_note");
  }
  return absl::OkStatus();
}

absl::Status Checker::CheckScope(const Path& at, const v1::Scope& s) const {
  TC_RETURN_IF_ERROR(CheckCountries(Join(at, {{"origins", -1}}), s.origins()));
  TC_RETURN_IF_ERROR(CheckCountries(Join(at, {{"exporting_countries", -1}}),
                                    s.exporting_countries()));
  TC_RETURN_IF_ERROR(
      CheckCountries(Join(at, {{"destinations", -1}}), s.destinations()));
  TC_RETURN_IF_ERROR(CheckHsSelector(Join(at, {{"hs", -1}}), s.hs()));
  for (int i = 0; i < s.facts_size(); ++i) {
    if (s.facts(i).fact() == v1::FACT_KIND_UNSPECIFIED ||
        s.facts(i).equals() == v1::ANSWER_UNSPECIFIED) {
      return Error(Join(at, {{"facts", i}}),
                   "fact condition needs a fact and an answer");
    }
  }
  return absl::OkStatus();
}

absl::Status Checker::CheckSuspensions(
    const Path& at,
    const google::protobuf::RepeatedPtrField<v1::DateWindow>& windows,
    bool refuse_overlaps) const {
  for (int i = 0; i < windows.size(); ++i) {
    const Path sat = Join(at, {{"suspensions", i}});
    TC_RETURN_IF_ERROR(
        CheckDate(Join(sat, {{"from", -1}}), windows.Get(i).from(), true));
    TC_RETURN_IF_ERROR(
        CheckWindow(sat, windows.Get(i).from(), windows.Get(i).until()));
    if (refuse_overlaps && i > 0 &&
        DayOrMax(windows.Get(i - 1).until()) >
            DayOrMin(windows.Get(i).from())) {
      return Error(sat, "overlapping windows: suspensions overlap");
    }
  }
  return absl::OkStatus();
}

absl::Status Checker::CheckStackingGroup(const Path& at,
                                         absl::string_view group) const {
  if (rules_.stacking_groups.contains(group)) return absl::OkStatus();
  return Error(at, absl::StrCat("reference to a stacking group no measure "
                                "defines: \"",
                                group, "\""));
}

absl::Status Checker::CheckMeasureId(const Path& at,
                                     absl::string_view id) const {
  if (rules_.measure_by_id.contains(id)) return absl::OkStatus();
  return Error(at, absl::StrCat("reference to a measure that does not "
                                "exist: \"",
                                id, "\""));
}

}  // namespace tradecheck::rules
