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
#include "common/text_format_errors.h"
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

// "www.federalregister.gov" from "https://www.federalregister.gov/d/...".
std::string HostOf(absl::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme != absl::string_view::npos) url.remove_prefix(scheme + 3);
  url = url.substr(0, url.find_first_of("/?#"));
  url = url.substr(0, url.find(':'));
  return absl::AsciiStrToLower(url);
}

// `host` is `suffix` or a subdomain of it.
bool HostIs(absl::string_view host, absl::string_view suffix) {
  return host == suffix ||
         (absl::EndsWith(host, suffix) &&
          host.size() > suffix.size() &&
          host[host.size() - suffix.size() - 1] == '.');
}

bool HostIn(absl::string_view host,
            const google::protobuf::RepeatedPtrField<std::string>& hosts) {
  for (const auto& h : hosts) {
    if (HostIs(host, h)) return true;
  }
  return false;
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
  absl::Status CheckSources(const Checker& c, const Path& at,
                            absl::string_view what, absl::string_view url,
                            absl::string_view no_primary_reason,
                            bool decides_money);
  // Named HS lists: collects every file's lists, reads their CSV files, and
  // merges them into the selectors that name them.
  absl::Status ResolveNamedLists();
  absl::Status ReadCsvList(const std::string& file, v1::HsSelector* into);
  absl::Status ExpandLists(const Checker& c, const Path& at,
                           v1::HsSelector* s);
  absl::Status ExpandMeasureLists(const Checker& c, const Path& at,
                                  v1::Measure* m);
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
  // Named HS lists, resolved (CSV rows merged into include).
  absl::flat_hash_map<std::string, v1::HsSelector> lists_;
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
  // Currencies: the same layout, three upper-case letters in column one.
  // Without the table no currency is known, so no declaration validates
  // against such a set.
  auto cur = impl_->sources.find(std::string(kCurrencyFile));
  if (cur == impl_->sources.end()) return absl::OkStatus();
  line_no = 0;
  for (absl::string_view line : absl::StrSplit(cur->second, '\n')) {
    ++line_no;
    if (line.empty() || line[0] == '#') continue;
    absl::string_view code = line.substr(0, line.find('\t'));
    if (code.size() != 3 || !absl::ascii_isupper(code[0]) ||
        !absl::ascii_isupper(code[1]) || !absl::ascii_isupper(code[2])) {
      return absl::InvalidArgumentError(absl::StrCat(
          kCurrencyFile, ":", line_no, ": not an alphabetic code"));
    }
    impl_->currencies.insert(std::string(code));
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
  TextFormatErrors errors(file);
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
  // Older revisions carry one data_current_through date; current ones a
  // new-measures watch and a confirmation per instrument. Exactly one.
  if (cfg.has_new_measures_watch() == cfg.has_data_current_through()) {
    return c.Error({{"new_measures_watch", -1}},
                   "set exactly one of new_measures_watch (current model) and "
                   "data_current_through (older rule sets)");
  }
  if (cfg.has_data_current_through()) {
    TC_RETURN_IF_ERROR(c.CheckDate({{"data_current_through", -1}},
                                   cfg.data_current_through(), true));
    if (cfg.data_current_through_basis().empty()) {
      return c.Error(
          {{"data_current_through", -1}},
          "data_current_through needs a data_current_through_basis");
    }
  } else {
    const v1::NewMeasuresWatch& w = cfg.new_measures_watch();
    TC_RETURN_IF_ERROR(
        c.CheckDate({{"new_measures_watch", -1}, {"reviewed_through", -1}},
                    w.reviewed_through(), true));
    if (w.grace_days() < 0 || w.basis().empty()) {
      return c.Error({{"new_measures_watch", -1}},
                     "new_measures_watch needs grace_days >= 0 and a basis");
    }
    if (cfg.engine_rule_ids().currency().empty() ||
        cfg.engine_rule_ids().rounding().empty()) {
      return c.Error({{"engine_rule_ids", -1}},
                     "every engine rule id must be set (currency, rounding)");
    }
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
  TC_RETURN_IF_ERROR(CheckSources(c, {{"source_url", -1}},
                                  absl::StrCat("instrument \"",
                                               in.instrument_id(), "\""),
                                  in.source_url(),
                                  in.no_primary_source_reason(), false));
  if (impl_->config.has_new_measures_watch()) {
    // The current model: every instrument says when its status was last
    // confirmed and when that is due again.
    const Path at = {{"confirmation", -1}};
    if (!in.has_confirmation()) {
      return c.Error({{"instrument_id", -1}},
                     absl::StrCat("instrument \"", in.instrument_id(),
                                  "\" needs a confirmation (confirmed_on, "
                                  "source_url, confirmed_by, review_due)"));
    }
    const v1::Confirmation& k = in.confirmation();
    TC_RETURN_IF_ERROR(
        c.CheckDate(Join(at, {{"confirmed_on", -1}}), k.confirmed_on(), true));
    TC_RETURN_IF_ERROR(
        c.CheckDate(Join(at, {{"review_due", -1}}), k.review_due(), true));
    if (DayOrMin(k.review_due()) <= DayOrMin(k.confirmed_on())) {
      return c.Error(Join(at, {{"review_due", -1}}),
                     "review_due must be after confirmed_on");
    }
    if (k.source_url().empty() || k.confirmed_by().empty()) {
      return c.Error(at, "a confirmation needs a source_url and confirmed_by");
    }
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

absl::Status Loader::CheckSources(const Checker& c, const Path& at,
                                  absl::string_view what,
                                  absl::string_view url,
                                  absl::string_view no_primary_reason,
                                  bool decides_money) {
  if (!impl_->config.has_source_policy()) return absl::OkStatus();
  const v1::SourcePolicy& p = impl_->config.source_policy();
  const std::string host = HostOf(url);
  if (decides_money && HostIn(host, p.no_standing_hosts())) {
    return c.Error(at, absl::StrCat("source: ", what, " decides money but "
                                    "cites ", host, ", a source of no "
                                    "standing; cite the primary instrument"));
  }
  if (!HostIn(host, p.primary_hosts()) && no_primary_reason.empty()) {
    return c.Error(at, absl::StrCat("source: ", what, " cites ", host,
                                    ", not a primary source; cite the "
                                    "primary instrument or say why none was "
                                    "found (no_primary_source_reason)"));
  }
  return absl::OkStatus();
}

absl::Status Loader::ReadCsvList(const std::string& file,
                                 v1::HsSelector* into) {
  const auto it = impl_->sources.find(file);
  if (it == impl_->sources.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat(file, ":0: missing HTS list file"));
  }
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(it->second, '\n')) {
    ++line_no;
    if (line.empty()) continue;
    const absl::string_view code = line.substr(0, line.find(','));
    if (line_no == 1) {
      if (code != "hts") {
        return absl::InvalidArgumentError(absl::StrCat(
            file, ":1: the first column must be \"hts\""));
      }
      continue;
    }
    if (!AllDigits(code) || code.size() % 2 != 0 || code.size() > 10) {
      return absl::InvalidArgumentError(
          absl::StrCat(file, ":", line_no, ": HS code \"", code,
                       "\" must be 2, 4, 6, 8 or 10 digits"));
    }
    const absl::string_view head = code.substr(0, std::min<size_t>(6, code.size()));
    if (!impl_->hs_codes.contains(head)) {
      return absl::InvalidArgumentError(
          absl::StrCat(file, ":", line_no, ": unknown HS code \"", code,
                       "\" (", head, " is not in ", kHsFile, ")"));
    }
    into->add_include(std::string(code));
  }
  if (into->include_size() == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(file, ":1: the list has no codes"));
  }
  return absl::OkStatus();
}

absl::Status Loader::ExpandLists(const Checker& c, const Path& at,
                                 v1::HsSelector* s) {
  for (int i = 0; i < s->lists_size(); ++i) {
    const auto it = lists_.find(s->lists(i));
    if (it == lists_.end()) {
      return c.Error(Join(at, {{"lists", i}}),
                     absl::StrCat("unknown HS list \"", s->lists(i),
                                  "\" (no hs_lists entry of that name)"));
    }
    const v1::HsSelector& l = it->second;
    for (const auto& x : l.include()) s->add_include(x);
    for (const auto& x : l.exclude()) s->add_exclude(x);
    for (const auto& x : l.unconfirmed_include()) s->add_unconfirmed_include(x);
    if (s->unconfirmed_note().empty()) s->set_unconfirmed_note(l.unconfirmed_note());
  }
  return absl::OkStatus();
}

absl::Status Loader::ExpandMeasureLists(const Checker& c, const Path& at,
                                        v1::Measure* m) {
  TC_RETURN_IF_ERROR(ExpandLists(c, Join(at, {{"scope", -1}, {"hs", -1}}),
                                 m->mutable_scope()->mutable_hs()));
  if (m->has_additional_duty()) {
    auto* d = m->mutable_additional_duty();
    for (int i = 0; i < d->exclusions_size(); ++i) {
      TC_RETURN_IF_ERROR(ExpandLists(
          c,
          Join(at, {{"additional_duty", -1}, {"exclusions", i},
                    {"asked_for", -1}}),
          d->mutable_exclusions(i)->mutable_asked_for()));
    }
  }
  if (m->has_content_rule()) {
    auto* r = m->mutable_content_rule();
    TC_RETURN_IF_ERROR(ExpandLists(
        c, Join(at, {{"content_rule", -1}, {"content_hs", -1}}),
        r->mutable_content_hs()));
    TC_RETURN_IF_ERROR(ExpandLists(
        c, Join(at, {{"content_rule", -1}, {"manufactured_hs", -1}}),
        r->mutable_manufactured_hs()));
  }
  return absl::OkStatus();
}

absl::Status Loader::ResolveNamedLists() {
  for (const Parsed& p : parsed_) {
    Checker c(p.file, p.tree.get(), v1::InstrumentData::descriptor(), *impl_);
    for (int i = 0; i < p.data->hs_lists_size(); ++i) {
      const v1::NamedHsList& l = p.data->hs_lists(i);
      const Path at = {{"hs_lists", i}};
      if (l.name().empty() || lists_.contains(l.name())) {
        return c.Error(at, "an HS list needs a unique name");
      }
      if (l.source_url().empty()) {
        return c.Error(at, absl::StrCat("missing source: HS list \"",
                                        l.name(), "\" has no source_url"));
      }
      if (l.hs().lists_size() > 0) {
        return c.Error(Join(at, {{"hs", -1}}),
                       "an HS list cannot refer to other lists");
      }
      TC_RETURN_IF_ERROR(c.CheckHsSelector(Join(at, {{"hs", -1}}), l.hs()));
      v1::HsSelector resolved = l.hs();
      if (!l.csv_file().empty()) {
        if (!absl::StartsWith(l.csv_file(), kHtsListDir)) {
          return c.Error(Join(at, {{"csv_file", -1}}),
                         absl::StrCat("csv_file must be under ", kHtsListDir));
        }
        TC_RETURN_IF_ERROR(ReadCsvList(l.csv_file(), &resolved));
      }
      if (resolved.include_size() == 0 &&
          resolved.unconfirmed_include_size() == 0) {
        return c.Error(at, absl::StrCat("HS list \"", l.name(),
                                        "\" includes nothing"));
      }
      lists_[l.name()] = std::move(resolved);
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
  TC_RETURN_IF_ERROR(CheckSources(
      c, Join(at, {{"source_url", -1}}),
      absl::StrCat("measure \"", m.measure_id(), "\""), m.source_url(),
      m.no_primary_source_reason(),
      m.has_additional_duty() || m.has_exemption()));
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
    case v1::Measure::kNotice:
      return CheckNoticeReferences(c, at, m);
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
        impl_->config.has_data_current_through()
            ? DayOrMin(impl_->config.data_current_through())
            : absl::CivilDay::max();
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
    impl_->instruments.push_back(std::move(data));
    parsed_.push_back(std::move(p));
  }

  // Lists may be named from any file, so measures are checked once every
  // file's lists are known.
  TC_RETURN_IF_ERROR(ResolveNamedLists());
  for (int pi = 0; pi < static_cast<int>(parsed_.size()); ++pi) {
    const Parsed& p = parsed_[pi];
    Checker c(p.file, p.tree.get(), v1::InstrumentData::descriptor(), *impl_);
    for (int i = 0; i < p.data->measures_size(); ++i) {
      TC_RETURN_IF_ERROR(
          ExpandMeasureLists(c, {{"measures", i}}, p.data->mutable_measures(i)));
      const v1::Measure& m = p.data->measures(i);
      TC_RETURN_IF_ERROR(CheckMeasure(c, {{"measures", i}}, m));
      if (where_.contains(m.measure_id())) {
        return c.Error(
            {{"measures", i}, {"measure_id", -1}},
            absl::StrCat("duplicate measure_id \"", m.measure_id(), "\""));
      }
      where_[m.measure_id()] = {pi, i};
      if (m.has_additional_duty() &&
          !m.additional_duty().stacking_group().empty()) {
        impl_->stacking_groups.insert(m.additional_duty().stacking_group());
      }
    }
  }

  std::sort(impl_->instruments.begin(), impl_->instruments.end(),
            [](const auto& a, const auto& b) {
              return a->instrument_id() < b->instrument_id();
            });
  impl_->instrument_status.resize(impl_->instruments.size());
  for (int i = 0; i < static_cast<int>(impl_->instruments.size()); ++i) {
    const v1::InstrumentData* in = impl_->instruments[i].get();
    impl_->instrument_by_id[in->instrument_id()] = i;
    std::vector<StatusDays>& history = impl_->instrument_status[i];
    for (const v1::StatusPeriod& p : in->status_history()) {
      history.push_back({DayOrMin(p.from()), DayOrMax(p.until()), &p});
    }
    for (const v1::Measure& m : in->measures()) {
      MeasureEntry e;
      e.measure = &m;
      e.instrument = in;
      e.status_days = &history;
      impl_->measures.push_back(std::move(e));
    }
  }
  std::sort(impl_->measures.begin(), impl_->measures.end(),
            [](const MeasureEntry& a, const MeasureEntry& b) {
              return a.measure->measure_id() < b.measure->measure_id();
            });
  for (int i = 0; i < static_cast<int>(impl_->measures.size()); ++i) {
    MeasureEntry& e = impl_->measures[i];
    impl_->measure_by_id[e.measure->measure_id()] = i;
    e.valid_from = DayOrMin(e.measure->valid_from());
    e.valid_until = DayOrMax(e.measure->valid_until());
    e.citation = CiteMeasure(*e.instrument, e.measure);
    if (e.instrument->has_confirmation()) {
      const v1::Date& on = e.instrument->confirmation().confirmed_on();
      *e.citation.mutable_status_confirmed_on() = on;
      e.confirmed_on = DayOrMin(on);
    }
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

  // Long selectors (the published lists) are matched through hash sets.
  constexpr int kCompileAbove = 16;
  for (int i = 0; i < static_cast<int>(impl_->measures.size()); ++i) {
    const v1::Measure& m = *impl_->measures[i].measure;
    auto compile = [&](const v1::HsSelector& s) {
      if (s.include_size() + s.exclude_size() + s.unconfirmed_include_size() >
          kCompileAbove) {
        impl_->compiled_hs.emplace(&s, CompileHs(s));
      }
    };
    compile(m.scope().hs());
    if (m.has_additional_duty()) {
      for (const auto& ex : m.additional_duty().exclusions()) {
        compile(ex.asked_for());
      }
    }
    if (m.has_exemption()) {
      // Prefix -> the first listed line that starts with it (itself
      // included, as the engine's scan in list order found it).
      absl::flat_hash_map<std::string, std::string> first_under;
      absl::flat_hash_set<std::string> coarser;
      for (const auto& p : m.scope().hs().include()) {
        for (size_t n = 2; n <= p.size(); n += 2) {
          first_under.try_emplace(p.substr(0, n), p);
          if (n < p.size()) coarser.insert(p.substr(0, n));
        }
      }
      for (const auto& p : coarser) {
        impl_->coarser_exemptions[p].push_back({i, first_under.at(p)});
      }
    }
  }

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
