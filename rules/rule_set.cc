#include "rules/rule_set.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/dates.h"
#include "common/digits.h"
#include "common/status_macros.h"
#include "rules/loader.h"
#include "rules/rule_set_impl.h"

namespace tradecheck::rules {
namespace {

// The kind a MeasureSummary names.
std::string Kind(const v1::Measure& m) {
  switch (m.kind_case()) {
    case v1::Measure::kAdditionalDuty:
      return "ADDITIONAL_DUTY";
    case v1::Measure::kExemption:
      return "EXEMPTION";
    case v1::Measure::kExportMeasure:
      switch (m.export_measure().type()) {
        case v1::EXPORT_MEASURE_TYPE_BAN:
          return "EXPORT_BAN";
        case v1::EXPORT_MEASURE_TYPE_QUOTA:
          return "EXPORT_QUOTA";
        default:
          return "EXPORT_LICENCE";
      }
    case v1::Measure::kContentRule:
      return "CONTENT_RULE";
    case v1::Measure::kOriginRule:
      return "ORIGIN_RULE";
    case v1::Measure::kNotice:
      return "NOTICE";
    case v1::Measure::kExportCommitment:
      return "EXPORT_COMMITMENT";
    default:
      return "UNSPECIFIED";
  }
}

}  // namespace

absl::CivilDay DayOrMax(const v1::Date& date) {
  if (IsUnset(date)) return absl::CivilDay(9999, 12, 31);
  auto d = ToCivilDay(date);
  return d.ok() ? *d : absl::CivilDay(9999, 12, 31);
}

absl::CivilDay DayOrMin(const v1::Date& date) {
  if (IsUnset(date)) return absl::CivilDay(1, 1, 1);
  auto d = ToCivilDay(date);
  return d.ok() ? *d : absl::CivilDay(1, 1, 1);
}

StatusAt InstrumentStatusAt(const v1::InstrumentData& instrument,
                            absl::CivilDay day) {
  StatusAt out;
  if (instrument.status_history_size() > 0 &&
      day < DayOrMin(instrument.status_history(0).from())) {
    out.before_first = true;
    return out;
  }
  for (const v1::StatusPeriod& p : instrument.status_history()) {
    if (InWindow(day, p.from(), p.until())) {
      out.status = p.status();
      out.period = &p;
      return out;
    }
  }
  return out;
}

StatusAt InstrumentStatusAt(const MeasureEntry& e, absl::CivilDay day) {
  StatusAt out;
  const std::vector<StatusDays>& history = *e.status_days;
  if (!history.empty() && day < history.front().from) {
    out.before_first = true;
    return out;
  }
  for (const StatusDays& p : history) {
    if (p.from <= day && day < p.until) {
      out.status = p.period->status();
      out.period = p.period;
      return out;
    }
  }
  return out;
}

const v1::StagePolicy* RuleSetImpl::FindStagePolicy(
    absl::string_view name) const {
  for (const v1::StagePolicy& p : config.stage_policies()) {
    if (p.name() == name) return &p;
  }
  return nullptr;
}

v1::Citation CiteMeasure(const v1::InstrumentData& instrument,
                         const v1::Measure* measure) {
  v1::Citation c;
  c.set_instrument_id(instrument.instrument_id());
  c.set_instrument_title(instrument.title());
  if (measure == nullptr) {
    c.set_source_url(instrument.source_url());
    c.set_primary_document(instrument.primary_document());
    *c.mutable_further_references() = instrument.further_references();
    c.set_no_primary_source_reason(instrument.no_primary_source_reason());
  } else {
    c.set_article(measure->article());
    c.set_source_url(measure->source_url());
    c.set_primary_document(measure->primary_document().empty()
                               ? instrument.primary_document()
                               : measure->primary_document());
    *c.mutable_further_references() = measure->further_references();
    c.set_no_primary_source_reason(measure->no_primary_source_reason());
  }
  return c;
}

RuleSet::RuleSet(std::unique_ptr<RuleSetImpl> impl) : impl_(std::move(impl)) {}
RuleSet::~RuleSet() = default;

absl::StatusOr<std::shared_ptr<const RuleSet>> RuleSet::LoadFromDirectory(
    const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return absl::FailedPreconditionError(
        absl::StrCat(dir, ": not a readable directory"));
  }
  SourceFiles files;
  fs::recursive_directory_iterator it(dir, ec), end;
  if (ec) {
    return absl::FailedPreconditionError(absl::StrCat(dir, ": ", ec.message()));
  }
  for (; it != end; it.increment(ec)) {
    if (ec) {
      return absl::FailedPreconditionError(
          absl::StrCat(dir, ": ", ec.message()));
    }
    if (!it->is_regular_file(ec)) continue;
    const fs::path rel = fs::relative(it->path(), dir, ec);
    std::string name = rel.generic_string();
    const bool hts_list = absl::StartsWith(name, kHtsListDir) &&
                          absl::EndsWith(name, ".csv");
    if (!absl::EndsWith(name, ".textproto") && name != kHsFile &&
        name != kCountryFile && name != kCurrencyFile && !hts_list) {
      continue;  // READMEs and editor files are not data
    }
    std::ifstream in(it->path(), std::ios::binary);
    if (!in) {
      return absl::FailedPreconditionError(
          absl::StrCat(name, ": cannot read file"));
    }
    std::ostringstream bytes;
    bytes << in.rdbuf();
    files[name] = bytes.str();
  }
  return LoadFromSources(files);
}

