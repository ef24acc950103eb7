#include "client/tradecheck_client.h"

#include <chrono>
#include <cstdint>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "client/errors.h"
#include "client/internal/stubs.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "client/service_config.h"
#include "common/files.h"
#include "common/status_macros.h"
#include "google/rpc/status.pb.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"

namespace tradecheck {
namespace client_internal {

absl::Status FromGrpcStatus(const grpc::Status& status,
                            absl::string_view method,
                            absl::string_view server) {
  if (status.ok()) return absl::OkStatus();
  const auto code = static_cast<absl::StatusCode>(status.error_code());
  std::string message = status.error_message();
  if (code == absl::StatusCode::kUnavailable ||
      code == absl::StatusCode::kDeadlineExceeded) {
    message = absl::StrCat(method, " on ", server, ": ", message);
  }
  absl::Status result(code, message);
  if (!status.error_details().empty()) {
    google::rpc::Status details;
    if (details.ParseFromString(status.error_details())) {
      for (const google::protobuf::Any& detail : details.details()) {
        result.SetPayload(detail.type_url(), absl::Cord(detail.value()));
      }
    }
  }
  return result;
}

}  // namespace client_internal

namespace {

using client_internal::FromGrpcStatus;
using client_internal::Stubs;

void SetDeadline(grpc::ClientContext* context, absl::Duration timeout) {
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
}

}  // namespace

absl::StatusOr<std::unique_ptr<TradecheckClient>> TradecheckClient::Create(
    ClientOptions options) {
  if (options.server.empty()) {
    return absl::InvalidArgumentError("server address is empty");
  }
  if (options.timeout <= absl::ZeroDuration() ||
      options.stream_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("timeouts must be positive");
  }
  if (!options.ca_cert_file.empty() && !options.tls) {
    return absl::InvalidArgumentError(
        "a CA certificate was given without TLS; add --tls");
  }

  if (options.cert_file.empty() != options.key_file.empty()) {
    return absl::InvalidArgumentError(
        "a client certificate needs its key and a key its certificate: give "
        "both --cert and --key");
  }
  if (!options.cert_file.empty() && !options.tls) {
    return absl::InvalidArgumentError(
        "a client certificate was given without TLS; add --tls");
  }

  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (options.tls) {
    grpc::SslCredentialsOptions ssl;
    if (!options.ca_cert_file.empty()) {
      TC_ASSIGN_OR_RETURN(ssl.pem_root_certs,
                          ReadFileToString(options.ca_cert_file));
      if (ssl.pem_root_certs.find("-----BEGIN CERTIFICATE-----") ==
          std::string::npos) {
        return absl::InvalidArgumentError(
            absl::StrCat(options.ca_cert_file, " holds no PEM certificate"));
      }
    }
    if (!options.cert_file.empty()) {
      TC_ASSIGN_OR_RETURN(ssl.pem_cert_chain,
                          ReadFileToString(options.cert_file));
      TC_ASSIGN_OR_RETURN(ssl.pem_private_key,
                          ReadFileToString(options.key_file));
    }
    credentials = grpc::SslCredentials(ssl);
  } else {
    credentials = grpc::InsecureChannelCredentials();
  }

  grpc::ChannelArguments args;
  args.SetServiceConfigJSON(RetryServiceConfigJson(options.max_attempts));
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, options.max_attempts > 1 ? 1 : 0);
  args.SetUserAgentPrefix("tradecheck-cpp-client");

  auto stubs = std::make_unique<Stubs>();
  stubs->channel = grpc::CreateCustomChannel(options.server, credentials, args);
  stubs->compliance = v1::ComplianceService::NewStub(stubs->channel);
  stubs->audit = v1::AuditService::NewStub(stubs->channel);
  stubs->agreement = v1::AgreementService::NewStub(stubs->channel);
  stubs->admin = v1::AdminService::NewStub(stubs->channel);
  return std::unique_ptr<TradecheckClient>(
      new TradecheckClient(std::move(stubs), std::move(options)));
}

std::unique_ptr<TradecheckClient> TradecheckClient::CreateWithStubs(
    std::unique_ptr<Stubs> stubs, ClientOptions options) {
  return std::unique_ptr<TradecheckClient>(
      new TradecheckClient(std::move(stubs), std::move(options)));
}

TradecheckClient::TradecheckClient(std::unique_ptr<Stubs> stubs,
                                   ClientOptions options)
    : stubs_(std::move(stubs)), options_(std::move(options)) {}

