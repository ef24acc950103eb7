#include "storage/testing/tamper.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "rocksdb/db.h"
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

}  // namespace tradecheck::storage::testing