absl::StatusOr<std::shared_ptr<const RuleSet>> RuleSet::LoadFromSources(
    const SourceFiles& files) {
  auto impl = std::make_unique<RuleSetImpl>();
  impl->sources = files;
  TC_RETURN_IF_ERROR(LoadRuleSet(impl.get()));
  return std::shared_ptr<const RuleSet>(new RuleSet(std::move(impl)));
}

const std::string& RuleSet::revision() const { return impl_->revision; }
const SourceFiles& RuleSet::sources() const { return impl_->sources; }
absl::CivilDay RuleSet::data_current_through() const {
  return impl_->data_current_through;
}

bool RuleSet::IsKnownCountry(absl::string_view alpha2) const {
  return impl_->countries.contains(alpha2);
}

bool RuleSet::IsKnownCurrency(absl::string_view alpha3) const {
  return impl_->currencies.contains(alpha3);
}

bool RuleSet::IsKnownHsHeading(absl::string_view heading) const {
  return heading.size() == 4 && AllDigits(heading) &&
         impl_->hs_codes.contains(heading);
}

absl::Status RuleSet::CheckHsCode(absl::string_view code,
                                  absl::string_view schedule_version) const {
  if (!AllDigits(code) || code.size() < 6 || code.size() > 10) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", code, "\" is not 6 to 10 digits"));
  }
  const absl::string_view six = code.substr(0, 6);
  if (schedule_version.empty() || schedule_version == "HS2022") {
    if (impl_->hs_codes.contains(six)) return absl::OkStatus();
    for (const auto& m : impl_->config.hs2017_mappings()) {
      if (absl::StartsWith(six, m.from_prefix())) {
        return absl::InvalidArgumentError(absl::StrCat(
            six, " is not an HS 2022 subheading; HS 2017 ", m.from_prefix(),
            " became ", m.to_prefix(), " in HS 2022"));
      }
    }
    return absl::InvalidArgumentError(
        absl::StrCat(six, " is not an HS 2022 subheading"));
  }
  if (schedule_version == "HS2017") {
    for (const auto& m : impl_->config.hs2017_mappings()) {
      for (const auto& s : m.from_subheadings()) {
        if (s == six) return absl::OkStatus();
      }
    }
    // Subheadings unchanged between the editions are accepted as they are.
    if (impl_->hs_codes.contains(six)) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat(
        six,
        " is neither an HS 2022 subheading nor an HS 2017 subheading "
        "the data maps"));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown tariff schedule version \"", schedule_version,
                   "\" (HS2022 or HS2017)"));
}