TradecheckClient::~TradecheckClient() = default;

namespace {

// Runs one unary call of `stub` with a deadline of `timeout` and converts
// its status. `name` is the method's name for error messages.
template <typename Stub, typename Request, typename Response>
absl::StatusOr<Response> CallUnary(
    Stub* stub,
    grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&,
                                 Response*),
    const Request& request, absl::string_view name,
    const ClientOptions& options) {
  grpc::ClientContext context;
  SetDeadline(&context, options.timeout);
  Response response;
  const grpc::Status status = (stub->*method)(&context, request, &response);
  if (!status.ok()) return FromGrpcStatus(status, name, options.server);
  return response;
}

}  // namespace

absl::StatusOr<v1::CheckDeclarationResponse> TradecheckClient::CheckImpl(
    const v1::Declaration& declaration, bool validate_only) {
  v1::CheckDeclarationRequest request;
  *request.mutable_declaration() = declaration;
  request.set_validate_only(validate_only);
  return CallUnary(stubs_->compliance.get(),
                   &v1::ComplianceService::StubInterface::CheckDeclaration,
                   request, "CheckDeclaration", options_);
}

absl::StatusOr<v1::CheckDeclarationResponse> TradecheckClient::Check(
    const v1::Declaration& declaration) {
  return CheckImpl(declaration, /*validate_only=*/false);
}

absl::StatusOr<v1::CheckDeclarationResponse> TradecheckClient::DryRun(
    const v1::Declaration& declaration) {
  return CheckImpl(declaration, /*validate_only=*/true);
}

absl::StatusOr<v1::CheckDeclarationsResponse> TradecheckClient::CheckBatch(
    const v1::CheckDeclarationsRequest& request) {
  return CallUnary(stubs_->compliance.get(),
                   &v1::ComplianceService::StubInterface::CheckDeclarations,
                   request, "CheckDeclarations", options_);
}

