#include "storage/testing/tamper.h"

#include <algorithm>
#include <filesystem>
#include <functional>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/proto_bytes.h"
#include "absl/time/time.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "storage/decision_index.h"
#include "storage/keys.h"
#include "storage/testing/open_store.h"

namespace tradecheck::storage::testing {

absl::Status FromRocks(const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(what, ": ", s.ToString()));
}

absl::Status WithEveryFamily(
    const std::string& db_path,
    const std::function<absl::Status(rocksdb::DB*, Families&)>& fn) {
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
  Families by_name;
  for (rocksdb::ColumnFamilyHandle* h : handles) by_name[h->GetName()] = h;
  s = fn(db.get(), by_name);
  for (rocksdb::ColumnFamilyHandle* h : handles) {
    bool kept = false;  // fn destroyed the handles of families it dropped
    for (const auto& [name, handle] : by_name) kept = kept || handle == h;
    if (!kept) continue;
    absl::Status d = FromRocks(db->DestroyColumnFamilyHandle(h), "closing");
    if (s.ok()) s = d;
  }
  absl::Status c = FromRocks(db->Close(), "closing");
  return s.ok() ? c : s;
}

absl::Status DropFamily(rocksdb::DB* db, Families& families,
                        const std::string& name) {
  auto it = families.find(name);
  if (it == families.end()) return absl::OkStatus();
  absl::Status s = FromRocks(db->DropColumnFamily(it->second), "dropping");
  if (!s.ok()) return s;
  s = FromRocks(db->DestroyColumnFamilyHandle(it->second), "closing");
  if (!s.ok()) return s;
  families.erase(it);
  return absl::OkStatus();
}

