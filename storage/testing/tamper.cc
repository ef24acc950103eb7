#include "storage/testing/tamper.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "storage/keys.h"

namespace tradecheck::storage::testing {
namespace {

absl::Status FromRocks(const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(what, ": ", s.ToString()));
}

// Opens every column family of the store and runs `fn` on the one named
// `cf_name`, then closes.
template <typename Fn>
absl::Status WithColumnFamily(const std::string& db_path,
                              const std::string& cf_name, Fn fn) {
  rocksdb::Options options;
  std::vector<std::string> names;
  absl::Status s =
      FromRocks(rocksdb::DB::ListColumnFamilies(options, db_path, &names),
                absl::StrCat("listing column families of ", db_path));
  if (!s.ok()) return s;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& name : names) {
    descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  s = FromRocks(
      rocksdb::DB::Open(options, db_path, descriptors, &handles, &raw),
      absl::StrCat("opening ", db_path));
  if (!s.ok()) return s;
  std::unique_ptr<rocksdb::DB> db(raw);
  rocksdb::ColumnFamilyHandle* cf = nullptr;
  for (rocksdb::ColumnFamilyHandle* h : handles) {
    if (h->GetName() == cf_name) cf = h;
  }
  s = cf == nullptr ? absl::NotFoundError(absl::StrCat(
                          db_path, " has no column family ", cf_name))
                    : fn(db.get(), cf);
  for (rocksdb::ColumnFamilyHandle* h : handles) {
    absl::Status d = FromRocks(db->DestroyColumnFamilyHandle(h), "closing");
    if (s.ok()) s = d;
  }
  absl::Status c = FromRocks(db->Close(), "closing");
  return s.ok() ? c : s;
}

}  // namespace

absl::Status FlipByteInRecord(const std::string& db_path,
                              v1::TrailStream stream, uint64_t sequence,
                              size_t byte_offset) {
  return WithColumnFamily(
      db_path, keys::kRecordsCf,
      [&](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) -> absl::Status {
        const std::string key = keys::RecordKey(stream, sequence);
        std::string value;
        rocksdb::Status s = db->Get(rocksdb::ReadOptions(), cf, key, &value);
        if (s.IsNotFound()) {
          return absl::NotFoundError(
              absl::StrCat("no record ", keys::DecisionId(stream, sequence)));
        }
        if (!s.ok()) return FromRocks(s, "reading the record");
        if (byte_offset >= value.size()) {
          return absl::OutOfRangeError(absl::StrCat("offset ", byte_offset,
                                                    " is beyond the record's ",
                                                    value.size(), " bytes"));
        }
        value[byte_offset] = static_cast<char>(~value[byte_offset]);
        rocksdb::WriteOptions wo;
        wo.sync = true;
        return FromRocks(db->Put(wo, cf, key, value), "writing the record");
      });
}

absl::Status SetSchemaVersion(const std::string& db_path,
                              const std::string& version) {
  return WithColumnFamily(
      db_path, keys::kMetaCf,
      [&](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) -> absl::Status {
        rocksdb::WriteOptions wo;
        wo.sync = true;
        return FromRocks(db->Put(wo, cf, keys::kMetaSchemaVersion, version),
                         "writing the schema version");
      });
}

absl::StatusOr<std::string> GetSchemaVersion(const std::string& db_path) {
  std::string version;
  absl::Status status = WithColumnFamily(
      db_path, keys::kMetaCf,
      [&](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) -> absl::Status {
        return FromRocks(db->Get(rocksdb::ReadOptions(), cf,
                                 keys::kMetaSchemaVersion, &version),
                         "reading the schema version");
      });
  if (!status.ok()) return status;
  return version;
}

absl::StatusOr<int> SplitPostingBlocksAsVersion1(const std::string& db_path) {
  int split = 0;
  absl::Status status = WithColumnFamily(
      db_path, keys::kPostingsCf,
      [&](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) -> absl::Status {
        rocksdb::WriteBatch batch;
        std::unique_ptr<rocksdb::Iterator> it(
            db->NewIterator(rocksdb::ReadOptions(), cf));
        for (it->SeekToFirst(); it->Valid(); it->Next()) {
          const std::string key = it->key().ToString();
          const std::string prefix =
              key.substr(0, key.size() - keys::kPostingSequenceSize);
          absl::StatusOr<uint64_t> smallest =
              keys::ParsePostingSequence(prefix, key);
          if (!smallest.ok()) return smallest.status();
          absl::StatusOr<std::vector<uint64_t>> block =
              keys::DecodePostingBlock(*smallest, it->value().ToString());
          if (!block.ok()) return block.status();
          if (block->size() > 1) ++split;
          batch.Delete(cf, key);
          for (uint64_t sequence : *block) {
            batch.Put(cf, keys::PostingKey(prefix, sequence), "");
          }
        }
        if (!it->status().ok()) return FromRocks(it->status(), "scanning");
        rocksdb::WriteOptions wo;
        wo.sync = true;
        return FromRocks(db->Write(wo, &batch), "rewriting postings");
      });
  if (!status.ok()) return status;
  return split;
}

}  // namespace tradecheck::storage::testing
