// Validates a declaration before the rule engine sees it: every structural
// rule listed at the top of proto/tradecheck/v1/declaration.proto, checked
// against the country and HS tables of the rule set in force. All problems
// are reported at once, each with its field path ("lines[2].hs_code").
#ifndef TRADECHECK_CORE_DECLARATION_VALIDATOR_H_
#define TRADECHECK_CORE_DECLARATION_VALIDATOR_H_

#include "absl/status/status.h"
#include "rules/rule_set.h"
#include "tradecheck/v1/declaration.pb.h"

namespace tradecheck {

// Limits a caller can rely on (documented in declaration.proto).
inline constexpr int kMaxLines = 999;
inline constexpr int kMaxComponentsPerLine = 500;
inline constexpr int kMaxIdLength = 128;
inline constexpr int kMaxTextLength = 1024;

// OK, or INVALID_ARGUMENT carrying a google.rpc.BadRequest (core/errors.h).
absl::Status ValidateDeclaration(const v1::Declaration& declaration,
                                 const rules::RuleSet& rules);

// The declaration_id rule alone (also used by the audit API).
bool IsValidDeclarationId(absl::string_view id);

}  // namespace tradecheck

#endif  // TRADECHECK_CORE_DECLARATION_VALIDATOR_H_
