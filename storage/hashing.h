// Hashing for the audit trail: record (leaf) hashes, declaration digests
// (SHA-256 from common/sha256.h) and the HMAC that signs page tokens. The exact bytes
// are defined in docs/storage.md ("Hash chain").
#ifndef TRADECHECK_STORAGE_HASHING_H_
#define TRADECHECK_STORAGE_HASHING_H_

#include <string>

#include "absl/strings/string_view.h"
#include "common/sha256.h"
#include "tradecheck/v1/audit_service.pb.h"
#include "tradecheck/v1/declaration.pb.h"

namespace tradecheck::storage {

inline constexpr size_t kHashSize = kSha256Size;

// RFC 9162 leaf hash: SHA-256(0x00 || entry), 32 raw bytes. The entry is a
// record's stored value (see EntryBytes).
std::string LeafHash(absl::string_view entry);

// The canonical bytes of a record: deterministic protobuf serialization of
// `decision` with record_hash and verdict.record_hash cleared (they cannot
// hash themselves). previous_hash is part of the entry, which chains it.
std::string EntryBytes(const v1::Decision& decision);

// EntryBytes of a record being sealed, without copying it: clears the two
// record hashes of *decision in place (the caller sets them from the
// result) and returns the same bytes EntryBytes would.
std::string EntryBytesClearingHashes(v1::Decision* decision);

// SHA-256 of the declaration's deterministic serialization (idempotency).
std::string DeclarationDigest(const v1::Declaration& declaration);

// HMAC-SHA256(key, data), 32 raw bytes.
std::string HmacSha256(absl::string_view key, absl::string_view data);

// Constant-time equality of two byte strings.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

// `previous_hash` of the first record of a stream: 64 '0' characters.
const std::string& GenesisHashHex();

// Cryptographically random bytes.
std::string RandomBytes(size_t n);

}  // namespace tradecheck::storage

#endif  // TRADECHECK_STORAGE_HASHING_H_
