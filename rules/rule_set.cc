#include "rules/rule_set.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <utility>

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/dates.h"
#include "common/status_macros.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "rules/rule_set_impl.h"

namespace tradecheck::rules {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::TextFormat;

constexpr absl::string_view kRuleSetFile = "ruleset.textproto";
constexpr absl::string_view kHsFile = "reference/hs2022.csv";
constexpr absl::string_view kCountryFile = "reference/iso3166.tab";
// Generated from Debian's iso-codes by reference/gen_iso4217.py.
constexpr absl::string_view kCurrencyFile = "reference/iso4217.tab";

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

// A path into a parsed message: field name and index (-1 for singular).
struct PathElem {
  const char* field;
  int index;
};
using Path = std::vector<PathElem>;

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

// Builds validation errors for one parsed file.
class Checker {
 public:
  Checker(std::string file, const TextFormat::ParseInfoTree* tree,
          const Descriptor* desc)
      : file_(std::move(file)), tree_(tree), desc_(desc) {}

  absl::Status Error(const Path& path, absl::string_view problem) const {
    return absl::InvalidArgumentError(
        absl::StrCat(file_, ":", LineOf(tree_, desc_, path), ": ", problem));
  }

 private:
  std::string file_;
  const TextFormat::ParseInfoTree* tree_;
  const Descriptor* desc_;
};

Path Join(Path base, std::initializer_list<PathElem> more) {
  base.insert(base.end(), more.begin(), more.end());
  return base;
}

std::string Sha256Hex(const SourceFiles& files) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  auto put_len = [ctx](uint64_t n) {
    unsigned char be[8];
    for (int i = 0; i < 8; ++i)
      be[i] = static_cast<unsigned char>(n >> (56 - 8 * i));
    EVP_DigestUpdate(ctx, be, sizeof(be));
  };
  // Length-prefixed name and content, in name order (std::map), so no two
  // different sets of files can produce the same byte stream.
  for (const auto& [name, bytes] : files) {
    put_len(name.size());
    EVP_DigestUpdate(ctx, name.data(), name.size());
    put_len(bytes.size());
    EVP_DigestUpdate(ctx, bytes.data(), bytes.size());
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, digest, &len);
  EVP_MD_CTX_free(ctx);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 15]);
  }
  return out;
}

