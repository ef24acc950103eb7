#include "rules/loader.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/dates.h"
#include "common/digits.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "rules/checker.h"
#include "rules/index.h"
#include "rules/kinds/additional_duty.h"
#include "rules/kinds/content_rule.h"
#include "rules/kinds/exemption.h"
#include "rules/kinds/export_commitment.h"
#include "rules/kinds/export_measure.h"
#include "rules/kinds/notice.h"
#include "rules/kinds/origin_rule.h"

namespace tradecheck::rules {
namespace {

using google::protobuf::TextFormat;

// Collects text-format errors as "file:line: problem" (1-based lines).
class FileErrorCollector : public google::protobuf::io::ErrorCollector {
 public:
  explicit FileErrorCollector(std::string file) : file_(std::move(file)) {}
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    if (first_.empty()) {
      first_ = absl::StrCat(file_, ":", line + 1, ": ", message, " (column ",
                            column + 1, ")");
    }
  }
  const std::string& first() const { return first_; }

 private:
  std::string file_;
  std::string first_;
};

// Length-prefixed name and content, in name order (std::map), so no two
// different sets of files can produce the same byte stream.
std::string RevisionOf(const SourceFiles& files) {
  Sha256Hasher h;
  for (const auto& [name, bytes] : files) {
    h.UpdateU64BigEndian(name.size());
    h.Update(name);
    h.UpdateU64BigEndian(bytes.size());
    h.Update(bytes);
  }
  return absl::BytesToHexString(std::move(h).Finish());
}

// Loader state shared by the validation steps.
class Loader {
 public:
  explicit Loader(RuleSetImpl* impl) : impl_(impl) {}

  absl::Status Run();

 private:
  absl::Status LoadCountries();
  absl::Status LoadHs();
  template <typename M>
  absl::Status Parse(const std::string& file, M* msg,
                     TextFormat::ParseInfoTree* tree);
  absl::Status CheckConfig(const Checker& c);
  absl::Status CheckInstrument(const Checker& c, const v1::InstrumentData& in);
  absl::Status CheckMeasure(const Checker& c, const Path& at,
                            const v1::Measure& m);
  absl::Status CheckReferences(const Checker& c, const Path& at,
                               const v1::Measure& m);
  absl::Status CheckOverlaps();

  RuleSetImpl* impl_;
  // Per instrument file: the parse tree (for late reference checks).
  struct Parsed {
    std::string file;
    std::unique_ptr<TextFormat::ParseInfoTree> tree;
    v1::InstrumentData* data;
  };
  std::vector<Parsed> parsed_;
  // measure id -> (parsed index, measure index) for error locations.
  absl::flat_hash_map<std::string, std::pair<int, int>> where_;
};

absl::Status Loader::LoadCountries() {
  auto it = impl_->sources.find(std::string(kCountryFile));
  if (it == impl_->sources.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat(kCountryFile, ":0: missing reference table"));
  }
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(it->second, '\n')) {
    ++line_no;
    if (line.empty() || line[0] == '#') continue;
    std::vector<absl::string_view> cols = absl::StrSplit(line, '\t');
    if (cols[0].size() != 2 || !absl::ascii_isupper(cols[0][0]) ||
        !absl::ascii_isupper(cols[0][1])) {
      return absl::InvalidArgumentError(
          absl::StrCat(kCountryFile, ":", line_no, ": not an alpha-2 code: \"",
                       cols[0], "\""));
    }
    impl_->countries.insert(std::string(cols[0]));
  }
  return absl::OkStatus();
}

