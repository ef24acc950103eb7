// TradecheckClient: the C++ client of the tradecheck service. Start here.
//
// One object talks to one server over one channel and offers every RPC of
// the v1 API as a method that returns absl::Status / absl::StatusOr. A
// customs system checks a declaration like this:
//
//   #include "client/tradecheck_client.h"
//
//   tradecheck::ClientOptions options;       // 127.0.0.1:50051, 10 s deadline
//   options.server = "tradecheck.internal:443";
//   options.tls = true;
//   auto client = tradecheck::TradecheckClient::Create(options);
//   if (!client.ok()) return client.status();
//   auto response = (*client)->Check(declaration);
//   if (!response.ok()) return response.status();  // see "Errors" below
//   if (response->verdict().outcome() == tradecheck::v1::OUTCOME_DENY) ...
//
// Contract
//
// * Deadlines. Every unary call gets a deadline of options.timeout from the
//   moment it starts (per page for ForEachDecision); CheckStream gets one
//   deadline of options.stream_timeout for the whole stream. A call that
//   runs out returns DEADLINE_EXCEEDED. A binding check that timed out may
//   still have been recorded: repeat it with the same declaration_id to get
//   the recorded verdict (the server replays it, replayed = true).
//
// * Retries. Calls that are safe to repeat are retried by gRPC itself (a
//   retryPolicy in the channel's service config, see service_config.h) when
//   the server answers UNAVAILABLE, up to options.max_attempts attempts in
//   all, with exponential backoff, within the call's deadline. Safe to
//   repeat: Check, DryRun, CheckBatch (idempotent on declaration_id), every
//   AuditService and AgreementService call, ReloadRuleSet. Never retried:
//   CreateBackup (a second attempt finds the directory) and CheckStream
//   (a half-consumed stream cannot be replayed; resend its declarations,
//   they are idempotent too).
//
// * Errors. Business outcomes (DENY, NEEDS_REVIEW, duties) are data in the
//   verdict, never errors. An error status carries the server's code and
//   message; the server's google.rpc details (BadRequest field violations,
//   ErrorInfo) are attached as absl::Status payloads: read them with
//   BadRequestOf / ErrorInfoOf, or print DescribeError(status) (errors.h).
//   UNAVAILABLE and DEADLINE_EXCEEDED messages name the method and server.
//
// * Memory. ForEachDecision and CheckStream hand results to a callback one at
//   a time; neither keeps more than one page or one result.
//
// Thread safety: a TradecheckClient is thread-safe; many threads may call it
// at once (they share one HTTP/2 connection). Creating it does not connect;
// the first call does, and fails with UNAVAILABLE if the server is down.
#ifndef TRADECHECK_CLIENT_TRADECHECK_CLIENT_H_
#define TRADECHECK_CLIENT_TRADECHECK_CLIENT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tradecheck/v1/admin_service.pb.h"
#include "tradecheck/v1/agreement_service.pb.h"
#include "tradecheck/v1/audit_service.pb.h"
#include "tradecheck/v1/compliance_service.pb.h"
#include "tradecheck/v1/declaration.pb.h"

namespace tradecheck {

namespace client_internal {
struct Stubs;  // the generated gRPC stubs; see client/internal/stubs.h
}  // namespace client_internal

struct ClientOptions {
  // gRPC target: "host:port", "dns:///host:port", "unix:/path". The default
  // is where the README's run command starts the server.
  std::string server = "127.0.0.1:50051";
  // Deadline of each unary call (each page of a listing).
  absl::Duration timeout = absl::Seconds(10);
  // Deadline of a whole CheckStream call.
  absl::Duration stream_timeout = absl::Minutes(30);
  // Use TLS (for a server behind a TLS endpoint). Without ca_cert_file the
  // system's root certificates are trusted.
  bool tls = false;
  // PEM file of the CA certificate(s) to trust; requires tls.
  std::string ca_cert_file;
  // Mutual TLS: the PEM client certificate (chain) and its private key,
  // both or neither; require tls. The server takes the caller's identity,
  // and with it the role, from this certificate.
  std::string cert_file;
  std::string key_file;
  // Attempts in all for calls that are safe to retry (2..5; gRPC caps at
  // 5). 1 turns retries off.
  int max_attempts = 4;
};

class TradecheckClient {
 public:
  // Validates the options and creates the channel (it does not connect).
  // INVALID_ARGUMENT for bad options; NOT_FOUND / PERMISSION_DENIED when
  // the CA file cannot be read.
  static absl::StatusOr<std::unique_ptr<TradecheckClient>> Create(
      ClientOptions options);

  // For tests: a client over given stubs (e.g. the generated mock stubs).
  // Deadlines are set as usual; retries are whatever the stubs' channel does.
  static std::unique_ptr<TradecheckClient> CreateWithStubs(
      std::unique_ptr<client_internal::Stubs> stubs, ClientOptions options);

  ~TradecheckClient();
  TradecheckClient(const TradecheckClient&) = delete;
  TradecheckClient& operator=(const TradecheckClient&) = delete;

  const ClientOptions& options() const { return options_; }

  // --- ComplianceService ---------------------------------------------------

  // Binding check: the verdict comes back once its audit record is durable.
  absl::StatusOr<v1::CheckDeclarationResponse> Check(
      const v1::Declaration& declaration);
  // Exporter's dry run (validate_only): evaluated and recorded in the
  // validate-only stream, binds nothing.
  absl::StatusOr<v1::CheckDeclarationResponse> DryRun(
      const v1::Declaration& declaration);
  // Up to 1000 checks in one call; each succeeds or fails on its own.
  absl::StatusOr<v1::CheckDeclarationsResponse> CheckBatch(
      const v1::CheckDeclarationsRequest& request);

