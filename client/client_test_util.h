// Test helpers for client/: a TradecheckClient over the generated mock stubs,
// and small realistic messages. Test-only; includes gRPC and gmock.
#ifndef TRADECHECK_CLIENT_CLIENT_TEST_UTIL_H_
#define TRADECHECK_CLIENT_CLIENT_TEST_UTIL_H_

#include <chrono>
#include <memory>
#include <string>
#include <utility>

#include "absl/time/time.h"
#include "client/internal/stubs.h"
#include "client/tradecheck_client.h"
#include "common/money.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "grpcpp/client_context.h"
#include "tradecheck/v1/admin_service_mock.grpc.pb.h"
#include "tradecheck/v1/agreement_service_mock.grpc.pb.h"
#include "tradecheck/v1/audit_service_mock.grpc.pb.h"
#include "tradecheck/v1/compliance_service_mock.grpc.pb.h"

namespace tradecheck::testing {

// The mocks are owned by `client`; the raw pointers stay valid as long as
// it lives.
struct MockedClient {
  v1::MockComplianceServiceStub* compliance = nullptr;
  v1::MockAuditServiceStub* audit = nullptr;
  v1::MockAgreementServiceStub* agreement = nullptr;
  v1::MockAdminServiceStub* admin = nullptr;
  std::unique_ptr<TradecheckClient> client;
};

inline MockedClient MakeMockedClient(ClientOptions options = {}) {
  MockedClient mocked;
  auto stubs = std::make_unique<client_internal::Stubs>();
  auto compliance = std::make_unique<v1::MockComplianceServiceStub>();
  auto audit = std::make_unique<v1::MockAuditServiceStub>();
  auto agreement = std::make_unique<v1::MockAgreementServiceStub>();
  auto admin = std::make_unique<v1::MockAdminServiceStub>();
  mocked.compliance = compliance.get();
  mocked.audit = audit.get();
  mocked.agreement = agreement.get();
  mocked.admin = admin.get();
  stubs->compliance = std::move(compliance);
  stubs->audit = std::move(audit);
  stubs->agreement = std::move(agreement);
  stubs->admin = std::move(admin);
  mocked.client =
      TradecheckClient::CreateWithStubs(std::move(stubs), std::move(options));
  return mocked;
}

// Time left until the context's deadline.
inline absl::Duration TimeLeft(const grpc::ClientContext* context) {
  return absl::FromChrono(context->deadline() -
                          std::chrono::system_clock::now());
}

// A grpc::Status carrying a google.rpc.BadRequest in its details, as the
// server sends for a malformed declaration.
inline grpc::Status InvalidArgumentWithViolation(const std::string& field,
                                                 const std::string& problem) {
  google::rpc::BadRequest bad_request;
  auto* violation = bad_request.add_field_violations();
  violation->set_field(field);
  violation->set_description(problem);
  google::rpc::Status details;
  details.set_code(grpc::StatusCode::INVALID_ARGUMENT);
  details.set_message("the declaration is malformed");
  details.add_details()->PackFrom(bad_request);
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                      "the declaration is malformed",
                      details.SerializeAsString());
}

// A Malaysian palm-oil import entered under the reciprocal tariff.
inline v1::Declaration PalmOilDeclaration() {
  v1::Declaration declaration;
  declaration.set_declaration_id("MY-PALM-2025-0917");
  declaration.set_kind(v1::DECLARATION_KIND_IMPORT_ENTRY);
  declaration.set_exporter_id("MY-EXP-0042");
  declaration.set_importer_id("US-IMP-7781");
  declaration.set_origin_country("MY");
  declaration.set_export_country("MY");
  declaration.set_destination_country("US");
  declaration.mutable_entry_date()->set_year(2025);
  declaration.mutable_entry_date()->set_month(9);
  declaration.mutable_entry_date()->set_day(15);
  v1::LineItem* line = declaration.add_lines();
  line->set_line_number(1);
  line->set_hs_code("1511100000");
  line->set_description("Crude palm oil");
  *line->mutable_customs_value() = MakeMoney("USD", 12500000);
  return declaration;
}

inline v1::CheckDeclarationResponse VerdictWith(v1::Outcome outcome) {
  v1::CheckDeclarationResponse response;
  v1::Verdict* verdict = response.mutable_verdict();
  verdict->set_decision_id("dec-000042");
  verdict->set_declaration_id("MY-PALM-2025-0917");
  verdict->set_outcome(outcome);
  verdict->set_rule_set_revision(std::string(64, 'a'));
  *verdict->mutable_total_duty() = MakeMoney("USD", 2375000);
  v1::LineVerdict* line = verdict->add_lines();
  line->set_line_number(1);
  line->set_outcome(outcome);
  *line->mutable_total_duty() = MakeMoney("USD", 2375000);
  line->add_filing_headings("9903.01.25");
  v1::Duty* duty = line->add_duties();
  duty->set_measure_id("us-eo14326-annex1-my");
  duty->set_rate_basis_points(1900);
  *duty->mutable_base() = MakeMoney("USD", 12500000);
  *duty->mutable_amount() = MakeMoney("USD", 2375000);
  duty->set_filing_heading("9903.01.25");
  duty->set_description("Reciprocal tariff, Malaysia");
  duty->mutable_citation()->set_instrument_id("us-eo-14326");
  duty->mutable_citation()->set_instrument_title("Executive Order 14326");
  duty->mutable_citation()->set_article("Annex I");
  duty->mutable_citation()->set_source_url(
      "https://www.whitehouse.gov/presidential-actions/2025/07/"
      "further-modifying-the-reciprocal-tariff-rates/");
  v1::Finding* finding = line->add_findings();
  finding->set_rule_id("EXM-003");
  finding->set_severity(v1::SEVERITY_WARNING);
  finding->set_message(
      "HS 1511 is in a Malaysia zero-rate category; the schedule is not "
      "loaded");
  finding->set_remedy("check the published Malaysia Schedule 2");
  finding->add_tags("ZERO_RATE_CANDIDATE");
  finding->mutable_citation()->set_instrument_title(
      "US-Malaysia Agreement on Reciprocal Trade");
  return response;
}

}  // namespace tradecheck::testing

#endif  // TRADECHECK_CLIENT_CLIENT_TEST_UTIL_H_
