// The RocksDB options of the audit store, in one place, and why.
//
// The trail is append-mostly: records are written once, in key order per
// stream, never updated, and read by point lookups (a decision, an
// idempotency check) and short range scans (a page of a query, a proof).
// So:
//   - level compaction with dynamic level sizes: the least space
//     amplification for a database that only grows (the last level holds
//     ~90 % of the data, and each level is sized from it);
//   - LZ4 on the upper levels (recent data, rewritten by compactions soon:
//     cheap to compress) and ZSTD on the bottommost level, where nearly all
//     bytes end up and are never rewritten again: records are protobuf with
//     repeated ids, rule ids and finding texts, which ZSTD shrinks well;
//   - the records family's bottommost files are compressed with a ZSTD
//     dictionary trained on the file's own records (64 KiB dictionary from
//     up to 6.4 MiB of samples, kept in the file): one record is a few KiB
//     of protobuf that shares most of its strings (field names of the
//     verdict, citations, finding texts, ids' prefixes) with every other
//     record, but a 16 KiB block holds only a few records, so plain ZSTD
//     sees little of that repetition. The dictionary brings it into every
//     block: at 20k records 1,623 -> 133 B per record, against 113 B with
//     64 KiB blocks and 129 B at ZSTD level 9 (bench/store_size_bench,
//     docs/storage.md), so blocks and level stay as they are. The hash
//     families (chain, tree) are random bytes, which no dictionary helps;
//   - 16 KiB blocks instead of 4 KiB: better compression and fewer index
//     entries; a page of a query reads neighbouring records anyway;
//   - a 64 MiB LRU block cache shared by the column families, and 10-bit
//     bloom filters so the idempotency lookup of a new declaration_id
//     (almost always absent) skips the table files;
//   - RocksDB's own info log at WARN and above only, routed to the server's
//     logger when one is given, instead of a LOG file growing in --data_dir.
// bench/store_size_bench measures the bytes per decision after compaction
// at 1M records, tuned against RocksDB's defaults, in one run.
#ifndef TRADECHECK_STORAGE_ROCKSDB_TUNING_H_
#define TRADECHECK_STORAGE_ROCKSDB_TUNING_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "rocksdb/options.h"
#include "rocksdb/table.h"

namespace tradecheck::storage {

inline constexpr size_t kBlockCacheBytes = 64 << 20;
inline constexpr size_t kBlockBytes = 16 << 10;
inline constexpr uint32_t kRecordsDictBytes = 64 << 10;
inline constexpr uint32_t kRecordsDictTrainBytes = 100 * kRecordsDictBytes;

// Receives RocksDB's warnings and errors, one message each (error = true
// for FATAL only: RocksDB logs ERROR for ordinary events such as a store
// directory that does not exist yet).
using StoreLog = std::function<void(bool error, const std::string& message)>;

// Sets the options above on `options` and `table` (install `table` in
// `options` afterwards). `log` may be empty: RocksDB then writes its LOG
// file in the store directory, at WARN and above.
void ApplyTrailTuning(const StoreLog& log, rocksdb::Options* options,
                      rocksdb::BlockBasedTableOptions* table);

// Sets the records family's own options (its dictionary compression, above)
// on `options`, which ApplyTrailTuning's options were copied into.
void ApplyRecordsTuning(rocksdb::ColumnFamilyOptions* options);

}  // namespace tradecheck::storage

#endif  // TRADECHECK_STORAGE_ROCKSDB_TUNING_H_