  // Returns the next request to send, std::nullopt at the end, or an error
  // that cancels the stream (CheckStream then returns that error).
  using RequestSource = std::function<
      absl::StatusOr<std::optional<v1::CheckDeclarationRequest>>()>;
  // Receives each result as it arrives (possibly out of request order; see
  // CheckResult.index). A non-OK return cancels the stream and is returned.
  using ResultSink = std::function<absl::Status(const v1::CheckResult&)>;

  // Bulk checks over the bidirectional stream. `next` is called on the
  // calling thread, `on_result` on a thread of the client's; each is called
  // by one thread at a time. Sending and receiving overlap, so a stream of
  // any length runs in bounded memory. A declaration the server rejects is
  // a CheckResult with `error` set, not a failure of the stream. Returns OK
  // when every request got its result; INTERNAL when the server ended the
  // stream with results missing.
  absl::Status CheckStream(RequestSource next, ResultSink on_result);

  // --- AuditService --------------------------------------------------------

  // By decision id, or the binding decision of a declaration id.
  absl::StatusOr<v1::Decision> GetDecision(const std::string& decision_id);
  // One page, as the RPC returns it.
  absl::StatusOr<v1::ListDecisionsResponse> ListDecisionsPage(
      const v1::ListDecisionsRequest& request);

  struct ListOptions {
    int32_t page_size = 0;      // 0: the server's default (100)
    int64_t max_decisions = 0;  // stop after this many; 0: no limit
    // AIP-132 order_by: "" (newest first) or "recorded_time asc".
    std::string order_by;
  };
  // Calls `fn` for every decision matching `filter`, in that order, fetching
  // page after page. Stops at the first non-OK return of `fn` and returns it.
  absl::Status ForEachDecision(
      const v1::DecisionFilter& filter, const ListOptions& list_options,
      const std::function<absl::Status(const v1::Decision&)>& fn);

  // Counts and duty totals over a filter (auditors).
  absl::StatusOr<v1::SummarizeDecisionsResponse> SummarizeDecisions(
      const v1::SummarizeDecisionsRequest& request);

  // Retroactive-impact records: a page of them (newest first, without
  // their changes), and one record with a page of its changes.
  absl::StatusOr<v1::ListRetroactiveImpactsResponse> ListRetroactiveImpacts(
      const v1::ListRetroactiveImpactsRequest& request);
  absl::StatusOr<v1::GetRetroactiveImpactResponse> GetRetroactiveImpact(
      const v1::GetRetroactiveImpactRequest& request);

  absl::StatusOr<v1::ReevaluateDecisionResponse> ReevaluateDecision(
      const std::string& decision_id);
  // A broken chain is reported in the response (ok = false), not as an error.
  absl::StatusOr<v1::VerifyTrailResponse> VerifyTrail(
      const v1::VerifyTrailRequest& request);
  // The verifiable log: signed tree heads and Merkle proofs (check them
  // with client/log_verifier.h; never trust a root the server computed).
  absl::StatusOr<v1::SignedTreeHead> GetSignedTreeHead(
      const v1::GetSignedTreeHeadRequest& request);
  absl::StatusOr<v1::GetInclusionProofResponse> GetInclusionProof(
      const v1::GetInclusionProofRequest& request);
  absl::StatusOr<v1::GetConsistencyProofResponse> GetConsistencyProof(
      const v1::GetConsistencyProofRequest& request);

  // --- AgreementService ----------------------------------------------------

  // as_of: std::nullopt for today (UTC) on the server.
  absl::StatusOr<v1::ListInstrumentsResponse> ListInstruments(
      const std::optional<v1::Date>& as_of);
  absl::StatusOr<v1::Instrument> GetInstrument(
      const std::string& instrument_id);
  absl::StatusOr<v1::RuleSetInfo> GetRuleSet();
  absl::StatusOr<v1::LookupMeasuresResponse> LookupMeasures(
      const v1::LookupMeasuresRequest& request);

  // --- AdminService (operators only) ---------------------------------------

  absl::StatusOr<v1::ReloadRuleSetResponse> ReloadRuleSet();
  absl::StatusOr<v1::GetStoreStatsResponse> GetStoreStats();

  // The standard grpc.health.v1 check for the whole server ("" service):
  // "SERVING" or "NOT_SERVING" (e.g. while it drains). Open to every
  // caller, no role needed. FAILED_PRECONDITION for mock stubs.
  absl::StatusOr<std::string> Health();
  // `directory` is a name ([A-Za-z0-9._-], no "..") for a new directory
  // under the server's --backup_root; it must not exist yet.
  absl::StatusOr<v1::CreateBackupResponse> CreateBackup(
      const std::string& directory);
  // Streams a preview under options.stream_timeout: `on_change` gets each
  // changed verdict as it arrives (a non-OK return cancels the call and is
  // returned); the totals come last. Never retried.
  absl::StatusOr<v1::PreviewTotals> PreviewRuleSet(
      const v1::PreviewRuleSetRequest& request,
      const std::function<absl::Status(const v1::PreviewChange&)>& on_change);

 private:
  TradecheckClient(std::unique_ptr<client_internal::Stubs> stubs,
                   ClientOptions options);

  absl::StatusOr<v1::CheckDeclarationResponse> CheckImpl(
      const v1::Declaration& declaration, bool validate_only);

  const std::unique_ptr<client_internal::Stubs> stubs_;
  const ClientOptions options_;
};

}  // namespace tradecheck

#endif  // TRADECHECK_CLIENT_TRADECHECK_CLIENT_H_
