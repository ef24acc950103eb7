// Reading the details of an error the tradecheck server returned.
//
// The server puts a google.rpc.Status in the grpc-status-details-bin trailer
// (and in CheckResult.error for batch and stream results): a BadRequest
// with one FieldViolation per malformed field ("lines[0].hs_code"), or an
// ErrorInfo (ALREADY_EXISTS names the decision holding a declaration_id in
// metadata "decision_id"). The client turns each detail into a payload of
// the absl::Status it returns, keyed by the detail's type URL, so these
// helpers work on any status the client hands out.
//
//   auto response = client->Check(declaration);
//   if (!response.ok()) std::cerr << DescribeError(response.status());
#ifndef TRADECHECK_CLIENT_ERRORS_H_
#define TRADECHECK_CLIENT_ERRORS_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace tradecheck {

inline constexpr char kBadRequestTypeUrl[] =
    "type.googleapis.com/google.rpc.BadRequest";
inline constexpr char kErrorInfoTypeUrl[] =
    "type.googleapis.com/google.rpc.ErrorInfo";

// The status a google.rpc.Status stands for, its details as payloads. An
// out-of-range code becomes UNKNOWN.
absl::Status StatusFromRpcStatus(const google::rpc::Status& rpc_status);

// std::nullopt when the status carries no (parsable) detail of that type.
std::optional<google::rpc::BadRequest> BadRequestOf(const absl::Status& status);
std::optional<google::rpc::ErrorInfo> ErrorInfoOf(const absl::Status& status);

// One or more lines for a person: "INVALID_ARGUMENT: <message>", then one
// indented line per field violation ("  lines[0].hs_code: <description>")
// and the ErrorInfo reason and metadata, if any. No trailing newline.
std::string DescribeError(const absl::Status& status);

}  // namespace tradecheck

#endif  // TRADECHECK_CLIENT_ERRORS_H_
