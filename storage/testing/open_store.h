// Opening a store underneath AuditStore, for the tamper helpers: every
// column family by name, plain RocksDB options, closed again afterwards.
#ifndef TRADECHECK_STORAGE_TESTING_OPEN_STORE_H_
#define TRADECHECK_STORAGE_TESTING_OPEN_STORE_H_

#include <functional>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "rocksdb/db.h"

namespace tradecheck::storage::testing {

using Families = std::map<std::string, rocksdb::ColumnFamilyHandle*>;

// INTERNAL naming `what` when `s` is not ok.
absl::Status FromRocks(const rocksdb::Status& s, const std::string& what);

// Opens the store at `db_path` with every column family, runs `fn` with them
// by name, then closes it. `fn` may drop a family: it then erases it from
// the map (dropping destroyed its handle).
absl::Status WithEveryFamily(
    const std::string& db_path,
    const std::function<absl::Status(rocksdb::DB*, Families&)>& fn);

// For `fn` above: drops the family `name` if the store has it, destroys its
// handle and erases it from `families`.
absl::Status DropFamily(rocksdb::DB* db, Families& families,
                        const std::string& name);

}  // namespace tradecheck::storage::testing

#endif  // TRADECHECK_STORAGE_TESTING_OPEN_STORE_H_
