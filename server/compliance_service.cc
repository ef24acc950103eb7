// ComplianceService handlers: unary, batch and bidi-stream checks, all
// forwarding to TradecheckCore::CheckDeclaration.
#include <deque>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "server/grpc_util.h"
#include "server/services.h"
#include "tradecheck/v1/compliance_service.grpc.pb.h"

namespace tradecheck::server {
namespace {

constexpr int kMaxBatch = 1000;
// Checks of one stream in flight at once; reading pauses beyond it, so a
// fast producer cannot make the server buffer without bound.
constexpr int kMaxStreamInFlight = 256;

// The caller identity recorded in the trail. Empty until authentication
// exists (a peer address is not an identity).
std::string CallerOf(const grpc::CallbackServerContext*) { return ""; }

v1::CheckResult ToResult(uint64_t index, const std::string& declaration_id,
                         absl::StatusOr<v1::CheckDeclarationResponse> r) {
  v1::CheckResult result;
  result.set_index(index);
  result.set_declaration_id(declaration_id);
  if (r.ok()) {
    *result.mutable_response() = std::move(*r);
  } else {
    *result.mutable_error() = ToRpcStatus(r.status());
  }
  return result;
}

class StreamCheckReactor final
    : public grpc::ServerBidiReactor<v1::CheckDeclarationRequest,
                                     v1::CheckResult> {
 public:
  StreamCheckReactor(TradecheckCore* core, std::string caller)
      : core_(core), caller_(std::move(caller)) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      absl::MutexLock lock(&mu_);
      reads_done_ = true;
      MaybeFinishLocked();
      return;
    }
    uint64_t index;
    {
      absl::MutexLock lock(&mu_);
      index = next_index_++;
      ++in_flight_;
    }
    std::string id = request_.declaration().declaration_id();
    // CheckDeclaration copies what it keeps before returning, so request_
    // can be reused for the next read.
    core_->CheckDeclaration(
        request_, caller_,
        [this, index, id](absl::StatusOr<v1::CheckDeclarationResponse> r) {
          v1::CheckResult result = ToResult(index, id, std::move(r));
          absl::MutexLock lock(&mu_);
          --in_flight_;
          if (!broken_) pending_.push_back(std::move(result));
          MaybeWriteLocked();
          if (read_paused_ && in_flight_ < kMaxStreamInFlight) {
            read_paused_ = false;
            StartRead(&request_);
          }
          MaybeFinishLocked();
        });
    absl::MutexLock lock(&mu_);
    if (in_flight_ >= kMaxStreamInFlight) {
      read_paused_ = true;
    } else {
      StartRead(&request_);
    }
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    if (!ok) {
      // The client went away; finish the checks already started (their
      // records are made) but stop writing.
      broken_ = true;
      pending_.clear();
    }
    MaybeWriteLocked();
    MaybeFinishLocked();
  }

  void OnDone() override { delete this; }

 private:
  void MaybeWriteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (writing_ || pending_.empty() || broken_) return;
    writing_ = true;
    current_ = std::move(pending_.front());
    pending_.pop_front();
    StartWrite(&current_);
  }

  void MaybeFinishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_ || !reads_done_ || read_paused_ || in_flight_ > 0 ||
        writing_ || !pending_.empty()) {
      return;
    }
    finished_ = true;
    Finish(grpc::Status::OK);
  }

  TradecheckCore* const core_;
  const std::string caller_;
  v1::CheckDeclarationRequest request_;  // only touched by the read chain
  absl::Mutex mu_;
  uint64_t next_index_ ABSL_GUARDED_BY(mu_) = 0;
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  bool reads_done_ ABSL_GUARDED_BY(mu_) = false;
  bool read_paused_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<v1::CheckResult> pending_ ABSL_GUARDED_BY(mu_);
  v1::CheckResult current_ ABSL_GUARDED_BY(mu_);
};

class ComplianceServiceImpl final
    : public v1::ComplianceService::CallbackService {
 public:
  explicit ComplianceServiceImpl(TradecheckCore* core) : core_(core) {}

  grpc::ServerUnaryReactor* CheckDeclaration(
      grpc::CallbackServerContext* context,
      const v1::CheckDeclarationRequest* request,
      v1::CheckDeclarationResponse* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    core_->CheckDeclaration(*request, CallerOf(context),
                            FinishUnary(reactor, response));
    return reactor;
  }

  grpc::ServerUnaryReactor* CheckDeclarations(
      grpc::CallbackServerContext* context,
      const v1::CheckDeclarationsRequest* request,
      v1::CheckDeclarationsResponse* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    const int n = request->requests_size();
    if (n == 0 || n > kMaxBatch) {
      reactor->Finish(ToGrpcStatus(InvalidField(
          "requests", absl::StrCat("holds ", n, " declarations; a batch holds 1 to ",
                                   kMaxBatch))));
      return reactor;
    }
    // Every slot exists before any check starts, so callbacks on different
    // threads each write only their own element.
    for (int i = 0; i < n; ++i) response->add_results();
    struct Batch {
      absl::Mutex mu;
      int remaining ABSL_GUARDED_BY(mu);
    };
    auto batch = std::make_shared<Batch>();
    {
      absl::MutexLock lock(&batch->mu);
      batch->remaining = n;
    }
    for (int i = 0; i < n; ++i) {
      const v1::CheckDeclarationRequest& one = request->requests(i);
      std::string id = one.declaration().declaration_id();
      core_->CheckDeclaration(
          one, CallerOf(context),
          [batch, reactor, response, i, id](
              absl::StatusOr<v1::CheckDeclarationResponse> r) {
            *response->mutable_results(i) = ToResult(i, id, std::move(r));
            bool last;
            {
              absl::MutexLock lock(&batch->mu);
              last = --batch->remaining == 0;
            }
            if (last) reactor->Finish(grpc::Status::OK);
          });
    }
    return reactor;
  }

  grpc::ServerBidiReactor<v1::CheckDeclarationRequest, v1::CheckResult>*
  StreamCheckDeclarations(grpc::CallbackServerContext* context) override {
    return new StreamCheckReactor(core_, CallerOf(context));
  }

 private:
  TradecheckCore* const core_;
};

}  // namespace

std::unique_ptr<grpc::Service> NewComplianceService(TradecheckCore* core) {
  return std::make_unique<ComplianceServiceImpl>(core);
}

}  // namespace tradecheck::server
