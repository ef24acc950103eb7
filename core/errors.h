// The project's error details, carried inside absl::Status payloads so the
// domain never sees gRPC: INVALID_ARGUMENT statuses carry a
// google.rpc.BadRequest (one field violation per problem), ALREADY_EXISTS
// carries a google.rpc.ErrorInfo, UNAVAILABLE from the store a
// google.rpc.RetryInfo. server/ turns both into the gRPC status
// details a client decodes; client/ turns them back.
#ifndef TRADECHECK_CORE_ERRORS_H_
#define TRADECHECK_CORE_ERRORS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace tradecheck {

// Payload type URLs: the google.rpc message type names, so the server can
// pack them into google.protobuf.Any unchanged.
inline constexpr absl::string_view kBadRequestTypeUrl =
    "type.googleapis.com/google.rpc.BadRequest";
inline constexpr absl::string_view kErrorInfoTypeUrl =
    "type.googleapis.com/google.rpc.ErrorInfo";
inline constexpr absl::string_view kRetryInfoTypeUrl =
    "type.googleapis.com/google.rpc.RetryInfo";
// ErrorInfo.domain of every tradecheck error.
inline constexpr absl::string_view kErrorDomain = "tradecheck.v1";

// A caller's value as an error may quote it: at most kMaxQuotedBytes of it,
// C-escaped (control characters, quotes and non-ASCII bytes as \n, \", \xNN)
// and in double quotes, followed by "... (N bytes)" when it was cut. A 1 MB
// bad value thus costs at most about 150 bytes of an error.
inline constexpr size_t kMaxQuotedBytes = 32;
std::string QuoteValue(absl::string_view value);

// Collects field violations; builds the INVALID_ARGUMENT status. Keeps the
// first kMaxListed (fewer when their text would pass kMaxDetailBytes) and
// counts the rest, and caps the message at kMaxMessageBytes, so the whole
// error (sent in gRPC trailers: the message, then the details again with the
// message inside, base64-encoded; clients cap trailers at 8 KiB by default)
// always reaches the caller as INVALID_ARGUMENT.
class FieldViolations {
 public:
  static constexpr int kMaxListed = 25;
  // Serialized google.rpc.BadRequest, at most.
  static constexpr size_t kMaxDetailBytes = 2560;
  // The status message, at most.
  static constexpr size_t kMaxMessageBytes = 1024;
  // One violation's field path and description, at most (longer ones are
  // cut; the validator's own texts are far shorter).
  static constexpr size_t kMaxFieldBytes = 128;
  static constexpr size_t kMaxDescriptionBytes = 320;

  void Add(std::string field, std::string description);
  bool empty() const { return request_.field_violations().empty(); }
  int size() const { return request_.field_violations_size() + unlisted_; }
  // INVALID_ARGUMENT whose message lists every violation ("lines[0].hs_code:
  // ...; origin_country: ...") and whose payload is the BadRequest. OK when
  // empty.
  absl::Status ToStatus() const;

 private:
  google::rpc::BadRequest request_;
  size_t detail_bytes_ = 0;
  int unlisted_ = 0;
};

// INVALID_ARGUMENT for a single field.
absl::Status InvalidField(absl::string_view field,
                          absl::string_view description);

// The store names a bad field as "field: problem" in an INVALID_ARGUMENT;
// this gives it the BadRequest detail every INVALID_ARGUMENT of the API
// carries. Other statuses pass unchanged.
absl::Status WithFieldDetail(const absl::Status& status);

// Attaches a google.rpc.ErrorInfo with `reason` and metadata to `status`.
absl::Status WithErrorInfo(absl::Status status, absl::string_view reason,
                           const std::vector<std::pair<std::string,
                                                       std::string>>& metadata);

// Attaches a google.rpc.RetryInfo saying to retry after `delay` (for
// UNAVAILABLE: the store cannot write now, e.g. a full disk).
absl::Status WithRetryInfo(absl::Status status, absl::Duration delay);

// The google.rpc.Status form of `status`: code, message, and every payload
// of a known google.rpc detail type packed as google.protobuf.Any. Used for
// gRPC error details and for per-item errors in batch and stream results.
google::rpc::Status ToRpcStatus(const absl::Status& status);

// The BadRequest carried by `status`, if any (empty otherwise).
google::rpc::BadRequest GetBadRequest(const absl::Status& status);

}  // namespace tradecheck

#endif  // TRADECHECK_CORE_ERRORS_H_
