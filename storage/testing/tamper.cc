#include "storage/testing/tamper.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "storage/decision_index.h"
#include "storage/keys.h"

namespace tradecheck::storage::testing {
namespace {

absl::Status FromRocks(const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(what, ": ", s.ToString()));
}

// Opens every column family of the store, runs `fn` with them by name, then
// closes.
template <typename Fn>
absl::Status WithColumnFamilies(const std::string& db_path, Fn fn) {
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
  std::map<std::string, rocksdb::ColumnFamilyHandle*> by_name;
  for (rocksdb::ColumnFamilyHandle* h : handles) by_name[h->GetName()] = h;
  s = fn(db.get(), by_name);
  for (rocksdb::ColumnFamilyHandle* h : handles) {
    absl::Status d = FromRocks(db->DestroyColumnFamilyHandle(h), "closing");
    if (s.ok()) s = d;
  }
  absl::Status c = FromRocks(db->Close(), "closing");
  return s.ok() ? c : s;
}

// Runs `fn` on the column family named `cf_name`.
template <typename Fn>
absl::Status WithColumnFamily(const std::string& db_path,
                              const std::string& cf_name, Fn fn) {
  return WithColumnFamilies(
      db_path,
      [&](rocksdb::DB* db,
          const std::map<std::string, rocksdb::ColumnFamilyHandle*>& cfs)
          -> absl::Status {
        auto it = cfs.find(cf_name);
        if (it == cfs.end()) {
          return absl::NotFoundError(
              absl::StrCat(db_path, " has no column family ", cf_name));
        }
        return fn(db, it->second);
      });
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

absl::StatusOr<int> RewriteIndexesAsVersion1(const std::string& db_path) {
  int split = 0;
  absl::Status status = WithColumnFamilies(
      db_path,
      [&](rocksdb::DB* db,
          const std::map<std::string, rocksdb::ColumnFamilyHandle*>& cfs)
          -> absl::Status {
        rocksdb::WriteBatch batch;
        rocksdb::ColumnFamilyHandle* postings = cfs.at(keys::kPostingsCf);
        std::unique_ptr<rocksdb::Iterator> it(
            db->NewIterator(rocksdb::ReadOptions(), postings));
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
          batch.Delete(postings, key);
          for (uint64_t sequence : *block) {
            batch.Put(postings, keys::PostingKey(prefix, sequence), "");
          }
        }
        if (!it->status().ok()) return FromRocks(it->status(), "scanning");

        rocksdb::ColumnFamilyHandle* time = cfs.at(keys::kTimeCf);
        it.reset(db->NewIterator(rocksdb::ReadOptions(), time));
        for (it->SeekToFirst(); it->Valid(); it->Next()) {
          batch.Delete(time, it->key());
        }
        if (!it->status().ok()) return FromRocks(it->status(), "scanning");
        it.reset(db->NewIterator(rocksdb::ReadOptions(),
                                 cfs.at(keys::kRecordsCf)));
        for (it->SeekToFirst(); it->Valid(); it->Next()) {
          v1::Decision d;
          if (!d.ParseFromString(it->value().ToString())) {
            return absl::DataLossError("unreadable record");
          }
          const absl::Time recorded_at =
              absl::FromUnixSeconds(d.recorded_at().seconds()) +
              absl::Nanoseconds(d.recorded_at().nanos());
          batch.Put(time, keys::TimeKey(d.stream(), recorded_at, d.sequence()),
                    "");
        }
        if (!it->status().ok()) return FromRocks(it->status(), "scanning");
        rocksdb::WriteOptions wo;
        wo.sync = true;
        return FromRocks(db->Write(wo, &batch), "rewriting the indexes");
      });
  if (!status.ok()) return status;
  return split;
}

absl::StatusOr<int> DropPostingsNewerThan(const std::string& db_path,
                                          int schema) {
  std::string newer;
  for (const IndexedField& f : IndexedFields()) {
    if (f.since_schema > schema) newer.push_back(static_cast<char>(f.field));
  }
  int deleted = 0;
  absl::Status status = WithColumnFamily(
      db_path, keys::kPostingsCf,
      [&](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) -> absl::Status {
        rocksdb::WriteBatch batch;
        std::unique_ptr<rocksdb::Iterator> it(
            db->NewIterator(rocksdb::ReadOptions(), cf));
        for (it->SeekToFirst(); it->Valid(); it->Next()) {
          if (newer.find(it->key()[0]) == std::string::npos) continue;
          batch.Delete(cf, it->key());
          ++deleted;
        }
        if (!it->status().ok()) {
          return FromRocks(it->status(), "reading the postings");
        }
        rocksdb::WriteOptions wo;
        wo.sync = true;
        return FromRocks(db->Write(wo, &batch), "deleting postings");
      });
  if (!status.ok()) return status;
  return deleted;
}

}  // namespace tradecheck::storage::testing
