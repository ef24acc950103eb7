// Test-only fault injection for the audit store's writer: the next `count`
// batch writes (process-wide) fail with INTERNAL instead of reaching
// RocksDB, so tests can check what callers and the chain see when a durable
// write fails. Defined in audit_store.cc; never called outside tests.
#ifndef TRADECHECK_STORAGE_TESTING_WRITE_FAULT_H_
#define TRADECHECK_STORAGE_TESTING_WRITE_FAULT_H_

namespace tradecheck::storage::testing {

void FailNextWritesForTesting(int count);

}  // namespace tradecheck::storage::testing

#endif  // TRADECHECK_STORAGE_TESTING_WRITE_FAULT_H_
