// The wire bytes of a CheckDeclarationResponse made from an audit record as
// the store wrote it, so that a check serializes its verdict once (for the
// record) instead of again for the answer.
//
//   absl::StatusOr<std::string> bytes = CheckResponseFromRecord(
//       result.record, result.decision.verdict().record_hash(), replayed);
//
// The record is a Decision serialized with both record hashes cleared
// (storage/hashing.h); its `verdict` field holds the verdict's bytes. The
// response's verdict is those bytes with `record_hash` added where its field
// number puts it, which is byte for byte what serializing the response
// would give (response_bytes_test.cc compares the two).
#ifndef TRADECHECK_CORE_RESPONSE_BYTES_H_
#define TRADECHECK_CORE_RESPONSE_BYTES_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tradecheck {

// INTERNAL when `record` does not read as a Decision at its top level or
// holds no verdict.
absl::StatusOr<std::string> CheckResponseFromRecord(absl::string_view record,
                                                    absl::string_view record_hash,
                                                    bool replayed);

}  // namespace tradecheck

#endif  // TRADECHECK_CORE_RESPONSE_BYTES_H_