absl::Status Loader::LoadHs() {
  auto it = impl_->sources.find(std::string(kHsFile));
  if (it == impl_->sources.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat(kHsFile, ":0: missing reference table"));
  }
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(it->second, '\n')) {
    ++line_no;
    if (line_no == 1 || line.empty()) continue;  // header
    // section,hscode,description,...: the code is the second field and is
    // never quoted.
    std::vector<absl::string_view> cols =
        absl::StrSplit(line, absl::MaxSplits(',', 2));
    if (cols.size() < 2) {
      return absl::InvalidArgumentError(
          absl::StrCat(kHsFile, ":", line_no, ": malformed row"));
    }
    if (cols[1] == "TOTAL") continue;
    // Chapter 99 ("commodities not specified according to kind") is a
    // statistical code of the UN dataset, not a subheading a declaration
    // may use; its rows are the only ones in section "TOTAL".
    if (cols[0] == "TOTAL") continue;
    if (!AllDigits(cols[1]) || cols[1].size() % 2 != 0 || cols[1].size() > 6) {
      return absl::InvalidArgumentError(absl::StrCat(
          kHsFile, ":", line_no, ": malformed HS code \"", cols[1], "\""));
    }
    impl_->hs_codes.insert(std::string(cols[1]));
  }
  return absl::OkStatus();
}

template <typename M>
absl::Status Loader::Parse(const std::string& file, M* msg,
                           TextFormat::ParseInfoTree* tree) {
  const auto it = impl_->sources.find(file);
  FileErrorCollector errors(file);
  TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  parser.WriteLocationsTo(tree);
  if (!parser.ParseFromString(it->second, msg)) {
    return absl::InvalidArgumentError(
        errors.first().empty() ? absl::StrCat(file, ":0: cannot parse")
                               : errors.first());
  }
  return absl::OkStatus();
}

absl::Status Loader::CheckConfig(const Checker& c) {
  const v1::RuleSetConfig& cfg = impl_->config;
  TC_RETURN_IF_ERROR(c.CheckDate({{"data_current_through", -1}},
                                 cfg.data_current_through(), true));
  if (cfg.data_current_through_basis().empty()) {
    return c.Error({{"data_current_through", -1}},
                   "data_current_through needs a data_current_through_basis");
  }
  const v1::EngineRuleIds& ids = cfg.engine_rule_ids();
  if (ids.data_not_current().empty() || ids.data_gap().empty() ||
      ids.unconfirmed().empty() || ids.quota_shortfall().empty() ||
      ids.fact_missing().empty()) {
    return c.Error({{"engine_rule_ids", -1}},
                   "every engine rule id must be set");
  }
  if (cfg.max_rate_basis_points() <= 0) {
    return c.Error({{"max_rate_basis_points", -1}},
                   "max_rate_basis_points must be positive");
  }
  if (cfg.unconfirmed_rate_severity() == v1::SEVERITY_UNSPECIFIED) {
    return c.Error({}, "unconfirmed_rate_severity must be set");
  }
  absl::flat_hash_set<std::string> names;
  for (int i = 0; i < cfg.stage_policies_size(); ++i) {
    const auto& p = cfg.stage_policies(i);
    if (p.name().empty() || !names.insert(p.name()).second) {
      return c.Error({{"stage_policies", i}},
                     "stage policy needs a unique name");
    }
    if (p.rationale().empty() || p.source_url().empty()) {
      return c.Error({{"stage_policies", i}},
                     "stage policy needs a rationale and a source_url");
    }
  }
  for (int i = 0; i < cfg.coverage_gaps_size(); ++i) {
    const auto& g = cfg.coverage_gaps(i);
    const Path at = {{"coverage_gaps", i}, {"window", -1}};
    TC_RETURN_IF_ERROR(
        c.CheckDate(Join(at, {{"from", -1}}), g.window().from(), false));
    TC_RETURN_IF_ERROR(
        c.CheckDate(Join(at, {{"until", -1}}), g.window().until(), false));
    TC_RETURN_IF_ERROR(
        c.CheckWindow(at, g.window().from(), g.window().until()));
    TC_RETURN_IF_ERROR(
        c.CheckScope({{"coverage_gaps", i}, {"scope", -1}}, g.scope()));
  }
  for (int i = 0; i < cfg.hs2017_mappings_size(); ++i) {
    const auto& m = cfg.hs2017_mappings(i);
    const Path at = {{"hs2017_mappings", i}};
    TC_RETURN_IF_ERROR(
        c.CheckHsPrefix(Join(at, {{"to_prefix", -1}}), m.to_prefix()));
    if (m.rule_id().empty() || !AllDigits(m.from_prefix())) {
      return c.Error(at, "HS 2017 mapping needs a rule_id and a from_prefix");
    }
  }
  return absl::OkStatus();
}

