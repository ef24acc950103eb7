// AgreementService and AdminService handlers.
#include <memory>

#include "server/grpc_util.h"
#include "server/services.h"
#include "tradecheck/v1/admin_service.grpc.pb.h"
#include "tradecheck/v1/agreement_service.grpc.pb.h"

namespace tradecheck::server {
namespace {

class AgreementServiceImpl final
    : public v1::AgreementService::CallbackService {
 public:
  AgreementServiceImpl(TradecheckCore* core, const CallerResolver* callers)
      : core_(core), callers_(callers) {}

  // In-memory answers: computed on the callback thread.
  grpc::ServerUnaryReactor* ListInstruments(
      grpc::CallbackServerContext* context,
      const v1::ListInstrumentsRequest* request,
      v1::ListInstrumentsResponse* response) override {
    return FinishNow(context, core_->ListInstruments(callers_->Of(context), *request), response);
  }

  grpc::ServerUnaryReactor* GetInstrument(
      grpc::CallbackServerContext* context,
      const v1::GetInstrumentRequest* request,
      v1::Instrument* response) override {
    return FinishNow(context, core_->GetInstrument(callers_->Of(context), *request), response);
  }

  grpc::ServerUnaryReactor* GetRuleSet(grpc::CallbackServerContext* context,
                                       const v1::GetRuleSetRequest*,
                                       v1::RuleSetInfo* response) override {
    return FinishNow(context, core_->GetRuleSet(callers_->Of(context)),
                     response);
  }

 private:
  TradecheckCore* const core_;
  const CallerResolver* const callers_;
};

class AdminServiceImpl final : public v1::AdminService::CallbackService {
 public:
  AdminServiceImpl(TradecheckCore* core, const CallerResolver* callers)
      : core_(core), callers_(callers) {}

  grpc::ServerUnaryReactor* ReloadRuleSet(
      grpc::CallbackServerContext* context, const v1::ReloadRuleSetRequest*,
      v1::ReloadRuleSetResponse* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    core_->ReloadRuleSet(callers_->Of(context), FinishUnary(reactor, response));
    return reactor;
  }

  grpc::ServerUnaryReactor* CreateBackup(
      grpc::CallbackServerContext* context,
      const v1::CreateBackupRequest* request,
      v1::CreateBackupResponse* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    core_->CreateBackup(callers_->Of(context), *request, FinishUnary(reactor, response));
    return reactor;
  }

  grpc::ServerUnaryReactor* GetStoreStats(
      grpc::CallbackServerContext* context, const v1::GetStoreStatsRequest*,
      v1::GetStoreStatsResponse* response) override {
    return FinishNow(context, core_->GetStoreStats(callers_->Of(context)),
                     response);
  }

 private:
  TradecheckCore* const core_;
  const CallerResolver* const callers_;
};

}  // namespace

std::unique_ptr<grpc::Service> NewAgreementService(
    TradecheckCore* core, const CallerResolver* callers) {
  return std::make_unique<AgreementServiceImpl>(core, callers);
}

std::unique_ptr<grpc::Service> NewAdminService(TradecheckCore* core,
                                               const CallerResolver* callers) {
  return std::make_unique<AdminServiceImpl>(core, callers);
}

}  // namespace tradecheck::server
