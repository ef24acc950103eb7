#include "storage/trail_reader.h"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "rocksdb/db.h"
#include "storage/keys.h"

namespace tradecheck::storage {

absl::Status ReadTrailEntries(
    const std::string& directory, v1::TrailStream stream,
    const std::function<absl::Status(uint64_t, absl::string_view)>& fn) {
  rocksdb::Options options;
  options.paranoid_checks = true;
  std::vector<std::string> names;
  rocksdb::Status s =
      rocksdb::DB::ListColumnFamilies(options, directory, &names);
  if (!s.ok() || std::find(names.begin(), names.end(), keys::kRecordsCf) ==
                     names.end()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--trail: ", directory, " is not a tradecheck audit store",
        s.ok() ? "" : absl::StrCat(" (", s.ToString(), ")")));
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& name : names) {
    descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  s = rocksdb::DB::OpenForReadOnly(options, directory, descriptors, &handles,
                                   &raw);
  if (!s.ok()) {
    const std::string message =
        absl::StrCat("cannot open ", directory, " read-only: ", s.ToString());
    return s.IsCorruption() ? absl::DataLossError(message)
                            : absl::FailedPreconditionError(message);
  }
  std::unique_ptr<rocksdb::DB> db(raw);
  rocksdb::ColumnFamilyHandle* records = nullptr;
  for (rocksdb::ColumnFamilyHandle* h : handles) {
    if (h->GetName() == keys::kRecordsCf) records = h;
  }
  absl::Status result;
  {
    const std::string prefix(1, static_cast<char>(keys::StreamByte(stream)));
    std::unique_ptr<rocksdb::Iterator> it(
        db->NewIterator(rocksdb::ReadOptions(), records));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix);
         it->Next()) {
      auto at = keys::ParseRecordKey(
          absl::string_view(it->key().data(), it->key().size()));
      if (!at.ok()) {
        result = absl::DataLossError(
            absl::StrCat("a record key does not parse: ", at.status().message()));
        break;
      }
      result = fn(at->sequence, absl::string_view(it->value().data(),
                                                  it->value().size()));
      if (!result.ok()) break;
    }
    if (result.ok() && !it->status().ok()) {
      result = absl::DataLossError(
          absl::StrCat("reading records: ", it->status().ToString()));
    }
  }
  for (rocksdb::ColumnFamilyHandle* h : handles) {
    db->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  }
  db->Close().PermitUncheckedError();
  return result;
}

}  // namespace tradecheck::storage
