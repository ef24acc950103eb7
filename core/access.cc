#include "core/access.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "core/errors.h"

namespace tradecheck {

Caller Caller::Local() {
  Caller caller;
  caller.identity = "local";
  caller.role = v1::CALLER_ROLE_LOCAL;
  return caller;
}

bool Caller::InScope(absl::string_view exporter_id) const {
  return std::find(exporter_scope.begin(), exporter_scope.end(),
                   exporter_id) != exporter_scope.end();
}

absl::string_view PermissionName(Permission permission) {
  switch (permission) {
    case Permission::kCheckBinding:
      return "CHECK_BINDING";
    case Permission::kCheckDryRun:
      return "CHECK_DRY_RUN";
    case Permission::kReadDecisions:
      return "READ_DECISIONS";
    case Permission::kReevaluate:
      return "REEVALUATE";
    case Permission::kVerifyTrail:
      return "VERIFY_TRAIL";
    case Permission::kSummarize:
      return "SUMMARIZE";
    case Permission::kReadAgreements:
      return "READ_AGREEMENTS";
    case Permission::kReloadRuleSet:
      return "RELOAD_RULE_SET";
    case Permission::kCreateBackup:
      return "CREATE_BACKUP";
    case Permission::kReadStats:
      return "READ_STATS";
    case Permission::kPreviewRuleSet:
      return "PREVIEW_RULE_SET";
    case Permission::kReadImpacts:
      return "READ_IMPACTS";
  }
  return "UNKNOWN";
}

absl::string_view RoleName(v1::CallerRole role) {
  switch (role) {
    case v1::CALLER_ROLE_CUSTOMS:
      return "CUSTOMS";
    case v1::CALLER_ROLE_EXPORTER:
      return "EXPORTER";
    case v1::CALLER_ROLE_AUDITOR:
      return "AUDITOR";
    case v1::CALLER_ROLE_ADMIN:
      return "ADMIN";
    case v1::CALLER_ROLE_LOCAL:
      return "LOCAL";
    default:
      return "NONE";
  }
}

bool RoleHas(v1::CallerRole role, Permission permission) {
  using P = Permission;
  switch (role) {
    case v1::CALLER_ROLE_LOCAL:
      // Loopback plaintext only (server_main refuses it anywhere else): the
      // person at the machine could open the store directly anyway.
      return true;
    case v1::CALLER_ROLE_CUSTOMS:
      return permission == P::kCheckBinding || permission == P::kCheckDryRun ||
             permission == P::kReadDecisions || permission == P::kReadImpacts ||
             permission == P::kReadAgreements;
    case v1::CALLER_ROLE_EXPORTER:
      return permission == P::kCheckDryRun ||
             permission == P::kReadDecisions || permission == P::kReevaluate ||
             permission == P::kReadAgreements;
    case v1::CALLER_ROLE_AUDITOR:
      return permission == P::kReadDecisions || permission == P::kReevaluate ||
             permission == P::kPreviewRuleSet ||
             permission == P::kVerifyTrail || permission == P::kSummarize ||
             permission == P::kReadImpacts || permission == P::kReadStats ||
             permission == P::kReadAgreements;
    case v1::CALLER_ROLE_ADMIN:
      return permission == P::kReloadRuleSet ||
             permission == P::kPreviewRuleSet ||
             permission == P::kCreateBackup || permission == P::kReadStats ||
             permission == P::kReadAgreements;
    default:
      return false;
  }
}

absl::Status Authorize(const Caller& caller, Permission permission) {
  if (!caller.authenticated()) {
    return absl::UnauthenticatedError(
        "no client certificate: this server accepts only callers with a "
        "certificate signed by its client CA");
  }
  if (RoleHas(caller.role, permission)) return absl::OkStatus();
  std::string message =
      caller.role == v1::CALLER_ROLE_UNSPECIFIED
          ? absl::StrCat("identity \"", caller.identity,
                         "\" has no role in the access policy")
          : absl::StrCat("role ", RoleName(caller.role), " may not ",
                         PermissionName(permission));
  return WithErrorInfo(absl::PermissionDeniedError(message),
                       "PERMISSION_DENIED",
                       {{"role", std::string(RoleName(caller.role))},
                        {"permission", std::string(PermissionName(permission))},
                        {"identity", caller.identity}});
}

bool CanRead(const Caller& caller, const v1::Decision& decision) {
  switch (caller.role) {
    case v1::CALLER_ROLE_LOCAL:
    case v1::CALLER_ROLE_AUDITOR:
      return true;
    case v1::CALLER_ROLE_EXPORTER:
      return caller.InScope(decision.declaration().exporter_id());
    case v1::CALLER_ROLE_CUSTOMS:
      return !caller.identity.empty() && decision.caller() == caller.identity;
    default:
      return false;
  }
}

absl::Status NotFoundLikeUnknown(absl::string_view decision_id) {
  // Must stay identical to AuditStore::GetDecision's answer for an id it
  // does not hold (access_test checks it against a real store).
  return absl::NotFoundError(
      absl::StrCat("no decision with id \"", decision_id, "\""));
}

absl::Status NotFoundLikeUnknownDeclaration(absl::string_view declaration_id) {
  // Must stay identical to AuditStore::FindByDeclarationId's answer.
  return absl::NotFoundError(absl::StrCat(
      "no binding decision for declaration_id \"", declaration_id, "\""));
}

std::string DenialLine(const Caller& caller, absl::string_view what,
                       const absl::Status& status) {
  return absl::StrCat("access denied: identity=\"", caller.identity,
                      "\" role=", RoleName(caller.role), " call=", what,
                      " status=", absl::StatusCodeToString(status.code()),
                      ": ", status.message());
}

}  // namespace tradecheck
