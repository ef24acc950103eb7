#include "bench/example_trail.h"

#include <filesystem>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "client/declaration_json.h"
#include "common/dates.h"
#include "common/files.h"
#include "common/install_paths.h"
#include "rules/engine.h"

namespace tradecheck::bench {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const fs::path& path) {
  return ReadFileToString(path.string()).value_or("");
}

void Scale(double factor, v1::Money* money) {
  money->set_minor_units(
      static_cast<int64_t>(static_cast<double>(money->minor_units()) * factor));
}

void Shift(int days, v1::Date* date) {
  if (IsUnset(*date)) return;
  auto day = ToCivilDay(*date);
  if (day.ok()) *date = ToDate(*day + days);
}

}  // namespace

absl::StatusOr<ExampleTrail> ExampleTrail::Load() {
  auto agreements = DefaultAgreementsDir();
  if (!agreements.ok()) return agreements.status();
  auto rules = rules::RuleSet::LoadFromDirectory(*agreements);
  if (!rules.ok()) return rules.status();
  ExampleTrail trail;
  trail.rules_ = *std::move(rules);
  // The examples sit beside the agreements in the source tree; in the build
  // tree, ../share/tradecheck/agreements links there.
  const fs::path examples = fs::canonical(*agreements).parent_path() / "examples";
  auto add = [&](absl::string_view json, const std::string& source) {
    auto declaration = ParseDeclarationJson(json, source);
    if (declaration.ok()) trail.declarations_.push_back(*std::move(declaration));
  };
  for (const auto& entry : fs::recursive_directory_iterator(examples)) {
    if (entry.path().parent_path().filename() == "invalid") continue;
    if (entry.path().extension() == ".json") {
      add(ReadFile(entry.path()), entry.path().string());
    } else if (entry.path().extension() == ".jsonl") {
      for (absl::string_view line :
           absl::StrSplit(ReadFile(entry.path()), '\n', absl::SkipEmpty())) {
        add(line, entry.path().string());
      }
    }
  }
  if (trail.declarations_.empty()) {
    return absl::NotFoundError(
        absl::StrCat("no example declarations under ", examples.string()));
  }
  return trail;
}

storage::AppendRequest ExampleTrail::Record(uint64_t i, bool vary,
                                            std::mt19937_64& rng) const {
  storage::AppendRequest r;
  v1::Declaration& d = r.declaration;
  d = declarations_[i % declarations_.size()];
  d.set_declaration_id(absl::StrFormat("BENCH-%010d", i));
  d.set_exporter_id(absl::StrFormat("EXP-%04d", rng() % 1000));
  d.set_importer_id(absl::StrFormat("IMP-%03d", rng() % 300));
  if (vary) {
    std::uniform_real_distribution<double> factor(0.5, 2.0);
    for (v1::LineItem& line : *d.mutable_lines()) {
      const double f = factor(rng);
      Scale(f, line.mutable_customs_value());
      if (line.has_us_content_value()) Scale(f, line.mutable_us_content_value());
      if (line.has_section_232_content_value()) {
        Scale(f, line.mutable_section_232_content_value());
      }
      if (line.has_quantity()) {
        line.mutable_quantity()->set_amount_milli(static_cast<int64_t>(
            static_cast<double>(line.quantity().amount_milli()) * f));
      }
    }
    // Earlier only, so no date lies in the future; every date moves
    // together (the exchange rate is the export date's, licences keep
    // their span).
    const int days = -static_cast<int>(rng() % 181);
    Shift(days, d.mutable_entry_date());
    Shift(days, d.mutable_export_date());
    if (d.has_exchange_rate()) Shift(days, d.mutable_exchange_rate()->mutable_rate_date());
    for (v1::Licence& licence : *d.mutable_facts()->mutable_licences()) {
      Shift(days, licence.mutable_valid_until());
    }
  }
  r.verdict = rules::Evaluate(*rules_, d).verdict;
  r.caller = absl::StrFormat("spiffe://tradecheck.dev/customs/gateway-%02d",
                             rng() % 20);
  r.caller_role = v1::CALLER_ROLE_CUSTOMS;
  return r;
}

}  // namespace tradecheck::bench
