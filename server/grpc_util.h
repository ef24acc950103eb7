// Glue between TradecheckCore's callbacks and gRPC's callback API, and the
// one function that turns an absl::Status into a grpc::Status. Only server/
// includes this (it pulls in gRPC headers).
#ifndef TRADECHECK_SERVER_GRPC_UTIL_H_
#define TRADECHECK_SERVER_GRPC_UTIL_H_

#include <utility>

#include "absl/status/statusor.h"
#include "core/errors.h"
#include "core/tradecheck_core.h"
#include "grpcpp/grpcpp.h"

namespace tradecheck::server {

// absl::Status -> grpc::Status: same code and message; the details carry a
// serialized google.rpc.Status with the BadRequest / ErrorInfo payloads, so
// standard clients can decode field violations.
inline grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()),
                      ToRpcStatus(status).SerializeAsString());
}

// A core callback that fills `response` and finishes `reactor`. The
// reactor and response outlive the callback (gRPC keeps them until Finish).
template <typename T>
Callback<T> FinishUnary(grpc::ServerUnaryReactor* reactor, T* response) {
  return [reactor, response](absl::StatusOr<T> result) {
    if (result.ok()) *response = std::move(*result);
    reactor->Finish(ToGrpcStatus(result.status()));
  };
}

// For answers computed on the spot.
template <typename T>
grpc::ServerUnaryReactor* FinishNow(grpc::CallbackServerContext* context,
                                    absl::StatusOr<T> result, T* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  FinishUnary(reactor, response)(std::move(result));
  return reactor;
}

}  // namespace tradecheck::server

#endif  // TRADECHECK_SERVER_GRPC_UTIL_H_
