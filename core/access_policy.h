// AccessPolicyHolder: the access policy in force (proto
// tradecheck.v1.AccessPolicy, a protobuf text file), which maps the identity
// a client certificate proves to a role and, for exporters, a scope of
// exporter ids. Loaded at start (an invalid file stops the start with
// file:line and the problem) and reloaded on SIGHUP like the agreement data:
// the new file is validated whole first, and on any problem the policy in
// force stays. Calls resolve their caller from one snapshot.
//
// Thread-safe.
#ifndef TRADECHECK_CORE_ACCESS_POLICY_H_
#define TRADECHECK_CORE_ACCESS_POLICY_H_

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "core/access.h"
#include "tradecheck/v1/access_policy.pb.h"

namespace tradecheck {

// Parses and validates a policy file's text. INVALID_ARGUMENT
// "file:line: problem" for the first problem: unparsable text, an empty,
// over-long or duplicate identity, a missing or LOCAL role, an exporter
// without scope, a scope on another role, a bad exporter id.
absl::StatusOr<v1::AccessPolicy> ParseAccessPolicy(absl::string_view file_name,
                                                   absl::string_view text);

class AccessPolicyHolder {
 public:
  // Reads and validates `path`. NOT_FOUND / INVALID_ARGUMENT naming the
  // file when it cannot be read or is invalid.
  static absl::StatusOr<std::unique_ptr<AccessPolicyHolder>> Load(
      std::string path);

  // The caller `identity` is: its grant's role and scope, or role
  // UNSPECIFIED (everything denied) when the policy does not name it.
  // An empty identity stays unauthenticated.
  Caller Resolve(absl::string_view identity) const;

  // Re-reads the file; on error returns it and keeps the policy in force.
  // Returns the number of grants now in force.
  absl::StatusOr<int> Reload();

  const std::string& path() const { return path_; }

 private:
  explicit AccessPolicyHolder(std::string path) : path_(std::move(path)) {}
  static absl::StatusOr<std::map<std::string, Caller, std::less<>>> Read(
      const std::string& path);

  const std::string path_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const std::map<std::string, Caller, std::less<>>> grants_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace tradecheck

#endif  // TRADECHECK_CORE_ACCESS_POLICY_H_