bool AllDigits(absl::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return absl::ascii_isdigit(static_cast<unsigned char>(c));
  });
}

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
  absl::Status CheckScope(const Checker& c, const Path& at, const v1::Scope& s);
  absl::Status CheckCountries(const Checker& c, const Path& at,
                              const v1::CountrySelector& s);
  absl::Status CheckHsSelector(const Checker& c, const Path& at,
                               const v1::HsSelector& s);
  absl::Status CheckHsPrefix(const Checker& c, const Path& at,
                             absl::string_view prefix);
  absl::Status CheckDate(const Checker& c, const Path& at, const v1::Date& d,
                         bool required);
  absl::Status CheckWindow(const Checker& c, const Path& at,
                           const v1::Date& from, const v1::Date& until);
  absl::Status CheckRate(const Checker& c, const Path& at, int32_t bp);
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
  // Currencies: the same layout, three upper-case letters in column one.
  // Optional: revisions stored before the table existed must still load
  // for re-evaluation (which never validates); without it no currency is
  // known, so no declaration validates against such a set.
  auto cur = impl_->sources.find(std::string(kCurrencyFile));
  if (cur == impl_->sources.end()) return absl::OkStatus();
  line_no = 0;
  for (absl::string_view line : absl::StrSplit(cur->second, '\n')) {
    ++line_no;
    if (line.empty() || line[0] == '#') continue;
    absl::string_view code = line.substr(0, line.find('\t'));
    if (code.size() != 3 || !absl::c_all_of(code, absl::ascii_isupper)) {
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

absl::Status Loader::CheckDate(const Checker& c, const Path& at,
                               const v1::Date& d, bool required) {
  if (IsUnset(d)) {
    if (required) return c.Error(at, "missing date");
    return absl::OkStatus();
  }
  auto day = ToCivilDay(d);
  if (!day.ok())
    return c.Error(at, absl::StrCat("bad date: ", day.status().message()));
  return absl::OkStatus();
}

absl::Status Loader::CheckWindow(const Checker& c, const Path& at,
                                 const v1::Date& from, const v1::Date& until) {
  if (!IsUnset(from) && !IsUnset(until) && DayOrMin(from) >= DayOrMax(until)) {
    return c.Error(at,
                   absl::StrCat("inverted window: from ", FormatDate(from),
                                " is not before until ", FormatDate(until)));
  }
  return absl::OkStatus();
}

absl::Status Loader::CheckRate(const Checker& c, const Path& at, int32_t bp) {
  const int32_t max = impl_->config.max_rate_basis_points();
  if (bp < 0 || bp > max) {
    return c.Error(
        at,
        absl::StrCat("rate ", bp, " basis points out of range [0, ", max, "]"));
  }
  return absl::OkStatus();
}

absl::Status Loader::CheckCountries(const Checker& c, const Path& at,
                                    const v1::CountrySelector& s) {
  for (int i = 0; i < s.countries_size(); ++i) {
    if (!impl_->countries.contains(s.countries(i))) {
      return c.Error(
          Join(at, {{"countries", i}}),
          absl::StrCat("unknown country code \"", s.countries(i), "\""));
    }
  }
  for (int i = 0; i < s.except_size(); ++i) {
    if (!impl_->countries.contains(s.except(i))) {
      return c.Error(
          Join(at, {{"except", i}}),
          absl::StrCat("unknown country code \"", s.except(i), "\""));
    }
  }
  return absl::OkStatus();
}

absl::Status Loader::CheckHsPrefix(const Checker& c, const Path& at,
                                   absl::string_view prefix) {
  if (!AllDigits(prefix) || prefix.size() % 2 != 0 || prefix.size() > 10) {
    return c.Error(at, absl::StrCat("HS prefix \"", prefix,
                                    "\" must be 2, 4, 6, 8 or 10 digits"));
  }
  const absl::string_view head =
      prefix.substr(0, std::min<size_t>(6, prefix.size()));
  if (!impl_->hs_codes.contains(head)) {
    return c.Error(at, absl::StrCat("unknown HS code \"", prefix, "\" (", head,
                                    " is not in reference/hs2022.csv)"));
  }
  return absl::OkStatus();
}

absl::Status Loader::CheckHsSelector(const Checker& c, const Path& at,
                                     const v1::HsSelector& s) {
  for (int i = 0; i < s.include_size(); ++i) {
    TC_RETURN_IF_ERROR(
        CheckHsPrefix(c, Join(at, {{"include", i}}), s.include(i)));
  }
  for (int i = 0; i < s.exclude_size(); ++i) {
    TC_RETURN_IF_ERROR(
        CheckHsPrefix(c, Join(at, {{"exclude", i}}), s.exclude(i)));
  }
  for (int i = 0; i < s.unconfirmed_include_size(); ++i) {
    TC_RETURN_IF_ERROR(CheckHsPrefix(c, Join(at, {{"unconfirmed_include", i}}),
                                     s.unconfirmed_include(i)));
  }
  if (s.unconfirmed_include_size() > 0 && s.unconfirmed_note().empty()) {
    return c.Error(at, "unconfirmed_include needs an unconfirmed_note");
  }
  return absl::OkStatus();
}

absl::Status Loader::CheckScope(const Checker& c, const Path& at,
                                const v1::Scope& s) {
  TC_RETURN_IF_ERROR(
      CheckCountries(c, Join(at, {{"origins", -1}}), s.origins()));
  TC_RETURN_IF_ERROR(CheckCountries(c, Join(at, {{"exporting_countries", -1}}),
                                    s.exporting_countries()));
  TC_RETURN_IF_ERROR(
      CheckCountries(c, Join(at, {{"destinations", -1}}), s.destinations()));
  TC_RETURN_IF_ERROR(CheckHsSelector(c, Join(at, {{"hs", -1}}), s.hs()));
  for (int i = 0; i < s.facts_size(); ++i) {
    if (s.facts(i).fact() == v1::FACT_KIND_UNSPECIFIED ||
        s.facts(i).equals() == v1::ANSWER_UNSPECIFIED) {
      return c.Error(Join(at, {{"facts", i}}),
                     "fact condition needs a fact and an answer");
    }
  }
  return absl::OkStatus();
}

absl::Status Loader::CheckConfig(const Checker& c) {
  const v1::RuleSetConfig& cfg = impl_->config;
  TC_RETURN_IF_ERROR(CheckDate(c, {{"data_current_through", -1}},
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
        CheckDate(c, Join(at, {{"from", -1}}), g.window().from(), false));
    TC_RETURN_IF_ERROR(
        CheckDate(c, Join(at, {{"until", -1}}), g.window().until(), false));
    TC_RETURN_IF_ERROR(
        CheckWindow(c, at, g.window().from(), g.window().until()));
    TC_RETURN_IF_ERROR(
        CheckScope(c, {{"coverage_gaps", i}, {"scope", -1}}, g.scope()));
  }
  for (int i = 0; i < cfg.hs2017_mappings_size(); ++i) {
    const auto& m = cfg.hs2017_mappings(i);
    const Path at = {{"hs2017_mappings", i}};
    TC_RETURN_IF_ERROR(
        CheckHsPrefix(c, Join(at, {{"to_prefix", -1}}), m.to_prefix()));
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
    TC_RETURN_IF_ERROR(CheckDate(c, Join(at, {{"from", -1}}), p.from(), true));
    TC_RETURN_IF_ERROR(
        CheckDate(c, Join(at, {{"until", -1}}), p.until(), false));
    TC_RETURN_IF_ERROR(CheckWindow(c, at, p.from(), p.until()));
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
      CheckDate(c, Join(at, {{"valid_from", -1}}), m.valid_from(), true));
  TC_RETURN_IF_ERROR(
      CheckDate(c, Join(at, {{"valid_until", -1}}), m.valid_until(), false));
  TC_RETURN_IF_ERROR(CheckWindow(c, Join(at, {{"valid_from", -1}}),
                                 m.valid_from(), m.valid_until()));
  TC_RETURN_IF_ERROR(CheckScope(c, Join(at, {{"scope", -1}}), m.scope()));
  switch (m.kind_case()) {
    case v1::Measure::kAdditionalDuty: {
      const auto& d = m.additional_duty();
      const Path dat = Join(at, {{"additional_duty", -1}});
      TC_RETURN_IF_ERROR(CheckRate(c, Join(dat, {{"rate_basis_points", -1}}),
                                   d.rate_basis_points()));
      if (d.stacking_group().empty() == d.replaces_group().empty()) {
        return c.Error(dat,
                       "an additional duty needs exactly one of stacking_group "
                       "and replaces_group");
      }
      for (int i = 0; i < d.in_transit_size(); ++i) {
        const auto& t = d.in_transit(i);
        const Path tat = Join(dat, {{"in_transit", i}});
        TC_RETURN_IF_ERROR(CheckDate(c, Join(tat, {{"loaded_before", -1}}),
                                     t.loaded_before(), true));
        TC_RETURN_IF_ERROR(CheckDate(c, Join(tat, {{"entered_before", -1}}),
                                     t.entered_before(), true));
        TC_RETURN_IF_ERROR(
            CheckWindow(c, tat, t.loaded_before(), t.entered_before()));
        if (t.rule_id().empty() || t.source_url().empty() ||
            t.effect() == v1::IN_TRANSIT_EFFECT_UNSPECIFIED) {
          return c.Error(tat,
                         "missing source: in-transit exception needs a "
                         "rule_id, an effect and a source_url");
        }
      }
      if (d.has_us_content()) {
        const auto& u = d.us_content();
        if (u.threshold_basis_points() <= 0 ||
            u.threshold_basis_points() > 10000) {
          return c.Error(Join(dat, {{"us_content", -1}}),
                         "US-content threshold out of range (1..10000 bp)");
        }
        if (u.source_url().empty() || u.rule_id().empty()) {
          return c.Error(Join(dat, {{"us_content", -1}}),
                         "missing source: US-content rule");
        }
      }
      for (int i = 0; i < d.exclusions_size(); ++i) {
        const auto& e = d.exclusions(i);
        const Path eat = Join(dat, {{"exclusions", i}});
        if (e.source_url().empty() || e.rule_id().empty() ||
            e.fact() == v1::FACT_KIND_UNSPECIFIED) {
          return c.Error(eat,
                         "missing source: regime exclusion needs a "
                         "rule_id, a fact and a source_url");
        }
        TC_RETURN_IF_ERROR(
            CheckCountries(c, Join(eat, {{"origins", -1}}), e.origins()));
      }
      for (int i = 0; i < d.unconfirmed_rates_size(); ++i) {
        TC_RETURN_IF_ERROR(CheckRate(
            c, Join(dat, {{"unconfirmed_rates", i}, {"rate_basis_points", -1}}),
            d.unconfirmed_rates(i).rate_basis_points()));
        TC_RETURN_IF_ERROR(CheckDate(
            c, Join(dat, {{"unconfirmed_rates", i}, {"announced", -1}}),
            d.unconfirmed_rates(i).announced(), true));
      }
      break;
    }
    case v1::Measure::kExemption:
      if (m.exemption().zeroes_groups_size() == 0 ||
          m.exemption().schedule() == v1::SCHEDULE_STATUS_UNSPECIFIED) {
        return c.Error(Join(at, {{"exemption", -1}}),
                       "an exemption needs zeroes_groups and a schedule");
      }
      break;
    case v1::Measure::kExportMeasure: {
      const auto& e = m.export_measure();
      const Path eat = Join(at, {{"export_measure", -1}});
      switch (e.type()) {
        case v1::EXPORT_MEASURE_TYPE_BAN:
          break;
        case v1::EXPORT_MEASURE_TYPE_LICENCE:
          if (e.licence_authority().empty()) {
            return c.Error(eat,
                           "a licence requirement needs licence_authority");
          }
          break;
        case v1::EXPORT_MEASURE_TYPE_QUOTA:
          if (e.quota().amount_milli() <= 0 || e.quota().unit().empty() ||
              e.quota().period() == v1::QUOTA_PERIOD_UNSPECIFIED) {
            return c.Error(Join(eat, {{"quota", -1}}),
                           "quota out of range: needs amount_milli > 0, a "
                           "unit and a period");
          }
          break;
        default:
          return c.Error(eat, "export measure without a type");
      }
      for (int i = 0; i < e.suspensions_size(); ++i) {
        const Path sat = Join(eat, {{"suspensions", i}});
        TC_RETURN_IF_ERROR(CheckDate(c, Join(sat, {{"from", -1}}),
                                     e.suspensions(i).from(), true));
        TC_RETURN_IF_ERROR(CheckWindow(c, sat, e.suspensions(i).from(),
                                       e.suspensions(i).until()));
        if (i > 0 && DayOrMax(e.suspensions(i - 1).until()) >
                         DayOrMin(e.suspensions(i).from())) {
          return c.Error(sat, "overlapping windows: suspensions overlap");
        }
      }
      break;
    }
    case v1::Measure::kContentRule: {
      const auto& r = m.content_rule();
      const Path rat = Join(at, {{"content_rule", -1}});
      if (r.threshold_ppm() <= 0 || r.threshold_ppm() >= 1000000) {
        return c.Error(Join(rat, {{"threshold_ppm", -1}}),
                       "threshold out of range (1..999999 ppm)");
      }
      if (r.licence_authority().empty() || r.unknown_bom_rule_id().empty()) {
        return c.Error(rat,
                       "a content rule needs licence_authority and "
                       "unknown_bom_rule_id");
      }
      TC_RETURN_IF_ERROR(CheckCountries(c, Join(rat, {{"content_origins", -1}}),
                                        r.content_origins()));
      TC_RETURN_IF_ERROR(
          CheckHsSelector(c, Join(rat, {{"content_hs", -1}}), r.content_hs()));
      for (int i = 0; i < r.suspensions_size(); ++i) {
        const Path sat = Join(rat, {{"suspensions", i}});
        TC_RETURN_IF_ERROR(CheckDate(c, Join(sat, {{"from", -1}}),
                                     r.suspensions(i).from(), true));
        TC_RETURN_IF_ERROR(CheckWindow(c, sat, r.suspensions(i).from(),
                                       r.suspensions(i).until()));
      }
      break;
    }
    case v1::Measure::kOriginRule:
      TC_RETURN_IF_ERROR(CheckCountries(
          c, Join(at, {{"origin_rule", -1}, {"risk_input_origins", -1}}),
          m.origin_rule().risk_input_origins()));
      break;
    case v1::Measure::kNotice:
      if (m.notice().severity() == v1::SEVERITY_UNSPECIFIED ||
          m.notice().message().empty()) {
        return c.Error(Join(at, {{"notice", -1}}),
                       "a notice needs a severity and a message");
      }
      break;
    case v1::Measure::kExportCommitment:
      break;
    default:
      return c.Error(
          id_at, absl::StrCat("measure \"", m.measure_id(), "\" has no kind"));
  }
  return absl::OkStatus();
}

absl::Status Loader::CheckReferences(const Checker& c, const Path& at,
                                     const v1::Measure& m) {
  auto missing_measure = [&](const Path& p, absl::string_view id) {
    return c.Error(p, absl::StrCat("reference to a measure that does not "
                                   "exist: \"",
                                   id, "\""));
  };
  auto missing_group = [&](const Path& p, absl::string_view g) {
    return c.Error(p, absl::StrCat("reference to a stacking group no measure "
                                   "defines: \"",
                                   g, "\""));
  };
  if (m.has_additional_duty() &&
      !m.additional_duty().replaces_group().empty() &&
      !impl_->stacking_groups.contains(m.additional_duty().replaces_group())) {
    return missing_group(
        Join(at, {{"additional_duty", -1}, {"replaces_group", -1}}),
        m.additional_duty().replaces_group());
  }
  if (m.has_exemption()) {
    for (int i = 0; i < m.exemption().zeroes_groups_size(); ++i) {
      if (!impl_->stacking_groups.contains(m.exemption().zeroes_groups(i))) {
        return missing_group(
            Join(at, {{"exemption", -1}, {"zeroes_groups", i}}),
            m.exemption().zeroes_groups(i));
      }
    }
  }
  if (m.has_export_measure() && !m.export_measure().stage_policy().empty() &&
      impl_->FindStagePolicy(m.export_measure().stage_policy()) == nullptr) {
    return c.Error(Join(at, {{"export_measure", -1}, {"stage_policy", -1}}),
                   absl::StrCat("unknown stage policy \"",
                                m.export_measure().stage_policy(), "\""));
  }
  if (m.has_export_commitment()) {
    for (int i = 0; i < m.export_commitment().conflicts_with_size(); ++i) {
      const std::string& id = m.export_commitment().conflicts_with(i);
      if (!impl_->measure_by_id.contains(id)) {
        return missing_measure(
            Join(at, {{"export_commitment", -1}, {"conflicts_with", i}}), id);
      }
    }
  }
  if (m.has_origin_rule() &&
      !m.origin_rule().transshipment_measure_id().empty() &&
      !impl_->measure_by_id.contains(
          m.origin_rule().transshipment_measure_id())) {
    return missing_measure(
        Join(at, {{"origin_rule", -1}, {"transshipment_measure_id", -1}}),
        m.origin_rule().transshipment_measure_id());
  }
  return absl::OkStatus();
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
                    v1::InstrumentData::descriptor());
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
  impl_->revision = Sha256Hex(impl_->sources);
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
    Checker c(rs, &tree, v1::RuleSetConfig::descriptor());
    TC_RETURN_IF_ERROR(CheckConfig(c));
    impl_->data_current_through =
        DayOrMin(impl_->config.data_current_through());
  }

  for (const auto& [name, bytes] : impl_->sources) {
    if (name == rs || !absl::EndsWith(name, ".textproto")) continue;
    auto data = std::make_unique<v1::InstrumentData>();
    Parsed p{name, std::make_unique<TextFormat::ParseInfoTree>(), data.get()};
    TC_RETURN_IF_ERROR(Parse(name, data.get(), p.tree.get()));
    Checker c(name, p.tree.get(), v1::InstrumentData::descriptor());
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
    Checker c(p.file, p.tree.get(), v1::InstrumentData::descriptor());
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

const v1::StagePolicy* RuleSetImpl::FindStagePolicy(
    absl::string_view name) const {
  for (const v1::StagePolicy& p : config.stage_policies()) {
    if (p.name() == name) return &p;
  }
  return nullptr;
}

std::vector<std::string> IndexKeys(const v1::Scope& scope) {
  std::vector<std::pair<std::string, std::string>> dims;
  if (!scope.origins().countries().empty()) {
    for (const auto& c : scope.origins().countries()) dims.push_back({"O", c});
  } else if (!scope.exporting_countries().countries().empty()) {
    for (const auto& c : scope.exporting_countries().countries()) {
      dims.push_back({"X", c});
    }
  } else if (!scope.destinations().countries().empty()) {
    for (const auto& c : scope.destinations().countries()) {
      dims.push_back({"D", c});
    }
  } else {
    dims.push_back({"*", ""});
  }
  std::vector<std::string> prefixes(scope.hs().include().begin(),
                                    scope.hs().include().end());
  prefixes.insert(prefixes.end(), scope.hs().unconfirmed_include().begin(),
                  scope.hs().unconfirmed_include().end());
  if (prefixes.empty()) prefixes.push_back("");
  std::vector<std::string> keys;
  for (const auto& [dim, country] : dims) {
    for (const auto& p : prefixes) {
      keys.push_back(absl::StrCat(dim, "|", country, "|", p));
    }
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

void RuleSetImpl::Candidates(absl::string_view origin,
                             absl::string_view exporter,
                             absl::string_view destination,
                             absl::string_view hs_code,
                             std::vector<int>* out) const {
  out->clear();
  const std::pair<absl::string_view, absl::string_view> dims[] = {
      {"O", origin}, {"X", exporter}, {"D", destination}, {"*", ""}};
  std::string key;
  for (const auto& [dim, country] : dims) {
    if (dim != "*" && country.empty()) continue;
    for (size_t len = 0; len <= hs_code.size() && len <= 10; len += 2) {
      key.assign(dim.data(), dim.size());
      key.push_back('|');
      key.append(country.data(), country.size());
      key.push_back('|');
      key.append(hs_code.data(), len);
      auto it = line_index.find(key);
      if (it != line_index.end()) {
        out->insert(out->end(), it->second.begin(), it->second.end());
      }
    }
  }
  std::sort(out->begin(), out->end());
  out->erase(std::unique(out->begin(), out->end()), out->end());
}

HsMatch MatchHs(const v1::HsSelector& selector, absl::string_view code,
                int* matched_len) {
  *matched_len = 0;
  if (selector.include().empty() && selector.unconfirmed_include().empty()) {
    for (const auto& e : selector.exclude()) {
      if (absl::StartsWith(code, e)) return HsMatch::kNo;
    }
    return HsMatch::kYes;
  }
  int inc = -1;
  for (const auto& p : selector.include()) {
    if (absl::StartsWith(code, p)) inc = std::max<int>(inc, p.size());
  }
  int unc = -1;
  for (const auto& p : selector.unconfirmed_include()) {
    if (absl::StartsWith(code, p)) unc = std::max<int>(unc, p.size());
  }
  int exc = -1;
  for (const auto& p : selector.exclude()) {
    if (absl::StartsWith(code, p)) exc = std::max<int>(exc, p.size());
  }
  const int best = std::max(inc, unc);
  if (best < 0 || exc >= best) return HsMatch::kNo;
  *matched_len = best;
  // A confirmed entry at least as specific as the unconfirmed one decides.
  return inc >= unc ? HsMatch::kYes : HsMatch::kUnconfirmed;
}

bool MatchCountry(const v1::CountrySelector& selector,
                  absl::string_view country) {
  for (const auto& e : selector.except()) {
    if (e == country) return false;
  }
  if (selector.countries().empty()) return true;
  for (const auto& c : selector.countries()) {
    if (c == country) return true;
  }
  return false;
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
    if (!absl::EndsWith(name, ".textproto") && name != kHsFile &&
        name != kCountryFile && name != kCurrencyFile) {
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
  Loader loader(impl.get());
  TC_RETURN_IF_ERROR(loader.Run());
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
  out.mutable_citation()->set_instrument_id(in.instrument_id());
  out.mutable_citation()->set_instrument_title(in.title());
  out.mutable_citation()->set_source_url(in.source_url());
  *out.mutable_status_history() = in.status_history();
  out.set_status(InstrumentStatusAt(in, as_of).status);
  out.set_notes(in.notes());
  if (with_measures) {
    for (const v1::Measure& m : in.measures()) {
      v1::MeasureSummary* s = out.add_measures();
      s->set_measure_id(m.measure_id());
      s->set_kind(Kind(m));
      s->set_title(m.title());
      *s->mutable_valid_from() = m.valid_from();
      *s->mutable_valid_until() = m.valid_until();
      s->mutable_citation()->set_instrument_id(in.instrument_id());
      s->mutable_citation()->set_instrument_title(in.title());
      s->mutable_citation()->set_article(m.article());
      s->mutable_citation()->set_source_url(m.source_url());
      *s->mutable_rule_ids() = m.rule_ids();
      s->set_summary(m.summary());
    }
  }
  return out;
}

}  // namespace

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
  *info.mutable_data_current_through() = impl_->config.data_current_through();
  info.set_instrument_count(static_cast<int>(impl_->instruments.size()));
  info.set_measure_count(static_cast<int>(impl_->measures.size()));
  for (const auto& [name, bytes] : impl_->sources) info.add_files(name);
  return info;
}

}  // namespace tradecheck::rules
