#include "core/access_policy.h"

#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/text_format_errors.h"
#include "google/protobuf/text_format.h"

namespace tradecheck {
namespace {

using google::protobuf::TextFormat;

constexpr size_t kMaxIdentityBytes = 256;
constexpr size_t kMaxExporterIdBytes = 128;

bool HasControlCharacter(absl::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

// Same alphabet as Declaration.exporter_id (declaration.proto).
bool IsIdentifier(absl::string_view s) {
  if (s.empty() || s.size() > kMaxExporterIdBytes) return false;
  for (char c : s) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                    (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                    c == ':' || c == '/' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<v1::AccessPolicy> ParseAccessPolicy(absl::string_view file_name,
                                                   absl::string_view text) {
  const std::string file(file_name);
  v1::AccessPolicy policy;
  TextFormat::ParseInfoTree tree;
  TextFormatErrors errors(file);
  TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  parser.WriteLocationsTo(&tree);
  if (!parser.ParseFromString(std::string(text), &policy)) {
    return absl::InvalidArgumentError(
        errors.first().empty() ? absl::StrCat(file, ":1: cannot parse")
                               : errors.first());
  }
  const auto* grants_field = v1::AccessPolicy::descriptor()->FindFieldByName(
      "grants");
  const auto* grant_desc = v1::AccessGrant::descriptor();
  std::set<std::string> seen;
  for (int i = 0; i < policy.grants_size(); ++i) {
    const v1::AccessGrant& g = policy.grants(i);
    const TextFormat::ParseInfoTree* sub =
        tree.GetTreeForNested(grants_field, i);
    auto line_of = [&](const char* field, int index) {
      const auto* f = grant_desc->FindFieldByName(field);
      const bool present = f->is_repeated()
                               ? index >= 0 && index < g.GetReflection()->FieldSize(g, f)
                               : index < 0;
      TextFormat::ParseLocation at =
          sub == nullptr || !present ? TextFormat::ParseLocation()
                                     : sub->GetLocation(f, index);
      if (at.line < 0) at = tree.GetLocation(grants_field, i);
      return at.line < 0 ? 1 : at.line + 1;
    };
    auto error = [&](const char* field, int index, absl::string_view problem) {
      return absl::InvalidArgumentError(
          absl::StrCat(file, ":", line_of(field, index), ": grants[", i, "].",
                       field, index >= 0 ? absl::StrCat("[", index, "]") : "",
                       ": ", problem));
    };
    if (g.identity().empty()) return error("identity", -1, "is required");
    if (g.identity().size() > kMaxIdentityBytes) {
      return error("identity", -1,
                   absl::StrCat("is longer than ", kMaxIdentityBytes,
                                " bytes"));
    }
    if (HasControlCharacter(g.identity())) {
      return error("identity", -1, "holds a control character");
    }
    if (!seen.insert(g.identity()).second) {
      return error("identity", -1,
                   absl::StrCat("\"", g.identity(),
                                "\" is granted twice; one grant per identity"));
    }
    switch (g.role()) {
      case v1::CALLER_ROLE_CUSTOMS:
      case v1::CALLER_ROLE_EXPORTER:
      case v1::CALLER_ROLE_AUDITOR:
      case v1::CALLER_ROLE_ADMIN:
        break;
      case v1::CALLER_ROLE_LOCAL:
        return error("role", -1,
                     "LOCAL is the loopback plaintext operator and cannot be "
                     "granted to a certificate");
      default:
        return error("role", -1,
                     "is required: CALLER_ROLE_CUSTOMS, CALLER_ROLE_EXPORTER, "
                     "CALLER_ROLE_AUDITOR or CALLER_ROLE_ADMIN");
    }
    if (g.role() == v1::CALLER_ROLE_EXPORTER) {
      if (g.exporter_ids().empty()) {
        return error("exporter_ids", -1,
                     "an exporter needs at least one exporter id in its "
                     "scope");
      }
      for (int j = 0; j < g.exporter_ids_size(); ++j) {
        if (!IsIdentifier(g.exporter_ids(j))) {
          return error("exporter_ids", j,
                       "must be 1 to 128 characters of A-Z a-z 0-9 . _ : / -");
        }
      }
    } else if (!g.exporter_ids().empty()) {
      return error("exporter_ids", 0,
                   "only an exporter has a scope of exporter ids");
    }
  }
  return policy;
}

absl::StatusOr<std::map<std::string, Caller, std::less<>>>
AccessPolicyHolder::Read(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFileToString(path);
  if (!text.ok()) {
    return absl::Status(text.status().code(),
                        absl::StrCat("the access policy file: ",
                                     text.status().message()));
  }
  v1::AccessPolicy policy;
  {
    auto parsed = ParseAccessPolicy(path, *text);
    if (!parsed.ok()) return parsed.status();
    policy = std::move(*parsed);
  }
  std::map<std::string, Caller, std::less<>> grants;
  for (const v1::AccessGrant& g : policy.grants()) {
    Caller caller;
    caller.identity = g.identity();
    caller.role = g.role();
    caller.exporter_scope.assign(g.exporter_ids().begin(),
                                 g.exporter_ids().end());
    grants.emplace(g.identity(), std::move(caller));
  }
  return grants;
}

absl::StatusOr<std::unique_ptr<AccessPolicyHolder>> AccessPolicyHolder::Load(
    std::string path) {
  auto holder =
      std::unique_ptr<AccessPolicyHolder>(new AccessPolicyHolder(path));
  auto reloaded = holder->Reload();
  if (!reloaded.ok()) return reloaded.status();
  return holder;
}

absl::StatusOr<int> AccessPolicyHolder::Reload() {
  auto grants = Read(path_);
  if (!grants.ok()) return grants.status();
  const int n = static_cast<int>(grants->size());
  auto next = std::make_shared<const std::map<std::string, Caller, std::less<>>>(
      std::move(*grants));
  absl::MutexLock lock(&mu_);
  grants_ = std::move(next);
  return n;
}

Caller AccessPolicyHolder::Resolve(absl::string_view identity) const {
  std::shared_ptr<const std::map<std::string, Caller, std::less<>>> grants;
  {
    absl::MutexLock lock(&mu_);
    grants = grants_;
  }
  Caller caller;
  caller.identity = std::string(identity);
  if (identity.empty() || grants == nullptr) return caller;
  auto it = grants->find(identity);
  if (it != grants->end()) return it->second;
  return caller;
}

}  // namespace tradecheck
