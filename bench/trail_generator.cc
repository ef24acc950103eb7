// trail_generator: writes an audit store of N records directly (no server),
// through the store's own write path, so the hash chain, the Merkle tree,
// the indexes, the time keys and the signed tree heads are the ones the
// server would have written: the real server and `tradecheck_store_admin
// check` accept the result.
//
//   trail_generator --db=DIR --records=10000000 [--tree_head_key=F]
//       [--tree_head_log=F] [--kind=synthetic|examples] [--compact]
//
// Records are bench/trail_records.h's (what query_bench's filters select
// from; record i is a function of i alone, so `query_bench
// --dir=D --sizes=...` reuses D/db-<N> written here) or, with
// --kind=examples, the example declarations varied and evaluated by the
// rule engine (bench/example_trail.h). A store that already holds records
// is extended from its head (a run cut short resumes). Appends are
// group-committed in large batches without fsync; the store is closed
// cleanly (memtables flushed) at the end. Signed heads: the key and log
// default to the server's defaults next to DIR (<DIR>.tree-head-key.pem,
// generated when missing, and <DIR>.tree-heads.log), so
// `tradecheck_server --data_dir=DIR` starts on the result as it is.
// The disk keeps --min_free_disk_mb free: below it, appends stop and the
// generator exits 1 with what it wrote so far intact.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/example_trail.h"
#include "bench/trail_records.h"
#include "common/clock.h"
#include "server/tree_head_key.h"
#include "storage/audit_store.h"

ABSL_FLAG(std::string, db, "", "Store directory (created when missing).");
ABSL_FLAG(uint64_t, records, 1'000'000, "Binding records the store ends with.");
ABSL_FLAG(std::string, kind, "synthetic",
          "synthetic: query_bench's trail; examples: the example "
          "declarations, varied and evaluated by the rule engine.");
ABSL_FLAG(std::string, tree_head_key, "",
          "Ed25519 private key (PEM) signing the heads; default "
          "<db>.tree-head-key.pem, generated when missing.");
ABSL_FLAG(std::string, tree_head_log, "",
          "Tree-head log; default <db>.tree-heads.log.");
ABSL_FLAG(int, batch, 4096, "Records per group commit.");
ABSL_FLAG(bool, compact, false,
          "Compact the whole store at the end (the at-rest layout of an old "
          "trail) and print its table bytes per record.");
ABSL_FLAG(uint64_t, min_free_disk_mb, 4096,
          "Free space to keep on the disk holding --db.");

namespace tradecheck {
namespace {

int Run() {
  const std::string db = absl::GetFlag(FLAGS_db);
  const uint64_t n = absl::GetFlag(FLAGS_records);
  const std::string kind = absl::GetFlag(FLAGS_kind);
  if (db.empty()) {
    std::fprintf(stderr, "--db: give the store directory\n");
    return 2;
  }
  if (kind != "synthetic" && kind != "examples") {
    std::fprintf(stderr, "--kind: synthetic or examples, not \"%s\"\n",
                 kind.c_str());
    return 2;
  }
  std::unique_ptr<bench::ExampleTrail> examples;
  if (kind == "examples") {
    auto loaded = bench::ExampleTrail::Load();
    if (!loaded.ok()) {
      std::fprintf(stderr, "%s\n", loaded.status().ToString().c_str());
      return 1;
    }
    examples = std::make_unique<bench::ExampleTrail>(*std::move(loaded));
  }
  // The key and the log live beside the store, in its parent directory.
  std::error_code error;
  std::filesystem::create_directories(
      std::filesystem::absolute(db).parent_path(), error);
  auto heads = server::SetUpTreeHeads(db, absl::GetFlag(FLAGS_tree_head_key),
                                      absl::GetFlag(FLAGS_tree_head_log));
  if (!heads.ok()) {
    std::fprintf(stderr, "%s\n", heads.status().ToString().c_str());
    return 2;
  }
  // One second later at each reading: one group commit a second (the
  // store reads the clock once per commit).
  SteppingClock clock(absl::FromUnixSeconds(1'780'000'000), absl::Seconds(1));
  storage::AuditStoreOptions options;
  options.path = db;
  options.clock = &clock;
  options.sync = false;  // a generator, not a server: one flush at Close
  options.max_batch = absl::GetFlag(FLAGS_batch);
  options.tree_head_signer = heads->signer;
  options.tree_head_log = heads->log_path;
  options.min_free_bytes = absl::GetFlag(FLAGS_min_free_disk_mb) << 20;
  auto store = storage::AuditStore::Open(options);
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.status().ToString().c_str());
    return 1;
  }
  const uint64_t head = (*store)->Stats().binding_head;
  std::printf("%s: %llu records, writing %llu to %llu (%s)\n", db.c_str(),
              static_cast<unsigned long long>(head),
              static_cast<unsigned long long>(head + 1),
              static_cast<unsigned long long>(n), kind.c_str());
  std::mt19937_64 rng(head);
  auto make = [&](uint64_t i) {
    return examples != nullptr ? examples->Record(i, /*vary=*/true, rng)
                               : bench::SyntheticRecord(i);
  };
  const absl::Time start = absl::Now();
  absl::Time last_report = start;
  bool ok = true;
  if (head < n) {
    ok = bench::AppendRecords(**store, head, n, make, [&](uint64_t done) {
      const absl::Time now = absl::Now();
      if (now - last_report < absl::Seconds(30) && done != n) return;
      last_report = now;
      std::printf("  %llu records, %.0f records/s\n",
                  static_cast<unsigned long long>(done),
                  static_cast<double>(done - head) /
                      absl::ToDoubleSeconds(now - start));
      std::fflush(stdout);
    });
  }
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  if (ok && absl::GetFlag(FLAGS_compact)) {
    const absl::Time compact_start = absl::Now();
    auto bytes = (*store)->CompactAndMeasure();
    if (!bytes.ok()) {
      std::fprintf(stderr, "%s\n", bytes.status().ToString().c_str());
      ok = false;
    } else {
      std::printf("compacted in %.0f s: %llu table bytes, %.1f per record\n",
                  absl::ToDoubleSeconds(absl::Now() - compact_start),
                  static_cast<unsigned long long>(*bytes),
                  static_cast<double>(*bytes) / static_cast<double>(n));
    }
  }
  const uint64_t written = (*store)->Stats().binding_head;
  absl::Status closed = (*store)->Close();
  if (!closed.ok()) {
    std::fprintf(stderr, "%s\n", closed.ToString().c_str());
    ok = false;
  }
  std::printf("%s: %llu records (%llu written in %.0f s); heads signed with "
              "%s, logged in %s\n",
              db.c_str(), static_cast<unsigned long long>(written),
              static_cast<unsigned long long>(written - head), seconds,
              heads->key_path.c_str(), heads->log_path.c_str());
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace tradecheck

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "writes an audit store of N records directly (see the source's "
      "header)");
  absl::ParseCommandLine(argc, argv);
  return tradecheck::Run();
}
