// query_bench: latency of one filtered page (100 records) of
// AuditStore::ListDecisions on trails of 100k and 1M records, to show that a
// query's cost follows the page, not the trail.
//
//   query_bench [--small=100000] [--large=1000000] [--dir=/tmp/...]
//
// Loads --small records (sync=false for setup), measures every query shape,
// grows the same store to --large records, measures again and prints median
// and p99 per shape and the large/small ratio.
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "storage/audit_store.h"

ABSL_FLAG(uint64_t, small, 100'000, "Records in the first measurement.");
ABSL_FLAG(uint64_t, large, 1'000'000, "Records in the second measurement.");
ABSL_FLAG(std::string, dir, "",
          "Directory for the store (default: a fresh one under /tmp, removed "
          "at the end).");
ABSL_FLAG(int, runs, 300, "Queries measured per shape and trail size.");

namespace tradecheck::storage {
namespace {

constexpr int kExporters = 100;
constexpr int kImporters = 50;
constexpr int kRules = 30;
constexpr const char* kCountries[] = {"MY", "CN", "VN", "TH", "ID",
                                      "IN", "MX", "CA", "DE", "JP"};
constexpr const char* kHsCodes[] = {"850511", "850519", "280530", "282590",
                                    "720260", "811292", "261220", "380110",
                                    "850440", "854140", "760110", "740311"};

// Each call is one second after the previous one: distinct, increasing
// recorded_at values, so time filters select known slices.
class SteppingClock final : public Clock {
 public:
  absl::Time Now() const override {
    return absl::FromUnixSeconds(1'780'000'000 + next_.fetch_add(1));
  }

 private:
  mutable std::atomic<int64_t> next_{0};
};

AppendRequest MakeRecord(uint64_t i, std::mt19937_64& rng) {
  AppendRequest r;
  v1::Declaration& d = r.declaration;
  d.set_declaration_id(absl::StrFormat("DECL-%010d", i));
  d.set_kind(v1::DECLARATION_KIND_IMPORT_ENTRY);
  d.set_exporter_id(absl::StrFormat("EXP-%03d", rng() % kExporters));
  d.set_importer_id(absl::StrFormat("IMP-%03d", rng() % kImporters));
  d.set_origin_country(kCountries[rng() % std::size(kCountries)]);
  d.set_destination_country("US");
  d.mutable_entry_date()->set_year(2026);
  d.mutable_entry_date()->set_month(3);
  d.mutable_entry_date()->set_day(1 + static_cast<int>(rng() % 28));
  const int lines = 1 + static_cast<int>(rng() % 2);
  const uint64_t roll = rng() % 10;
  const v1::Outcome outcome = roll < 7   ? v1::OUTCOME_ALLOW
                              : roll < 9 ? v1::OUTCOME_NEEDS_REVIEW
                                         : v1::OUTCOME_DENY;
  v1::Verdict& v = r.verdict;
  v.set_declaration_id(d.declaration_id());
  v.set_outcome(outcome);
  v.set_rule_set_revision(absl::StrFormat("rev-%d", (i / 50'000) % 5));
  *v.mutable_governing_date() = d.entry_date();
  for (int l = 1; l <= lines; ++l) {
    v1::LineItem* line = d.add_lines();
    line->set_line_number(l);
    line->set_hs_code(kHsCodes[rng() % std::size(kHsCodes)]);
    line->set_description("rare-earth permanent magnets, sintered NdFeB");
    line->mutable_customs_value()->set_currency_code("USD");
    line->mutable_customs_value()->set_minor_units(
        static_cast<int64_t>(rng() % 10'000'000));
    v1::LineVerdict* lv = v.add_lines();
    lv->set_line_number(l);
    lv->set_outcome(outcome);
    v1::Finding* f = lv->add_findings();
    f->set_rule_id(absl::StrFormat("R-%03d", rng() % kRules));
    f->set_severity(v1::SEVERITY_INFO);
    f->set_message("reciprocal tariff applies at the rate for the origin");
  }
  r.caller = "bench";
  return r;
}

// Appends records [from, to) without waiting for each one, a window at a
// time so the queue stays bounded.
bool Load(AuditStore& store, uint64_t from, uint64_t to, std::mt19937_64& rng) {
  constexpr uint64_t kWindow = 20'000;
  struct Progress {
    uint64_t done = 0;
    uint64_t want = 0;
    bool failed = false;
    bool Finished() const { return done == want; }
  };
  for (uint64_t i = from; i < to; i += kWindow) {
    const uint64_t end = std::min(to, i + kWindow);
    absl::Mutex mu;
    Progress progress;
    progress.want = end - i;
    for (uint64_t j = i; j < end; ++j) {
      store.Append(MakeRecord(j, rng), [&](absl::StatusOr<AppendResult> r) {
        absl::MutexLock lock(&mu);
        if (!r.ok() && !progress.failed) {
          progress.failed = true;
          std::fprintf(stderr, "append failed: %s\n",
                       r.status().ToString().c_str());
        }
        ++progress.done;
      });
    }
    absl::MutexLock lock(&mu);
    mu.Await(absl::Condition(&progress, &Progress::Finished));
    if (progress.failed) return false;
  }
  return true;
}

struct Shape {
  std::string name;
  // Builds the filter for run `i` (values vary so caches do not flatter).
  std::function<v1::DecisionFilter(int i, uint64_t trail_size)> filter;
  int page = 1;  // 1 = first page; k = the k-th page (follows tokens)
};

std::vector<Shape> Shapes() {
  return {
      {"outcome=DENY",
       [](int, uint64_t) {
         v1::DecisionFilter f;
         f.set_outcome(v1::OUTCOME_DENY);
         return f;
       }},
      {"exporter",
       [](int i, uint64_t) {
         v1::DecisionFilter f;
         f.set_exporter_id(absl::StrFormat("EXP-%03d", i % kExporters));
         return f;
       }},
      {"exporter+outcome=REVIEW",
       [](int i, uint64_t) {
         v1::DecisionFilter f;
         f.set_exporter_id(absl::StrFormat("EXP-%03d", i % kExporters));
         f.set_outcome(v1::OUTCOME_NEEDS_REVIEW);
         return f;
       }},
      {"origin+hs_prefix+rule",
       [](int i, uint64_t) {
         v1::DecisionFilter f;
         f.set_origin_country(kCountries[i % std::size(kCountries)]);
         f.set_hs_code_prefix("85");
         f.set_rule_id(absl::StrFormat("R-%03d", i % kRules));
         return f;
       }},
      {"outcome+time(middle of trail)",
       [](int i, uint64_t n) {
         v1::DecisionFilter f;
         f.set_outcome(v1::OUTCOME_DENY);
         // A window ending somewhere in the middle half of the trail.
         f.mutable_recorded_to()->set_seconds(
             1'780'000'000 + static_cast<int64_t>(n / 4 + (i * 7919) % (n / 2)));
         return f;
       }},
      {"exporter, 5th page",
       [](int i, uint64_t) {
         v1::DecisionFilter f;
         f.set_exporter_id(absl::StrFormat("EXP-%03d", i % kExporters));
         return f;
       },
       5},
  };
}

struct Figures {
  double median_us = 0;
  double p99_us = 0;
};

Figures Measure(const AuditStore& store, const Shape& shape, uint64_t n,
                int runs) {
  std::vector<double> us;
  for (int i = -runs / 10; i < runs; ++i) {  // the first 10 % warm up
    const v1::DecisionFilter f = shape.filter(i < 0 ? -i : i, n);
    std::string token;
    // Earlier pages of a deep query are not timed.
    for (int p = 1; p < shape.page; ++p) {
      auto r = store.ListDecisions(f, 100, token);
      if (!r.ok() || r->next_page_token.empty()) std::abort();
      token = r->next_page_token;
    }
    const auto start = std::chrono::steady_clock::now();
    auto r = store.ListDecisions(f, 100, token);
    const auto end = std::chrono::steady_clock::now();
    if (!r.ok() || r->decisions.size() != 100) {
      std::fprintf(stderr, "%s: %s, %zu records\n", shape.name.c_str(),
                   r.status().ToString().c_str(),
                   r.ok() ? r->decisions.size() : 0);
      std::abort();
    }
    if (i >= 0) {
      us.push_back(std::chrono::duration<double, std::micro>(end - start).count());
    }
  }
  std::sort(us.begin(), us.end());
  Figures out;
  out.median_us = us[us.size() / 2];
  out.p99_us = us[std::min(us.size() - 1, us.size() * 99 / 100)];
  return out;
}

int Run() {
  const uint64_t small = absl::GetFlag(FLAGS_small);
  const uint64_t large = absl::GetFlag(FLAGS_large);
  if (small == 0 || large < small) {
    std::fprintf(stderr, "need 0 < --small <= --large\n");
    return 2;
  }
  const int runs = absl::GetFlag(FLAGS_runs);
  std::string dir = absl::GetFlag(FLAGS_dir);
  const bool own_dir = dir.empty();
  if (own_dir) {
    std::string tmpl = "/tmp/query_bench.XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) return 1;
    dir = tmpl;
  }
  SteppingClock clock;
  AuditStoreOptions options;
  options.path = dir + "/db";
  options.clock = &clock;
  options.sync = false;  // setup only: queries do not depend on it
  options.max_batch = 1024;
  auto store = AuditStore::Open(options);
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.status().ToString().c_str());
    return 1;
  }
  std::mt19937_64 rng(42);
  const std::vector<Shape> shapes = Shapes();
  const uint64_t sizes[2] = {small, large};
  std::vector<Figures> figures[2];

  for (int size = 0; size < 2; ++size) {
    const uint64_t n = sizes[size];
    const uint64_t have = (*store)->Stats().records_written;
    const auto load_start = std::chrono::steady_clock::now();
    if (!Load(**store, have, n, rng)) return 1;
    const double load_s = std::chrono::duration<double>(
                              std::chrono::steady_clock::now() - load_start)
                              .count();
    std::printf("loaded %llu records (%llu new in %.1f s, %.0f records/s)\n",
                static_cast<unsigned long long>(n),
                static_cast<unsigned long long>(n - have), load_s,
                (n - have) / std::max(load_s, 1e-9));
    for (const Shape& shape : shapes) {
      figures[size].push_back(Measure(**store, shape, n, runs));
    }
  }

  std::printf("\nListDecisions, page of 100, %d runs per cell, microseconds\n",
              runs);
  std::printf("%-32s %10s %10s %10s %10s %8s %8s\n", "filter",
              "med@small", "p99@small", "med@large", "p99@large", "med x",
              "p99 x");
  for (size_t i = 0; i < shapes.size(); ++i) {
    const Figures& s = figures[0][i];
    const Figures& l = figures[1][i];
    std::printf("%-32s %10.0f %10.0f %10.0f %10.0f %8.2f %8.2f\n",
                shapes[i].name.c_str(), s.median_us, s.p99_us, l.median_us,
                l.p99_us, l.median_us / s.median_us, l.p99_us / s.p99_us);
  }
  std::printf("small = %llu records, large = %llu records (x%.0f)\n",
              static_cast<unsigned long long>(small),
              static_cast<unsigned long long>(large),
              static_cast<double>(large) / static_cast<double>(small));
  absl::Status closed = (*store)->Close();
  if (own_dir) std::filesystem::remove_all(dir);
  if (!closed.ok()) {
    std::fprintf(stderr, "%s\n", closed.ToString().c_str());
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace tradecheck::storage

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return tradecheck::storage::Run();
}
