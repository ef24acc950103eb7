// latency_bench: what a user feels when traffic bursts. Drives a real
// tradecheck_server over loopback and prints, in one run:
//
//  1. the maximum rate of durable checks and of the do-nothing method (the
//     standard health check) at --max_in_flight calls outstanding, with the
//     CPU each costs the server (its own /proc/<pid>/stat counters) and this
//     client (getrusage), per call, and the ratio check / do-nothing;
//  2. latency under an open-loop load: calls sent on a fixed schedule at 10 %,
//     50 % and 80 % of that maximum, never waiting for answers, each measured
//     from its scheduled send time; p50 / p99 / p99.9 of durable checks
//     beside the do-nothing method at the same offered load;
//  3. one fdatasync of a small file next to the server's data (the physical
//     floor of a durable answer) and the target check: durable p99 at 50 %
//     within 3x of one fsync plus the do-nothing p99;
//  4. the bidirectional stream: a bulk feed of --stream_items declarations,
//     checks/s and p99 per item (from its write to its result), against the
//     same number of unary calls at --max_in_flight outstanding.
//
//   build/bench/latency_bench [--seconds=5] [--stream_items=100000]
//
// Figures are ratios against baselines of the same run; timings are never a
// test (CTest runs this briefly only so that it keeps building and running).
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "bench/grpc_calls.h"
#include "bench/load_driver.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "httplib.h"
#include "tests/e2e/e2e_util.h"
#include "tests/testing/server_process.h"
#include "tradecheck/v1/compliance_service.grpc.pb.h"

ABSL_FLAG(double, seconds, 5, "Measuring time per row and method.");
ABSL_FLAG(int, max_in_flight, 64,
          "Calls outstanding when measuring the maximum rate and CPU.");
ABSL_FLAG(std::string, loads, "10,50,80",
          "Offered loads, in percent of the measured maximum durable rate.");
ABSL_FLAG(int, channels, 4, "Client connections (requests spread over them).");
ABSL_FLAG(int, stream_items, 100000,
          "Declarations in the bulk feed over the bidirectional stream "
          "(and as many unary calls to compare).");
ABSL_FLAG(std::vector<std::string>, server_flags, {},
          "Extra flags for the server this bench starts, comma-separated.");

