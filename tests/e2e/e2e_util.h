// Helpers shared by the end-to-end tests: channels to a ServerProcess,
// declarations written as text protos (and the stored set a rate change
// reaches), decoding of google.rpc details, running commands.
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

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/files.h"
#include "google/protobuf/text_format.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "grpcpp/grpcpp.h"
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

template <typename T>
T ParseText(const std::string& text) {
  T message;
  if (!google::protobuf::TextFormat::ParseFromString(text, &message)) {
    // A typo in a test's own constant: nothing sensible can follow.
    std::fprintf(stderr, "bad text proto in test source: %s\n", text.c_str());
    std::abort();
  }
  return message;
}

// A Malaysian crude palm oil import entered in the reciprocal-tariff window.
inline v1::Declaration PalmOilImport(const std::string& id) {
  v1::Declaration d = ParseText<v1::Declaration>(R"pb(
    kind: DECLARATION_KIND_IMPORT_ENTRY
    exporter_id: "MY-EXP-0001"
    importer_id: "US-IMP-0042"
    manufacturer_id: "MY-MFR-0007"
    origin_country: "MY"
    export_country: "MY"
    destination_country: "US"
    export_date { year: 2025 month: 9 day: 1 }
    entry_date { year: 2025 month: 9 day: 29 }
    lines {
      line_number: 1
      hs_code: "151110"
      description: "Crude palm oil"
      customs_value { currency_code: "USD" minor_units: 25000000 }
      quantity { amount_milli: 250000000 unit: "KGM" }
      processing_stage: PROCESSING_STAGE_NOT_APPLICABLE
      bill_of_materials_status: BILL_OF_MATERIALS_STATUS_NOT_APPLICABLE
    }
  )pb");
  d.set_declaration_id(id);
  return d;
}

// A Vietnamese T-shirt entry under the Section 301 forced-labor duty
// (12.5 %, from 24 Jul 2026). The value is a multiple of USD 8, so 12.5 %
// and 15 % of it are whole cents.
inline v1::Declaration VnTshirts(const std::string& id, int64_t value_cents,
                          int entry_month) {
  v1::Declaration d = ParseText<v1::Declaration>(R"pb(
    kind: DECLARATION_KIND_IMPORT_ENTRY
    exporter_id: "VN-EXP-HCMC-GARMENT-0311"
    importer_id: "US-IOR-95-4410311"
    origin_country: "VN"
    export_country: "VN"
    destination_country: "US"
    export_date { year: 2026 month: 6 day: 10 }
    lines {
      line_number: 1
      hs_code: "6109100012"
      description: "Men's cotton knitted T-shirts"
      quantity { amount_milli: 24000000 unit: "NAR" }
      processing_stage: PROCESSING_STAGE_NOT_APPLICABLE
      bill_of_materials_status: BILL_OF_MATERIALS_STATUS_NOT_APPLICABLE
    }
    facts { importer_origin_attestation: ANSWER_YES }
  )pb");
  d.set_declaration_id(id);
  d.mutable_entry_date()->set_year(2026);
  d.mutable_entry_date()->set_month(entry_month);
  d.mutable_entry_date()->set_day(20);
  d.mutable_lines(0)->mutable_customs_value()->set_currency_code("USD");
  d.mutable_lines(0)->mutable_customs_value()->set_minor_units(value_cents);
  return d;
}

// Changes the Section 301 forced-labor rate on Vietnamese goods (12.5 %,
// 1250 basis points, from 24 Jul 2026) in a copy of agreements/ at `dir`:
// a rule change that reaches back to every entry since that date. False
// when the file no longer holds the text this looks for.
inline bool SetVnForcedLaborRate(const std::string& dir, int basis_points,
                                 int from_basis_points = 1250) {
  const std::string file = dir + "/us-s301-forced-labor-2026.textproto";
  std::stringstream text;
  text << std::ifstream(file).rdbuf();
  const std::string from = absl::StrCat(
      "rate_basis_points: ", from_basis_points,
      "\n    stacking_group: \"us-s301-fl\"\n    "
      "filing_heading: \"9903.05.84\"");
  if (text.str().find(from) == std::string::npos) return false;
  std::ofstream(file, std::ios::trunc) << absl::StrReplaceAll(
      text.str(),
      {{from, absl::StrReplaceAll(
                  from, {{absl::StrCat("rate_basis_points: ", from_basis_points),
                          absl::StrCat("rate_basis_points: ", basis_points)}})}});
  return true;
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

// A file's contents, or "" when it cannot be read (the test's assertions on
// the contents then fail and say what was expected).
inline std::string ReadFileOrEmpty(const std::string& path) {
  return ReadFileToString(path).value_or("");
}

}  // namespace tradecheck::testing

#endif  // TRADECHECK_TESTS_E2E_E2E_UTIL_H_
