#include "core/errors.h"

#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"

namespace tradecheck {

void FieldViolations::Add(std::string field, std::string description) {
  if (request_.field_violations_size() >= kMaxListed) {
    ++unlisted_;
    return;
  }
  auto* violation = request_.add_field_violations();
  violation->set_field(std::move(field));
  violation->set_description(std::move(description));
}

absl::Status FieldViolations::ToStatus() const {
  if (empty()) return absl::OkStatus();
  std::string message;
  for (const auto& v : request_.field_violations()) {
    absl::StrAppend(&message, message.empty() ? "" : "; ", v.field(), ": ",
                    v.description());
  }
  if (unlisted_ > 0) {
    absl::StrAppend(&message, "; and ", unlisted_,
                    " more problems not listed (fix these first)");
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

google::rpc::Status ToRpcStatus(const absl::Status& status) {
  google::rpc::Status out;
  out.set_code(static_cast<int32_t>(status.code()));
  out.set_message(std::string(status.message()));
  status.ForEachPayload(
      [&out](absl::string_view type_url, const absl::Cord& payload) {
        if (type_url != kBadRequestTypeUrl && type_url != kErrorInfoTypeUrl) {
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

}  // namespace tradecheck
