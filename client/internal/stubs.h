// The generated gRPC stubs a TradecheckClient calls, and the conversion of a
// grpc::Status into the absl::Status the client returns. Internal to
// client/: it includes gRPC headers, which the public headers keep out.
// Tests include it to hand the client the generated mock stubs.
#ifndef TRADECHECK_CLIENT_INTERNAL_STUBS_H_
#define TRADECHECK_CLIENT_INTERNAL_STUBS_H_

#include <memory>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "grpcpp/channel.h"
#include "grpcpp/support/status.h"
#include "tradecheck/v1/admin_service.grpc.pb.h"
#include "tradecheck/v1/agreement_service.grpc.pb.h"
#include "tradecheck/v1/audit_service.grpc.pb.h"
#include "tradecheck/v1/compliance_service.grpc.pb.h"

namespace tradecheck::client_internal {

struct Stubs {
  // Keeps the channel alive; null for mock stubs.
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::ComplianceService::StubInterface> compliance;
  std::unique_ptr<v1::AuditService::StubInterface> audit;
  std::unique_ptr<v1::AgreementService::StubInterface> agreement;
  std::unique_ptr<v1::AdminService::StubInterface> admin;
};

// Same code and message; the google.rpc.Status details of the
// grpc-status-details-bin trailer become payloads keyed by type URL (see
// errors.h). For UNAVAILABLE and DEADLINE_EXCEEDED, which come from the
// transport rather than the server's logic, the message is prefixed with
// `method` and `server` so a user knows what was unreachable.
absl::Status FromGrpcStatus(const grpc::Status& status,
                            absl::string_view method, absl::string_view server);

}  // namespace tradecheck::client_internal

#endif  // TRADECHECK_CLIENT_INTERNAL_STUBS_H_
