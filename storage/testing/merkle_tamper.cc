#include "storage/testing/merkle_tamper.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/merkle.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "storage/hashing.h"
#include "storage/keys.h"
#include "storage/testing/open_store.h"
#include "storage/testing/tamper.h"

namespace tradecheck::storage::testing {
namespace {

std::string StreamPrefix(v1::TrailStream stream) {
  return std::string(1, static_cast<char>(keys::StreamByte(stream)));
}

// Deletes every tree node of `stream` and writes the tree over the chain
// hashes of records 1..n again (into `batch`).
absl::Status RebuildTree(rocksdb::DB* db, Families& cf,
                         v1::TrailStream stream,
                         const std::vector<std::string>& leaf_hashes,
                         rocksdb::WriteBatch* batch) {
  const std::string prefix = StreamPrefix(stream);
  std::string end = prefix;
  end.back() = static_cast<char>(end.back() + 1);
  batch->DeleteRange(cf[keys::kTreeCf], prefix, end);
  merkle::Frontier frontier;
  for (const std::string& leaf : leaf_hashes) {
    frontier.Append(leaf, [&](int level, uint64_t index, const std::string& h) {
      batch->Put(cf[keys::kTreeCf], keys::TreeNodeKey(stream, level, index), h);
    });
  }
  (void)db;
  return absl::OkStatus();
}

}  // namespace

absl::Status CutTail(const std::string& db_path, v1::TrailStream stream,
                     uint64_t keep, bool drop_heads) {
  return WithEveryFamily(db_path, [&](rocksdb::DB* db, Families& cf) -> absl::Status {
    const std::string from = keys::RecordKey(stream, keep + 1);
    const std::string to = keys::RecordKey(stream, ~uint64_t{0});
    rocksdb::WriteBatch batch;
    batch.DeleteRange(cf[keys::kRecordsCf], from, to);
    batch.DeleteRange(cf[keys::kChainCf], from, to);
    if (drop_heads) batch.DeleteRange(cf[keys::kHeadsCf], from, to);
    std::vector<std::string> leaves;
    std::unique_ptr<rocksdb::Iterator> it(
        db->NewIterator(rocksdb::ReadOptions(), cf[keys::kChainCf]));
    for (it->Seek(keys::RecordKey(stream, 1));
         it->Valid() && leaves.size() < keep &&
         it->key().starts_with(StreamPrefix(stream));
         it->Next()) {
      leaves.push_back(it->value().ToString());
    }
    absl::Status s = RebuildTree(db, cf, stream, leaves, &batch);
    if (!s.ok()) return s;
    rocksdb::WriteOptions wo;
    wo.sync = true;
    return FromRocks(db->Write(wo, &batch), "cutting the tail");
  });
}

absl::Status ForgeRecord(const std::string& db_path, v1::TrailStream stream,
                         uint64_t sequence, const std::string& new_caller) {
  return WithEveryFamily(db_path, [&](rocksdb::DB* db, Families& cf) -> absl::Status {
    rocksdb::WriteBatch batch;
    std::vector<std::string> leaves;
    std::string previous;
    std::unique_ptr<rocksdb::Iterator> it(
        db->NewIterator(rocksdb::ReadOptions(), cf[keys::kRecordsCf]));
    bool found = false;
    for (it->Seek(keys::RecordKey(stream, 1));
         it->Valid() && it->key().starts_with(StreamPrefix(stream));
         it->Next()) {
      v1::Decision d;
      if (!d.ParseFromString(it->value().ToString())) {
        return absl::DataLossError("a record does not parse");
      }
      if (d.sequence() < sequence) {
        std::string hash;
        rocksdb::Status g = db->Get(rocksdb::ReadOptions(), cf[keys::kChainCf],
                                    it->key(), &hash);
        if (!g.ok()) return FromRocks(g, "reading the chain");
        leaves.push_back(hash);
        previous = hash;
        continue;
      }
      if (d.sequence() == sequence) {
        found = true;
        d.set_caller(new_caller);
      }
      d.set_previous_hash(previous.empty() ? GenesisHashHex()
                                           : absl::BytesToHexString(previous));
      const std::string entry = EntryBytes(d);
      const std::string hash = LeafHash(entry);
      batch.Put(cf[keys::kRecordsCf], it->key(), entry);
      batch.Put(cf[keys::kChainCf], it->key(), hash);
      leaves.push_back(hash);
      previous = hash;
    }
    if (!it->status().ok()) return FromRocks(it->status(), "reading records");
    if (!found) return absl::NotFoundError("no such record");
    absl::Status s = RebuildTree(db, cf, stream, leaves, &batch);
    if (!s.ok()) return s;
    rocksdb::WriteOptions wo;
    wo.sync = true;
    return FromRocks(db->Write(wo, &batch), "forging a record");
  });
}

absl::Status RewriteAsVersion3(const std::string& db_path) {
  absl::Status s =
      WithEveryFamily(db_path, [&](rocksdb::DB* db, Families& cf) -> absl::Status {
        rocksdb::WriteBatch batch;
        batch.Delete(cf[keys::kMetaCf], keys::kMetaStoreIdentity);
        batch.Delete(cf[keys::kMetaCf], keys::kMetaEpoch);
        rocksdb::WriteOptions wo;
        wo.sync = true;
        return FromRocks(db->Write(wo, &batch), "removing the identity");
      });
  if (!s.ok()) return s;
  return SetSchemaVersion(db_path, "3");
}

absl::Status RewriteAsVersion2(const std::string& db_path) {
  absl::Status s =
      WithEveryFamily(db_path, [&](rocksdb::DB* db, Families& cf) -> absl::Status {
        for (const char* name : {keys::kTreeCf, keys::kHeadsCf}) {
          if (absl::Status d = DropFamily(db, cf, name); !d.ok()) return d;
        }
        return absl::OkStatus();
      });
  if (!s.ok()) return s;
  return SetSchemaVersion(db_path, "2");
}

}  // namespace tradecheck::storage::testing
