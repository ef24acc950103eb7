// Who may do what: the caller of an RPC as the domain sees it, the
// permissions of each role, and the record-level rule of who may read which
// decision. server/ only turns a client certificate into an identity and
// asks the access policy (core/access_policy.h) for the Caller; every
// decision about access is made here, and the core applies it before any
// work (docs/access.md has the matrix).
//
//   absl::Status allowed = Authorize(caller, Permission::kVerifyTrail);
//   if (!CanRead(caller, decision)) return NotFoundLike(decision_id);
#ifndef TRADECHECK_CORE_ACCESS_H_
#define TRADECHECK_CORE_ACCESS_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "tradecheck/v1/access_policy.pb.h"
#include "tradecheck/v1/audit_service.pb.h"

namespace tradecheck {

// The caller of one RPC.
struct Caller {
  // What the client certificate proves (URI SAN or subject CN); "local" for
  // the loopback plaintext setup; empty when the caller presented no
  // certificate (every call but health then answers UNAUTHENTICATED).
  std::string identity;
  // UNSPECIFIED for an authenticated identity the policy does not name:
  // every permission is then denied.
  v1::CallerRole role = v1::CALLER_ROLE_UNSPECIFIED;
  // EXPORTER only: the exporter ids whose records it may read.
  std::vector<std::string> exporter_scope;

  // The local operator of a plaintext loopback server: every permission.
  static Caller Local();
  bool authenticated() const { return !identity.empty(); }
  bool InScope(absl::string_view exporter_id) const;
};

// One permission per kind of operation. The role x permission table is in
// access.cc (RoleHas) and in docs/access.md.
enum class Permission {
  kCheckBinding,     // ComplianceService, validate_only = false
  kCheckDryRun,      // ComplianceService, validate_only = true
  kReadDecisions,    // GetDecision, ListDecisions (record-level: CanRead)
  kReevaluate,       // ReevaluateDecision (record-level: CanRead)
  kVerifyTrail,      // VerifyTrail
  kSummarize,        // SummarizeDecisions (counts over every record)
  kReadAgreements,   // AgreementService (LookupMeasures included)
  kReloadRuleSet,    // AdminService.ReloadRuleSet
  kCreateBackup,     // AdminService.CreateBackup
  kReadStats,        // AdminService.GetStoreStats
  kPreviewRuleSet,   // AdminService.PreviewRuleSet
  kReadImpacts,      // AuditService.List/GetRetroactiveImpact(s), whole records
};

// "CHECK_BINDING", "READ_DECISIONS", ...: the name errors and logs use.
absl::string_view PermissionName(Permission permission);
// "CUSTOMS", "EXPORTER", ... ("NONE" for UNSPECIFIED).
absl::string_view RoleName(v1::CallerRole role);

// Whether `role` holds `permission` at all (record scope aside).
bool RoleHas(v1::CallerRole role, Permission permission);

// OK when the caller may use `permission`. UNAUTHENTICATED when it has no
// identity; PERMISSION_DENIED otherwise, with a google.rpc.ErrorInfo
// (reason "PERMISSION_DENIED", domain "tradecheck.v1", metadata "role",
// "permission" and "identity").
absl::Status Authorize(const Caller& caller, Permission permission);

// Record level, for a caller that holds kReadDecisions / kReevaluate:
// auditors and the local operator read everything, exporters the records
// whose declaration's exporter_id is in their scope, customs the records
// they submitted (Decision.caller is their identity); nobody else.
bool CanRead(const Caller& caller, const v1::Decision& decision);

// The NOT_FOUND a caller gets for a record it may not read: the very status
// the store gives for an id it does not hold, so ids cannot be probed.
absl::Status NotFoundLikeUnknown(absl::string_view decision_id);
// The same for a declaration id (AuditStore::FindByDeclarationId's answer).
absl::Status NotFoundLikeUnknownDeclaration(absl::string_view declaration_id);

// Where the core reports a denied attempt (one line each). Empty: stderr.
using AccessLog = std::function<void(const std::string& line)>;

// The line logged for a denied attempt: who, in which role, what, and why.
std::string DenialLine(const Caller& caller, absl::string_view what,
                       const absl::Status& status);

}  // namespace tradecheck

#endif  // TRADECHECK_CORE_ACCESS_H_
