// query_bench: latency of one filtered page (100 records; 1 for a
// declaration id) of
// AuditStore::ListDecisions on trails of 100k and 1M records, to show that a
// query's cost follows the page, not the trail.
//
//   query_bench [--sizes=100000,1000000] [--runs=300] [--dir=/tmp/...]
//       [--proofs=false] [--verify_full] [--summaries=false]
//
// Loads one store per size (sync=false for setup; the same records up to
// each size, bench/trail_records.h), or reuses DIR/db-<size> when it holds
// that many records: `trail_generator --db=DIR/db-10000000
// --records=10000000` writes one ahead of time. Then times every query
// shape on the stores in turn, run by run, so noise from other work on the
// machine falls on all sizes alike. Prints median and p99 per shape and
// size, and the last/first ratio; then inclusion and consistency proofs
// and the verification of 10,000 records, timed the same way; then
// summaries (SummarizeDecisions' store walk and grouping) of a governing
// month and of one exporter, each from the summary rows against the same
// summary from the records, in the same run; with --verify_full, the
// whole chain of each store verified once.
// Once a trail outgrows RocksDB's block cache, a page of old records costs
// up to one block read per record returned: bounded by the page, not the
// trail.
#include <stdlib.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/marshalling.h"
#include "absl/flags/parse.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "absl/time/civil_time.h"
#include "common/clock.h"
#include "bench/trail_records.h"
#include "common/dates.h"
#include "common/proto_bytes.h"
#include "core/decision_summary.h"
#include "storage/audit_store.h"
#include "storage/keys.h"

ABSL_FLAG(std::vector<std::string>, sizes,
          std::vector<std::string>({"100000", "1000000"}),
          "Trail sizes, one store each; the ratio is last/first.");
ABSL_FLAG(std::string, dir, "",
          "Directory for the store (default: a fresh one under /tmp, removed "
          "at the end).");
ABSL_FLAG(std::string, shape, "",
          "Only measure query shapes whose name contains this.");
ABSL_FLAG(int, runs, 300, "Queries measured per shape and trail size.");
ABSL_FLAG(bool, proofs, true,
          "Also time inclusion and consistency proofs and the verification "
          "of 10,000 records in the middle of each trail.");
ABSL_FLAG(bool, summaries, true,
          "Also time summaries of a governing month and of one exporter from "
          "the summary rows and from the records.");
ABSL_FLAG(bool, verify_full, false,
          "Also verify the whole binding chain of each trail once (reads "
          "every record: minutes at 10M) and print records/s.");

