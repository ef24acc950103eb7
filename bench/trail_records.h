// Synthetic audit trails for the query benchmarks and the trail generator:
// record i of a trail is a function of i alone (its own random stream), so
// a trail written by bench/trail_generator and one loaded by query_bench
// hold the same records, and a generator run cut short resumes where the
// store ends. The value sets (exporters, origins, HS codes, rules,
// callers, two years of governing dates, 70/20/10 % allow/review/deny) are
// what query_bench's filters select from.
#ifndef TRADECHECK_BENCH_TRAIL_RECORDS_H_
#define TRADECHECK_BENCH_TRAIL_RECORDS_H_

#include <cstdint>
#include <functional>
#include <iterator>

#include "storage/audit_store.h"

namespace tradecheck::bench {

inline constexpr int kExporters = 100;
inline constexpr int kImporters = 50;
inline constexpr int kRules = 30;
inline constexpr int kCallers = 20;
inline constexpr int kGoverningDays = 731;  // from 2024-01-01
inline constexpr const char* kCountries[] = {"MY", "CN", "VN", "TH", "ID",
                                             "IN", "MX", "CA", "DE", "JP"};
inline constexpr const char* kHsCodes[] = {
    "850511", "850519", "280530", "282590", "720260", "811292",
    "261220", "380110", "850440", "854140", "760110", "740311"};

// Record `i` (declaration id DECL-<i, 10 digits>): an import entry of one
// or two lines with a verdict of one finding per line.
storage::AppendRequest SyntheticRecord(uint64_t i);

// Appends records [from, to) made by `make` without waiting for each one,
// a window at a time so the queue stays bounded; `progress` (may be empty)
// is called after each window with the records appended so far. False
// (after printing the first error) when an append fails.
bool AppendRecords(storage::AuditStore& store, uint64_t from, uint64_t to,
                   const std::function<storage::AppendRequest(uint64_t)>& make,
                   const std::function<void(uint64_t done)>& progress = {});

}  // namespace tradecheck::bench

#endif  // TRADECHECK_BENCH_TRAIL_RECORDS_H_
