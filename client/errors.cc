#include "client/errors.h"

#include <map>
#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/types/optional.h"
#include "client/terminal_text.h"

namespace tradecheck {

absl::Status StatusFromRpcStatus(const google::rpc::Status& rpc_status) {
  int code = rpc_status.code();
  if (code == 0) return absl::OkStatus();
  if (code < 0 || code > static_cast<int>(absl::StatusCode::kUnauthenticated)) {
    code = static_cast<int>(absl::StatusCode::kUnknown);
  }
  absl::Status status(static_cast<absl::StatusCode>(code),
                      rpc_status.message());
  for (const google::protobuf::Any& detail : rpc_status.details()) {
    status.SetPayload(detail.type_url(), absl::Cord(detail.value()));
  }
  return status;
}

namespace {

template <typename Message>
std::optional<Message> PayloadOf(const absl::Status& status,
                                 absl::string_view type_url) {
  absl::optional<absl::Cord> payload = status.GetPayload(type_url);
  if (!payload.has_value()) return std::nullopt;
  Message message;
  if (!message.ParseFromString(std::string(*payload))) return std::nullopt;
  return message;
}

}  // namespace

std::optional<google::rpc::BadRequest> BadRequestOf(
    const absl::Status& status) {
  return PayloadOf<google::rpc::BadRequest>(status, kBadRequestTypeUrl);
}

std::optional<google::rpc::ErrorInfo> ErrorInfoOf(const absl::Status& status) {
  return PayloadOf<google::rpc::ErrorInfo>(status, kErrorInfoTypeUrl);
}

std::string DescribeError(const absl::Status& status) {
  if (status.ok()) return "OK";
  // The text goes to a terminal; whatever the server sent is escaped.
  std::string text = absl::StrCat(absl::StatusCodeToString(status.code()), ": ",
                                  TerminalSafe(status.message()));
  if (std::optional<google::rpc::BadRequest> bad = BadRequestOf(status)) {
    for (const auto& violation : bad->field_violations()) {
      absl::StrAppend(&text, "\n  ", TerminalSafe(violation.field()), ": ",
                      TerminalSafe(violation.description()));
    }
  }
  if (std::optional<google::rpc::ErrorInfo> info = ErrorInfoOf(status)) {
    absl::StrAppend(&text, "\n  reason: ", TerminalSafe(info->reason()));
    if (!info->domain().empty())
      absl::StrAppend(&text, " (", TerminalSafe(info->domain()), ")");
    // Sorted so the output is stable.
    std::map<std::string, std::string> metadata(info->metadata().begin(),
                                                info->metadata().end());
    for (const auto& [key, value] : metadata) {
      absl::StrAppend(&text, "\n  ", TerminalSafe(key), ": ",
                      TerminalSafe(value));
    }
  }
  return text;
}

}  // namespace tradecheck
