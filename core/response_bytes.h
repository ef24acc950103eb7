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

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tradecheck {

// INTERNAL when `record` does not read as a Decision at its top level or
// holds no verdict.
absl::StatusOr<std::string> CheckResponseFromRecord(absl::string_view record,
                                                    absl::string_view record_hash,
                                                    bool replayed);

// The wire bytes of a stream's CheckResult holding `response` (the wire
// bytes of a CheckDeclarationResponse, as CheckResponseFromRecord makes
// them): the index and the declaration id serialized, the response
// appended as it is. Byte for byte the typed CheckResult serialized.
std::string CheckResultWithResponse(uint64_t index,
                                    absl::string_view declaration_id,
                                    absl::string_view response);

}  // namespace tradecheck

#endif  // TRADECHECK_CORE_RESPONSE_BYTES_H_
