// Status propagation macros. Debian 12's Abseil (20220623) has neither
// ABSL_RETURN_IF_ERROR nor ABSL_ASSIGN_OR_RETURN, so the project defines its
// own, once, here.
//
//   TC_RETURN_IF_ERROR(store->Flush());
//   TC_ASSIGN_OR_RETURN(auto rules, LoadRuleSet(dir));
#ifndef TRADECHECK_COMMON_STATUS_MACROS_H_
#define TRADECHECK_COMMON_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define TC_STATUS_CONCAT_INNER_(a, b) a##b
#define TC_STATUS_CONCAT_(a, b) TC_STATUS_CONCAT_INNER_(a, b)

// Evaluates `expr` (an absl::Status); returns it from the enclosing function
// when it is not OK.
#define TC_RETURN_IF_ERROR(expr)                          \
  do {                                                    \
    ::absl::Status tc_status_ = (expr);                   \
    if (!tc_status_.ok()) return tc_status_;              \
  } while (false)

// Evaluates `rexpr` (an absl::StatusOr<T>); on error returns its status,
// otherwise move-assigns the value to `lhs` (which may be a declaration).
#define TC_ASSIGN_OR_RETURN(lhs, rexpr)                                      \
  TC_ASSIGN_OR_RETURN_IMPL_(TC_STATUS_CONCAT_(tc_statusor_, __LINE__), lhs, \
                            rexpr)
#define TC_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                              \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()

#endif  // TRADECHECK_COMMON_STATUS_MACROS_H_
