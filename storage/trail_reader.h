// Reads the records of a closed audit store, a checkpoint or a restored
// backup directory, read-only, in sequence order: what the offline verifier
// (client/log_verifier.h) checks without any server. Never writes.
//
//   TC_RETURN_IF_ERROR(ReadTrailEntries(dir, v1::TRAIL_STREAM_BINDING,
//       [&](uint64_t sequence, absl::string_view entry) { ... }));
#ifndef TRADECHECK_STORAGE_TRAIL_READER_H_
#define TRADECHECK_STORAGE_TRAIL_READER_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "tradecheck/v1/audit_service.pb.h"

namespace tradecheck::storage {

// Calls `fn` with each stored record of `stream` (its key's sequence and
// its stored bytes, the Merkle leaf entry), ascending; stops at the first
// error `fn` returns. FAILED_PRECONDITION when `directory` is not an audit
// store; DATA_LOSS when RocksDB reports corruption.
absl::Status ReadTrailEntries(
    const std::string& directory, v1::TrailStream stream,
    const std::function<absl::Status(uint64_t sequence,
                                     absl::string_view entry)>& fn);

}  // namespace tradecheck::storage

#endif  // TRADECHECK_STORAGE_TRAIL_READER_H_
