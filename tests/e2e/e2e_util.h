// Helpers shared by the end-to-end tests: channels to a ServerProcess,
// the stored set a rate change reaches (the declarations and the rate edit
// are in tests/testing/declarations.h), decoding of google.rpc details,
// running commands.
#ifndef TRADECHECK_TESTS_E2E_E2E_UTIL_H_
#define TRADECHECK_TESTS_E2E_E2E_UTIL_H_

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "common/files.h"
#include "google/protobuf/text_format.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "grpcpp/grpcpp.h"
#include "tests/testing/declarations.h"
#include "tradecheck/v1/admin_service.grpc.pb.h"
#include "tradecheck/v1/agreement_service.grpc.pb.h"
#include "tradecheck/v1/audit_service.grpc.pb.h"
#include "tradecheck/v1/compliance_service.grpc.pb.h"

namespace tradecheck::testing {

inline std::shared_ptr<grpc::Channel> Connect(const std::string& address) {
  return grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
}

// A context with a deadline, as every call should have.
inline std::unique_ptr<grpc::ClientContext> Ctx(int seconds = 20) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::seconds(seconds));
  return context;
}

// What CheckRateChangeFixture stored.
struct RateChangeFixture {
  // Decision ids of the 2,000 entries a change of the forced-labor rate
  // reaches, and the sum of their customs values (cents; each a multiple of
  // USD 8, so any whole-basis-point rate of it is whole cents).
  std::set<std::string> affected;
  int64_t affected_value_cents = 0;
  // Every decision's total duty as returned (minor units).
  std::map<std::string, int64_t> duty_of;
  std::string error;  // empty when every check succeeded
};

// Checks 3,000 binding declarations through `compliance`, in batches of
// 500: 2,000 Vietnamese T-shirt entries of November 2026 under the
// forced-labor duty, 500 entered in July 2026 before it started, and 500
// Malaysian palm oil entries. Declaration ids start with `prefix`.
inline RateChangeFixture CheckRateChangeFixture(
    v1::ComplianceService::Stub& compliance, const std::string& prefix) {
  RateChangeFixture out;
  std::vector<v1::Declaration> all;
  std::set<std::string> reached;
  for (int i = 0; i < 2000; ++i) {
    const int64_t value = (1250 + i) * 800;  // USD 10,000 + 8 i
    all.push_back(VnTshirts(absl::StrCat(prefix, "-VN-", i), value, 11));
    reached.insert(all.back().declaration_id());
    out.affected_value_cents += value;
  }
  for (int i = 0; i < 500; ++i) {
    all.push_back(
        VnTshirts(absl::StrCat(prefix, "-VN-EARLY-", i), 800000, 7));
  }
  for (int i = 0; i < 500; ++i) {
    all.push_back(PalmOilImport(absl::StrCat(prefix, "-MY-", i)));
  }
  for (size_t start = 0; start < all.size(); start += 500) {
    v1::CheckDeclarationsRequest batch;
    for (size_t i = start; i < start + 500; ++i) {
      batch.add_requests()->mutable_declaration()->CopyFrom(all[i]);
    }
    v1::CheckDeclarationsResponse response;
    const grpc::Status status =
        compliance.CheckDeclarations(Ctx(120).get(), batch, &response);
    if (!status.ok()) {
      out.error = status.error_message();
      return out;
    }
    for (const v1::CheckResult& r : response.results()) {
      if (!r.has_response()) {
        out.error = r.DebugString();
        return out;
      }
      const v1::Verdict& verdict = r.response().verdict();
      out.duty_of[verdict.decision_id()] = verdict.total_duty().minor_units();
      if (reached.count(r.declaration_id())) {
        out.affected.insert(verdict.decision_id());
      }
    }
  }
  return out;
}

// The google.rpc.Status carried in a failed call's details.
inline google::rpc::Status Details(const grpc::Status& status) {
  google::rpc::Status details;
  details.ParseFromString(status.error_details());
  return details;
}

inline google::rpc::BadRequest BadRequestOf(const grpc::Status& status) {
  google::rpc::BadRequest bad;
  const google::rpc::Status details = Details(status);
  for (const auto& any : details.details()) {
    if (any.type_url() == "type.googleapis.com/google.rpc.BadRequest") {
      bad.ParseFromString(any.value());
    }
  }
  return bad;
}

inline google::rpc::ErrorInfo ErrorInfoOf(const grpc::Status& status) {
  google::rpc::ErrorInfo info;
  const google::rpc::Status details = Details(status);
  for (const auto& any : details.details()) {
    if (any.type_url() == "type.googleapis.com/google.rpc.ErrorInfo") {
      info.ParseFromString(any.value());
    }
  }
  return info;
}

// Runs `command` through the shell. Returns its exit code (-1 when it could
// not be run or did not exit normally) and, through `out`, what it wrote to
// stdout, and to stderr as well when `with_stderr`.
inline int RunCommand(const std::string& command, std::string* out,
                      bool with_stderr = true) {
  FILE* pipe = popen(
      absl::StrCat(command, with_stderr ? " 2>&1" : " 2>/dev/null").c_str(),
      "r");
  if (pipe == nullptr) return -1;
  char buffer[4096];
  out->clear();
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) {
    out->append(buffer, n);
  }
  const int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#ifdef TC_CLI_BINARY
// Runs the `tradecheck` CLI with `args`, stdout and stderr into `out`.
inline int RunCli(const std::string& args, std::string* out) {
  return RunCommand(absl::StrCat(TC_CLI_BINARY, " ", args), out);
}
#endif

#ifdef TC_SCRAPE_SCRIPT
// Samples of one scrape, parsed by prometheus_client: "name{k=v,k=v}" ->
// value (labels sorted by name, without quotes).
inline std::map<std::string, double> Scrape(int port) {
  std::string out;
  const int code = RunCommand(absl::StrCat("/usr/bin/python3 ", TC_SCRAPE_SCRIPT,
                                    " http://127.0.0.1:", port, "/metrics"),
                       &out);
  EXPECT_EQ(code, 0) << out;
  std::map<std::string, double> samples;
  for (absl::string_view line : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
    std::vector<std::string> parts = absl::StrSplit(line, '\t');
    if (parts.size() != 3) continue;
    double value = 0;
    EXPECT_TRUE(absl::SimpleAtod(parts[2], &value)) << line;
    samples[absl::StrCat(parts[0], "{", parts[1], "}")] = value;
  }
  return samples;
}
#endif

// A file's contents, or "" when it cannot be read (the test's assertions on
// the contents then fail and say what was expected).
inline std::string ReadFileOrEmpty(const std::string& path) {
  return ReadFileToString(path).value_or("");
}

}  // namespace tradecheck::testing

#endif  // TRADECHECK_TESTS_E2E_E2E_UTIL_H_