namespace tradecheck::bench {
namespace {

// Sums and counts of the store's group-commit histograms on the server's
// /metrics: where its part of a durable check's wait goes.
struct CommitTimes {
  double queue = 0, stage = 0, write = 0;  // seconds, summed
  double commits = 0, records = 0;
};

CommitTimes ScrapeCommitTimes(int port) {
  CommitTimes t;
  if (port <= 0) return t;
  httplib::Client client("127.0.0.1", port);
  const httplib::Result response = client.Get("/metrics");
  if (!response || response->status != 200) return t;
  for (absl::string_view line : absl::StrSplit(response->body, '\n')) {
    const size_t space = line.rfind(' ');
    double value = 0;
    if (space == absl::string_view::npos ||
        !absl::SimpleAtod(line.substr(space + 1), &value)) {
      continue;
    }
    const absl::string_view name = line.substr(0, space);
    if (name == "tradecheck_group_commit_queue_seconds_sum") {
      t.queue = value;
    } else if (name == "tradecheck_group_commit_stage_seconds_sum") {
      t.stage = value;
    } else if (name == "tradecheck_group_commit_stage_seconds_count") {
      t.commits = value;
    } else if (name == "tradecheck_group_commit_records_sum") {
      t.records = value;
    } else if (absl::StartsWith(name,
                                "tradecheck_group_commit_write_seconds_sum")) {
      t.write += value;
    }
  }
  return t;
}

// Mean queue wait (of each group commit's oldest record), staging and
// write per group commit between two scrapes.
void PrintCommitTimes(const CommitTimes& before, const CommitTimes& after) {
  const double n = after.commits - before.commits;
  if (n <= 0) return;
  std::printf("  %-12s per group commit (%.0f of %.1f records, the server's "
              "/metrics): queue %.0f  staging %.0f  write %.0f us (means)\n",
              "", n, (after.records - before.records) / n,
              1e6 * (after.queue - before.queue) / n,
              1e6 * (after.stage - before.stage) / n,
              1e6 * (after.write - before.write) / n);
}

struct CpuRow {
  double rps = 0;
  double server_us = 0;  // server CPU per call
  double client_us = 0;  // this client's CPU per call
  int failures = 0;
};

// The maximum rate at `in_flight` outstanding, and CPU per call on each
// side over the whole drive (warm-up included, in calls and in CPU alike).
CpuRow MeasureCpu(pid_t server, int in_flight, absl::Duration duration,
                  const Issue& issue) {
  std::atomic<int64_t> calls{0};
  Issue counted = [&](int64_t n, std::function<void(bool)> done) {
    ++calls;
    issue(n, std::move(done));
  };
  const double server_before = ProcessCpuMicros(server);
  const double client_before = SelfCpuMicros();
  CpuRow row;
  row.rps = Drive(in_flight, duration, counted, &row.failures);
  const double n = static_cast<double>(calls.load());
  row.server_us = (ProcessCpuMicros(server) - server_before) / n;
  row.client_us = (SelfCpuMicros() - client_before) / n;
  return row;
}

void PrintLatency(const char* what, const OpenLoopResult& r) {
  std::printf("  %-12s offered %8.0f/s achieved %8.0f/s  p50 %8.0f  p99 %8.0f"
              "  p99.9 %8.0f us%s%s\n",
              what, r.offered_rps, r.achieved_rps, r.latency.p50,
              r.latency.p99, r.latency.p999,
              r.overloaded ? "  (overloaded: sending stopped)" : "",
              r.failures > 0 ? "  (failures!)" : "");
}

int Main() {
  // The store, the signing key beside it and the fsync probe all live in
  // one scratch directory, removed at the end.
  auto scratch = testing::MakeTempDir("latency-bench");
  if (!scratch.ok()) {
    std::fprintf(stderr, "%s\n", scratch.status().ToString().c_str());
    return 1;
  }
  struct RemoveAtEnd {
    std::string dir;
    ~RemoveAtEnd() {
      std::error_code ignored;
      std::filesystem::remove_all(dir, ignored);
    }
  } remove_at_end{*scratch};
  testing::ServerProcessOptions server_options;
  server_options.data_dir = *scratch + "/data";
  server_options.extra_flags = absl::GetFlag(FLAGS_server_flags);
  auto started = testing::ServerProcess::Start(server_options);
  if (!started.ok()) {
    std::fprintf(stderr, "cannot start server: %s\n",
                 started.status().ToString().c_str());
    return 1;
  }
  std::unique_ptr<testing::ServerProcess> server = std::move(*started);
  const int metrics_port = server->metrics_port();

  const auto channels = OpenChannels(server->address(),
                                     absl::GetFlag(FLAGS_channels),
                                     grpc::InsecureChannelCredentials());
  const auto health = StubsOn<grpc::health::v1::Health>(channels);
  const auto compliance = StubsOn<v1::ComplianceService>(channels);

  // A new declaration id for every check, one of 1,000 exporters and 300
  // importers, as in server_load_bench.
  DeclarationSource declarations(testing::PalmOilImport("x"), "LAT-");
  constexpr std::chrono::seconds kDeadline(60);
  const Issue noop = HealthCheckCalls(&health, kDeadline);
  const Issue check =
      DurableCheckCalls(&compliance, &declarations, true, kDeadline);

  const absl::Duration duration =
      absl::Seconds(absl::GetFlag(FLAGS_seconds));
  const int in_flight = absl::GetFlag(FLAGS_max_in_flight);
  std::printf("latency_bench: server %s (pid %d), %d channels, %.1f s per row\n",
              server->address().c_str(), static_cast<int>(server->pid()),
              absl::GetFlag(FLAGS_channels), absl::ToDoubleSeconds(duration));

  // 1. Maximum rate and CPU per call.
  const CpuRow noop_max = MeasureCpu(server->pid(), in_flight, duration, noop);
  const CpuRow check_max =
      MeasureCpu(server->pid(), in_flight, duration, check);
  std::printf("\nmaximum at %d in flight, CPU per call (server from "
              "/proc/<pid>/stat, client from getrusage)\n",
              in_flight);
  std::printf("  %-12s %10s %14s %14s\n", "method", "calls/s", "server us",
              "client us");
  std::printf("  %-12s %10.0f %14.1f %14.1f%s\n", "do-nothing", noop_max.rps,
              noop_max.server_us, noop_max.client_us,
              noop_max.failures > 0 ? "  (failures!)" : "");
  std::printf("  %-12s %10.0f %14.1f %14.1f%s\n", "durable", check_max.rps,
              check_max.server_us, check_max.client_us,
              check_max.failures > 0 ? "  (failures!)" : "");
  std::printf("  ratio durable/do-nothing: rate %.2f, server CPU %.2fx, "
              "client CPU %.2fx\n",
              check_max.rps / noop_max.rps,
              check_max.server_us / noop_max.server_us,
              check_max.client_us / noop_max.client_us);
  std::fflush(stdout);

  // The no-store ceiling: the same check on the benchmark-only server that
  // answers without recording, at the same concurrency.
  {
    testing::ServerProcessOptions options;
    options.binary = TC_NO_STORE_SERVER;
    options.data_dir = *scratch + "/no-store-data";
    options.extra_flags = absl::GetFlag(FLAGS_server_flags);
    auto no_store = testing::ServerProcess::Start(options);
    if (!no_store.ok()) {
      std::fprintf(stderr, "cannot start the no-store server: %s\n",
                   no_store.status().ToString().c_str());
      return 1;
    }
    const auto stubs = StubsOn<v1::ComplianceService>(
        OpenChannels((*no_store)->address(), absl::GetFlag(FLAGS_channels),
                     grpc::InsecureChannelCredentials()));
    const CpuRow ceiling =
        MeasureCpu((*no_store)->pid(), in_flight, duration,
                   DurableCheckCalls(&stubs, &declarations, false, kDeadline));
    std::printf("  %-12s %10.0f %14.1f %14.1f%s   (benchmark-only build: "
                "checks answered, nothing recorded)\n",
                "no-store", ceiling.rps, ceiling.server_us, ceiling.client_us,
                ceiling.failures > 0 ? "  (failures!)" : "");
    std::printf("  ratio to do-nothing: durable %.2f, no-store ceiling %.2f; "
                "durable/no-store %.2f\n",
                check_max.rps / noop_max.rps, ceiling.rps / noop_max.rps,
                check_max.rps / ceiling.rps);
    auto code = (*no_store)->Stop();
    if (ceiling.failures > 0 || !code.ok() || *code != 0) return 1;
  }
  std::fflush(stdout);

  // 2. Open-loop latency at fractions of the maximum durable rate.
  std::printf("\nopen loop (fixed schedule, latency from scheduled send)\n");
  const absl::Duration warmup = absl::Milliseconds(500);
  OpenLoopResult noop_at_half, check_at_half;
  bool failed = noop_max.failures > 0 || check_max.failures > 0;
  for (absl::string_view level :
       absl::StrSplit(absl::GetFlag(FLAGS_loads), ',')) {
    int percent = 0;
    if (!absl::SimpleAtoi(level, &percent) || percent < 1) continue;
    const double rate = check_max.rps * percent / 100.0;
    std::printf(" %d %% of max durable:\n", percent);
    const OpenLoopResult n = OpenLoop(rate, duration, warmup, noop);
    PrintLatency("do-nothing", n);
    const CommitTimes commits_before = ScrapeCommitTimes(metrics_port);
    const OpenLoopResult c = OpenLoop(rate, duration, warmup, check);
    PrintLatency("durable", c);
    PrintCommitTimes(commits_before, ScrapeCommitTimes(metrics_port));
    std::fflush(stdout);
    failed = failed || n.failures > 0 || c.failures > 0;
    if (percent == 50) {
      noop_at_half = n;
      check_at_half = c;
    }
  }

  // 3. The physical floor, on the disk the server writes to.
  const Percentiles fsync = MeasureFsync(*scratch, 200);
  std::printf("\none fdatasync of 4 KiB next to the data: p50 %.0f us, "
              "p99 %.0f us\n",
              fsync.p50, fsync.p99);
  if (check_at_half.latency.samples > 0) {
    const double floor = fsync.p50 + noop_at_half.latency.p99;
    std::printf("target: durable p99 at 50 %% = %.0f us <= 3 x (fsync %.0f + "
                "do-nothing p99 %.0f) = %.0f us: %s (%.2fx of the floor)\n",
                check_at_half.latency.p99, fsync.p50,
                noop_at_half.latency.p99, 3 * floor,
                check_at_half.latency.p99 <= 3 * floor ? "met" : "NOT met",
                check_at_half.latency.p99 / floor);
  }

  // 4. Bulk feed over the stream vs the same number of unary calls.
  const int items = absl::GetFlag(FLAGS_stream_items);
  if (items > 0) {
    std::vector<std::atomic<int64_t>> sent_at(items);
    std::vector<int64_t> latency;
    latency.reserve(items);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(600));
    const int64_t start = SteadyNanos();
    auto stream = compliance[0]->StreamCheckDeclarations(&context);
    // At most --max_in_flight items unanswered, as for the unary calls: a
    // feed that sends everything at once measures its own queue instead.
    absl::Mutex window_mu;
    int answered = 0;
    std::thread writer([&]() {
      v1::CheckDeclarationRequest request;
      for (int i = 0; i < items; ++i) {
        {
          absl::MutexLock lock(&window_mu);
          const auto room = [&]() { return i - answered < in_flight; };
          window_mu.Await(absl::Condition(&room));
        }
        declarations.Next(request.mutable_declaration());
        sent_at[i].store(SteadyNanos(), std::memory_order_release);
        if (!stream->Write(request)) break;
      }
      stream->WritesDone();
    });
    v1::CheckResult result;
    int stream_failures = 0;
    while (stream->Read(&result)) {
      const int64_t now = SteadyNanos();
      if (!result.has_response() || result.index() >= sent_at.size()) {
        ++stream_failures;
        absl::MutexLock lock(&window_mu);
        ++answered;
        continue;
      }
      latency.push_back(
          now - sent_at[result.index()].load(std::memory_order_acquire));
      absl::MutexLock lock(&window_mu);
      ++answered;
    }
    writer.join();
    const grpc::Status status = stream->Finish();
    const double stream_seconds = (SteadyNanos() - start) / 1e9;
    const Percentiles stream_latency = PercentilesOf(latency);

    // The same number of unary checks, closed loop, each timed.
    std::vector<int64_t> unary_latency(items, -1);
    std::atomic<int64_t> next{0};
    std::atomic<int> remaining{items};
    std::atomic<int> unary_failures{0};
    absl::Notification all_done;
    std::function<void()> start_one;
    start_one = [&]() {
      const int64_t i = next++;
      if (i >= items) return;
      const int64_t begin = SteadyNanos();
      check(i, [&, i, begin](bool ok) {
        unary_latency[i] = SteadyNanos() - begin;
        if (!ok) ++unary_failures;
        start_one();
        if (--remaining == 0) all_done.Notify();
      });
    };
    const int64_t unary_start = SteadyNanos();
    for (int i = 0; i < in_flight && i < items; ++i) start_one();
    all_done.WaitForNotificationWithTimeout(absl::Seconds(600));
    const double unary_seconds = (SteadyNanos() - unary_start) / 1e9;
    const Percentiles unary = PercentilesOf(unary_latency);

    std::printf("\nbulk feed of %d declarations\n", items);
    std::printf("  %-28s %10s %10s %10s\n", "", "checks/s", "p50 us",
                "p99 us");
    std::printf("  %-28s %10.0f %10.0f %10.0f%s\n",
                absl::StrCat("one stream, ", in_flight, " in flight").c_str(),
                latency.size() / stream_seconds, stream_latency.p50,
                stream_latency.p99,
                (!status.ok() || stream_failures > 0 ||
                 static_cast<int>(latency.size()) != items)
                    ? "  (failures!)"
                    : "");
    std::printf("  %-28s %10.0f %10.0f %10.0f%s\n",
                absl::StrCat("unary, ", in_flight, " in flight").c_str(),
                items / unary_seconds, unary.p50, unary.p99,
                unary_failures.load() > 0 ? "  (failures!)" : "");
    std::printf("  ratio stream/unary: rate %.2f, p99 %.2f\n",
                (latency.size() / stream_seconds) / (items / unary_seconds),
                stream_latency.p99 / unary.p99);
    failed = failed || !status.ok() || stream_failures > 0 ||
             static_cast<int>(latency.size()) != items ||
             unary_failures.load() > 0;
  }
  std::fflush(stdout);
  auto code = server->Stop();
  if (failed) std::fprintf(stderr, "some calls failed\n");
  return !failed && code.ok() && *code == 0 ? 0 : 1;
}

}  // namespace
}  // namespace tradecheck::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return tradecheck::bench::Main();
}