namespace {

// Runs `fn` on the column family named `cf_name`.
template <typename Fn>
absl::Status WithColumnFamily(const std::string& db_path,
                              const std::string& cf_name, Fn fn) {
  return WithEveryFamily(
      db_path,
      [&](rocksdb::DB* db,
          const Families& cfs)
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

absl::Status DeleteRecord(const std::string& db_path, v1::TrailStream stream,
                          uint64_t sequence) {
  return WithEveryFamily(
      db_path,
      [&](rocksdb::DB* db,
          const Families& cfs)
          -> absl::Status {
        const std::string key = keys::RecordKey(stream, sequence);
        std::string value;
        rocksdb::Status s = db->Get(rocksdb::ReadOptions(),
                                    cfs.at(keys::kRecordsCf), key, &value);
        if (s.IsNotFound()) {
          return absl::NotFoundError(
              absl::StrCat("no record ", keys::DecisionId(stream, sequence)));
        }
        if (!s.ok()) return FromRocks(s, "reading the record");
        rocksdb::WriteBatch batch;
        batch.Delete(cfs.at(keys::kRecordsCf), key);
        batch.Delete(cfs.at(keys::kChainCf), key);
        rocksdb::WriteOptions wo;
        wo.sync = true;
        return FromRocks(db->Write(wo, &batch), "deleting the record");
      });
}

namespace {

// Reads record `sequence`'s value and chain hash.
absl::Status ReadPair(rocksdb::DB* db,
                      const std::map<std::string,
                                     rocksdb::ColumnFamilyHandle*>& cfs,
                      v1::TrailStream stream, uint64_t sequence,
                      std::string* value, std::string* hash) {
  const std::string key = keys::RecordKey(stream, sequence);
  rocksdb::Status s =
      db->Get(rocksdb::ReadOptions(), cfs.at(keys::kRecordsCf), key, value);
  if (s.IsNotFound()) {
    return absl::NotFoundError(
        absl::StrCat("no record ", keys::DecisionId(stream, sequence)));
  }
  if (!s.ok()) return FromRocks(s, "reading the record");
  return FromRocks(
      db->Get(rocksdb::ReadOptions(), cfs.at(keys::kChainCf), key, hash),
      "reading the record's hash");
}

}  // namespace

absl::Status SwapRecords(const std::string& db_path, v1::TrailStream stream,
                         uint64_t a, uint64_t b) {
  return WithEveryFamily(
      db_path,
      [&](rocksdb::DB* db,
          const Families& cfs)
          -> absl::Status {
        std::string value_a, hash_a, value_b, hash_b;
        absl::Status s = ReadPair(db, cfs, stream, a, &value_a, &hash_a);
        if (s.ok()) s = ReadPair(db, cfs, stream, b, &value_b, &hash_b);
        if (!s.ok()) return s;
        rocksdb::WriteBatch batch;
        batch.Put(cfs.at(keys::kRecordsCf), keys::RecordKey(stream, a),
                  value_b);
        batch.Put(cfs.at(keys::kChainCf), keys::RecordKey(stream, a), hash_b);
        batch.Put(cfs.at(keys::kRecordsCf), keys::RecordKey(stream, b),
                  value_a);
        batch.Put(cfs.at(keys::kChainCf), keys::RecordKey(stream, b), hash_a);
        rocksdb::WriteOptions wo;
        wo.sync = true;
        return FromRocks(db->Write(wo, &batch), "swapping records");
      });
}

absl::Status CopyRecord(const std::string& db_path, v1::TrailStream stream,
                        uint64_t from, uint64_t to) {
  return WithEveryFamily(
      db_path,
      [&](rocksdb::DB* db,
          const Families& cfs)
          -> absl::Status {
        std::string value, hash;
        absl::Status s = ReadPair(db, cfs, stream, from, &value, &hash);
        if (!s.ok()) return s;
        rocksdb::WriteBatch batch;
        batch.Put(cfs.at(keys::kRecordsCf), keys::RecordKey(stream, to),
                  value);
        batch.Put(cfs.at(keys::kChainCf), keys::RecordKey(stream, to), hash);
        rocksdb::WriteOptions wo;
        wo.sync = true;
        return FromRocks(db->Write(wo, &batch), "copying a record");
      });
}

absl::StatusOr<std::string> FlipByteInWal(const std::string& db_path,
                                          double fraction) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::string newest;
  for (const fs::directory_entry& entry : fs::directory_iterator(db_path, ec)) {
    if (entry.path().extension() != ".log" ||
        entry.path().filename().string().rfind("LOG", 0) == 0 ||
        fs::file_size(entry.path(), ec) == 0) {
      continue;
    }
    // Log numbers are zero-padded, so the largest name is the newest.
    if (entry.path().string() > newest) newest = entry.path().string();
  }
  if (ec) {
    return absl::NotFoundError(absl::StrCat("cannot list ", db_path, ": ",
                                            ec.message()));
  }
  if (newest.empty()) {
    return absl::NotFoundError(
        absl::StrCat(db_path, " has no non-empty write-ahead log"));
  }
  std::fstream file(newest, std::ios::in | std::ios::out | std::ios::binary);
  const uint64_t size = fs::file_size(newest, ec);
  if (!file || ec || size == 0) {
    return absl::NotFoundError(absl::StrCat("cannot open ", newest));
  }
  const auto offset = static_cast<std::streamoff>(
      std::min<double>(static_cast<double>(size - 1),
                       std::max(0.0, fraction) * static_cast<double>(size)));
  char byte = 0;
  file.seekg(offset);
  file.read(&byte, 1);
  byte = static_cast<char>(~byte);
  file.seekp(offset);
  file.write(&byte, 1);
  file.flush();
  if (!file) return absl::InternalError(absl::StrCat("cannot write ", newest));
  return newest;
}

absl::Status FlipByteInMetaValue(const std::string& db_path,
                                 const std::string& key, size_t byte_offset) {
  return WithColumnFamily(
      db_path, keys::kMetaCf,
      [&](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) -> absl::Status {
        std::string value;
        absl::Status read =
            FromRocks(db->Get(rocksdb::ReadOptions(), cf, key, &value),
                      "reading the meta value");
        if (!read.ok()) return read;
        if (byte_offset >= value.size()) {
          return absl::OutOfRangeError("the value is shorter than the offset");
        }
        value[byte_offset] = static_cast<char>(~value[byte_offset]);
        rocksdb::WriteOptions wo;
        wo.sync = true;
        return FromRocks(db->Put(wo, cf, key, value), "writing the meta value");
      });
}

absl::Status DeleteMetaValue(const std::string& db_path,
                             const std::string& key) {
  return WithColumnFamily(
      db_path, keys::kMetaCf,
      [&](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) -> absl::Status {
        std::string value;
        const rocksdb::Status read =
            db->Get(rocksdb::ReadOptions(), cf, key, &value);
        if (read.IsNotFound()) {
          return absl::NotFoundError("no such key in the meta family");
        }
        if (!read.ok()) return FromRocks(read, "reading the meta value");
        rocksdb::WriteOptions wo;
        wo.sync = true;
        return FromRocks(db->Delete(wo, cf, key), "deleting the meta value");
      });
}

absl::StatusOr<int> DeleteRuleSetSources(const std::string& db_path,
                                         const std::string& revision) {
  int deleted = 0;
  absl::Status s = WithColumnFamily(
      db_path, keys::kRuleSetsCf,
      [&](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) -> absl::Status {
        const std::string prefix = keys::RuleSetPrefix(revision);
        rocksdb::WriteBatch batch;
        std::unique_ptr<rocksdb::Iterator> it(
            db->NewIterator(rocksdb::ReadOptions(), cf));
        for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix);
             it->Next()) {
          batch.Delete(cf, it->key());
          ++deleted;
        }
        if (absl::Status read = FromRocks(it->status(), "reading the sources");
            !read.ok()) {
          return read;
        }
        if (deleted == 0) {
          return absl::NotFoundError(absl::StrCat(
              "no stored sources of rule-set revision ", revision));
        }
        rocksdb::WriteOptions wo;
        wo.sync = true;
        return FromRocks(db->Write(wo, &batch), "deleting the sources");
      });
  if (!s.ok()) return s;
  return deleted;
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
  absl::Status status = WithEveryFamily(
      db_path,
      [&](rocksdb::DB* db,
          const Families& cfs)
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

absl::Status DropSummaryRows(const std::string& db_path) {
  return WithEveryFamily(
      db_path, [](rocksdb::DB* db, Families& families) -> absl::Status {
        return DropFamily(db, families, keys::kSummariesCf);
      });
}

absl::Status PutSummaryRow(const std::string& db_path, v1::TrailStream stream,
                           uint64_t sequence, const std::string& bytes) {
  return WithColumnFamily(
      db_path, keys::kSummariesCf,
      [&](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) -> absl::Status {
        rocksdb::WriteOptions wo;
        wo.sync = true;
        return FromRocks(
            db->Put(wo, cf, keys::RecordKey(stream, sequence), bytes),
            "writing a summary row");
      });
}

absl::Status ForgeSummaryOutcome(const std::string& db_path,
                                 v1::TrailStream stream, uint64_t sequence) {
  return WithColumnFamily(
      db_path, keys::kSummariesCf,
      [&](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) -> absl::Status {
        const std::string key = keys::RecordKey(stream, sequence);
        std::string value;
        rocksdb::Status s = db->Get(rocksdb::ReadOptions(), cf, key, &value);
        if (s.IsNotFound()) {
          return absl::NotFoundError(absl::StrCat(
              "no summary row for ", keys::DecisionId(stream, sequence)));
        }
        if (!s.ok()) return FromRocks(s, "reading the summary row");
        v1::Decision row;
        if (!row.ParseFromString(value)) {
          return absl::DataLossError("the summary row does not parse");
        }
        v1::Verdict& verdict = *row.mutable_verdict();
        verdict.set_outcome(verdict.outcome() == v1::OUTCOME_DENY
                                ? v1::OUTCOME_ALLOW
                                : v1::OUTCOME_DENY);
        rocksdb::WriteOptions wo;
        wo.sync = true;
        return FromRocks(db->Put(wo, cf, key, SerializeDeterministic(row)),
                         "writing the summary row");
      });
}

}  // namespace tradecheck::storage::testing