namespace tradecheck::storage {
namespace {

using bench::kCallers;
using bench::kCountries;
using bench::kExporters;
using bench::kRules;

// Per trail size: recorded_at of 64 records spread over the middle half of
// the trail (sequences n/4 .. 3n/4), read back after loading.
std::map<uint64_t, std::vector<google::protobuf::Timestamp>>& MiddleTimes() {
  static auto* times =
      new std::map<uint64_t, std::vector<google::protobuf::Timestamp>>();
  return *times;
}
constexpr int kMiddleTimes = 64;

bool RecordMiddleTimes(const AuditStore& store, uint64_t n) {
  std::vector<google::protobuf::Timestamp>& times = MiddleTimes()[n];
  for (int j = 0; j < kMiddleTimes; ++j) {
    const uint64_t sequence = n / 4 + j * (n / 2) / kMiddleTimes;
    auto d = store.GetDecision(
        keys::DecisionId(v1::TRAIL_STREAM_BINDING, sequence));
    if (!d.ok()) {
      std::fprintf(stderr, "%s\n", d.status().ToString().c_str());
      return false;
    }
    times.push_back(d->recorded_at());
  }
  return true;
}

struct Shape {
  std::string name;
  // Builds the filter for run `i` (values vary so caches do not flatter).
  std::function<v1::DecisionFilter(int i, uint64_t trail_size)> filter;
  int page = 1;  // 1 = first page; k = the k-th page (follows tokens)
  size_t expect = 100;  // records the timed page must hold
  // kOldestFirst: order_by "recorded_time asc"; kGoverning*: by
  // governing date.
  ListOrder order = ListOrder::kNewestFirst;
};

v1::DecisionFilter OneExporter(int i) {
  v1::DecisionFilter f;
  f.set_exporter_id(absl::StrFormat("EXP-%03d", i % kExporters));
  return f;
}

v1::DecisionFilter GoverningMonth(int i) {
  v1::DecisionFilter f;
  const absl::CivilMonth month = absl::CivilMonth(2024, 1) + (i * 7) % 24;
  *f.mutable_governing_from() = ToDate(absl::CivilDay(month));
  *f.mutable_governing_to() = ToDate(absl::CivilDay(month + 1) - 1);
  return f;
}

std::vector<Shape> Shapes() {
  return {
      {"outcome=DENY",
       [](int, uint64_t) {
         v1::DecisionFilter f;
         f.set_outcome(v1::OUTCOME_DENY);
         return f;
       }},
      {"exporter", [](int i, uint64_t) { return OneExporter(i); }},
      {"exporter+outcome=REVIEW",
       [](int i, uint64_t) {
         v1::DecisionFilter f = OneExporter(i);
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
         // A window ending at the recorded_at of a record somewhere in the
         // middle half of the trail.
         *f.mutable_recorded_to() =
             MiddleTimes()[n][(i * 7919) % kMiddleTimes];
         return f;
       }},
      {"declaration_id",
       [](int i, uint64_t n) {
         v1::DecisionFilter f;
         f.set_declaration_id(
             absl::StrFormat("DECL-%010d", (i * 7919ULL) % n));
         return f;
       },
       1, 1},
      {"governing month",
       [](int i, uint64_t) { return GoverningMonth(i); }},
      {"governing month+outcome=DENY",
       [](int i, uint64_t) {
         v1::DecisionFilter f = GoverningMonth(i);
         f.set_outcome(v1::OUTCOME_DENY);
         return f;
       }},
      {"caller+role",
       [](int i, uint64_t) {
         v1::DecisionFilter f;
         f.set_caller(absl::StrFormat("customs-%02d", i % kCallers));
         f.set_caller_role(v1::CALLER_ROLE_CUSTOMS);
         return f;
       }},
      {"exporter+duty>=USD 5,000",
       [](int i, uint64_t) {
         v1::DecisionFilter f;
         f.set_exporter_id(absl::StrFormat("EXP-%03d", i % kExporters));
         f.mutable_duty_min()->set_currency_code("USD");
         f.mutable_duty_min()->set_minor_units(500'000);
         return f;
       }},
      {"exporter, 5th page",
       [](int i, uint64_t) { return OneExporter(i); }, 5},
      // order_by "recorded_time asc": the same postings walked upward.
      {"outcome=DENY, oldest first",
       [](int, uint64_t) {
         v1::DecisionFilter f;
         f.set_outcome(v1::OUTCOME_DENY);
         return f;
       },
       1, 100, ListOrder::kOldestFirst},
      {"exporter, oldest first",
       [](int i, uint64_t) { return OneExporter(i); }, 1, 100,
       ListOrder::kOldestFirst},
      {"exporter+outcome=REVIEW, oldest first",
       [](int i, uint64_t) {
         v1::DecisionFilter f = OneExporter(i);
         f.set_outcome(v1::OUTCOME_NEEDS_REVIEW);
         return f;
       },
       1, 100, ListOrder::kOldestFirst},
      {"exporter, oldest first, 5th page",
       [](int i, uint64_t) { return OneExporter(i); }, 5, 100,
       ListOrder::kOldestFirst},
      // order_by "governing_date desc" / "asc": a month's days walked one
      // by one over the governing-day postings.
      {"governing month, by date desc",
       [](int i, uint64_t) { return GoverningMonth(i); }, 1, 100,
       ListOrder::kGoverningNewestFirst},
      {"governing month, by date asc",
       [](int i, uint64_t) { return GoverningMonth(i); }, 1, 100,
       ListOrder::kGoverningOldestFirst},
      {"gov. month+DENY, by date, 3rd page",
       [](int i, uint64_t) {
         v1::DecisionFilter f = GoverningMonth(i);
         f.set_outcome(v1::OUTCOME_DENY);
         return f;
       },
       3, 100, ListOrder::kGoverningNewestFirst},
  };
}

struct Figures {
  double median_us = 0;
  double p99_us = 0;
};

// Waits until RocksDB's background flushes and compactions after the load
// have settled (this process using under 5 % of a core over a second), so
// they do not run during the measurements. Returns the seconds waited.
int WaitForQuiet() {
  auto cpu_seconds = [] {
    rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
           (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  };
  int waited = 0;
  for (; waited < 300; ++waited) {
    const double before = cpu_seconds();
    absl::SleepFor(absl::Seconds(1));
    if (cpu_seconds() - before < 0.05) break;
  }
  return waited;
}

// Times one page of `shape` on `store`; earlier pages of a deep query are
// fetched first and not timed.
double TimeOnePage(const AuditStore& store, const Shape& shape, int i,
                   uint64_t n) {
  const v1::DecisionFilter f = shape.filter(i, n);
  std::string token;
  for (int p = 1; p < shape.page; ++p) {
    auto r = store.ListDecisions(f, 100, token, shape.order);
    if (!r.ok() || r->next_page_token.empty()) std::abort();
    token = r->next_page_token;
  }
  const auto start = std::chrono::steady_clock::now();
  auto r = store.ListDecisions(f, 100, token, shape.order);
  // A filter no index answers may leave a page short (the store reads 100
  // candidates); the next pages fill it, as a client's listing would.
  while (r.ok() && r->decisions.size() < shape.expect &&
         !r->next_page_token.empty() && absl::StrContains(shape.name, "duty")) {
    const size_t have = r->decisions.size();
    std::vector<v1::Decision> kept = std::move(r->decisions);
    r = store.ListDecisions(f, static_cast<int>(shape.expect - have),
                            r->next_page_token, shape.order);
    if (r.ok()) {
      kept.insert(kept.end(), r->decisions.begin(), r->decisions.end());
      r->decisions = std::move(kept);
    }
  }
  const auto end = std::chrono::steady_clock::now();
  if (!r.ok() || r->decisions.size() != shape.expect) {
    std::fprintf(stderr, "%s: %s, %zu records\n", shape.name.c_str(),
                 r.status().ToString().c_str(),
                 r.ok() ? r->decisions.size() : 0);
    std::abort();
  }
  return std::chrono::duration<double, std::micro>(end - start).count();
}

Figures Summarize(std::vector<double> us) {
  std::sort(us.begin(), us.end());
  Figures out;
  out.median_us = us[us.size() / 2];
  out.p99_us = us[std::min(us.size() - 1, us.size() * 99 / 100)];
  return out;
}

void PrintTable(const std::vector<Shape>& shapes,
                const std::vector<uint64_t>& sizes,
                const std::vector<std::vector<Figures>>& figures, int runs) {
  std::printf("\nListDecisions, page of 100, %d runs per cell, microseconds\n",
              runs);
  std::printf("%-30s", "filter");
  for (uint64_t n : sizes) {
    std::printf(" %9s %9s", absl::StrFormat("med@%dk", n / 1000).c_str(),
                absl::StrFormat("p99@%dk", n / 1000).c_str());
  }
  const size_t last = sizes.size() - 1;
  const std::string ratio =
      absl::StrFormat("%dk/%dk", sizes[last] / 1000, sizes[0] / 1000);
  std::printf(" %13s %13s", ("med " + ratio).c_str(), ("p99 " + ratio).c_str());
  if (sizes.size() > 2) {
    std::printf(" %13s", absl::StrFormat("med %dk/%dk", sizes[last] / 1000,
                                         sizes[last - 1] / 1000)
                             .c_str());
  }
  std::printf("\n");
  for (size_t i = 0; i < shapes.size(); ++i) {
    std::printf("%-30s", shapes[i].name.c_str());
    for (size_t k = 0; k < sizes.size(); ++k) {
      std::printf(" %9.0f %9.0f", figures[k][i].median_us,
                  figures[k][i].p99_us);
    }
    std::printf(" %13.2f %13.2f",
                figures[last][i].median_us / figures[0][i].median_us,
                figures[last][i].p99_us / figures[0][i].p99_us);
    if (sizes.size() > 2) {
      std::printf(" %13.2f",
                  figures[last][i].median_us / figures[last - 1][i].median_us);
    }
    std::printf("\n");
  }
}

// Proofs and a verified range, timed like the shapes (sizes in turn, run
// by run): what an auditor's `audit proof` and a partial `audit verify`
// cost as the trail grows.
int MeasureProofs(const std::vector<std::unique_ptr<AuditStore>>& stores,
                  const std::vector<uint64_t>& sizes, int runs) {
  constexpr uint64_t kVerifyRange = 10'000;
  struct Op {
    std::string name;
    int runs;
    std::function<absl::Status(const AuditStore&, uint64_t n, int i)> run;
  };
  const std::vector<Op> ops = {
      {"inclusion proof", runs,
       [](const AuditStore& store, uint64_t n, int i) {
         return store
             .InclusionProof(keys::DecisionId(v1::TRAIL_STREAM_BINDING,
                                              1 + (i * 7919ULL) % n),
                             0)
             .status();
       }},
      {"consistency proof", runs,
       [](const AuditStore& store, uint64_t n, int i) {
         return store
             .ConsistencyProof(v1::TRAIL_STREAM_BINDING,
                               n / 2 + (i * 7919ULL) % (n / 2), n)
             .status();
       }},
      {"verify 10k records", std::max(3, runs / 10),
       [](const AuditStore& store, uint64_t n, int i) -> absl::Status {
         const uint64_t from = n / 4 + (i * 104729ULL) % (n / 2);
         auto r = store.VerifyTrail(v1::TRAIL_STREAM_BINDING, from,
                                    std::min(n, from + kVerifyRange - 1));
         if (!r.ok()) return r.status();
         if (!r->ok()) return absl::DataLossError(r->problem());
         return absl::OkStatus();
       }},
  };
  std::printf("\nProofs and verification, microseconds (median, p99)\n");
  std::printf("%-30s", "operation");
  for (uint64_t n : sizes) {
    std::printf(" %9s %9s", absl::StrFormat("med@%dk", n / 1000).c_str(),
                absl::StrFormat("p99@%dk", n / 1000).c_str());
  }
  std::printf(" %13s\n", absl::StrFormat("med %dk/%dk", sizes.back() / 1000,
                                         sizes.front() / 1000)
                             .c_str());
  for (const Op& op : ops) {
    std::vector<std::vector<double>> us(sizes.size());
    for (int i = -op.runs / 10; i < op.runs; ++i) {
      for (size_t k = 0; k < sizes.size(); ++k) {
        const auto start = std::chrono::steady_clock::now();
        absl::Status s = op.run(*stores[k], sizes[k], i < 0 ? -i : i);
        const auto end = std::chrono::steady_clock::now();
        if (!s.ok()) {
          std::fprintf(stderr, "%s: %s\n", op.name.c_str(),
                       s.ToString().c_str());
          return 1;
        }
        if (i >= 0) {
          us[k].push_back(
              std::chrono::duration<double, std::micro>(end - start).count());
        }
      }
    }
    std::printf("%-30s", op.name.c_str());
    std::vector<Figures> f;
    for (auto& u : us) f.push_back(Summarize(std::move(u)));
    for (const Figures& x : f) std::printf(" %9.0f %9.0f", x.median_us, x.p99_us);
    std::printf(" %13.2f\n", f.back().median_us / f.front().median_us);
  }
  return 0;
}

// A summary as SummarizeDecisions computes it (every page of the filter,
// grouped by origin and outcome), read in `view`, as deterministic bytes
// (the two views must give the same); empty on an error.
std::string SummarizeOnce(const AuditStore& store, const v1::DecisionFilter& f,
                          ListView view) {
  google::protobuf::RepeatedField<int> group_by;
  group_by.Add(v1::SUMMARY_DIMENSION_ORIGIN);
  group_by.Add(v1::SUMMARY_DIMENSION_OUTCOME);
  DecisionSummary summary(group_by);
  std::string token;
  do {
    auto page = store.ListDecisions(f, 1000, token, ListOrder::kNewestFirst,
                                    view);
    if (!page.ok()) {
      std::fprintf(stderr, "summary: %s\n", page.status().ToString().c_str());
      return "";
    }
    for (const v1::Decision& d : page->decisions) summary.Add(d);
    token = page->next_page_token;
  } while (!token.empty());
  return SerializeDeterministic(summary.Finish());
}

// Summaries read every decision the filter selects, so their cost follows
// the matches, not a page: the figure is the summary rows against the
// records, on the same store in the same run (records alternate with rows).
int MeasureSummaries(const std::vector<std::unique_ptr<AuditStore>>& stores,
                     const std::vector<uint64_t>& sizes, int runs) {
  const int n_runs = std::max(3, runs / 30);
  const std::vector<std::pair<std::string, v1::DecisionFilter (*)(int)>>
      filters = {{"governing month", GoverningMonth},
                 {"exporter", OneExporter}};
  std::printf("\nSummaries (origin x outcome), %d runs per cell, median ms\n",
              n_runs);
  std::printf("%-18s %10s %12s %12s %14s\n", "filter", "trail",
              "decisions", "records ms", "rows ms (ratio)");
  for (const auto& [name, filter] : filters) {
    for (size_t k = 0; k < sizes.size(); ++k) {
      std::vector<double> ms[2];
      int64_t decisions = 0;
      for (int i = -1; i < n_runs; ++i) {  // one warm-up
        std::string answers[2];
        for (ListView view : {ListView::kFull, ListView::kSummary}) {
          const auto start = std::chrono::steady_clock::now();
          std::string& answer = answers[view == ListView::kSummary];
          answer = SummarizeOnce(*stores[k], filter(i < 0 ? 0 : i), view);
          const auto end = std::chrono::steady_clock::now();
          if (answer.empty()) return 1;
          if (i >= 0) {
            ms[view == ListView::kSummary].push_back(
                std::chrono::duration<double, std::milli>(end - start)
                    .count());
          }
        }
        if (answers[0] != answers[1]) {
          std::fprintf(stderr, "summary of %s: the rows and the records "
                       "disagree\n", name.c_str());
          return 1;
        }
        v1::SummarizeDecisionsResponse summed;
        summed.ParseFromString(answers[0]);
        decisions = summed.total().decisions();
      }
      const double records_ms = Summarize(ms[0]).median_us;
      const double rows_ms = Summarize(ms[1]).median_us;
      std::printf("%-18s %9lluk %12lld %12.1f %7.1f (%.2f)\n", name.c_str(),
                  static_cast<unsigned long long>(sizes[k] / 1000),
                  static_cast<long long>(decisions), records_ms, rows_ms,
                  rows_ms / records_ms);
    }
  }
  return 0;
}

// The whole binding chain of each trail verified once: O(n) by nature (every
// record is read and hashed), so the figure is records per second.
int MeasureFullVerify(const std::vector<std::unique_ptr<AuditStore>>& stores,
                      const std::vector<uint64_t>& sizes) {
  std::printf("\nWhole-chain verification (VerifyTrail of every record)\n");
  for (size_t k = 0; k < sizes.size(); ++k) {
    const auto start = std::chrono::steady_clock::now();
    auto r = stores[k]->VerifyTrail(v1::TRAIL_STREAM_BINDING, 0, 0);
    const double s = std::chrono::duration<double>(
                         std::chrono::steady_clock::now() - start)
                         .count();
    if (!r.ok() || !r->ok()) {
      std::fprintf(stderr, "verify: %s\n",
                   r.ok() ? r->problem().c_str()
                          : r.status().ToString().c_str());
      return 1;
    }
    std::printf("%llu records: %.1f s, %.0f records/s\n",
                static_cast<unsigned long long>(r->records_checked()), s,
                static_cast<double>(r->records_checked()) / s);
  }
  return 0;
}

int LoadAndMeasure(const std::string& dir, const std::vector<uint64_t>& sizes,
                   int runs) {
  // One clock per store.
  std::vector<std::unique_ptr<SteppingClock>> clocks;
  std::vector<std::unique_ptr<AuditStore>> stores;
  int rc = 0;
  for (uint64_t n : sizes) {
    AuditStoreOptions options;
    options.path = absl::StrFormat("%s/db-%d", dir, n);
    // One second later at each reading (the store reads it once per group
    // commit; MiddleTimes() finds the times records got).
    clocks.push_back(std::make_unique<SteppingClock>(
        absl::FromUnixSeconds(1'780'000'000), absl::Seconds(1)));
    options.clock = clocks.back().get();
    options.sync = false;  // setup only: queries do not depend on it
    options.max_batch = 1024;
    const auto open_start = std::chrono::steady_clock::now();
    auto store = AuditStore::Open(options);
    if (!store.ok()) {
      std::fprintf(stderr, "%s\n", store.status().ToString().c_str());
      rc = 1;
      break;
    }
    if ((*store)
            ->GetDecision(keys::DecisionId(v1::TRAIL_STREAM_BINDING, n))
            .ok()) {
      // Open runs the server's checks at open (check_at_open), which read
      // the whole declarations family: its time grows with the trail.
      std::printf("reusing the %llu records in %s (opened, with the checks "
                  "at open, in %.1f s)\n",
                  static_cast<unsigned long long>(n), options.path.c_str(),
                  std::chrono::duration<double>(
                      std::chrono::steady_clock::now() - open_start)
                      .count());
      if (!RecordMiddleTimes(**store, n)) {
        rc = 1;
        break;
      }
      stores.push_back(std::move(*store));
      continue;
    }
    // Every store starts with the same records (bench/trail_records.h).
    const auto load_start = std::chrono::steady_clock::now();
    const bool loaded = bench::AppendRecords(**store, 0, n,
                                             bench::SyntheticRecord) &&
                        RecordMiddleTimes(**store, n);
    stores.push_back(std::move(*store));
    if (!loaded) {
      rc = 1;
      break;
    }
    const double load_s = std::chrono::duration<double>(
                              std::chrono::steady_clock::now() - load_start)
                              .count();
    std::printf("loaded %llu records in %.1f s (%.0f records/s)\n",
                static_cast<unsigned long long>(n), load_s, n / load_s);
    std::fflush(stdout);
  }

  if (rc == 0) {
    std::printf("waited %d s for background compactions to finish\n",
                WaitForQuiet());
    // Stores are queried in turn, run by run, so load from other processes
    // on the machine falls on every size alike.
    std::vector<Shape> shapes;
    for (Shape& shape : Shapes()) {
      if (absl::StrContains(shape.name, absl::GetFlag(FLAGS_shape))) {
        shapes.push_back(std::move(shape));
      }
    }
    std::vector<std::vector<Figures>> figures(sizes.size());
    for (const Shape& shape : shapes) {
      std::vector<std::vector<double>> us(sizes.size());
      for (int i = -runs / 10; i < runs; ++i) {  // the first 10 % warm up
        for (size_t k = 0; k < sizes.size(); ++k) {
          const double t =
              TimeOnePage(*stores[k], shape, i < 0 ? -i : i, sizes[k]);
          if (i >= 0) us[k].push_back(t);
        }
      }
      for (size_t k = 0; k < sizes.size(); ++k) {
        figures[k].push_back(Summarize(std::move(us[k])));
      }
    }
    PrintTable(shapes, sizes, figures, runs);
    if (absl::GetFlag(FLAGS_proofs)) rc = MeasureProofs(stores, sizes, runs);
    if (rc == 0 && absl::GetFlag(FLAGS_summaries)) {
      rc = MeasureSummaries(stores, sizes, runs);
    }
    if (rc == 0 && absl::GetFlag(FLAGS_verify_full)) {
      rc = MeasureFullVerify(stores, sizes);
    }
  }
  for (auto& store : stores) {
    absl::Status closed = store->Close();
    if (!closed.ok()) {
      std::fprintf(stderr, "%s\n", closed.ToString().c_str());
      rc = 1;
    }
  }
  return rc;
}

int Run() {
  std::vector<uint64_t> sizes;
  for (const std::string& text : absl::GetFlag(FLAGS_sizes)) {
    uint64_t n = 0;
    if (!absl::SimpleAtoi(text, &n) || n < 1000) {
      std::fprintf(stderr, "--sizes: record counts >= 1000\n");
      return 2;
    }
    sizes.push_back(n);
  }
  if (sizes.size() < 2) {
    std::fprintf(stderr, "--sizes: give at least two\n");
    return 2;
  }
  std::string dir = absl::GetFlag(FLAGS_dir);
  const bool own_dir = dir.empty();
  if (own_dir) {
    std::string tmpl = "/tmp/query_bench.XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) return 1;
    dir = tmpl;
  }
  const int rc = LoadAndMeasure(dir, sizes, absl::GetFlag(FLAGS_runs));
  if (own_dir) std::filesystem::remove_all(dir);
  return rc;
}

}  // namespace
}  // namespace tradecheck::storage

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return tradecheck::storage::Run();
}
