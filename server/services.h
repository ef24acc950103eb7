// The four gRPC services of tradecheck.v1, as thin handlers over
// TradecheckCore: each converts nothing but the status, and never blocks a
// callback thread.
#ifndef TRADECHECK_SERVER_SERVICES_H_
#define TRADECHECK_SERVER_SERVICES_H_

#include <memory>

#include "core/tradecheck_core.h"
#include "server/caller_identity.h"

namespace grpc {
class Service;
}

namespace tradecheck::server {

// The largest request the server reads (a batch included), in bytes.
// server_main.cc says why 2 MiB.
inline constexpr int kMaxReceiveMessageBytes = 2 * 1024 * 1024;

// `core` and `callers` are not owned and must outlive the services. Each
// handler takes its Caller from `callers` and hands it to the core, which
// decides what the caller may do.
std::unique_ptr<grpc::Service> NewComplianceService(
    TradecheckCore* core, const CallerResolver* callers);
std::unique_ptr<grpc::Service> NewAuditService(TradecheckCore* core,
                                               const CallerResolver* callers);
std::unique_ptr<grpc::Service> NewAgreementService(
    TradecheckCore* core, const CallerResolver* callers);
std::unique_ptr<grpc::Service> NewAdminService(TradecheckCore* core,
                                               const CallerResolver* callers);

}  // namespace tradecheck::server

#endif  // TRADECHECK_SERVER_SERVICES_H_
