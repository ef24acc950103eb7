// Validates a declaration before the rule engine sees it: every structural
// rule listed at the top of proto/tradecheck/v1/declaration.proto, checked
// against the country and HS tables of the rule set in force. All problems
// are reported at once, each with its field path ("lines[2].hs_code").
#ifndef TRADECHECK_CORE_DECLARATION_VALIDATOR_H_
#define TRADECHECK_CORE_DECLARATION_VALIDATOR_H_

#include <cstdint>

#include "absl/status/status.h"
#include "rules/rule_set.h"
#include "tradecheck/v1/declaration.pb.h"

namespace tradecheck {

// Limits a caller can rely on (documented in declaration.proto, field by
// field). Together they bound a valid declaration's encoded size to about
// 1.2 MB (input_limits_test.cc builds the largest one), which is why the
// server refuses requests over 2 MiB before parsing them (server_main.cc).
inline constexpr int kMaxLines = 999;
inline constexpr int kMaxComponentsPerLine = 500;
inline constexpr int kMaxComponentsPerDeclaration = 1000;
inline constexpr int kMaxElements = 32;  // per line and per component
inline constexpr int kMaxEndUseCategories = 16;
inline constexpr int kMaxLicences = 32;
// Identifiers: declaration_id, party ids, preference_claimed, licence
// authority and number. Characters A-Z a-z 0-9 . _ : / - only.
inline constexpr int kMaxIdLength = 128;
inline constexpr int kMaxShortIdLength = 64;  // preference, licence fields
// Free text (UTF-8, no control characters except tab), in bytes.
inline constexpr int kMaxTextLength = 1024;             // end_use_description
inline constexpr int kMaxLineDescriptionLength = 512;   // lines[].description
inline constexpr int kMaxComponentDescriptionLength = 256;

// Money ceilings, in minor units of the declaration's currency. 10^15 minor
// units is 10 trillion in a two-decimal currency (about 40 billion US dollars
// even in VND, which has no minor unit), above any real shipment line, and
// small enough that no sum the engine forms can overflow an int64: at most
// kMaxComponentsPerLine components of kMaxLineValueMinor each per line, and
// duties over a declaration value of at most kMaxDeclarationValueMinor at
// any rate the rule data allows (rules/rule_set.cc caps rates).
inline constexpr int64_t kMaxLineValueMinor = 1'000'000'000'000'000;
// The sum of the lines' customs values.
inline constexpr int64_t kMaxDeclarationValueMinor = 10'000'000'000'000'000;
// A line's quantity, in thousandths of its unit (10^12 units).
inline constexpr int64_t kMaxQuantityMilli = 1'000'000'000'000'000;

// OK, or INVALID_ARGUMENT carrying a google.rpc.BadRequest (core/errors.h).
// Also refuses a declaration holding unknown fields (core/unknown_fields.h):
// they would be stored unchecked.
absl::Status ValidateDeclaration(const v1::Declaration& declaration,
                                 const rules::RuleSet& rules);

// The declaration_id rule alone (also used by the audit API).
bool IsValidDeclarationId(absl::string_view id);

}  // namespace tradecheck

#endif  // TRADECHECK_CORE_DECLARATION_VALIDATOR_H_
