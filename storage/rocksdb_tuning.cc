#include "storage/rocksdb_tuning.h"

#include <cstdarg>
#include <cstdio>

#include "rocksdb/cache.h"
#include "rocksdb/env.h"
#include "rocksdb/filter_policy.h"

namespace tradecheck::storage {
namespace {

// Forwards RocksDB's info log to a StoreLog.
class ForwardingLogger final : public rocksdb::Logger {
 public:
  explicit ForwardingLogger(StoreLog log)
      : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL),
        log_(std::move(log)) {}

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    Logv(rocksdb::InfoLogLevel::WARN_LEVEL, format, ap);
  }
  void Logv(const rocksdb::InfoLogLevel level, const char* format,
            va_list ap) override {
    if (level < GetInfoLogLevel()) return;
    char buffer[1024];
    std::vsnprintf(buffer, sizeof(buffer), format, ap);
    // RocksDB says ERROR for things a new store does (a missing directory
    // before it creates it); only FATAL is an error of the server's.
    log_(level >= rocksdb::InfoLogLevel::FATAL_LEVEL,
         std::string("rocksdb: ") + buffer);
  }

 private:
  const StoreLog log_;
};

}  // namespace

void ApplyTrailTuning(const StoreLog& log, rocksdb::Options* options,
                      rocksdb::BlockBasedTableOptions* table) {
  options->compaction_style = rocksdb::kCompactionStyleLevel;
  options->level_compaction_dynamic_level_bytes = true;
  options->compression = rocksdb::kLZ4Compression;
  options->bottommost_compression = rocksdb::kZSTD;
  options->info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  options->keep_log_file_num = 3;
  if (log) options->info_log = std::make_shared<ForwardingLogger>(log);

  table->block_size = kBlockBytes;
  table->filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table->block_cache = rocksdb::NewLRUCache(kBlockCacheBytes);
}

void ApplyRecordsTuning(rocksdb::ColumnFamilyOptions* options) {
  rocksdb::CompressionOptions& zstd = options->bottommost_compression_opts;
  zstd.enabled = true;  // these options, not compression_opts, at the bottom
  zstd.max_dict_bytes = kRecordsDictBytes;
  zstd.zstd_max_train_bytes = kRecordsDictTrainBytes;
  // Data blocks are held back until the dictionary is trained; cap that
  // memory per file being written (the samples come from what is held).
  zstd.max_dict_buffer_bytes = 4 * kRecordsDictTrainBytes;
}

}  // namespace tradecheck::storage
