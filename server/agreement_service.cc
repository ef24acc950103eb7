// AgreementService and AdminService handlers.
#include <deque>
#include <memory>
#include <mutex>

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

  grpc::ServerUnaryReactor* LookupMeasures(
      grpc::CallbackServerContext* context,
      const v1::LookupMeasuresRequest* request,
      v1::LookupMeasuresResponse* response) override {
    return FinishNow(
        context, core_->LookupMeasures(callers_->Of(context), *request),
        response);
  }

 private:
  TradecheckCore* const core_;
  const CallerResolver* const callers_;
};

// Streams a preview: the core emits changes from a worker; they are queued
// and written one at a time (gRPC allows one write in flight), then the
// totals, then Finish. The core stops at the next change once the call is
// cancelled. Deletes itself in OnDone, which comes only after Finish, which
// comes only after the core's last callback.
class PreviewReactor final
    : public grpc::ServerWriteReactor<v1::PreviewRuleSetResponse> {
 public:
  PreviewReactor(TradecheckCore* core, const Caller& caller,
                 const v1::PreviewRuleSetRequest& request) {
    core->PreviewRuleSet(
        caller, request,
        [this](v1::PreviewChange change) {
          v1::PreviewRuleSetResponse item;
          *item.mutable_change() = std::move(change);
          return Push(std::move(item));
        },
        [this](absl::StatusOr<v1::PreviewTotals> totals) {
          if (totals.ok()) {
            v1::PreviewRuleSetResponse item;
            *item.mutable_totals() = std::move(*totals);
            Push(std::move(item));
          }
          std::lock_guard<std::mutex> lock(mu_);
          finished_ = true;
          status_ = ToGrpcStatus(totals.status());
          if (!writing_) Finish(status_);
        });
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.pop_front();
    if (!ok) broken_ = true;
    if (!queue_.empty() && !broken_) {
      StartWrite(&queue_.front());
      return;
    }
    writing_ = false;
    if (finished_) Finish(status_);
  }

  void OnCancel() override {
    std::lock_guard<std::mutex> lock(mu_);
    broken_ = true;
  }

  void OnDone() override { delete this; }

 private:
  // Queues one item; false once the call cannot take more.
  bool Push(v1::PreviewRuleSetResponse item) {
    std::lock_guard<std::mutex> lock(mu_);
    if (broken_) return false;
    queue_.push_back(std::move(item));
    if (!writing_) {
      writing_ = true;
      StartWrite(&queue_.front());
    }
    return true;
  }

  std::mutex mu_;
  // Items waiting to be written; the front one is in flight while writing_.
  // A deque keeps the front's address stable while more are queued.
  std::deque<v1::PreviewRuleSetResponse> queue_;
  bool writing_ = false;
  bool finished_ = false;
  bool broken_ = false;
  grpc::Status status_;
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

  grpc::ServerWriteReactor<v1::PreviewRuleSetResponse>* PreviewRuleSet(
      grpc::CallbackServerContext* context,
      const v1::PreviewRuleSetRequest* request) override {
    return new PreviewReactor(core_, callers_->Of(context), *request);
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