namespace {

v1::Instrument ToInstrument(const v1::InstrumentData& in, absl::CivilDay as_of,
                            bool with_measures) {
  v1::Instrument out;
  out.set_instrument_id(in.instrument_id());
  out.set_title(in.title());
  out.set_issuer(in.issuer());
  *out.mutable_citation() = CiteMeasure(in, nullptr);
  *out.mutable_status_history() = in.status_history();
  out.set_status(InstrumentStatusAt(in, as_of).status);
  out.set_notes(in.notes());
  if (in.has_confirmation()) {
    *out.mutable_confirmation() = in.confirmation();
    const int64_t age = as_of - DayOrMin(in.confirmation().confirmed_on());
    out.set_confirmation_age_days(static_cast<int32_t>(std::max<int64_t>(age, 0)));
    out.set_review_overdue(as_of >= DayOrMax(in.confirmation().review_due()));
  }
  if (with_measures) {
    for (const v1::Measure& m : in.measures()) {
      *out.add_measures() = SummarizeMeasure(in, m);
    }
  }
  return out;
}

}  // namespace

v1::MeasureSummary SummarizeMeasure(const v1::InstrumentData& in,
                                    const v1::Measure& m) {
  v1::MeasureSummary s;
  s.set_measure_id(m.measure_id());
  s.set_kind(Kind(m));
  s.set_title(m.title());
  *s.mutable_valid_from() = m.valid_from();
  *s.mutable_valid_until() = m.valid_until();
  *s.mutable_citation() = CiteMeasure(in, &m);
  *s.mutable_rule_ids() = m.rule_ids();
  s.set_summary(m.summary());
  return s;
}

std::vector<std::string> RuleSet::InstrumentsPastReview(
    absl::CivilDay today) const {
  std::vector<std::string> out;
  for (const auto& in : impl_->instruments) {
    if (in->has_confirmation() &&
        today >= DayOrMax(in->confirmation().review_due())) {
      out.push_back(absl::StrCat(in->instrument_id(), " (confirmed ",
                                 FormatDate(in->confirmation().confirmed_on()),
                                 ", review due ",
                                 FormatDate(in->confirmation().review_due()),
                                 ")"));
    }
  }
  return out;
}

std::vector<v1::Instrument> RuleSet::ListInstruments(absl::CivilDay as_of,
                                                     bool with_measures) const {
  std::vector<v1::Instrument> out;
  for (const auto& in : impl_->instruments) {
    out.push_back(ToInstrument(*in, as_of, with_measures));
  }
  return out;
}

absl::StatusOr<v1::Instrument> RuleSet::GetInstrument(
    absl::string_view instrument_id, absl::CivilDay as_of) const {
  auto it = impl_->instrument_by_id.find(instrument_id);
  if (it == impl_->instrument_by_id.end()) {
    return absl::NotFoundError(
        absl::StrCat("no instrument \"", instrument_id, "\""));
  }
  return ToInstrument(*impl_->instruments[it->second], as_of, true);
}

v1::RuleSetInfo RuleSet::Info() const {
  v1::RuleSetInfo info;
  info.set_revision(impl_->revision);
  if (impl_->config.has_data_current_through()) {
    *info.mutable_data_current_through() = impl_->config.data_current_through();
  }
  if (impl_->config.has_new_measures_watch()) {
    *info.mutable_new_measures_reviewed_through() =
        impl_->config.new_measures_watch().reviewed_through();
    info.set_new_measures_grace_days(
        impl_->config.new_measures_watch().grace_days());
  }
  info.set_instrument_count(static_cast<int>(impl_->instruments.size()));
  info.set_measure_count(static_cast<int>(impl_->measures.size()));
  for (const auto& [name, bytes] : impl_->sources) info.add_files(name);
  return info;
}

}  // namespace tradecheck::rules
