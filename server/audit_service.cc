// AuditService handlers; the core runs the store reads on its workers.
#include <memory>

#include "server/grpc_util.h"
#include "server/services.h"
#include "tradecheck/v1/audit_service.grpc.pb.h"

namespace tradecheck::server {
namespace {

class AuditServiceImpl final : public v1::AuditService::CallbackService {
 public:
  AuditServiceImpl(TradecheckCore* core, const CallerResolver* callers)
      : core_(core), callers_(callers) {}

  grpc::ServerUnaryReactor* GetDecision(grpc::CallbackServerContext* context,
                                        const v1::GetDecisionRequest* request,
                                        v1::Decision* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    core_->GetDecision(callers_->Of(context), *request, FinishUnary(reactor, response));
    return reactor;
  }

  grpc::ServerUnaryReactor* ListDecisions(
      grpc::CallbackServerContext* context,
      const v1::ListDecisionsRequest* request,
      v1::ListDecisionsResponse* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    core_->ListDecisions(callers_->Of(context), *request, FinishUnary(reactor, response));
    return reactor;
  }

  grpc::ServerUnaryReactor* SummarizeDecisions(
      grpc::CallbackServerContext* context,
      const v1::SummarizeDecisionsRequest* request,
      v1::SummarizeDecisionsResponse* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    core_->SummarizeDecisions(callers_->Of(context), *request,
                              FinishUnary(reactor, response));
    return reactor;
  }

  grpc::ServerUnaryReactor* ListRetroactiveImpacts(
      grpc::CallbackServerContext* context,
      const v1::ListRetroactiveImpactsRequest* request,
      v1::ListRetroactiveImpactsResponse* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    core_->ListRetroactiveImpacts(callers_->Of(context), *request,
                                  FinishUnary(reactor, response));
    return reactor;
  }

  grpc::ServerUnaryReactor* GetRetroactiveImpact(
      grpc::CallbackServerContext* context,
      const v1::GetRetroactiveImpactRequest* request,
      v1::GetRetroactiveImpactResponse* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    core_->GetRetroactiveImpact(callers_->Of(context), *request,
                                FinishUnary(reactor, response));
    return reactor;
  }

  grpc::ServerUnaryReactor* ReevaluateDecision(
      grpc::CallbackServerContext* context,
      const v1::ReevaluateDecisionRequest* request,
      v1::ReevaluateDecisionResponse* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    core_->ReevaluateDecision(callers_->Of(context), *request, FinishUnary(reactor, response));
    return reactor;
  }

  grpc::ServerUnaryReactor* VerifyTrail(grpc::CallbackServerContext* context,
                                        const v1::VerifyTrailRequest* request,
                                        v1::VerifyTrailResponse* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    core_->VerifyTrail(callers_->Of(context), *request, FinishUnary(reactor, response));
    return reactor;
  }

  grpc::ServerUnaryReactor* GetSignedTreeHead(
      grpc::CallbackServerContext* context,
      const v1::GetSignedTreeHeadRequest* request,
      v1::SignedTreeHead* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    core_->GetSignedTreeHead(callers_->Of(context), *request, FinishUnary(reactor, response));
    return reactor;
  }

  grpc::ServerUnaryReactor* GetInclusionProof(
      grpc::CallbackServerContext* context,
      const v1::GetInclusionProofRequest* request,
      v1::GetInclusionProofResponse* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    core_->GetInclusionProof(callers_->Of(context), *request, FinishUnary(reactor, response));
    return reactor;
  }

  grpc::ServerUnaryReactor* GetConsistencyProof(
      grpc::CallbackServerContext* context,
      const v1::GetConsistencyProofRequest* request,
      v1::GetConsistencyProofResponse* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    core_->GetConsistencyProof(callers_->Of(context), *request, FinishUnary(reactor, response));
    return reactor;
  }

 private:
  TradecheckCore* const core_;
  const CallerResolver* const callers_;
};

}  // namespace

std::unique_ptr<grpc::Service> NewAuditService(TradecheckCore* core,
                                               const CallerResolver* callers) {
  return std::make_unique<AuditServiceImpl>(core, callers);
}

}  // namespace tradecheck::server
