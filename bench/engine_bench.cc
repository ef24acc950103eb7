// engine_bench: cost of evaluating one declaration line with the full
// shipped rule set, the same with 10,000 synthetic measures that cannot
// apply to the declaration, and the shipped set with each published HTS
// list (reference/hts-lists/, about 4,000 lines in all) cut to its first
// line. Evaluation looks measures up by (country, HS prefix) and matches
// long lists through hash sets, so all three figures should be close; the
// run ends with the ratios, measured interleaved in the same process. A
// fourth set grows the shipped one by three more copies of every list
// (about 16,000 HTS lines in all), in force for the evaluated lines' origin.
//
//   engine_bench [--benchmark_filter=...] [--ratio_iters=2000]
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "benchmark/benchmark.h"
#include "google/protobuf/text_format.h"
#include "rules/engine.h"
#include "rules/rule_set.h"

namespace tradecheck::rules {
namespace {

constexpr int kSyntheticMeasures = 10000;

std::shared_ptr<const RuleSet> Shipped() {
  static auto set = [] {
    auto r = RuleSet::LoadFromDirectory(TC_AGREEMENTS_DIR);
    if (!r.ok()) {
      std::fprintf(stderr, "cannot load %s: %s\n", TC_AGREEMENTS_DIR,
                   std::string(r.status().message()).c_str());
      std::exit(1);
    }
    return *r;
  }();
  return set;
}

// The shipped set plus one file of kSyntheticMeasures additional duties for
// origins and HS headings the benchmark declarations never use.
std::shared_ptr<const RuleSet> WithSynthetic() {
  static auto set = [] {
    SourceFiles files = Shipped()->sources();
    std::vector<std::string> countries;
    for (absl::string_view line :
         absl::StrSplit(files.at("reference/iso3166.tab"), '\n')) {
      if (line.size() < 2 || line[0] == '#') continue;
      std::string cc(line.substr(0, 2));
      if (cc != "MY" && cc != "US") countries.push_back(cc);
    }
    // Chapters 01-14 (animal and vegetable products): no benchmark line is
    // classified there.
    std::vector<std::string> headings;
    for (absl::string_view line :
         absl::StrSplit(files.at("reference/hs2022.csv"), '\n')) {
      std::vector<absl::string_view> cols =
          absl::StrSplit(line, absl::MaxSplits(',', 2));
      if (cols.size() > 1 && cols[1].size() == 4 && cols[1] < "1500") {
        headings.emplace_back(cols[1]);
      }
    }
    std::string text =
        "instrument_id: \"synthetic\" title: \"Synthetic load\" "
        "source_url: \"https://example.org\" no_primary_source_reason: "
        "\"synthetic\" confirmation { confirmed_on { year: 2025 month: 1 "
        "day: 1 } source_url: \"https://example.org\" confirmed_by: \"bench\" "
        "review_due { year: 2030 month: 1 day: 1 } } status_history { status: "
        "INSTRUMENT_STATUS_IN_FORCE from { year: 2025 month: 1 day: 1 } }\n";
    for (int i = 0; i < kSyntheticMeasures; ++i) {
      // Half target other origins at the benchmark's own HS headings, half
      // the benchmark's origin at headings it never declares.
      const bool other_country = i % 2 == 0;
      const std::string origin =
          other_country ? countries[i % countries.size()] : "MY";
      const std::string hs = other_country
                                 ? std::string(i % 4 == 0 ? "9403" : "8501")
                                 : headings[i % headings.size()];
      absl::StrAppend(
          &text, "measures { measure_id: \"syn-", i,
          "\" rule_ids: \"SYN\" title: \"s\" article: \"A\" source_url: "
          "\"https://example.org\" no_primary_source_reason: \"synthetic\" "
          "valid_from { year: 2025 month: 1 day: 1 } "
          "scope { declaration_kinds: DECLARATION_KIND_IMPORT_ENTRY origins { "
          "countries: \"",
          origin, "\" } destinations { countries: \"US\" } hs { include: \"",
          hs, "\" } } additional_duty { rate_basis_points: ", 100 + i % 900,
          " stacking_group: \"syn-", i, "\" } }\n");
    }
    files["synthetic.textproto"] = std::move(text);
    auto r = RuleSet::LoadFromSources(files);
    if (!r.ok()) {
      std::fprintf(stderr, "synthetic set: %s\n",
                   std::string(r.status().message()).c_str());
      std::exit(1);
    }
    return *r;
  }();
  return set;
}

// The shipped set with every published HTS list cut to its header and first
// row: the baseline that shows what the full lists cost.
std::shared_ptr<const RuleSet> ListsCut() {
  static auto set = [] {
    SourceFiles files = Shipped()->sources();
    for (auto& [name, bytes] : files) {
      if (name.rfind("reference/hts-lists/", 0) != 0) continue;
      size_t end = bytes.find('\n');
      end = bytes.find('\n', end + 1);
      bytes = bytes.substr(0, end == std::string::npos ? bytes.size() : end + 1);
    }
    auto r = RuleSet::LoadFromSources(files);
    if (!r.ok()) {
      std::fprintf(stderr, "lists-cut set: %s\n",
                   std::string(r.status().message()).c_str());
      std::exit(1);
    }
    return *r;
  }();
  return set;
}

constexpr int kGrownCopies = 3;

// The shipped set grown by kGrownCopies more copies of every published HTS
// list (about 4,000 lines each time), each copy the list of a new Annex-II
// style exemption for the benchmark's own origin and destination: thousands
// more HS lines in force for the very lines evaluated. The copies leave out
// the headings the benchmark declares (its lines are 6-digit codes, so a list
// line under them would turn each into a review for a more specific code),
// so the verdicts stay those of the shipped set and the figure shows what
// the size of the lists costs a line.
std::shared_ptr<const RuleSet> Grown() {
  static auto set = [] {
    SourceFiles files = Shipped()->sources();
    const std::vector<std::string> declared = {"9403", "4015", "1511", "8501",
                                               "8807", "8541", "3004", "7208",
                                               "4901"};
    std::string text =
        "instrument_id: \"grown\" title: \"Grown lists\" "
        "source_url: \"https://example.org\" no_primary_source_reason: "
        "\"synthetic\" confirmation { confirmed_on { year: 2025 month: 1 "
        "day: 1 } source_url: \"https://example.org\" confirmed_by: \"bench\" "
        "review_due { year: 2030 month: 1 day: 1 } } status_history { status: "
        "INSTRUMENT_STATUS_IN_FORCE from { year: 2025 month: 1 day: 1 } }\n";
    std::vector<std::pair<std::string, std::string>> lists;
    for (const auto& [name, bytes] : files) {
      if (name.rfind("reference/hts-lists/", 0) == 0 &&
          absl::EndsWith(name, ".csv")) {
        lists.emplace_back(name, bytes);
      }
    }
    for (int k = 0; k < kGrownCopies; ++k) {
      for (const auto& [name, bytes] : lists) {
        std::string kept;
        bool header = true;
        for (absl::string_view row : absl::StrSplit(bytes, '\n')) {
          if (row.empty()) continue;
          const bool under_declared = std::any_of(
              declared.begin(), declared.end(),
              [&](const std::string& h) { return absl::StartsWith(row, h); });
          if (header || !under_declared) absl::StrAppend(&kept, row, "\n");
          header = false;
        }
        const std::string list = absl::StrCat(
            "grown-", k, "-", name.substr(name.rfind('/') + 1));
        files["reference/hts-lists/" + list] = std::move(kept);
        absl::StrAppend(
            &text, "hs_lists { name: \"", list, "\" title: \"g\" source_url: ",
            "\"https://example.org\" csv_file: \"reference/hts-lists/", list,
            "\" }\n", "measures { measure_id: \"", list,
            "\" rule_ids: \"SYN\" title: \"g\" article: \"A\" source_url: "
            "\"https://example.org\" no_primary_source_reason: \"synthetic\" "
            "valid_from { year: 2025 month: 1 day: 1 } scope { "
            "declaration_kinds: DECLARATION_KIND_IMPORT_ENTRY origins { "
            "countries: \"MY\" } destinations { countries: \"US\" } hs { "
            "lists: \"",
            list,
            "\" } } exemption { zeroes_groups: \"us-reciprocal\" "
            "filing_heading: \"9903.01.32\" schedule: "
            "SCHEDULE_STATUS_TARIFF_LINES } }\n");
      }
    }
    files["grown.textproto"] = std::move(text);
    auto r = RuleSet::LoadFromSources(files);
    if (!r.ok()) {
      std::fprintf(stderr, "grown set: %s\n",
                   std::string(r.status().message()).c_str());
      std::exit(1);
    }
    return *r;
  }();
  return set;
}

// A Malaysian entry of 10 lines in the reciprocal window: furniture, gloves,
// palm oil, motors with a bill of materials, aircraft parts, ...
v1::Declaration ImportDeclaration() {
  static const char* kLines[][2] = {
      {"940360", "wooden furniture"}, {"401519", "nitrile gloves"},
      {"151110", "crude palm oil"},   {"850134", "electric motors"},
      {"880730", "aircraft parts"},   {"854143", "PV modules"},
      {"300490", "medicaments"},      {"720839", "steel coil"},
      {"490199", "printed books"},    {"940320", "metal furniture"}};
  v1::Declaration d;
  google::protobuf::TextFormat::ParseFromString(
      R"pb(declaration_id: "bench"
           kind: DECLARATION_KIND_IMPORT_ENTRY
           origin_country: "MY"
           export_country: "MY"
           destination_country: "US"
           export_date { year: 2025 month: 11 day: 10 }
           entry_date { year: 2025 month: 12 day: 1 }
           facts { importer_origin_attestation: ANSWER_YES })pb",
      &d);
  int n = 0;
  for (const auto& l : kLines) {
    v1::LineItem* line = d.add_lines();
    line->set_line_number(++n);
    line->set_hs_code(l[0]);
    line->set_description(l[1]);
    line->mutable_customs_value()->set_currency_code("USD");
    line->mutable_customs_value()->set_minor_units(1000000 + 1234 * n);
    line->set_subject_to_section_232(v1::ANSWER_NO);
    line->set_bill_of_materials_status(v1::BILL_OF_MATERIALS_STATUS_COMPLETE);
    v1::Component* c = line->add_bill_of_materials();
    c->set_hs_code("850511");
    c->set_origin_country("CN");
    c->add_elements("Nd");
    c->mutable_value()->set_currency_code("USD");
    c->mutable_value()->set_minor_units(300000);
  }
  return d;
}

void BM_EvaluatePerLine(benchmark::State& state,
                        std::shared_ptr<const RuleSet> (*set)()) {
  const std::shared_ptr<const RuleSet> rules = set();
  const v1::Declaration d = ImportDeclaration();
  for (auto _ : state) {
    Evaluation e = Evaluate(*rules, d);
    benchmark::DoNotOptimize(e);
  }
  state.SetItemsProcessed(state.iterations() * d.lines_size());
  // Google Benchmark prints an inverted rate with a seconds suffix: seconds
  // per million lines, which reads as microseconds per line.
  state.counters["s_per_1M_lines"] = benchmark::Counter(
      static_cast<double>(state.iterations() * d.lines_size()) / 1e6,
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["measures"] = rules->Info().measure_count();
}
BENCHMARK_CAPTURE(BM_EvaluatePerLine, shipped, &Shipped);
BENCHMARK_CAPTURE(BM_EvaluatePerLine, shipped_plus_10k_synthetic,
                  &WithSynthetic);
BENCHMARK_CAPTURE(BM_EvaluatePerLine, shipped_lists_cut_to_one_line,
                  &ListsCut);
BENCHMARK_CAPTURE(BM_EvaluatePerLine, shipped_plus_grown_lists, &Grown);

// Interleaved timing of both sets, median of several rounds, so the ratio
// is not skewed by the machine's other load drifting between benchmarks.
void PrintRatio(int iters) {
  const v1::Declaration d = ImportDeclaration();
  auto shipped = Shipped();
  auto synthetic = WithSynthetic();
  auto cut = ListsCut();
  auto grown = Grown();
  // This thread's CPU time, not the wall clock: on a shared machine the
  // wall clock also counts the time other processes held the core.
  auto cpu_us = [] {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) * 1e6 + t.tv_nsec / 1e3;
  };
  auto time_one = [&d, &cpu_us, iters](const RuleSet& rules) {
    const double start = cpu_us();
    for (int i = 0; i < iters; ++i) {
      Evaluation e = Evaluate(rules, d);
      benchmark::DoNotOptimize(e);
    }
    return (cpu_us() - start) / (iters * d.lines_size());
  };
  std::vector<double> a, b, c, g;
  for (int round = 0; round < 9; ++round) {
    a.push_back(time_one(*shipped));
    b.push_back(time_one(*synthetic));
    c.push_back(time_one(*cut));
    g.push_back(time_one(*grown));
  }
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  std::sort(c.begin(), c.end());
  std::sort(g.begin(), g.end());
  const double ma = a[a.size() / 2], mb = b[b.size() / 2],
               mc = c[c.size() / 2], mg = g[g.size() / 2];
  int shipped_lines = 0, grown_lines = 0;
  for (const auto& [name, bytes] : shipped->sources()) {
    if (absl::EndsWith(name, ".csv") &&
        name.rfind("reference/hts-lists/", 0) == 0) {
      shipped_lines += std::count(bytes.begin(), bytes.end(), '\n') - 1;
    }
  }
  for (const auto& [name, bytes] : grown->sources()) {
    if (absl::EndsWith(name, ".csv") &&
        name.rfind("reference/hts-lists/", 0) == 0) {
      grown_lines += std::count(bytes.begin(), bytes.end(), '\n') - 1;
    }
  }
  std::printf(
      "\nper-line evaluation, thread CPU time (median of 9 interleaved "
      "rounds):\n"
      "  shipped set (%d measures, full lists): %.2f us/line\n"
      "  shipped + %d synthetic (%d measures):  %.2f us/line\n"
      "  shipped, lists cut to one line:         %.2f us/line\n"
      "  ratio synthetic/shipped:               %.3f\n"
      "  ratio shipped/lists-cut:               %.3f\n"
      "  shipped + %d copies of every list (%d HTS lines, %d shipped): "
      "%.2f us/line\n"
      "  ratio grown/shipped:                   %.3f\n",
      shipped->Info().measure_count(), ma, kSyntheticMeasures,
      synthetic->Info().measure_count(), mb, mc, mb / ma, ma / mc,
      kGrownCopies, grown_lines, shipped_lines, mg, mg / ma);
}

}  // namespace
}  // namespace tradecheck::rules

int main(int argc, char** argv) {
  // --ratio_iters=N: evaluations per set and round of the closing ratios
  // (CTest's smoke run uses few); the other flags are Google Benchmark's.
  int iters = 2000;
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    const absl::string_view arg = argv[i];
    if (absl::StartsWith(arg, "--ratio_iters=")) {
      if (!absl::SimpleAtoi(arg.substr(14), &iters) || iters < 1) {
        std::fprintf(stderr, "--ratio_iters wants a positive number\n");
        return 1;
      }
      continue;
    }
    argv[kept++] = argv[i];
  }
  argc = kept;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  tradecheck::rules::PrintRatio(iters);
  return 0;
}
