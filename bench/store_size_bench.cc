// store_size_bench: bytes per decision of the audit store at rest (after a
// full compaction) with the trail's RocksDB tuning (storage/rocksdb_tuning.h)
// and with RocksDB's default options, in the same run on the same records.
//
//   store_size_bench [--records=1000000] [--dir=/tmp/...]
//
// Records are real verdicts: every example declaration in examples/ is
// evaluated once by the rule engine with the bundled agreement data, then
// appended over and over with a fresh declaration_id (and a varied exporter
// and importer), so sizes reflect what the server writes. Appends are not
// synced (the fsync does not change the size); the store is then flushed
// and compacted to its bottommost level, and the table files measured.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/files.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/declaration_json.h"
#include "common/install_paths.h"
#include "rules/engine.h"
#include "rules/rule_set.h"
#include "storage/audit_store.h"

ABSL_FLAG(int64_t, records, 1'000'000, "Decisions appended to each store.");
ABSL_FLAG(std::string, dir, "",
          "Directory for the two stores (default: a fresh one under /tmp, "
          "removed at the end).");

namespace tradecheck {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const fs::path& path) {
  return ReadFileToString(path.string()).value_or("");
}

// Every valid example declaration with the verdict the engine gives it.
std::vector<storage::AppendRequest> ExampleRecords(const std::string& examples,
                                                   const rules::RuleSet& rules) {
  std::vector<storage::AppendRequest> out;
  auto add = [&](absl::string_view json, const std::string& source) {
    auto declaration = ParseDeclarationJson(json, source);
    if (!declaration.ok()) return;  // examples/invalid/ and the like
    storage::AppendRequest r;
    r.verdict = rules::Evaluate(rules, *declaration).verdict;
    r.declaration = std::move(*declaration);
    r.caller = "spiffe://tradecheck.dev/customs/gateway";
    r.caller_role = v1::CALLER_ROLE_CUSTOMS;
    out.push_back(std::move(r));
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
  return out;
}

// Appends `n` records cycling through `examples`, a window at a time.
bool Load(storage::AuditStore& store,
          const std::vector<storage::AppendRequest>& examples, int64_t n) {
  constexpr int64_t kWindow = 20'000;
  std::mt19937_64 rng(42);
  for (int64_t i = 0; i < n; i += kWindow) {
    const int64_t end = std::min(n, i + kWindow);
    struct Progress {
      int64_t done = 0;
      int64_t want = 0;
      bool failed = false;
      bool Finished() const { return done == want; }
    };
    absl::Mutex mu;
    Progress progress;
    progress.want = end - i;
    for (int64_t j = i; j < end; ++j) {
      storage::AppendRequest r = examples[j % examples.size()];
      const std::string id = absl::StrFormat("BENCH-%010d", j);
      r.declaration.set_declaration_id(id);
      r.verdict.set_declaration_id(id);
      r.declaration.set_exporter_id(absl::StrFormat("EXP-%04d", rng() % 1000));
      r.declaration.set_importer_id(absl::StrFormat("IMP-%03d", rng() % 300));
      store.Append(std::move(r), [&](absl::StatusOr<storage::AppendResult> s) {
        absl::MutexLock lock(&mu);
        if (!s.ok() && !progress.failed) {
          progress.failed = true;
          std::fprintf(stderr, "append failed: %s\n",
                       s.status().ToString().c_str());
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

struct Result {
  uint64_t bytes = 0;
  double load_seconds = 0;
};

bool Measure(const std::string& path, bool defaults,
             const std::vector<storage::AppendRequest>& examples, int64_t n,
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
  if (!Load(**store, examples, n)) return false;
  result->load_seconds = absl::ToDoubleSeconds(absl::Now() - start);
  auto bytes = (*store)->CompactAndMeasure();
  if (!bytes.ok()) {
    std::fprintf(stderr, "%s\n", bytes.status().ToString().c_str());
    return false;
  }
  result->bytes = *bytes;
  return (*store)->Close().ok();
}

int Run() {
  const int64_t n = absl::GetFlag(FLAGS_records);
  auto agreements = DefaultAgreementsDir();
  if (!agreements.ok()) {
    std::fprintf(stderr, "%s\n", agreements.status().ToString().c_str());
    return 1;
  }
  auto rules = rules::RuleSet::LoadFromDirectory(*agreements);
  if (!rules.ok()) {
    std::fprintf(stderr, "%s\n", rules.status().ToString().c_str());
    return 1;
  }
  // The examples sit beside the agreements in the source tree; in the build
  // tree, ../share/tradecheck/agreements links there.
  const std::string examples =
      (fs::canonical(*agreements).parent_path() / "examples").string();
  const std::vector<storage::AppendRequest> records =
      ExampleRecords(examples, **rules);
  if (records.empty()) {
    std::fprintf(stderr, "no example declarations under %s\n", examples.c_str());
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
  std::printf("store_size_bench: %lld decisions (%zu distinct example "
              "verdicts), compacted\n",
              static_cast<long long>(n), records.size());
  std::printf("%-22s %14s %16s %12s\n", "options", "table bytes",
              "bytes/decision", "load s");
  Result tuned, defaults;
  const bool ok =
      Measure(dir + "/tuned", false, records, n, &tuned) &&
      Measure(dir + "/defaults", true, records, n, &defaults);
  if (ok) {
    for (const auto& [name, r] :
         {std::pair<const char*, Result&>{"trail tuning", tuned},
          std::pair<const char*, Result&>{"RocksDB defaults", defaults}}) {
      std::printf("%-22s %14llu %16.1f %12.1f\n", name,
                  static_cast<unsigned long long>(r.bytes),
                  static_cast<double>(r.bytes) / static_cast<double>(n),
                  r.load_seconds);
    }
    std::printf("tuned / defaults: %.2f\n",
                static_cast<double>(tuned.bytes) /
                    static_cast<double>(std::max<uint64_t>(1, defaults.bytes)));
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
