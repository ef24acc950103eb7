// SHA-256 on OpenSSL's libcrypto, the one implementation for the project: the
// rule set's revision hash and the audit trail's record hashes both use it.
//
//   std::string d = Sha256("abc");  // 32 raw bytes
//   Sha256Hasher h;                 // or incrementally, for many pieces
//   h.Update(name); h.Update(bytes);
//   std::string d2 = std::move(h).Finish();
//
// libcrypto only fails these calls on allocation failure; like any other
// allocation failure (no exceptions), that aborts the process.
#ifndef TRADECHECK_COMMON_SHA256_H_
#define TRADECHECK_COMMON_SHA256_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"

namespace tradecheck {

inline constexpr size_t kSha256Size = 32;

// Incremental SHA-256. Not thread-safe; one hasher per digest.
class Sha256Hasher {
 public:
  Sha256Hasher();
  ~Sha256Hasher();
  Sha256Hasher(const Sha256Hasher&) = delete;
  Sha256Hasher& operator=(const Sha256Hasher&) = delete;

  void Update(absl::string_view bytes);
  // Appends `n` as 8 bytes, big-endian (length prefixes).
  void UpdateU64BigEndian(uint64_t n);
  // The digest, 32 raw bytes. The hasher cannot be used afterwards.
  std::string Finish() &&;

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

// SHA-256 of `data`, 32 raw bytes.
std::string Sha256(absl::string_view data);

}  // namespace tradecheck

#endif  // TRADECHECK_COMMON_SHA256_H_
