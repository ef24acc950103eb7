// commit_bench: the audit store's group commit alone (no gRPC, no rules on
// the path), as a check's durable append sees it.
//
//   1. Durable appends per second with `in_flight` outstanding (closed loop).
//   2. Append latency under an open-loop load at fixed offered rates (sent
//      on a schedule, timed from the scheduled send to the callback, so a
//      stall is charged to every append that should have been sent during
//      it), p50 / p99 / p99.9, with records per fsync.
//   3. One fdatasync of 4 KiB next to the store: the floor of an append.
//
// Records are the examples' real declarations and verdicts (example_trail.h,
// 2,000 prepared before the clock starts, copied per append), with signed tree heads as the server
// writes them. The rates are fixed, not fractions of a measured maximum, so
// two builds compare at the same offered load.
//
//   commit_bench --rates=500,1000,2000 --seconds=3 --in_flight=64
#include <stdlib.h>

#include <atomic>
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
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "bench/example_trail.h"
#include "bench/load_driver.h"
#include "common/tree_head.h"
#include "storage/audit_store.h"

ABSL_FLAG(std::string, rates, "500,1000,2000",
          "Offered append rates per second for the open-loop rows.");
ABSL_FLAG(double, seconds, 3, "Measuring time of each row.");
ABSL_FLAG(int, in_flight, 64, "Appends outstanding in the closed-loop row.");

namespace tradecheck::bench {
namespace {

int Run() {
  std::string tmpl = "/tmp/commit_bench.XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) return 1;
  const std::string dir = tmpl;
  struct RemoveAtEnd {
    std::string dir;
    ~RemoveAtEnd() {
      std::error_code ignored;
      std::filesystem::remove_all(dir, ignored);
    }
  } remove_at_end{dir};

  auto trail = ExampleTrail::Load();
  if (!trail.ok()) {
    std::fprintf(stderr, "%s\n", trail.status().ToString().c_str());
    return 1;
  }
  auto signer = TreeHeadSigner::FromPrivateKeyPem(
      TreeHeadSigner::GeneratePrivateKeyPem());
  if (!signer.ok()) return 1;
  storage::AuditStoreOptions options;
  options.path = dir + "/db";
  options.sync = true;
  options.tree_head_signer =
      std::shared_ptr<const TreeHeadSigner>(std::move(*signer));
  auto store = storage::AuditStore::Open(options);
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.status().ToString().c_str());
    return 1;
  }

  std::vector<double> rates;
  for (absl::string_view r : absl::StrSplit(absl::GetFlag(FLAGS_rates), ',')) {
    double rate = 0;
    if (!absl::SimpleAtod(r, &rate) || rate <= 0) return 2;
    rates.push_back(rate);
  }
  const double seconds = absl::GetFlag(FLAGS_seconds);
  const absl::Duration duration = absl::Seconds(seconds);
  const absl::Duration warmup = absl::Milliseconds(500);
  const int in_flight = absl::GetFlag(FLAGS_in_flight);

  // A pool of varied records, reused under new declaration ids.
  constexpr size_t kPool = 2000;
  std::mt19937_64 rng(42);
  std::vector<storage::AppendRequest> records;
  records.reserve(kPool);
  for (size_t i = 0; i < kPool; ++i) {
    records.push_back(trail->Record(i, /*vary=*/true, rng));
  }
  std::atomic<int64_t> next_id{0};
  // Append n: a copy of a prepared record under a new declaration id.
  const Issue append = [&](int64_t n, std::function<void(bool)> done) {
    storage::AppendRequest request = records[n % records.size()];
    request.declaration.set_declaration_id(
        "COMMIT-" + std::to_string(next_id++));
    (*store)->Append(std::move(request),
                     [done = std::move(done)](
                         absl::StatusOr<storage::AppendResult> r) {
                       done(r.ok());
                     });
  };
  auto per_fsync = [&](const storage::AuditStoreStats& before) {
    const storage::AuditStoreStats now = (*store)->Stats();
    const uint64_t fsyncs = now.synced_writes - before.synced_writes;
    return fsyncs == 0 ? 0.0
                       : static_cast<double>(now.records_written -
                                             before.records_written) /
                             static_cast<double>(fsyncs);
  };

  int failures = 0;
  storage::AuditStoreStats before = (*store)->Stats();
  const double max_rate = Drive(in_flight, duration, append, &failures);
  std::printf("closed loop, %d in flight: %.0f appends/s, %.1f records per "
              "fsync\n",
              in_flight, max_rate, per_fsync(before));
  std::printf("open loop (fixed schedule, latency from scheduled send)\n");
  for (double rate : rates) {
    before = (*store)->Stats();
    const OpenLoopResult r = OpenLoop(rate, duration, warmup, append);
    failures += r.failures;
    std::printf("  offered %6.0f/s achieved %6.0f/s  p50 %7.0f  p99 %7.0f  "
                "p99.9 %7.0f us  %5.1f records per fsync%s\n",
                r.offered_rps, r.achieved_rps, r.latency.p50, r.latency.p99,
                r.latency.p999, per_fsync(before),
                r.overloaded ? "  (overloaded)" : "");
  }
  const Percentiles fsync = MeasureFsync(dir, 200);
  std::printf("one fdatasync of 4 KiB next to the store: p50 %.0f us, p99 "
              "%.0f us\n",
              fsync.p50, fsync.p99);
  const absl::Status closed = (*store)->Close();
  if (failures > 0) std::fprintf(stderr, "%d appends failed\n", failures);
  return failures == 0 && closed.ok() ? 0 : 1;
}

}  // namespace
}  // namespace tradecheck::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return tradecheck::bench::Run();
}
