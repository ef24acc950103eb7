#include "storage/page_token.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "storage/hashing.h"
#include "storage/keys.h"

namespace tradecheck::storage {
namespace {

// Token bytes: <version:1><filter digest:16><resume_at:8><hmac:32>, then
// web-safe base64.
constexpr char kTokenVersion = 1;
constexpr size_t kDigestSize = 16;
constexpr size_t kPayloadSize = 1 + kDigestSize + 8;

absl::Status BadToken(absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("page_token: ", why,
                   "; pass the next_page_token of the previous page unchanged "
                   "with the same filter"));
}

}  // namespace

std::string FilterDigest(const v1::DecisionFilter& filter) {
  return Sha256(filter.SerializeAsString()).substr(0, kDigestSize);
}

std::string EncodePageToken(absl::string_view key, const PageToken& token) {
  std::string payload(1, kTokenVersion);
  payload.append(token.filter_digest);
  keys::AppendBigEndian64(token.resume_at, &payload);
  payload.append(HmacSha256(key, payload));
  return absl::WebSafeBase64Escape(payload);
}

absl::StatusOr<PageToken> DecodePageToken(absl::string_view key,
                                          absl::string_view token,
                                          absl::string_view filter_digest) {
  std::string bytes;
  if (!absl::WebSafeBase64Unescape(token, &bytes) ||
      bytes.size() != kPayloadSize + kHashSize || bytes[0] != kTokenVersion) {
    return BadToken("malformed token");
  }
  absl::string_view payload = absl::string_view(bytes).substr(0, kPayloadSize);
  if (!ConstantTimeEquals(HmacSha256(key, payload),
                          absl::string_view(bytes).substr(kPayloadSize))) {
    return BadToken("token was not issued by this store or was altered");
  }
  PageToken out;
  out.filter_digest = std::string(payload.substr(1, kDigestSize));
  out.resume_at = keys::ReadBigEndian64(payload.substr(1 + kDigestSize));
  if (out.filter_digest != filter_digest) {
    return BadToken("token was issued for a different filter");
  }
  return out;
}

}  // namespace tradecheck::storage