absl::Status TradecheckClient::CheckStream(RequestSource next,
                                           ResultSink on_result) {
  grpc::ClientContext context;
  SetDeadline(&context, options_.stream_timeout);
  std::unique_ptr<grpc::ClientReaderWriterInterface<v1::CheckDeclarationRequest,
                                                    v1::CheckResult>>
      stream = stubs_->compliance->StreamCheckDeclarations(&context);
  if (stream == nullptr) {
    return absl::InternalError("StreamCheckDeclarations returned no stream");
  }

  // The reader runs beside the writer so results are consumed while
  // requests are still being sent: HTTP/2 flow control then bounds what is
  // buffered on either side.
  absl::Status sink_status;  // written by the reader, read after join()
  uint64_t received = 0;
  std::thread reader([&] {
    v1::CheckResult result;
    while (stream->Read(&result)) {
      ++received;
      absl::Status status = on_result(result);
      if (!status.ok()) {
        sink_status = std::move(status);
        context.TryCancel();
        return;
      }
    }
  });

  absl::Status source_status;
  uint64_t sent = 0;
  bool stream_broken = false;
  while (true) {
    absl::StatusOr<std::optional<v1::CheckDeclarationRequest>> request = next();
    if (!request.ok()) {
      source_status = request.status();
      context.TryCancel();
      break;
    }
    if (!request->has_value()) break;
    if (!stream->Write(**request)) {
      stream_broken = true;  // Finish() says why
      break;
    }
    ++sent;
  }
  if (source_status.ok() && !stream_broken) stream->WritesDone();
  reader.join();
  const grpc::Status status = stream->Finish();

  if (!source_status.ok()) return source_status;
  if (!sink_status.ok()) return sink_status;
  TC_RETURN_IF_ERROR(
      FromGrpcStatus(status, "StreamCheckDeclarations", options_.server));
  if (stream_broken || received != sent) {
    return absl::InternalError(
        absl::StrCat("the server ended the stream after ", received,
                     " results for ", sent, " declarations sent"));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::Decision> TradecheckClient::GetDecision(
    const std::string& decision_id) {
  v1::GetDecisionRequest request;
  request.set_decision_id(decision_id);
  return CallUnary(stubs_->audit.get(),
                   &v1::AuditService::StubInterface::GetDecision, request,
                   "GetDecision", options_);
}

absl::StatusOr<v1::ListDecisionsResponse> TradecheckClient::ListDecisionsPage(
    const v1::ListDecisionsRequest& request) {
  return CallUnary(stubs_->audit.get(),
                   &v1::AuditService::StubInterface::ListDecisions, request,
                   "ListDecisions", options_);
}

absl::StatusOr<v1::SummarizeDecisionsResponse>
TradecheckClient::SummarizeDecisions(
    const v1::SummarizeDecisionsRequest& request) {
  return CallUnary(stubs_->audit.get(),
                   &v1::AuditService::StubInterface::SummarizeDecisions,
                   request, "SummarizeDecisions", options_);
}

absl::StatusOr<v1::ListRetroactiveImpactsResponse>
TradecheckClient::ListRetroactiveImpacts(
    const v1::ListRetroactiveImpactsRequest& request) {
  return CallUnary(stubs_->audit.get(),
                   &v1::AuditService::StubInterface::ListRetroactiveImpacts,
                   request, "ListRetroactiveImpacts", options_);
}

absl::StatusOr<v1::GetRetroactiveImpactResponse>
TradecheckClient::GetRetroactiveImpact(
    const v1::GetRetroactiveImpactRequest& request) {
  return CallUnary(stubs_->audit.get(),
                   &v1::AuditService::StubInterface::GetRetroactiveImpact,
                   request, "GetRetroactiveImpact", options_);
}

absl::Status TradecheckClient::ForEachDecision(
    const v1::DecisionFilter& filter, const ListOptions& list_options,
    const std::function<absl::Status(const v1::Decision&)>& fn) {
  v1::ListDecisionsRequest request;
  *request.mutable_filter() = filter;
  request.set_page_size(list_options.page_size);
  request.set_order_by(list_options.order_by);
  int64_t delivered = 0;
  while (true) {
    TC_ASSIGN_OR_RETURN(v1::ListDecisionsResponse page,
                        ListDecisionsPage(request));
    for (const v1::Decision& decision : page.decisions()) {
      if (list_options.max_decisions > 0 &&
          delivered >= list_options.max_decisions) {
        return absl::OkStatus();
      }
      TC_RETURN_IF_ERROR(fn(decision));
      ++delivered;
    }
    if (page.next_page_token().empty()) return absl::OkStatus();
    if (list_options.max_decisions > 0 &&
        delivered >= list_options.max_decisions) {
      return absl::OkStatus();
    }
    // A server that hands back the token it was given would loop forever.
    if (page.next_page_token() == request.page_token()) {
      return absl::InternalError(
          "ListDecisions returned the same page token twice");
    }
    request.set_page_token(page.next_page_token());
  }
}

absl::StatusOr<v1::ReevaluateDecisionResponse>
TradecheckClient::ReevaluateDecision(const std::string& decision_id) {
  v1::ReevaluateDecisionRequest request;
  request.set_decision_id(decision_id);
  return CallUnary(stubs_->audit.get(),
                   &v1::AuditService::StubInterface::ReevaluateDecision,
                   request, "ReevaluateDecision", options_);
}

absl::StatusOr<v1::VerifyTrailResponse> TradecheckClient::VerifyTrail(
    const v1::VerifyTrailRequest& request) {
  return CallUnary(stubs_->audit.get(),
                   &v1::AuditService::StubInterface::VerifyTrail, request,
                   "VerifyTrail", options_);
}

absl::StatusOr<v1::SignedTreeHead> TradecheckClient::GetSignedTreeHead(
    const v1::GetSignedTreeHeadRequest& request) {
  return CallUnary(stubs_->audit.get(),
                   &v1::AuditService::StubInterface::GetSignedTreeHead,
                   request, "GetSignedTreeHead", options_);
}

absl::StatusOr<v1::GetInclusionProofResponse>
TradecheckClient::GetInclusionProof(
    const v1::GetInclusionProofRequest& request) {
  return CallUnary(stubs_->audit.get(),
                   &v1::AuditService::StubInterface::GetInclusionProof,
                   request, "GetInclusionProof", options_);
}

absl::StatusOr<v1::GetConsistencyProofResponse>
TradecheckClient::GetConsistencyProof(
    const v1::GetConsistencyProofRequest& request) {
  return CallUnary(stubs_->audit.get(),
                   &v1::AuditService::StubInterface::GetConsistencyProof,
                   request, "GetConsistencyProof", options_);
}

absl::StatusOr<v1::ListInstrumentsResponse> TradecheckClient::ListInstruments(
    const std::optional<v1::Date>& as_of) {
  v1::ListInstrumentsRequest request;
  if (as_of.has_value()) *request.mutable_as_of() = *as_of;
  return CallUnary(stubs_->agreement.get(),
                   &v1::AgreementService::StubInterface::ListInstruments,
                   request, "ListInstruments", options_);
}

absl::StatusOr<v1::Instrument> TradecheckClient::GetInstrument(
    const std::string& instrument_id) {
  v1::GetInstrumentRequest request;
  request.set_instrument_id(instrument_id);
  return CallUnary(stubs_->agreement.get(),
                   &v1::AgreementService::StubInterface::GetInstrument, request,
                   "GetInstrument", options_);
}

absl::StatusOr<v1::RuleSetInfo> TradecheckClient::GetRuleSet() {
  const v1::GetRuleSetRequest request;
  return CallUnary(stubs_->agreement.get(),
                   &v1::AgreementService::StubInterface::GetRuleSet, request,
                   "GetRuleSet", options_);
}

absl::StatusOr<v1::LookupMeasuresResponse> TradecheckClient::LookupMeasures(
    const v1::LookupMeasuresRequest& request) {
  return CallUnary(stubs_->agreement.get(),
                   &v1::AgreementService::StubInterface::LookupMeasures,
                   request, "LookupMeasures", options_);
}

absl::StatusOr<v1::PreviewTotals> TradecheckClient::PreviewRuleSet(
    const v1::PreviewRuleSetRequest& request,
    const std::function<absl::Status(const v1::PreviewChange&)>& on_change) {
  grpc::ClientContext context;
  SetDeadline(&context, options_.stream_timeout);
  std::unique_ptr<grpc::ClientReaderInterface<v1::PreviewRuleSetResponse>>
      reader = stubs_->admin->PreviewRuleSet(&context, request);
  if (reader == nullptr) {
    return absl::InternalError("PreviewRuleSet returned no stream");
  }
  std::optional<v1::PreviewTotals> totals;
  absl::Status sink_status;
  v1::PreviewRuleSetResponse item;
  while (reader->Read(&item)) {
    if (item.has_totals()) {
      totals = item.totals();
    } else if (item.has_change() && sink_status.ok()) {
      sink_status = on_change(item.change());
      if (!sink_status.ok()) context.TryCancel();
    }
  }
  const grpc::Status status = reader->Finish();
  if (!sink_status.ok()) return sink_status;
  if (!status.ok()) {
    return FromGrpcStatus(status, "PreviewRuleSet", options_.server);
  }
  if (!totals.has_value()) {
    return absl::InternalError("PreviewRuleSet ended without its totals");
  }
  return *totals;
}

absl::StatusOr<v1::ReloadRuleSetResponse> TradecheckClient::ReloadRuleSet() {
  const v1::ReloadRuleSetRequest request;
  return CallUnary(stubs_->admin.get(),
                   &v1::AdminService::StubInterface::ReloadRuleSet, request,
                   "ReloadRuleSet", options_);
}

absl::StatusOr<v1::GetStoreStatsResponse> TradecheckClient::GetStoreStats() {
  const v1::GetStoreStatsRequest request;
  return CallUnary(stubs_->admin.get(),
                   &v1::AdminService::StubInterface::GetStoreStats, request,
                   "GetStoreStats", options_);
}

absl::StatusOr<v1::CreateBackupResponse> TradecheckClient::CreateBackup(
    const std::string& directory) {
  v1::CreateBackupRequest request;
  request.set_directory(directory);
  return CallUnary(stubs_->admin.get(),
                   &v1::AdminService::StubInterface::CreateBackup, request,
                   "CreateBackup", options_);
}

absl::StatusOr<std::string> TradecheckClient::Health() {
  if (stubs_->channel == nullptr) {
    return absl::FailedPreconditionError("health: no channel (mock stubs)");
  }
  auto health = grpc::health::v1::Health::NewStub(stubs_->channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + options_.timeout));
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status = health->Check(
      &context, grpc::health::v1::HealthCheckRequest(), &response);
  if (!status.ok()) {
    return client_internal::FromGrpcStatus(status, "Health/Check",
                                           options_.server);
  }
  return grpc::health::v1::HealthCheckResponse::ServingStatus_Name(
      response.status());
}

}  // namespace tradecheck
