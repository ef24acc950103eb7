#include "client/service_config.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"

namespace tradecheck {

std::string RetryServiceConfigJson(int max_attempts) {
  if (max_attempts <= 1) return "{}";
  const int attempts = std::min(max_attempts, 5);
  // Backoff: 0.1 s, 0.2 s, 0.4 s ... (each randomised by gRPC), at most 2 s;
  // the call's deadline bounds the total.
  return absl::StrCat(R"json({
  "methodConfig": [{
    "name": [
      {"service": "tradecheck.v1.ComplianceService", "method": "CheckDeclaration"},
      {"service": "tradecheck.v1.ComplianceService", "method": "CheckDeclarations"},
      {"service": "tradecheck.v1.AuditService"},
      {"service": "tradecheck.v1.AgreementService"},
      {"service": "tradecheck.v1.AdminService", "method": "ReloadRuleSet"},
      {"service": "tradecheck.v1.AdminService", "method": "GetStoreStats"}
    ],
    "retryPolicy": {
      "maxAttempts": )json",
                      attempts, R"json(,
      "initialBackoff": "0.1s",
      "maxBackoff": "2s",
      "backoffMultiplier": 2,
      "retryableStatusCodes": ["UNAVAILABLE"]
    }
  }]
})json");
}

}  // namespace tradecheck
