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
  explicit AgreementServiceImpl(TradecheckCore* core) : core_(core) {}

  // In-memory answers: computed on the callback thread.
  grpc::ServerUnaryReactor* ListInstruments(
      grpc::CallbackServerContext* context,
      const v1::ListInstrumentsRequest* request,
      v1::ListInstrumentsResponse* response) override {
    return FinishNow(context, core_->ListInstruments(*request), response);
  }

  grpc::ServerUnaryReactor* GetInstrument(
      grpc::CallbackServerContext* context,
      const v1::GetInstrumentRequest* request,
      v1::Instrument* response) override {
    return FinishNow(context, core_->GetInstrument(*request), response);
  }

  grpc::ServerUnaryReactor* GetRuleSet(grpc::CallbackServerContext* context,
                                       const v1::GetRuleSetRequest*,
                                       v1::RuleSetInfo* response) override {
    return FinishNow(context, absl::StatusOr<v1::RuleSetInfo>(core_->GetRuleSet()),
                     response);
  }

 private:
  TradecheckCore* const core_;
};

class AdminServiceImpl final : public v1::AdminService::CallbackService {
 public:
  explicit AdminServiceImpl(TradecheckCore* core) : core_(core) {}

  grpc::ServerUnaryReactor* ReloadRuleSet(
      grpc::CallbackServerContext* context, const v1::ReloadRuleSetRequest*,
      v1::ReloadRuleSetResponse* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    core_->ReloadRuleSet(FinishUnary(reactor, response));
    return reactor;
  }

  grpc::ServerUnaryReactor* CreateBackup(
      grpc::CallbackServerContext* context,
      const v1::CreateBackupRequest* request,
      v1::CreateBackupResponse* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    core_->CreateBackup(*request, FinishUnary(reactor, response));
    return reactor;
  }

  grpc::ServerUnaryReactor* GetStoreStats(
      grpc::CallbackServerContext* context, const v1::GetStoreStatsRequest*,
      v1::GetStoreStatsResponse* response) override {
    return FinishNow(context,
                     absl::StatusOr<v1::GetStoreStatsResponse>(
                         core_->GetStoreStats()),
                     response);
  }

 private:
  TradecheckCore* const core_;
};

}  // namespace

std::unique_ptr<grpc::Service> NewAgreementService(TradecheckCore* core) {
  return std::make_unique<AgreementServiceImpl>(core);
}

std::unique_ptr<grpc::Service> NewAdminService(TradecheckCore* core) {
  return std::make_unique<AdminServiceImpl>(core);
}

}  // namespace tradecheck::server
