// One JSON log line per RPC, written by a gRPC server interceptor, and the
// same facts handed to the metrics (server/metrics.h):
//
//   {"time":"2026-12-06T08:40:01.123456Z","level":"info","request_id":"9f3c...",
//    "method":"/tradecheck.v1.ComplianceService/CheckDeclaration",
//    "caller":"local","role":"ADMIN","declaration_id":"D-1","outcome":"DENY",
//    "rules":["CM-002"],"duration_ms":1.84,"status":"OK"}
//
// The request id is the caller's `x-request-id` metadata when it is a
// plausible id (1..128 characters of [A-Za-z0-9._:-]), else a new random one;
// either way it is returned in the response's initial metadata as
// `x-request-id`, so a caller can quote it. Only ids, outcomes and rule ids
// are logged, never declaration contents. Streams and batches log one line
// at their end, with the verdict count per outcome.
//
// Registered in server_main.cc:
//   std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> f;
//   f.push_back(NewRequestLogFactory(&callers, on_done));
//   builder.experimental().SetInterceptorCreators(std::move(f));
#ifndef TRADECHECK_SERVER_REQUEST_LOG_H_
#define TRADECHECK_SERVER_REQUEST_LOG_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "server/caller_identity.h"

namespace grpc::experimental {
class ServerInterceptorFactoryInterface;
}  // namespace grpc::experimental

namespace tradecheck::server {

inline constexpr char kRequestIdHeader[] = "x-request-id";

// What one finished RPC did.
struct RpcRecord {
  std::string request_id;
  std::string method;          // "/tradecheck.v1.ComplianceService/CheckDeclaration"
  std::string caller;          // certificate identity, "local", or empty
  std::string role;            // "CUSTOMS", ..., "UNSPECIFIED"
  std::string declaration_id;  // the first declaration of the call, if any
  // Verdicts returned, by outcome name ("ALLOW", "DENY", "NEEDS_REVIEW").
  std::map<std::string, int64_t> outcomes;
  // Rule ids of every finding in those verdicts, and how often each fired.
  std::map<std::string, int64_t> rule_hits;
  int status_code = 0;  // grpc::StatusCode
  double seconds = 0;
};

// Name of a grpc::StatusCode as in the gRPC docs ("OK", "INVALID_ARGUMENT").
const char* StatusCodeName(int code);

// The log line's fields (without time and level), for tests and LogFields.
std::string RequestLogFields(const RpcRecord& record);

// `callers` must outlive the server. `on_done` (may be empty) is called once
// per finished RPC, after the line is logged, on a gRPC thread: keep it
// short and thread-safe.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
NewRequestLogFactory(const CallerResolver* callers,
                     std::function<void(const RpcRecord&)> on_done);

}  // namespace tradecheck::server

#endif  // TRADECHECK_SERVER_REQUEST_LOG_H_
