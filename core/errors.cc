#include "core/errors.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace tradecheck {

namespace {

// `text` cut to at most `max` bytes, marked with "..." when cut, with any
// control byte replaced by '?'. Callers pass texts built by the project
// (quoted values already escaped by QuoteValue); this is the safety net for
// one that is not.
std::string Cut(std::string text, size_t max) {
  if (text.size() > max) {
    text.resize(max - 3);
    text.append("...");
  }
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return text;
}

}  // namespace

std::string QuoteValue(absl::string_view value) {
  std::string out = absl::StrCat(
      "\"", absl::CHexEscape(value.substr(0, kMaxQuotedBytes)), "\"");
  if (value.size() > kMaxQuotedBytes) {
    absl::StrAppend(&out, "... (", value.size(), " bytes)");
  }
  return out;
}

void FieldViolations::Add(std::string field, std::string description) {
  field = Cut(std::move(field), kMaxFieldBytes);
  description = Cut(std::move(description), kMaxDescriptionBytes);
  // Tag, length and the FieldViolation's own framing: under 12 bytes.
  const size_t bytes = field.size() + description.size() + 12;
  if (request_.field_violations_size() >= kMaxListed ||
      detail_bytes_ + bytes > kMaxDetailBytes) {
    ++unlisted_;
    return;
  }
  detail_bytes_ += bytes;
  auto* violation = request_.add_field_violations();
  violation->set_field(std::move(field));
  violation->set_description(std::move(description));
}

absl::Status FieldViolations::ToStatus() const {
  if (empty()) return absl::OkStatus();
  // Room kept for the closing count.
  constexpr size_t kTail = 96;
  std::string message;
  int omitted = unlisted_;
  for (const auto& v : request_.field_violations()) {
    const std::string item = absl::StrCat(message.empty() ? "" : "; ",
                                          v.field(), ": ", v.description());
    if (omitted > 0 || message.size() + item.size() > kMaxMessageBytes - kTail) {
      ++omitted;
      continue;
    }
    message.append(item);
  }
  if (omitted > 0) {
    absl::StrAppend(&message, message.empty() ? "" : "; ", "and ", omitted,
                    " more problems (",
                    request_.field_violations_size(),
                    " listed in the google.rpc.BadRequest details)");
  }
  absl::Status status = absl::InvalidArgumentError(message);
  status.SetPayload(kBadRequestTypeUrl,
                    absl::Cord(request_.SerializeAsString()));
  return status;
}

absl::Status InvalidField(absl::string_view field,
                          absl::string_view description) {
  FieldViolations violations;
  violations.Add(std::string(field), std::string(description));
  return violations.ToStatus();
}

absl::Status WithErrorInfo(
    absl::Status status, absl::string_view reason,
    const std::vector<std::pair<std::string, std::string>>& metadata) {
  google::rpc::ErrorInfo info;
  info.set_reason(std::string(reason));
  info.set_domain(std::string(kErrorDomain));
  for (const auto& [key, value] : metadata) {
    (*info.mutable_metadata())[key] = value;
  }
  status.SetPayload(kErrorInfoTypeUrl, absl::Cord(info.SerializeAsString()));
  return status;
}

absl::Status WithRetryInfo(absl::Status status, absl::Duration delay) {
  google::rpc::RetryInfo info;
  const int64_t seconds = absl::ToInt64Seconds(delay);
  info.mutable_retry_delay()->set_seconds(seconds);
  info.mutable_retry_delay()->set_nanos(static_cast<int32_t>(
      absl::ToInt64Nanoseconds(delay - absl::Seconds(seconds))));
  status.SetPayload(kRetryInfoTypeUrl, absl::Cord(info.SerializeAsString()));
  return status;
}

google::rpc::Status ToRpcStatus(const absl::Status& status) {
  google::rpc::Status out;
  out.set_code(static_cast<int32_t>(status.code()));
  out.set_message(std::string(status.message()));
  status.ForEachPayload(
      [&out](absl::string_view type_url, const absl::Cord& payload) {
        if (type_url != kBadRequestTypeUrl && type_url != kErrorInfoTypeUrl &&
            type_url != kRetryInfoTypeUrl) {
          return;
        }
        google::protobuf::Any* any = out.add_details();
        any->set_type_url(std::string(type_url));
        any->set_value(std::string(payload));
      });
  return out;
}

google::rpc::BadRequest GetBadRequest(const absl::Status& status) {
  google::rpc::BadRequest request;
  if (auto payload = status.GetPayload(kBadRequestTypeUrl)) {
    request.ParseFromString(std::string(*payload));
  }
  return request;
}

absl::Status WithFieldDetail(const absl::Status& status) {
  if (status.code() != absl::StatusCode::kInvalidArgument) return status;
  const absl::string_view message = status.message();
  const size_t colon = message.find(": ");
  if (colon == absl::string_view::npos || colon == 0) return status;
  const absl::string_view field = message.substr(0, colon);
  for (char c : field) {
    if (!(absl::ascii_islower(c) || c == '_')) return status;
  }
  return InvalidField(field, message.substr(colon + 2));
}

}  // namespace tradecheck