absl::Status Loader::CheckInstrument(const Checker& c,
                                     const v1::InstrumentData& in) {
  if (in.instrument_id().empty()) {
    return c.Error({{"instrument_id", -1}}, "missing instrument_id");
  }
  if (in.title().empty()) return c.Error({{"title", -1}}, "missing title");
  if (in.source_url().empty()) {
    return c.Error({{"instrument_id", -1}},
                   absl::StrCat("missing source: instrument \"",
                                in.instrument_id(), "\" has no source_url"));
  }
  if (in.status_history_size() == 0) {
    return c.Error({{"instrument_id", -1}}, "missing status_history");
  }
  for (int i = 0; i < in.status_history_size(); ++i) {
    const auto& p = in.status_history(i);
    const Path at = {{"status_history", i}};
    if (p.status() == v1::INSTRUMENT_STATUS_UNSPECIFIED) {
      return c.Error(at, "status period without a status");
    }
    TC_RETURN_IF_ERROR(c.CheckDate(Join(at, {{"from", -1}}), p.from(), true));
    TC_RETURN_IF_ERROR(
        c.CheckDate(Join(at, {{"until", -1}}), p.until(), false));
    TC_RETURN_IF_ERROR(c.CheckWindow(at, p.from(), p.until()));
    if (i > 0) {
      const auto& prev = in.status_history(i - 1);
      if (DayOrMax(prev.until()) > DayOrMin(p.from())) {
        return c.Error(at,
                       absl::StrCat("overlapping windows: status period from ",
                                    FormatDate(p.from()),
                                    " starts before the previous one ends"));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status Loader::CheckMeasure(const Checker& c, const Path& at,
                                  const v1::Measure& m) {
  if (m.measure_id().empty()) return c.Error(at, "missing measure_id");
  const Path id_at = Join(at, {{"measure_id", -1}});
  if (m.rule_ids_size() == 0) {
    return c.Error(id_at, absl::StrCat("measure \"", m.measure_id(),
                                       "\" has no rule_ids"));
  }
  if (m.source_url().empty() || m.article().empty()) {
    return c.Error(id_at,
                   absl::StrCat("missing source: measure \"", m.measure_id(),
                                "\" needs an article and a source_url"));
  }
  if (m.unconfirmed() && m.unconfirmed_note().empty()) {
    return c.Error(id_at, "unconfirmed measure needs an unconfirmed_note");
  }
  TC_RETURN_IF_ERROR(
      c.CheckDate(Join(at, {{"valid_from", -1}}), m.valid_from(), true));
  TC_RETURN_IF_ERROR(
      c.CheckDate(Join(at, {{"valid_until", -1}}), m.valid_until(), false));
  TC_RETURN_IF_ERROR(c.CheckWindow(Join(at, {{"valid_from", -1}}),
                                   m.valid_from(), m.valid_until()));
  TC_RETURN_IF_ERROR(c.CheckScope(Join(at, {{"scope", -1}}), m.scope()));
  // Each kind checks its own fields (rules/kinds/).
  switch (m.kind_case()) {
    case v1::Measure::kAdditionalDuty:
      return CheckAdditionalDuty(c, at, m);
    case v1::Measure::kExemption:
      return CheckExemption(c, at, m);
    case v1::Measure::kExportMeasure:
      return CheckExportMeasure(c, at, m);
    case v1::Measure::kContentRule:
      return CheckContentRule(c, at, m);
    case v1::Measure::kOriginRule:
      return CheckOriginRule(c, at, m);
    case v1::Measure::kNotice:
      return CheckNotice(c, at, m);
    case v1::Measure::kExportCommitment:
      return absl::OkStatus();
    default:
      return c.Error(
          id_at, absl::StrCat("measure \"", m.measure_id(), "\" has no kind"));
  }
}

absl::Status Loader::CheckReferences(const Checker& c, const Path& at,
                                     const v1::Measure& m) {
  switch (m.kind_case()) {
    case v1::Measure::kAdditionalDuty:
      return CheckAdditionalDutyReferences(c, at, m);
    case v1::Measure::kExemption:
      return CheckExemptionReferences(c, at, m);
    case v1::Measure::kExportMeasure:
      return CheckExportMeasureReferences(c, at, m);
    case v1::Measure::kExportCommitment:
      return CheckExportCommitmentReferences(c, at, m);
    case v1::Measure::kOriginRule:
      return CheckOriginRuleReferences(c, at, m);
    default:
      return absl::OkStatus();
  }
}

// Two measures of one stacking group with the same HS includes, sharing an
// origin and overlapping in time would both claim a line: refuse them.
absl::Status Loader::CheckOverlaps() {
  // Ordered, so the error reported for several overlaps is always the same.
  std::map<std::string, std::vector<int>> by_group;
  for (int i = 0; i < static_cast<int>(impl_->measures.size()); ++i) {
    const v1::Measure& m = *impl_->measures[i].measure;
    if (m.has_additional_duty() &&
        !m.additional_duty().stacking_group().empty()) {
      by_group[m.additional_duty().stacking_group()].push_back(i);
    }
  }
  auto key = [](const v1::Measure& m) {
    std::vector<std::string> inc(m.scope().hs().include().begin(),
                                 m.scope().hs().include().end());
    std::sort(inc.begin(), inc.end());
    return absl::StrJoin(inc, ",");
  };
  auto share_origin = [](const v1::CountrySelector& a,
                         const v1::CountrySelector& b) {
    if (a.countries().empty() || b.countries().empty()) {
      return a.countries().empty() && b.countries().empty();
    }
    for (const auto& x : a.countries()) {
      for (const auto& y : b.countries()) {
        if (x == y) return true;
      }
    }
    return false;
  };
  for (const auto& [group, idx] : by_group) {
    if (idx.size() > 64) continue;  // synthetic stress sets: groups are tiny
    for (size_t a = 0; a < idx.size(); ++a) {
      for (size_t b = a + 1; b < idx.size(); ++b) {
        const v1::Measure& x = *impl_->measures[idx[a]].measure;
        const v1::Measure& y = *impl_->measures[idx[b]].measure;
        if (key(x) != key(y) ||
            !share_origin(x.scope().origins(), y.scope().origins())) {
          continue;
        }
        if (DayOrMin(x.valid_from()) < DayOrMax(y.valid_until()) &&
            DayOrMin(y.valid_from()) < DayOrMax(x.valid_until())) {
          const auto [pi, mi] = where_.at(y.measure_id());
          Checker c(parsed_[pi].file, parsed_[pi].tree.get(),
                    v1::InstrumentData::descriptor(), *impl_);
          return c.Error(
              {{"measures", mi}, {"valid_from", -1}},
              absl::StrCat("overlapping windows: measure \"", y.measure_id(),
                           "\" and \"", x.measure_id(),
                           "\" both apply to the same goods in "
                           "stacking group \"",
                           group, "\""));
        }
      }
    }
  }
  return absl::OkStatus();
}

absl::Status Loader::Run() {
  impl_->revision = RevisionOf(impl_->sources);
  TC_RETURN_IF_ERROR(LoadCountries());
  TC_RETURN_IF_ERROR(LoadHs());

  const std::string rs(kRuleSetFile);
  if (impl_->sources.find(rs) == impl_->sources.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat(kRuleSetFile, ":0: missing rule-set file"));
  }
  {
    TextFormat::ParseInfoTree tree;
    TC_RETURN_IF_ERROR(Parse(rs, &impl_->config, &tree));
    Checker c(rs, &tree, v1::RuleSetConfig::descriptor(), *impl_);
    TC_RETURN_IF_ERROR(CheckConfig(c));
    impl_->data_current_through =
        DayOrMin(impl_->config.data_current_through());
  }

  for (const auto& [name, bytes] : impl_->sources) {
    if (name == rs || !absl::EndsWith(name, ".textproto")) continue;
    auto data = std::make_unique<v1::InstrumentData>();
    Parsed p{name, std::make_unique<TextFormat::ParseInfoTree>(), data.get()};
    TC_RETURN_IF_ERROR(Parse(name, data.get(), p.tree.get()));
    Checker c(name, p.tree.get(), v1::InstrumentData::descriptor(), *impl_);
    TC_RETURN_IF_ERROR(CheckInstrument(c, *data));
    if (impl_->instrument_by_id.contains(data->instrument_id())) {
      return c.Error({{"instrument_id", -1}},
                     absl::StrCat("duplicate instrument_id \"",
                                  data->instrument_id(), "\""));
    }
    impl_->instrument_by_id[data->instrument_id()] = 0;
    for (int i = 0; i < data->measures_size(); ++i) {
      const v1::Measure& m = data->measures(i);
      TC_RETURN_IF_ERROR(CheckMeasure(c, {{"measures", i}}, m));
      if (where_.contains(m.measure_id())) {
        return c.Error(
            {{"measures", i}, {"measure_id", -1}},
            absl::StrCat("duplicate measure_id \"", m.measure_id(), "\""));
      }
      where_[m.measure_id()] = {static_cast<int>(parsed_.size()), i};
      if (m.has_additional_duty() &&
          !m.additional_duty().stacking_group().empty()) {
        impl_->stacking_groups.insert(m.additional_duty().stacking_group());
      }
    }
    impl_->instruments.push_back(std::move(data));
    parsed_.push_back(std::move(p));
  }

  std::sort(impl_->instruments.begin(), impl_->instruments.end(),
            [](const auto& a, const auto& b) {
              return a->instrument_id() < b->instrument_id();
            });
  for (int i = 0; i < static_cast<int>(impl_->instruments.size()); ++i) {
    const v1::InstrumentData* in = impl_->instruments[i].get();
    impl_->instrument_by_id[in->instrument_id()] = i;
    for (const v1::Measure& m : in->measures()) {
      impl_->measures.push_back({&m, in});
    }
  }
  std::sort(impl_->measures.begin(), impl_->measures.end(),
            [](const MeasureEntry& a, const MeasureEntry& b) {
              return a.measure->measure_id() < b.measure->measure_id();
            });
  for (int i = 0; i < static_cast<int>(impl_->measures.size()); ++i) {
    impl_->measure_by_id[impl_->measures[i].measure->measure_id()] = i;
  }

  // References need every file loaded first.
  for (const Parsed& p : parsed_) {
    Checker c(p.file, p.tree.get(), v1::InstrumentData::descriptor(), *impl_);
    for (int i = 0; i < p.data->measures_size(); ++i) {
      TC_RETURN_IF_ERROR(
          CheckReferences(c, {{"measures", i}}, p.data->measures(i)));
    }
  }
  TC_RETURN_IF_ERROR(CheckOverlaps());

  for (int i = 0; i < static_cast<int>(impl_->measures.size()); ++i) {
    const v1::Measure& m = *impl_->measures[i].measure;
    if (m.has_notice() && m.notice().declaration_level()) {
      impl_->declaration_level.push_back(i);
      continue;
    }
    for (const std::string& k : IndexKeys(m.scope())) {
      impl_->line_index[k].push_back(i);
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status LoadRuleSet(RuleSetImpl* impl) {
  Loader loader(impl);
  return loader.Run();
}

}  // namespace tradecheck::rules
