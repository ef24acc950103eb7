// store_size_bench: bytes per decision of the audit store at rest (after a
// full compaction) with the trail's RocksDB tuning (storage/rocksdb_tuning.h)
// and with RocksDB's default options, in the same run on the same records.
//
//   store_size_bench [--records=1000000] [--dir=/tmp/...] [--vary=false]
//       [--compare_defaults=false]
//
// Records are real verdicts (bench/example_trail.h): every example
// declaration in examples/, in turn, with a fresh declaration_id, one of
// many exporters, importers and callers, its values, quantities and dates
// varied and the verdict evaluated afresh by the rule engine with the
// bundled agreement data, so sizes reflect what the server writes.
// --vary=false repeats the examples' own verdicts (what the figures before
// the records' dictionary compression were measured with). Appends are not
// synced (the fsync does not change the size); the store is then flushed
// and compacted to its bottommost level, and the table files measured.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/example_trail.h"
#include "bench/trail_records.h"
#include "storage/audit_store.h"

ABSL_FLAG(int64_t, records, 1'000'000, "Decisions appended to each store.");
ABSL_FLAG(bool, vary, true,
          "Vary each record's values, quantities and dates and evaluate it "
          "afresh (false: the examples' verdicts repeated as they are).");
ABSL_FLAG(bool, compare_defaults, true,
          "Also load a store with RocksDB's default options (doubles the "
          "run time).");
ABSL_FLAG(std::string, dir, "",
          "Directory for the two stores (default: a fresh one under /tmp, "
          "removed at the end).");

namespace tradecheck {
namespace {

namespace fs = std::filesystem;

struct Result {
  uint64_t bytes = 0;
  std::map<std::string, uint64_t> by_family;  // table bytes per column family
  double load_seconds = 0;
};

bool Measure(const std::string& path, bool defaults,
             const bench::ExampleTrail& examples, int64_t n,
             Result* result) {
  storage::AuditStoreOptions options;
  options.path = path;
  options.sync = false;  // the size does not depend on fsync
  options.max_batch = 1024;
  options.rocksdb_defaults = defaults;
  auto store = storage::AuditStore::Open(options);
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.status().ToString().c_str());
    return false;
  }
  const absl::Time start = absl::Now();
  std::mt19937_64 rng(42);  // both stores get the same records
  const bool vary = absl::GetFlag(FLAGS_vary);
  if (!bench::AppendRecords(
          **store, 0, static_cast<uint64_t>(n),
          [&](uint64_t i) { return examples.Record(i, vary, rng); })) {
    return false;
  }
  result->load_seconds = absl::ToDoubleSeconds(absl::Now() - start);
  auto bytes = (*store)->CompactAndMeasure(&result->by_family);
  if (!bytes.ok()) {
    std::fprintf(stderr, "%s\n", bytes.status().ToString().c_str());
    return false;
  }
  result->bytes = *bytes;
  return (*store)->Close().ok();
}

int Run() {
  const int64_t n = absl::GetFlag(FLAGS_records);
  auto records = bench::ExampleTrail::Load();
  if (!records.ok()) {
    std::fprintf(stderr, "%s\n", records.status().ToString().c_str());
    return 1;
  }
  std::string dir = absl::GetFlag(FLAGS_dir);
  const bool temporary = dir.empty();
  if (temporary) {
    std::string pattern = "/tmp/store-size-bench-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) return 1;
    dir = pattern;
  } else {
    std::error_code error;
    fs::create_directories(dir, error);
  }
  std::printf("store_size_bench: %lld decisions (%zu example declarations%s), "
              "compacted\n",
              static_cast<long long>(n), records->size(),
              absl::GetFlag(FLAGS_vary) ? ", varied and evaluated per record"
                                        : ", their verdicts repeated");
  std::printf("%-22s %14s %16s %12s\n", "options", "table bytes",
              "bytes/decision", "load s");
  Result tuned, defaults;
  const bool compare = absl::GetFlag(FLAGS_compare_defaults);
  const bool ok =
      Measure(dir + "/tuned", false, *records, n, &tuned) &&
      (!compare || Measure(dir + "/defaults", true, *records, n, &defaults));
  if (ok) {
    for (const auto& [name, r] :
         {std::pair<const char*, Result&>{"trail tuning", tuned},
          std::pair<const char*, Result&>{"RocksDB defaults", defaults}}) {
      if (&r == &defaults && !compare) continue;
      std::printf("%-22s %14llu %16.1f %12.1f\n", name,
                  static_cast<unsigned long long>(r.bytes),
                  static_cast<double>(r.bytes) / static_cast<double>(n),
                  r.load_seconds);
    }
    // Where the bytes are: each column family's share, per decision.
    std::printf("%-22s %14s %16s\n", "column family", "tuned B/dec",
                compare ? "defaults B/dec" : "");
    for (const auto& [family, bytes] : tuned.by_family) {
      std::printf("%-22s %14.1f", family.c_str(),
                  static_cast<double>(bytes) / static_cast<double>(n));
      if (compare) {
        std::printf(" %16.1f", static_cast<double>(defaults.by_family[family]) /
                                   static_cast<double>(n));
      }
      std::printf("\n");
    }
    if (compare) {
      std::printf("tuned / defaults: %.2f\n",
                  static_cast<double>(tuned.bytes) /
                      static_cast<double>(std::max<uint64_t>(1, defaults.bytes)));
    }
  }
  if (temporary) fs::remove_all(dir);
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace tradecheck

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return tradecheck::Run();
}
