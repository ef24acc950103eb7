// libFuzzer target: the agreement-data loader (rules/rule_set.h) with one
// instrument file replaced by arbitrary bytes, beside the shipped reference
// tables and policy file. Loading must refuse bad data with an error, never
// crash; a set it accepts must evaluate a declaration.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/text_format.h"
#include "rules/engine.h"
#include "rules/rule_set.h"

namespace {

const tradecheck::rules::SourceFiles& Base() {
  static const auto* files = [] {
    auto shipped = tradecheck::rules::RuleSet::LoadFromDirectory(TC_AGREEMENTS_DIR);
    if (!shipped.ok()) std::abort();
    auto* out = new tradecheck::rules::SourceFiles;
    for (const char* name : {"reference/iso3166.tab", "reference/iso4217.tab",
                             "ruleset.textproto"}) {
      (*out)[name] = (*shipped)->sources().at(name);
    }
    // The HS table cut to the codes the shipped data and the declaration
    // below mention (and every chapter), so one load takes well under a
    // millisecond instead of 30: the loader's paths are the same.
    std::string mentioned = "850134 850511 ";
    for (const auto& [name, bytes] : (*shipped)->sources()) {
      if (absl::EndsWith(name, ".textproto")) mentioned += bytes;
    }
    std::vector<std::string> runs;
    for (size_t i = 0; i < mentioned.size();) {
      size_t j = i;
      while (j < mentioned.size() && absl::ascii_isdigit(mentioned[j])) ++j;
      if (j - i >= 4) runs.push_back(mentioned.substr(i, j - i));
      i = j == i ? i + 1 : j;
    }
    std::string hs;
    for (absl::string_view line : absl::StrSplit(
             (*shipped)->sources().at("reference/hs2022.csv"), '\n')) {
      std::vector<absl::string_view> cols = absl::StrSplit(line, ',');
      bool keep = cols.size() < 2 || cols[1].size() <= 2 ||
                  !absl::ascii_isdigit(cols[1][0]);
      for (const std::string& run : runs) {
        keep = keep || absl::StartsWith(run, cols[1]);
        if (keep) break;
      }
      if (keep) absl::StrAppend(&hs, line, "\n");
    }
    (*out)["reference/hs2022.csv"] = hs;
    return out;
  }();
  return *files;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  tradecheck::rules::SourceFiles files = Base();
  files["fuzz.textproto"] = std::string(reinterpret_cast<const char*>(data), size);
  auto set = tradecheck::rules::RuleSet::LoadFromSources(files);
  if (!set.ok()) return 0;
  tradecheck::v1::Declaration d;
  google::protobuf::TextFormat::ParseFromString(R"pb(
    declaration_id: "fuzz" kind: DECLARATION_KIND_IMPORT_ENTRY
    origin_country: "MY" export_country: "MY" destination_country: "US"
    entry_date { year: 2026 month: 1 day: 15 }
    lines { line_number: 1 hs_code: "850134" customs_value {
      currency_code: "USD" minor_units: 10000000 }
      bill_of_materials_status: BILL_OF_MATERIALS_STATUS_COMPLETE
      bill_of_materials { hs_code: "850511" origin_country: "CN"
        value { currency_code: "USD" minor_units: 140000 } elements: "Dy" } }
  )pb", &d);
  tradecheck::rules::Evaluate(**set, d);
  return 0;
}
