// Page tokens of AuditStore::ListDecisions: opaque, signed (HMAC-SHA256) and
// bound to the filter they were issued for.
//
// A listing is newest first and the token holds the highest sequence the
// next page may return (one below the last one returned), so records appended
// after the first page can never shift or repeat later pages: they sit above
// that bound.
//
//   std::string token = EncodePageToken(key, {filter_digest, 41});
//   absl::StatusOr<PageToken> t = DecodePageToken(key, token, filter_digest);
#ifndef TRADECHECK_STORAGE_PAGE_TOKEN_H_
#define TRADECHECK_STORAGE_PAGE_TOKEN_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tradecheck/v1/audit_service.pb.h"

namespace tradecheck::storage {

struct PageToken {
  // 16 bytes identifying the (normalized) filter; see FilterDigest.
  std::string filter_digest;
  // The next page holds sequences <= resume_at.
  uint64_t resume_at = 0;
};

// Digest of a filter, normalized by the caller (stream set explicitly).
std::string FilterDigest(const v1::DecisionFilter& filter);

std::string EncodePageToken(absl::string_view key, const PageToken& token);

// INVALID_ARGUMENT ("page_token: ...") when the token is malformed, was not
// signed with `key`, or was issued for another filter.
absl::StatusOr<PageToken> DecodePageToken(absl::string_view key,
                                          absl::string_view token,
                                          absl::string_view filter_digest);

}  // namespace tradecheck::storage

#endif  // TRADECHECK_STORAGE_PAGE_TOKEN_H_
