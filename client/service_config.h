// The gRPC service config the client's channel uses: which methods gRPC may
// retry on its own, and how. Only calls that are safe to repeat are listed:
//
//   ComplianceService  CheckDeclaration, CheckDeclarations (idempotent on
//                      declaration_id; the server says UNAVAILABLE is safe
//                      to retry)
//   AuditService       all (read-only)
//   AgreementService   all (read-only)
//   AdminService       ReloadRuleSet (idempotent)
//
// Not listed, so never retried: ComplianceService.StreamCheckDeclarations
// and AdminService.CreateBackup (not idempotent).
//
// Only UNAVAILABLE is retried: any other code is an answer, and
// DEADLINE_EXCEEDED means the time is up anyway.
#ifndef TRADECHECK_CLIENT_SERVICE_CONFIG_H_
#define TRADECHECK_CLIENT_SERVICE_CONFIG_H_

#include <string>

namespace tradecheck {

// The service config as JSON. max_attempts counts the first attempt and is
// clamped to 5 (gRPC's limit); with max_attempts <= 1 there is no
// retryPolicy at all.
std::string RetryServiceConfigJson(int max_attempts);

}  // namespace tradecheck

#endif  // TRADECHECK_CLIENT_SERVICE_CONFIG_H_
