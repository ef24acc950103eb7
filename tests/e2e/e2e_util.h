// Helpers shared by the end-to-end tests: channels to a ServerProcess,
// declarations written as text protos, and decoding of google.rpc details.
#ifndef TRADECHECK_TESTS_E2E_E2E_UTIL_H_
#define TRADECHECK_TESTS_E2E_E2E_UTIL_H_

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
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
