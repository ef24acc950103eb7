// proof_bench: what the verifiable log costs, measured in one run.
//
//   1. Inclusion and consistency proof time (read the O(log n) nodes from
//      the store and build the proof) at each trail size, with the ratio of
//      the largest to the smallest (RFC 9162 proofs are O(log n): 1M against
//      100k should be close to 1, not 10).
//   2. Durable appends per second with 64 in flight (sync on, group
//      commit), with tree heads signed vs not signed, on fresh stores in the
//      same run, as a ratio.
//
//   proof_bench --dir=/tmp/pb --sizes=100000,1000000 --proofs=2000 --seconds=5
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "common/tree_head.h"
#include "storage/audit_store.h"

ABSL_FLAG(std::string, dir, "", "Scratch directory (a temporary one if empty).");
ABSL_FLAG(std::string, sizes, "100000,1000000", "Trail sizes, ascending.");
ABSL_FLAG(int, proofs, 2000, "Proofs of each kind measured per size.");
ABSL_FLAG(double, seconds, 5, "Measuring time of each durable-append run.");

namespace tradecheck {
namespace {

using storage::AppendRequest;
using storage::AppendResult;
using storage::AuditStore;
using storage::AuditStoreOptions;
using Clock = std::chrono::steady_clock;

AppendRequest Request(uint64_t i) {
  AppendRequest r;
  r.declaration.set_declaration_id(absl::StrFormat("PB-%d", i));
  r.declaration.set_exporter_id("EXP-1");
  r.declaration.set_origin_country("MY");
  r.declaration.add_lines()->set_hs_code("151110");
  r.verdict.set_outcome(v1::OUTCOME_ALLOW);
  r.caller = "bench";
  return r;
}

// Appends until the store holds `target` binding records, `window` in flight.
void FillTo(AuditStore& store, uint64_t from, uint64_t target, int window) {
  absl::Mutex mu;
  uint64_t in_flight = 0;
  for (uint64_t i = from; i < target; ++i) {
    {
      absl::MutexLock lock(&mu);
      auto room = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
        return in_flight < static_cast<uint64_t>(window);
      };
      mu.Await(absl::Condition(&room));
      ++in_flight;
    }
    store.Append(Request(i), [&](absl::StatusOr<AppendResult> r) {
      if (!r.ok()) {
        std::fprintf(stderr, "append failed: %s\n", r.status().ToString().c_str());
        std::exit(1);
      }
      absl::MutexLock lock(&mu);
      --in_flight;
    });
  }
  absl::MutexLock lock(&mu);
  auto drained = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return in_flight == 0; };
  mu.Await(absl::Condition(&drained));
}

struct ProofTimes {
  double inclusion_us = 0;
  double consistency_us = 0;
  double path_len = 0;
};

ProofTimes MeasureProofs(const AuditStore& store, uint64_t n, int count) {
  std::mt19937_64 rng(42);
  ProofTimes t;
  auto start = Clock::now();
  size_t hashes = 0;
  for (int i = 0; i < count; ++i) {
    const uint64_t seq = 1 + rng() % n;
    auto p = store.InclusionProof(absl::StrFormat("b-%012d", seq), n);
    if (!p.ok()) std::exit(1);
    hashes += p->audit_path.size();
  }
  t.inclusion_us =
      std::chrono::duration<double, std::micro>(Clock::now() - start).count() /
      count;
  t.path_len = static_cast<double>(hashes) / count;
  start = Clock::now();
  for (int i = 0; i < count; ++i) {
    const uint64_t first = 1 + rng() % n;
    auto c = store.ConsistencyProof(v1::TRAIL_STREAM_BINDING, first, n);
    if (!c.ok()) std::exit(1);
  }
  t.consistency_us =
      std::chrono::duration<double, std::micro>(Clock::now() - start).count() /
      count;
  return t;
}

double DurableAppendsPerSecond(const std::string& path,
                               std::shared_ptr<const TreeHeadSigner> signer,
                               double seconds) {
  AuditStoreOptions options;
  options.path = path;
  options.sync = true;
  options.tree_head_signer = std::move(signer);
  auto store = AuditStore::Open(options);
  if (!store.ok()) std::exit(1);
  FillTo(**store, 0, 2000, 64);  // warm up
  const auto start = Clock::now();
  uint64_t done = 2000;
  while (std::chrono::duration<double>(Clock::now() - start).count() < seconds) {
    FillTo(**store, done, done + 2000, 64);
    done += 2000;
  }
  const double elapsed =
      std::chrono::duration<double>(Clock::now() - start).count();
  if (!(*store)->Close().ok()) std::exit(1);
  return (done - 2000) / elapsed;
}

int Run() {
  std::string dir = absl::GetFlag(FLAGS_dir);
  bool remove_dir = false;
  if (dir.empty()) {
    std::string tmpl = "/tmp/proof_bench.XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) return 1;
    dir = tmpl;
    remove_dir = true;
  }
  std::vector<uint64_t> sizes;
  for (absl::string_view s : absl::StrSplit(absl::GetFlag(FLAGS_sizes), ',')) {
    uint64_t n = 0;
    if (!absl::SimpleAtoi(s, &n) || n == 0) return 2;
    sizes.push_back(n);
  }
  std::sort(sizes.begin(), sizes.end());

  // 1. Proofs on one growing trail (no sync while filling: setup only).
  AuditStoreOptions options;
  options.path = dir + "/trail";
  options.sync = false;
  auto store = AuditStore::Open(options);
  if (!store.ok()) return 1;
  std::printf("%-10s %14s %16s %10s\n", "records", "inclusion us",
              "consistency us", "path len");
  std::vector<ProofTimes> times;
  uint64_t have = 0;
  for (uint64_t n : sizes) {
    FillTo(**store, have, n, 512);
    have = n;
    times.push_back(MeasureProofs(**store, n, absl::GetFlag(FLAGS_proofs)));
    std::printf("%-10llu %14.1f %16.1f %10.1f\n",
                static_cast<unsigned long long>(n), times.back().inclusion_us,
                times.back().consistency_us, times.back().path_len);
  }
  if (!(*store)->Close().ok()) return 1;
  if (times.size() >= 2) {
    std::printf("ratio %llu/%llu records: inclusion %.2fx, consistency %.2fx\n",
                static_cast<unsigned long long>(sizes.back()),
                static_cast<unsigned long long>(sizes.front()),
                times.back().inclusion_us / times.front().inclusion_us,
                times.back().consistency_us / times.front().consistency_us);
  }

  // 2. Durable appends with and without signed heads, same run.
  auto signer = TreeHeadSigner::FromPrivateKeyPem(
      TreeHeadSigner::GeneratePrivateKeyPem());
  if (!signer.ok()) return 1;
  const double seconds = absl::GetFlag(FLAGS_seconds);
  const double off = DurableAppendsPerSecond(dir + "/off", nullptr, seconds);
  const double on = DurableAppendsPerSecond(
      dir + "/on", std::shared_ptr<const TreeHeadSigner>(std::move(*signer)),
      seconds);
  std::printf("durable appends/s, 64 in flight: heads off %.0f, heads on %.0f "
              "(on/off %.3f)\n", off, on, on / off);
  if (remove_dir) std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace
}  // namespace tradecheck

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return tradecheck::Run();
}
